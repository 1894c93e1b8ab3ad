#include "links.h"

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ethburst {

namespace {

// Closes the socket on every return path.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

}  // namespace

int ParseLinkCounters(const uint8_t* buf, size_t len, uint32_t seq, std::vector<LinkCounters>* out) {
  size_t off = 0;
  while (off + sizeof(nlmsghdr) <= len) {
    nlmsghdr h;
    memcpy(&h, buf + off, sizeof(h));
    if (h.nlmsg_len < sizeof(nlmsghdr) || h.nlmsg_len > len - off) return -EBADMSG;
    const uint8_t* body = buf + off + NLMSG_HDRLEN;
    size_t body_len = h.nlmsg_len - NLMSG_HDRLEN;
    off += NLMSG_ALIGN(h.nlmsg_len);
    // Not ours (another request's answer on a shared socket): skip it.
    if (h.nlmsg_seq != seq) continue;
    if (h.nlmsg_type == NLMSG_DONE) return 1;
    if (h.nlmsg_type == NLMSG_ERROR) {
      nlmsgerr e;
      if (body_len < sizeof(e)) return -EBADMSG;
      memcpy(&e, body, sizeof(e));
      return e.error < 0 ? e.error : -EPROTO;
    }
    if (h.nlmsg_type != RTM_NEWSTATS || body_len < sizeof(if_stats_msg)) continue;
    if_stats_msg ifsm;
    memcpy(&ifsm, body, sizeof(ifsm));
    size_t a = NLMSG_ALIGN(sizeof(if_stats_msg));
    while (a + sizeof(rtattr) <= body_len) {
      rtattr ra;
      memcpy(&ra, body + a, sizeof(ra));
      if (ra.rta_len < sizeof(rtattr) || ra.rta_len > body_len - a) return -EBADMSG;
      if (ra.rta_type == IFLA_STATS_LINK_64 && ra.rta_len >= RTA_LENGTH(4 * sizeof(uint64_t))) {
        // rtnl_link_stats64 begins rx_packets, tx_packets, rx_bytes, tx_bytes;
        // older kernels send a shorter struct, never a different prefix.
        uint64_t v[4];
        memcpy(v, body + a + RTA_LENGTH(0), sizeof(v));
        out->push_back({static_cast<int32_t>(ifsm.ifindex), v[0], v[1], v[2], v[3]});
      }
      a += RTA_ALIGN(ra.rta_len);
    }
  }
  return 0;
}

int DumpLinkCounters(std::vector<LinkCounters>* out) {
  out->clear();
  Fd s{socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)};
  if (s.fd < 0) return errno;
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (bind(s.fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) < 0) return errno;

  struct {
    nlmsghdr h;
    if_stats_msg ifsm;
  } req{};
  const uint32_t seq = 1;
  req.h.nlmsg_len = sizeof(req);
  req.h.nlmsg_type = RTM_GETSTATS;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.h.nlmsg_seq = seq;
  req.ifsm.family = AF_UNSPEC;
  req.ifsm.filter_mask = IFLA_STATS_FILTER_BIT(IFLA_STATS_LINK_64);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(s.fd, &req, sizeof(req), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) < 0) return errno;

  // The kernel fills each recv with as many interfaces as fit; 32 KiB
  // holds ~300 of them, so 500 veths take two or three reads.
  std::vector<uint8_t> buf(32 * 1024);
  for (;;) {
    ssize_t n = recv(s.fd, buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return EPROTO;
    int r = ParseLinkCounters(buf.data(), static_cast<size_t>(n), seq, out);
    if (r == 1) return 0;
    if (r < 0) return -r;
  }
}

}  // namespace ethburst
