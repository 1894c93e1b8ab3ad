#include "sampler.h"

#include <pthread.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>

namespace ethburst {

namespace {

int64_t Now(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

// libstdc++'s steady_clock is CLOCK_MONOTONIC, so deadlines computed from
// clock_gettime can be waited on directly.
std::chrono::steady_clock::time_point AsSteady(int64_t mono_ns) {
  return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(mono_ns));
}

}  // namespace

Sampler::Sampler(uint32_t* ring, uint32_t capacity_words, int64_t interval_ns, BackoffOptions backoff,
                 ContextOptions context)
    : ring_(ring, capacity_words),
      interval_ns_(interval_ns),
      backoff_(backoff),
      node_(context.node),
      node_values_(context.node.size()),
      traffic_files_(std::move(context.traffic)),
      netdev_(traffic_files_) {
  all_.reserve(64);
  active_.reserve(64);
  buffer_.Reserve(0);
}

Sampler::~Sampler() { Stop(); }

int Sampler::Start() {
  if (thread_.joinable()) return 0;
  socket_owner_ = std::make_unique<EthtoolSocket>();
  if (socket_owner_->open_errno()) return socket_owner_->open_errno();
  socket_ = socket_owner_.get();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = false;
  }
  running_.store(true, std::memory_order_release);
  ring_.Set(kThreadState, 1);
  thread_ = std::thread([this] { Run(); });
  return 0;
}

void Sampler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (running_.exchange(false)) ring_.Set(kThreadState, 2);
  // The thread is gone: nothing reads the context files now, and a stopped
  // sampler keeps none of them open (Start opens them again as it reads).
  node_.Close();
  netdev_.Close();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& d : all_) d->traffic.reset();
    active_.clear();
    dirty_ = true;
  }
  socket_ = nullptr;
  socket_owner_.reset();
}

void Sampler::Add(uint32_t id, const std::string& name) {
  auto d = std::make_shared<Device>();
  d->id = id;
  d->name = name;
  d->interval_ns.store(interval_ns_);
  std::lock_guard<std::mutex> lock(mu_);
  all_.push_back(std::move(d));
  dirty_ = true;
}

void Sampler::Remove(uint32_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = std::find_if(all_.begin(), all_.end(), [id](const auto& d) { return d->id == id; });
  if (it == all_.end()) return;
  (*it)->removed.store(true);
  all_.erase(it);
  dirty_ = true;
}

std::shared_ptr<Sampler::Device> Sampler::Find(uint32_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& d : all_) {
    if (d->id == id) return d;
  }
  return nullptr;
}

void Sampler::Revalidate(uint32_t id) {
  if (auto d = Find(id)) d->revalidate.store(true);
}

void Sampler::SetDeviceInterval(uint32_t id, int64_t ns) {
  if (auto d = Find(id)) d->interval_ns.store(std::max(ns, interval_ns_));
}

void Sampler::ApplyPending() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!dirty_) return;
  // Copying shared_ptrs reuses active_'s capacity; it only allocates when
  // the device count grows past what was reserved.
  active_.assign(all_.begin(), all_.end());
  dirty_ = false;
}

void Sampler::Run() {
  pthread_setname_np(pthread_self(), "ethburst-sample");
  int64_t next = Now(CLOCK_MONOTONIC);
  uint32_t missed = 0;
  uint64_t seq = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_until(lock, AsSteady(next), [this] { return stop_; });
      if (stop_) break;
    }
    int64_t start = Now(CLOCK_MONOTONIC);
    ApplyPending();
    Tick(++seq, next, start - next, missed);
    ring_.Add(kTicks, 1);
    next += interval_ns_;
    // A deadline that passed while we were busy (a slow ioctl, a stalled
    // machine) is skipped, not queued: catching up would fire a burst of
    // back-to-back ioctls exactly when the device is struggling.
    int64_t now = Now(CLOCK_MONOTONIC);
    missed = 0;
    if (now >= next) {
      int64_t skip = (now - next) / interval_ns_ + 1;
      next += skip * interval_ns_;
      missed = static_cast<uint32_t>(std::min<int64_t>(skip, UINT32_MAX));
      ring_.Add(kMissedTicks, missed);
    }
  }
}

