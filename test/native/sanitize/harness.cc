// Start/stop loops over the sampler and ethtool code without Node, built
// with AddressSanitizer, LeakSanitizer and UBSan by test/native/sanitizer.test.ts.
// Exercises: add/remove while running, ENODEV and EOPNOTSUPP devices, a tiny
// ring (overruns and tail padding), back-off and recovery, stop during ticks,
// the context files (present, missing, a field that is not there) and their
// parsers on odd input, the netlink link dump and its parser on truncated
// and lying messages.
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "../../../native/links.h"
#include "../../../native/ring.h"
#include "../../../native/sampler.h"

using namespace ethburst;

// The parsers on input the kernel never writes, plus a real table.
static int CheckParsers() {
  const char* snmp =
      "Ip: Forwarding DefaultTTL FragCreates\nIp: 1 64 42\nUdp: InDatagrams NoPorts\nUdp: 7 18446744073709551614\n";
  struct Case {
    const char* text;
    const char* section;
    const char* field;
    uint64_t want;
  } cases[] = {
      {snmp, "Ip", "FragCreates", 42},
      {snmp, "Udp", "NoPorts", 18446744073709551614ULL},
      {snmp, "Udp", "Missing", kUnknown},
      {snmp, "Tcp", "RetransSegs", kUnknown},
      {"Ip: A B\n", "Ip", "B", kUnknown},         // no values line
      {"Ip: A B\nIp: 1\n", "Ip", "B", kUnknown},  // values line too short
      {"Ip: A\nIp: -1\n", "Ip", "A", kUnknown},   // negative (Tcp MaxConn)
      {"", "Ip", "A", kUnknown},
      {"Ip", "Ip", "A", kUnknown},
  };
  for (const auto& c : cases) {
    uint64_t got = TableField(c.text, c.section, c.field);
    if (got != c.want) {
      fprintf(stderr, "TableField(%s.%s) = %llu\n", c.section, c.field, static_cast<unsigned long long>(got));
      return 1;
    }
  }
  if (LeadingNumber("262144\n") != 262144 || LeadingNumber("") != kUnknown || LeadingNumber("x") != kUnknown ||
      LeadingNumber("99999999999999999999") != kUnknown) {
    fprintf(stderr, "LeadingNumber\n");
    return 1;
  }
  // /proc/net/dev lines: rx_packets, tx_packets, rx_bytes, tx_bytes columns.
  const int columns[kTrafficValues] = {1, 9, 0, 8};
  uint64_t v[kTrafficValues] = {};
  const char* line = "  eth0: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0\n";
  if (!NetDevLine(line, "eth0", columns, v) || v[0] != 10 || v[1] != 20 || v[2] != 1000 || v[3] != 2000 ||
      NetDevLine(line, "eth", columns, v) || NetDevLine(line, "eth00", columns, v) ||
      NetDevLine("eth0 1 2\n", "eth0", columns, v)) {
    fprintf(stderr, "NetDevLine\n");
    return 1;
  }
  // A line cut short: the missing columns are unknown, never read past the text.
  if (!NetDevLine("lo: 5 6", "lo", columns, v) || v[0] != 6 || v[1] != kUnknown || v[2] != 5 || v[3] != kUnknown) {
    fprintf(stderr, "NetDevLine (short)\n");
    return 1;
  }
  return 0;
}

// A dump message for one interface, with its attribute length as given.
static std::vector<uint8_t> StatsMessage(uint32_t seq, int32_t ifindex, uint16_t rta_len, uint32_t nlmsg_len_delta) {
  std::vector<uint8_t> m(NLMSG_SPACE(NLMSG_ALIGN(sizeof(if_stats_msg)) + RTA_SPACE(sizeof(rtnl_link_stats64))), 0);
  nlmsghdr h{};
  h.nlmsg_len = static_cast<uint32_t>(m.size()) + nlmsg_len_delta;
  h.nlmsg_type = RTM_NEWSTATS;
  h.nlmsg_seq = seq;
  memcpy(m.data(), &h, sizeof(h));
  if_stats_msg ifsm{};
  ifsm.ifindex = static_cast<uint32_t>(ifindex);
  memcpy(m.data() + NLMSG_HDRLEN, &ifsm, sizeof(ifsm));
  rtattr ra{};
  ra.rta_len = rta_len;
  ra.rta_type = IFLA_STATS_LINK_64;
  size_t at = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(if_stats_msg));
  memcpy(m.data() + at, &ra, sizeof(ra));
  uint64_t v[4] = {1, 2, 3, 4};
  memcpy(m.data() + at + RTA_LENGTH(0), v, sizeof(v));
  return m;
}

