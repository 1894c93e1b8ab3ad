// Every interface's 64-bit packet and byte counters in one netlink call: an
// RTM_GETSTATS dump asking for IFLA_STATS_LINK_64 only, so the kernel sends
// ~100 bytes per interface and builds nothing else (an RTM_GETLINK dump
// would add every link attribute; sysfs would take four reads per
// interface). It is what ranks a node's pod veths during a burst, at a
// coarse cadence: on the kernels EKS runs, the dump holds rtnl_lock for its
// duration, like ENA's GSTATS, so it is never called per tick.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ethburst {

struct LinkCounters {
  int32_t ifindex;
  uint64_t rx_packets;
  uint64_t tx_packets;
  uint64_t rx_bytes;
  uint64_t tx_bytes;
};

// Fills `out` (cleared first) with one entry per interface of the calling
// thread's network namespace. Returns 0 or a positive errno; `out` keeps
// what was parsed before an error.
int DumpLinkCounters(std::vector<LinkCounters>* out);

// Parses one buffer of netlink messages as the dump returns them, appending
// to `out`. Returns 1 when the dump is done (NLMSG_DONE), 0 to read on, or
// -errno for an NLMSG_ERROR or a malformed message. Exposed for the
// sanitizer harness.
int ParseLinkCounters(const uint8_t* buf, size_t len, uint32_t seq, std::vector<LinkCounters>* out);

}  // namespace ethburst