void Sampler::Tick(uint64_t seq, int64_t deadline, int64_t lateness, uint32_t missed) {
  // Devices due this tick: with back-off, not every device is read every tick,
  // and a reader counting lost samples needs to know how many to expect.
  uint32_t due = 0;
  for (auto& d : active_) {
    if (!d->removed.load(std::memory_order_relaxed) && !d->vanished && deadline >= d->next_due_ns) due++;
  }
  ring_.WriteTick(seq, deadline, lateness, missed, due);
  seq_ = seq;
  netdev_read_ = false;
  // The node's counters once per tick in which any device is read (at most
  // every kNodeEveryNs), ahead of the samples they explain.
  if (due > 0 && node_.size() > 0 && deadline >= node_due_ns_) {
    // On the tick grid: a 10 ms sampler reads them every 10th tick.
    node_due_ns_ = deadline + kNodeEveryNs - interval_ns_ / 2;
    int64_t c0 = Now(CLOCK_MONOTONIC);
    node_.Read(c0, node_values_.data());
    int64_t c1 = Now(CLOCK_MONOTONIC);
    ring_.WriteContext(c1, Now(CLOCK_REALTIME), c1 - c0, node_.size(), node_values_.data());
  }
  for (auto& d : active_) {
    if (d->removed.load(std::memory_order_relaxed) || d->vanished) continue;
    if (deadline < d->next_due_ns) continue;
    SampleDevice(*d);
    // Stay on the tick grid: due again `interval` after this deadline.
    int64_t every = d->interval_ns.load(std::memory_order_relaxed);
    d->next_due_ns = deadline + every - interval_ns_ / 2;
  }
}

bool Sampler::TableTraffic(const Device& d, int64_t now) {
  if (!netdev_.usable()) return false;
  if (!netdev_read_) {
    if (!netdev_use_ && seq_ < netdev_check_seq_) return false;
    netdev_read_ = true;
    size_t readers = 0;
    for (const auto& a : active_) {
      if (!a->removed.load(std::memory_order_relaxed) && !a->vanished && !a->traffic_from_stats) readers++;
    }
    netdev_use_ = netdev_.Read(now) && netdev_.interfaces() <= kNetDevPerDevice * readers;
    if (!netdev_use_) netdev_check_seq_ = seq_ + kNetDevRecheckTicks;
  }
  return netdev_use_ && netdev_.Lookup(d.name, traffic_);
}

int Sampler::ReadLayout(Device& d) {
  uint32_t count = 0;
  int err = 0;
  for (int attempt = 0; attempt < 3; attempt++) {
    err = socket_->GetStatCount(d.name.c_str(), &count);
    if (err) return err;
    err = socket_->GetStatNames(d.name.c_str(), count, &scratch_names_);
    if (err != EAGAIN) break;
  }
  if (err) return err;
  buffer_.Reserve(count);
  d.count = count;
  d.need_layout = false;
  static const char* const kAdmin[3] = {"ena_admin_q_no_completion", "ena_admin_q_aborted_cmd",
                                        "ena_admin_q_out_of_space"};
  for (int k = 0; k < 3; k++) {
    d.admin_idx[k] = -1;
    for (uint32_t i = 0; i < count; i++) {
      if (scratch_names_[i] == kAdmin[k]) {
        d.admin_idx[k] = static_cast<int>(i);
        break;
      }
    }
  }
  d.admin_have_prev = false;
  // ENA's per-queue counters, in the order of the traffic words (rx/tx
  // packets, rx/tx bytes): what ena_get_stats64 sums for the interface.
  static const char* const kQueueStat[kTrafficValues] = {"rx_cnt", "tx_cnt", "rx_bytes", "tx_bytes"};
  d.traffic_from_stats = true;
  for (uint32_t k = 0; k < kTrafficValues; k++) {
    d.traffic_idx[k].clear();
    for (uint32_t i = 0; i < count; i++) {
      int q = 0;
      int end = 0;
      const std::string& name = scratch_names_[i];
      if (sscanf(name.c_str(), "queue_%d_%n", &q, &end) == 1 && end > 0 &&
          name.compare(end, std::string::npos, kQueueStat[k]) == 0) {
        d.traffic_idx[k].push_back(static_cast<int>(i));
      }
    }
    if (d.traffic_idx[k].empty()) d.traffic_from_stats = false;
  }
  if (d.generation == 0 || scratch_names_ != d.names) {
    d.names.swap(scratch_names_);
    d.generation++;
    d.layout_published = false;
  }
  return 0;
}

