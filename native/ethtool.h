// SIOCETHTOOL operations, pure C++ (no Node headers) so they can be built
// into the sampler thread, a bare benchmark loop, and sanitizer tests alike.
// Every call returns 0 or a positive errno; nothing throws.
#pragma once

#include <linux/ethtool.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ethburst {

struct DriverInfo {
  std::string driver;
  std::string version;
  std::string firmware_version;
  std::string bus_info;
};

// One datagram socket used as the handle for ethtool ioctls. The kernel looks
// the device up in the socket's network namespace, fixed when it is created.
class EthtoolSocket {
 public:
  EthtoolSocket();
  ~EthtoolSocket();
  EthtoolSocket(const EthtoolSocket&) = delete;
  EthtoolSocket& operator=(const EthtoolSocket&) = delete;

  // 0 when the socket opened, else the errno of socket(2).
  int open_errno() const { return open_errno_; }

  int GetDriverInfo(const char* dev, DriverInfo* out) const;
  // Number of ETH_SS_STATS strings. EOPNOTSUPP when the device has none.
  int GetStatCount(const char* dev, uint32_t* count) const;
  // The stat names. EAGAIN when the count changed between the calls, so the
  // caller can retry rather than pair names with the wrong values.
  int GetStatNames(const char* dev, uint32_t count, std::vector<std::string>* names) const;
  // GSTATS into `buf`, which has room for `capacity` values after the header.
  // On success *n_stats is the count the kernel reported; a caller compares it
  // with the names it holds. A count above capacity is reported as EOVERFLOW
  // (pre-2025 kernels write the driver's count whatever we ask for, which is
  // why callers keep generous headroom).
  int GetStats(const char* dev, ethtool_stats* buf, uint32_t capacity, uint32_t* n_stats) const;

 private:
  int Ioctl(const char* dev, void* data) const;

  int fd_ = -1;
  int open_errno_ = 0;
};

// A GSTATS buffer with headroom, reused for every call.
class StatsBuffer {
 public:
  // Room for at least `min_values`, with at least 4x headroom and never less
  // than 16384 values (128 KiB, the ENA worst case of 128 queues).
  void Reserve(uint32_t min_values);
  ethtool_stats* get() { return reinterpret_cast<ethtool_stats*>(storage_.data()); }
  uint32_t capacity() const { return capacity_; }

 private:
  std::vector<uint64_t> storage_;
  uint32_t capacity_ = 0;
};

}  // namespace ethburst
