#include "ethtool.h"

#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

namespace ethburst {

namespace {

std::string FromFixed(const char* s, size_t max) { return std::string(s, strnlen(s, max)); }

}  // namespace

EthtoolSocket::EthtoolSocket() {
  // Any socket family works as an ioctl handle: the ethtool ioctl falls
  // through to dev_ioctl. AF_UNIX is the fallback for hosts without IPv4.
  fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) open_errno_ = errno;
}

EthtoolSocket::~EthtoolSocket() {
  if (fd_ >= 0) close(fd_);
}

int EthtoolSocket::Ioctl(const char* dev, void* data) const {
  if (fd_ < 0) return open_errno_ ? open_errno_ : EBADF;
  size_t len = strlen(dev);
  if (len == 0 || len >= IFNAMSIZ) return ENODEV;
  ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  memcpy(ifr.ifr_name, dev, len);
  ifr.ifr_data = static_cast<char*>(data);
  return ioctl(fd_, SIOCETHTOOL, &ifr) < 0 ? errno : 0;
}

int EthtoolSocket::GetDriverInfo(const char* dev, DriverInfo* out) const {
  ethtool_drvinfo info;
  memset(&info, 0, sizeof(info));
  info.cmd = ETHTOOL_GDRVINFO;
  int err = Ioctl(dev, &info);
  if (err) return err;
  out->driver = FromFixed(info.driver, sizeof(info.driver));
  out->version = FromFixed(info.version, sizeof(info.version));
  out->firmware_version = FromFixed(info.fw_version, sizeof(info.fw_version));
  out->bus_info = FromFixed(info.bus_info, sizeof(info.bus_info));
  return 0;
}

int EthtoolSocket::GetStatCount(const char* dev, uint32_t* count) const {
  // ethtool_sset_info ends in a flexible array: one u32 follows for our one bit.
  alignas(ethtool_sset_info) uint8_t raw[sizeof(ethtool_sset_info) + sizeof(uint32_t)];
  memset(raw, 0, sizeof(raw));
  auto* sset = reinterpret_cast<ethtool_sset_info*>(raw);
  sset->cmd = ETHTOOL_GSSET_INFO;
  sset->sset_mask = 1ULL << ETH_SS_STATS;
  int err = Ioctl(dev, sset);
  if (err == EOPNOTSUPP) {
    // Kernels before GSSET_INFO report the count in GDRVINFO.
    ethtool_drvinfo info;
    memset(&info, 0, sizeof(info));
    info.cmd = ETHTOOL_GDRVINFO;
    err = Ioctl(dev, &info);
    if (err) return err;
    if (info.n_stats == 0) return EOPNOTSUPP;
    *count = info.n_stats;
    return 0;
  }
  if (err) return err;
  // The kernel clears the bit when the driver has no stats (loopback).
  if (!(sset->sset_mask & (1ULL << ETH_SS_STATS)) || sset->data[0] == 0) return EOPNOTSUPP;
  *count = sset->data[0];
  return 0;
}

int EthtoolSocket::GetStatNames(const char* dev, uint32_t count, std::vector<std::string>* names) const {
  // Headroom for the same reason as GSTATS: older kernels write the driver's
  // current count, not ours.
  uint32_t room = count * 2 + 64;
  std::vector<uint8_t> buf(sizeof(ethtool_gstrings) + static_cast<size_t>(room) * ETH_GSTRING_LEN);
  auto* gs = reinterpret_cast<ethtool_gstrings*>(buf.data());
  gs->cmd = ETHTOOL_GSTRINGS;
  gs->string_set = ETH_SS_STATS;
  gs->len = count;
  int err = Ioctl(dev, gs);
  if (err) return err;
  if (gs->len != count) return EAGAIN;
  names->clear();
  names->reserve(count);
  for (uint32_t i = 0; i < count; i++) {
    const char* s = reinterpret_cast<const char*>(gs->data) + static_cast<size_t>(i) * ETH_GSTRING_LEN;
    names->push_back(FromFixed(s, ETH_GSTRING_LEN));
  }
  return 0;
}

int EthtoolSocket::GetStats(const char* dev, ethtool_stats* buf, uint32_t capacity, uint32_t* n_stats) const {
  buf->cmd = ETHTOOL_GSTATS;
  buf->n_stats = *n_stats;
  int err = Ioctl(dev, buf);
  if (err) return err;
  if (buf->n_stats > capacity) return EOVERFLOW;
  *n_stats = buf->n_stats;
  return 0;
}

void StatsBuffer::Reserve(uint32_t min_values) {
  uint64_t want = static_cast<uint64_t>(min_values) * 4;
  if (want < 16384) want = 16384;
  if (want > (1u << 24)) want = 1u << 24;
  if (want <= capacity_) return;
  capacity_ = static_cast<uint32_t>(want);
  // One header word (cmd, n_stats) plus the values.
  storage_.assign(static_cast<size_t>(capacity_) + 1, 0);
}

}  // namespace ethburst