void Sampler::SampleDevice(Device& d) {
  if (d.need_layout || d.revalidate.exchange(false, std::memory_order_relaxed)) {
    int err = ReadLayout(d);
    if (err) {
      int64_t now = Now(CLOCK_MONOTONIC);
      ring_.WriteSample(d.id, d.generation, now, Now(CLOCK_REALTIME), 0, err, nullptr, 0, nullptr);
      d.need_layout = true;
      d.vanished = err == ENODEV;
      return;
    }
  }
  uint32_t n = d.count;
  int64_t t0 = Now(CLOCK_MONOTONIC);
  int err = socket_->GetStats(d.name.c_str(), buffer_.get(), buffer_.capacity(), &n);
  int64_t t1 = Now(CLOCK_MONOTONIC);
  int64_t wall = Now(CLOCK_REALTIME);
  if (err) {
    // Report, never interpret: whether the next good sample pairs with the
    // last one is for the aggregation to decide (a timeout is not a layout
    // change). Re-reading the names costs no admin command and catches a
    // layout that changed behind the error: the generation moves only if
    // they differ. An interface re-created under the same name is found by
    // ENODEV or by its new ifindex, both handled in JavaScript.
    d.need_layout = true;
    // One ENODEV per disappearance: JavaScript drops the device on it and a
    // re-scan adds it back as a new one, so asking again only costs ioctls
    // (and would make the count of failed reads depend on drain timing).
    d.vanished = err == ENODEV;
    ring_.WriteSample(d.id, d.generation, t1, wall, t1 - t0, err, nullptr, 0, nullptr);
    Assess(d, err, t1 - t0, t1, nullptr, 0);
    return;
  }
  if (n != d.count) {
    // The driver's stat count changed (queues, XDP, PHC) or a fixed kernel
    // answered 0 for our stale count. These values belong to names we have
    // not read: drop them and re-read the names now (a new generation only
    // if they differ).
    d.need_layout = true;
    if (ReadLayout(d) != 0) d.need_layout = true;
    return;
  }
  const uint64_t* values = reinterpret_cast<const uint64_t*>(buffer_.get()->data);
  // Names first: a sample JavaScript cannot name is worse than none (the
  // overrun is counted, and the layout is tried again with the next one).
  if (!d.layout_published) d.layout_published = ring_.WriteLayout(d.id, d.generation, d.names);
  // The interface's own packet and byte counters, right after the GSTATS
  // call: the traffic the allowance counters are judged against.
  const uint64_t* traffic = nullptr;
  if (d.traffic_from_stats) {
    for (uint32_t k = 0; k < kTrafficValues; k++) {
      uint64_t sum = 0;
      for (int i : d.traffic_idx[k]) sum += values[i];
      traffic_[k] = sum;
    }
    traffic = traffic_;
  } else if (traffic_files_.size() == kTrafficValues) {
    if (!TableTraffic(d, t1)) {
      if (!d.traffic) d.traffic = std::make_unique<DeviceTraffic>(d.name, traffic_files_);
      d.traffic->Read(t1, traffic_);
    }
    traffic = traffic_;
  }
  if (d.layout_published) ring_.WriteSample(d.id, d.generation, t1, wall, t1 - t0, 0, traffic, n, values);
  Assess(d, 0, t1 - t0, t1, values, n);
}

int64_t Sampler::WindowP99(const Device& d, int64_t now) {
  int n = 0;
  for (int i = 0; i < d.window_len; i++) {
    if (now - d.window_at[i] <= Device::kWindowNs) sort_scratch_[n++] = d.window[i];
  }
  if (n == 0) return 0;
  // Nearest rank: the ceil(0.99 n)-th smallest. Over a short window that is
  // the maximum, which is the cautious answer right after a change.
  int rank = (99 * n + 99) / 100 - 1;
  std::nth_element(sort_scratch_, sort_scratch_ + rank, sort_scratch_ + n);
  return sort_scratch_[rank];
}

void Sampler::Assess(Device& d, int err, int64_t ioctl_ns, int64_t now, const uint64_t* values, uint32_t n) {
  if (!backoff_.enabled) return;
  uint32_t reason = 0;
  int64_t evidence = ioctl_ns;
  if (err == ETIMEDOUT || err == EBUSY || err == EAGAIN || err == EIO) {
    reason = kReasonError;
  } else if (err == 0) {
    d.window[d.window_next] = ioctl_ns;
    d.window_at[d.window_next] = now;
    d.window_next = (d.window_next + 1) % Device::kWindow;
    if (d.window_len < Device::kWindow) d.window_len++;
    bool admin_rose = false;
    for (int k = 0; k < 3; k++) {
      int i = d.admin_idx[k];
      if (i < 0 || static_cast<uint32_t>(i) >= n) continue;
      if (d.admin_have_prev && values[i] > d.admin_prev[k]) admin_rose = true;
      d.admin_prev[k] = values[i];
    }
    d.admin_have_prev = true;
    int64_t p99 = WindowP99(d, now);
    if (admin_rose) {
      reason = kReasonAdminQueue;
    } else if (p99 > backoff_.threshold_ns) {
      reason = kReasonSlow;
      evidence = p99;
    }
  } else {
    // ENODEV, EOPNOTSUPP and the like say nothing about device health.
    return;
  }
  int64_t current = d.interval_ns.load(std::memory_order_relaxed);
  if (reason != 0) {
    d.healthy_streak = 0;
    if (current < backoff_.max_interval_ns) {
      ChangeInterval(d, std::min(current * 2, backoff_.max_interval_ns), reason, evidence);
    }
    return;
  }
  if (current > interval_ns_ && ++d.healthy_streak >= backoff_.recover_after) {
    ChangeInterval(d, std::max(current / 2, interval_ns_), kReasonRecovered, WindowP99(d, now));
  }
}

void Sampler::ChangeInterval(Device& d, int64_t interval_ns, uint32_t reason, int64_t evidence_ns) {
  d.interval_ns.store(interval_ns, std::memory_order_relaxed);
  d.healthy_streak = 0;
  // Judge the new pace on its own calls.
  d.window_len = 0;
  d.window_next = 0;
  ring_.WriteInterval(d.id, reason, Now(CLOCK_MONOTONIC), interval_ns, evidence_ns);
}

}  // namespace ethburst