static int CheckLinks() {
  std::vector<LinkCounters> out;
  auto good = StatsMessage(7, 3, RTA_LENGTH(sizeof(rtnl_link_stats64)), 0);
  if (ParseLinkCounters(good.data(), good.size(), 7, &out) != 0 || out.size() != 1 || out[0].ifindex != 3 ||
      out[0].tx_bytes != 4) {
    fprintf(stderr, "ParseLinkCounters: a good message\n");
    return 1;
  }
  out.clear();
  // Another request's answer is skipped; a message longer than the buffer, or
  // an attribute longer than its message, is an error, never a read past it.
  if (ParseLinkCounters(good.data(), good.size(), 8, &out) != 0 || !out.empty()) return fprintf(stderr, "seq\n"), 1;
  auto longer = StatsMessage(7, 3, RTA_LENGTH(sizeof(rtnl_link_stats64)), 64);
  if (ParseLinkCounters(longer.data(), longer.size(), 7, &out) >= 0) return fprintf(stderr, "nlmsg_len\n"), 1;
  auto lying = StatsMessage(7, 3, 0xfff0, 0);
  if (ParseLinkCounters(lying.data(), lying.size(), 7, &out) >= 0) return fprintf(stderr, "rta_len\n"), 1;
  // An attribute too short for the four counters gives no entry (what follows it here is garbage).
  auto shortattr = StatsMessage(7, 3, RTA_LENGTH(8), 0);
  out.clear();
  ParseLinkCounters(shortattr.data(), shortattr.size(), 7, &out);
  if (!out.empty()) return fprintf(stderr, "short\n"), 1;
  for (size_t cut = 0; cut < good.size(); cut++) ParseLinkCounters(good.data(), cut, 7, &out);
  // The real dump: this namespace has at least lo.
  if (DumpLinkCounters(&out) != 0 || out.empty()) return fprintf(stderr, "DumpLinkCounters\n"), 1;
  return 0;
}

int main(int argc, char** argv) {
  if (CheckParsers() != 0) return 1;
  if (CheckLinks() != 0) return 1;
  const char* dev = argc > 1 ? argv[1] : "eth0";
  int rounds = argc > 2 ? atoi(argv[2]) : 30;
  uint64_t records = 0;
  for (int round = 0; round < rounds; round++) {
    // Small enough to wrap and overrun within a round.
    const uint32_t cap = round % 2 ? 64 : 4096;
    std::vector<uint64_t> mem(kHeaderU32 / 2 + cap, 0);
    auto* ring = reinterpret_cast<uint32_t*>(mem.data());
    ring[kMagic] = kRingMagic;
    ring[kCapacity] = cap;
    BackoffOptions backoff;
    // Every call "slow" on odd rounds: back-off and recovery paths run.
    backoff.threshold_ns = round % 2 ? 0 : 20'000'000;
    backoff.recover_after = 2;
    backoff.max_interval_ns = 40'000'000;
    ContextOptions context;
    context.node = {{"/proc/net/snmp", "Ip", "FragCreates"},
                    {"/proc/net/snmp", "Tcp", "NoSuchField"},
                    {"/proc/sys/net/netfilter/nf_conntrack_count", "", ""},
                    {"/nonexistent/ethburst", "", ""}};
    if (round % 4 != 3) context.traffic = {"rx_packets", "tx_packets", "rx_bytes", "tx_bytes"};
    Sampler s(ring, cap, 10'000'000, backoff, context);
    s.Add(1, dev);
    s.Add(2, "lo");
    s.Add(3, "nosuchdev0");
    if (s.Start() != 0) {
      fprintf(stderr, "start failed\n");
      return 2;
    }
    // A consumer like RingReader: follow the write position, free space.
    std::atomic<bool> stop{false};
    std::thread reader([&] {
      while (!stop.load()) {
        uint32_t w = std::atomic_ref<uint32_t>(ring[kWritePos]).load(std::memory_order_acquire);
        uint32_t r = std::atomic_ref<uint32_t>(ring[kReadPos]).load(std::memory_order_relaxed);
        while (r != w) {
          // Records start after the header; word 0 holds the length.
          uint32_t words = static_cast<uint32_t>(mem[kHeaderU32 / 2 + (r & (cap - 1))] & 0xffffffff);
          if (words == 0) return;
          r += words;
          records++;
        }
        std::atomic_ref<uint32_t>(ring[kReadPos]).store(r, std::memory_order_release);
        std::this_thread::sleep_for(std::chrono::milliseconds(round % 3 == 0 ? 30 : 1));
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(40));
    s.Revalidate(1);
    s.Remove(2);
    s.Add(4, dev);
    s.SetDeviceInterval(4, 20'000'000);
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    if (round % 5 == 0) {
      s.Stop();
      s.Start();  // restart on the same ring
      std::this_thread::sleep_for(std::chrono::milliseconds(15));
    }
    s.Stop();
    stop.store(true);
    reader.join();
  }
  printf("ok %llu records\n", static_cast<unsigned long long>(records));
  return 0;
}
