// The sampling thread: absolute deadlines on CLOCK_MONOTONIC, every selected
// device read once per tick in sequence, results published to the ring.
// Pure C++; the Node binding lives in addon.cc.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "context.h"
#include "ethtool.h"
#include "ring.h"

namespace ethburst {

// Adaptive back-off. On ENA every GSTATS is a synchronous admin-queue
// command taken under rtnl_lock: a device that answers slowly or not at all
// holds the lock that `ip link`, CNI plugins and the driver's own reset path
// need. So a device that looks unwell is asked less often.
struct BackoffOptions {
  bool enabled = true;
  // p99 of the recent calls above this is "slow".
  int64_t threshold_ns = 20'000'000;
  // Never slower than this.
  int64_t max_interval_ns = 1'000'000'000;
  // Healthy calls in a row at a backed-off interval before halving it.
  uint32_t recover_after = 10;
};

class Sampler {
 public:
  // `context`: the node counters read once per tick (kContext records) and
  // the traffic files read with each sample.
  Sampler(uint32_t* ring, uint32_t capacity_words, int64_t interval_ns, BackoffOptions backoff = {},
          ContextOptions context = {});
  ~Sampler();
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  // 0, or the errno that kept the thread from starting.
  int Start();
  // Stops and joins. Waits for an ioctl in flight (on ENA, up to the admin
  // queue timeout): leaving it running would let it write into freed memory.
  void Stop();
  bool running() const { return running_.load(std::memory_order_acquire); }

  // Device management from the JS thread. Takes effect at the next tick.
  void Add(uint32_t id, const std::string& name);
  void Remove(uint32_t id);
  // Re-read the names at the next tick; bumps the generation if they differ.
  void Revalidate(uint32_t id);
  // Sample this device every `ns` (rounded up to a whole number of ticks).
  void SetDeviceInterval(uint32_t id, int64_t ns);

  int64_t interval_ns() const { return interval_ns_; }

 private:
  struct Device {
    uint32_t id;
    std::string name;
    // Thread-owned.
    uint32_t count = 0;
    bool need_layout = true;
    // Answered ENODEV: not asked again (JavaScript removes it, a re-scan
    // adds a new one if the name comes back).
    bool vanished = false;
    int64_t next_due_ns = 0;
    // Back-off state: the durations (and end times) of the calls in the
    // last kWindowNs, at most kWindow of them, and health counters.
    static constexpr int kWindow = 100;
    static constexpr int64_t kWindowNs = 10'000'000'000;
    int64_t window[kWindow] = {};
    int64_t window_at[kWindow] = {};
    int window_len = 0;
    int window_next = 0;
    uint32_t healthy_streak = 0;
    // Positions of ena_admin_q_{no_completion,aborted_cmd,out_of_space}; -1 if absent.
    int admin_idx[3] = {-1, -1, -1};
    uint64_t admin_prev[3] = {};
    bool admin_have_prev = false;
    // Written by the JS thread, read by the sampler thread.
    std::atomic<int64_t> interval_ns{0};
    std::atomic<bool> revalidate{false};
    std::atomic<bool> removed{false};
    // Thread-owned: JavaScript learns them from kLayout records.
    uint32_t generation = 0;
    std::vector<std::string> names;
    // The current generation's kLayout record is in the ring; until it is,
    // no sample of that generation is published (it could not be decoded).
    bool layout_published = false;
    // Thread-owned: opened at the device's first good sample.
    std::unique_ptr<DeviceTraffic> traffic;
    // Positions of the per-queue packet and byte counters in GSTATS, per
    // traffic word, when the driver has them all (ENA): the traffic is then
    // their sums from the same read, and sysfs is not asked.
    std::vector<int> traffic_idx[kTrafficValues];
    bool traffic_from_stats = false;
  };

  void Run();
  void ApplyPending();
  void Tick(uint64_t seq, int64_t deadline, int64_t lateness, uint32_t missed);
  void SampleDevice(Device& d);
  int ReadLayout(Device& d);
  // Judges one call and changes the device's interval when the policy says so.
  void Assess(Device& d, int err, int64_t ioctl_ns, int64_t now, const uint64_t* values, uint32_t n);
  void ChangeInterval(Device& d, int64_t interval_ns, uint32_t reason, int64_t evidence_ns);
  int64_t WindowP99(const Device& d, int64_t now);
  std::shared_ptr<Device> Find(uint32_t id);

  RingWriter ring_;
  const int64_t interval_ns_;
  const BackoffOptions backoff_;
  int64_t sort_scratch_[Device::kWindow] = {};
  EthtoolSocket* socket_ = nullptr;  // created on the thread's behalf in Start()
  std::unique_ptr<EthtoolSocket> socket_owner_;
  StatsBuffer buffer_;
  std::vector<std::string> scratch_names_;
  NodeContext node_;
  std::vector<uint64_t> node_values_;
  // The node's counters are read at most this often, whatever the tick:
  // /proc/net/snmp sums per-CPU counters over every possible CPU, and 100 ms
  // is the resolution a burst's context needs. Each record carries its time.
  static constexpr int64_t kNodeEveryNs = 100'000'000;
  int64_t node_due_ns_ = 0;
  std::vector<std::string> traffic_files_;
  uint64_t traffic_[kTrafficValues] = {};
  // Traffic of devices without GSTATS traffic from one /proc/net/dev read a
  // tick, while the table has at most kNetDevPerDevice interfaces per such
  // device (its read costs what their statistics files would); else the
  // files, and the table is counted again every kNetDevRecheckTicks.
  bool TableTraffic(const Device& d, int64_t now);
  static constexpr size_t kNetDevPerDevice = 4;
  static constexpr uint64_t kNetDevRecheckTicks = 100;
  NetDevTable netdev_;
  bool netdev_read_ = false;  // this tick
  bool netdev_use_ = false;
  uint64_t netdev_check_seq_ = 0;
  uint64_t seq_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool dirty_ = false;
  std::vector<std::shared_ptr<Device>> all_;     // guarded by mu_: what JS added
  std::vector<std::shared_ptr<Device>> active_;  // thread-owned snapshot
  std::thread thread_;
  std::atomic<bool> running_{false};
};

}  // namespace ethburst
