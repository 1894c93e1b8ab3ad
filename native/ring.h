// The sample ring: memory owned by JavaScript (a SharedArrayBuffer), written
// by the sampler thread, drained by JavaScript in batches. Single producer,
// single consumer, and the producer never waits: when the consumer falls
// behind, records are dropped and counted as overruns.
//
// This file is the one definition of the layout: the addon exports these
// constants (`ringLayout`, native/addon.cc) and src/sampling/ring.ts, the fake addon in
// test/ and the tests read them from there. The ring is the only channel from
// the sampler thread to JavaScript: layouts (stat names) travel in it too.
//
// Header, u32 words:
//   [0] magic  [1] capacity (u64 words, power of two)
//   [2] write position  [3] read position (u64 words, wrapping u32)
//   [4] overruns  [5] ticks  [6] missed ticks (wrapping u32 counters; the
//       reader accumulates differences, so wrap-around is harmless)
//   [7] thread state (0 idle, 1 running, 2 stopped)
// Records start at byte 64, in u64 words. Word 0 of a record is
// (length in words) | (kind << 32); a record never straddles the end, a
// padding record fills the tail instead.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>

namespace ethburst {

constexpr uint32_t kRingMagic = 0x31524245;  // "EBR1"
constexpr uint32_t kHeaderU32 = 16;

enum HeaderIndex : uint32_t {
  kMagic = 0,
  kCapacity = 1,
  kWritePos = 2,
  kReadPos = 3,
  kOverruns = 4,
  kTicks = 5,
  kMissedTicks = 6,
  kThreadState = 7,
};

enum RecordKind : uint32_t {
  kPad = 1,
  // [len|kind] [id | generation<<32] [mono ns] [wall ns] [ioctl ns] [errno | n<<32]
  // [rx packets] [tx packets] [rx bytes] [tx bytes] values...
  // The traffic words are the interface's own counters (context.h), read
  // right after the GSTATS call; kUnknown (2^64 - 1) where not read.
  kSample = 2,
  // [len|kind] [tick seq] [deadline mono ns] [lateness ns] [missed | devices due this tick <<32]
  kTick = 3,
  // [len|kind] [id | reason<<32] [mono ns] [new interval ns] [evidence ns: the p99 or the call's duration]
  kInterval = 4,
  // [len|kind] [id | generation<<32] [count] then count names of kNameBytes,
  // NUL-padded. Written before the first sample of every generation.
  kLayout = 5,
  // [len|kind] [mono ns] [wall ns] [read ns] [count] then count values: the
  // node's counters (context.h) in the order the sampler was given them,
  // kUnknown where not read. Once per tick, before that tick's samples.
  kContext = 6,
};

// Why a device's interval changed (kInterval records).
enum IntervalReason : uint32_t {
  kReasonSlow = 1,        // ioctl p99 over the threshold
  kReasonError = 2,       // a timeout-like errno (ETIMEDOUT, EBUSY, EAGAIN, EIO)
  kReasonAdminQueue = 3,  // ena_admin_q_{no_completion,aborted_cmd,out_of_space} rose
  kReasonRecovered = 4,   // healthy long enough: stepping back toward the configured interval
};

constexpr uint32_t kTrafficWord = 6;
constexpr uint32_t kTrafficValues = 4;
constexpr uint32_t kSampleHeaderWords = kTrafficWord + kTrafficValues;
constexpr uint32_t kContextHeaderWords = 5;
constexpr uint32_t kTickWords = 5;
constexpr uint32_t kIntervalWords = 5;
constexpr uint32_t kLayoutHeaderWords = 3;
// ETH_GSTRING_LEN: a stat name as the kernel hands it over.
constexpr uint32_t kNameBytes = 32;
constexpr uint32_t kNameWords = kNameBytes / 8;

class RingWriter {
 public:
  // `memory` must be 8-byte aligned and hold 64 + 8 * capacity bytes.
  RingWriter(uint32_t* memory, uint32_t capacity_words)
      : hdr_(memory), data_(reinterpret_cast<uint64_t*>(memory + kHeaderU32)), cap_(capacity_words) {
    write_ = Load(kWritePos);
  }

  // Space for a record of `words`, or nullptr (and an overrun counted) when
  // the consumer has not freed enough. Pads the tail when needed.
  uint64_t* Reserve(uint32_t words) {
    uint32_t read = Load(kReadPos);
    uint32_t used = write_ - read;
    uint32_t free = cap_ - used;
    uint32_t off = write_ & (cap_ - 1);
    uint32_t tail = cap_ - off;
    uint32_t need = words <= tail ? words : tail + words;
    if (words > cap_ / 2 || need > free) {
      Add(kOverruns, 1);
      return nullptr;
    }
    if (words > tail) {
      data_[off] = static_cast<uint64_t>(tail) | (static_cast<uint64_t>(kPad) << 32);
      write_ += tail;
      off = 0;
    }
    return data_ + off;
  }

  // Makes the record at the last Reserve visible to the reader.
  void Commit(uint32_t words) {
    write_ += words;
    std::atomic_ref<uint32_t>(hdr_[kWritePos]).store(write_, std::memory_order_release);
  }

  // Record encoders: the only code that knows where a field sits. Each
  // returns false when the record did not fit (an overrun is counted).
  bool WriteTick(uint64_t seq, int64_t deadline, int64_t lateness, uint32_t missed, uint32_t due) {
    uint64_t* w = Reserve(kTickWords);
    if (!w) return false;
    w[0] = kTickWords | (static_cast<uint64_t>(kTick) << 32);
    w[1] = seq;
    w[2] = static_cast<uint64_t>(deadline);
    w[3] = static_cast<uint64_t>(lateness);
    w[4] = missed | (static_cast<uint64_t>(due) << 32);
    Commit(kTickWords);
    return true;
  }

  // `traffic`: kTrafficValues words, or nullptr for none known.
  bool WriteSample(uint32_t id, uint32_t generation, int64_t mono, int64_t wall, int64_t ioctl_ns, int err,
                   const uint64_t* traffic, uint32_t n, const uint64_t* values) {
    uint32_t words = kSampleHeaderWords + n;
    uint64_t* w = Reserve(words);
    if (!w) return false;
    w[0] = words | (static_cast<uint64_t>(kSample) << 32);
    w[1] = id | (static_cast<uint64_t>(generation) << 32);
    w[2] = static_cast<uint64_t>(mono);
    w[3] = static_cast<uint64_t>(wall);
    w[4] = static_cast<uint64_t>(ioctl_ns);
    w[5] = static_cast<uint32_t>(err) | (static_cast<uint64_t>(n) << 32);
    for (uint32_t i = 0; i < kTrafficValues; i++) w[kTrafficWord + i] = traffic ? traffic[i] : UINT64_MAX;
    if (n) memcpy(w + kSampleHeaderWords, values, static_cast<size_t>(n) * sizeof(uint64_t));
    Commit(words);
    return true;
  }

  bool WriteContext(int64_t mono, int64_t wall, int64_t read_ns, uint32_t n, const uint64_t* values) {
    uint32_t words = kContextHeaderWords + n;
    uint64_t* w = Reserve(words);
    if (!w) return false;
    w[0] = words | (static_cast<uint64_t>(kContext) << 32);
    w[1] = static_cast<uint64_t>(mono);
    w[2] = static_cast<uint64_t>(wall);
    w[3] = static_cast<uint64_t>(read_ns);
    w[4] = n;
    if (n) memcpy(w + kContextHeaderWords, values, static_cast<size_t>(n) * sizeof(uint64_t));
    Commit(words);
    return true;
  }

  bool WriteInterval(uint32_t id, uint32_t reason, int64_t mono, int64_t interval_ns, int64_t evidence_ns) {
    uint64_t* w = Reserve(kIntervalWords);
    if (!w) return false;
    w[0] = kIntervalWords | (static_cast<uint64_t>(kInterval) << 32);
    w[1] = id | (static_cast<uint64_t>(reason) << 32);
    w[2] = static_cast<uint64_t>(mono);
    w[3] = static_cast<uint64_t>(interval_ns);
    w[4] = static_cast<uint64_t>(evidence_ns);
    Commit(kIntervalWords);
    return true;
  }

  // `names` is any container of std::string-like values with size().
  template <typename Names>
  bool WriteLayout(uint32_t id, uint32_t generation, const Names& names) {
    uint32_t count = static_cast<uint32_t>(names.size());
    uint32_t words = kLayoutHeaderWords + count * kNameWords;
    uint64_t* w = Reserve(words);
    if (!w) return false;
    w[0] = words | (static_cast<uint64_t>(kLayout) << 32);
    w[1] = id | (static_cast<uint64_t>(generation) << 32);
    w[2] = count;
    char* out = reinterpret_cast<char*>(w + kLayoutHeaderWords);
    memset(out, 0, static_cast<size_t>(count) * kNameBytes);
    for (uint32_t i = 0; i < count; i++) {
      const auto& name = names[i];
      memcpy(out + static_cast<size_t>(i) * kNameBytes, name.data(), std::min<size_t>(name.size(), kNameBytes));
    }
    Commit(words);
    return true;
  }

  void Add(HeaderIndex i, uint32_t n) {
    std::atomic_ref<uint32_t> w(hdr_[i]);
    w.store(w.load(std::memory_order_relaxed) + n, std::memory_order_release);
  }

  void Set(HeaderIndex i, uint32_t v) { std::atomic_ref<uint32_t>(hdr_[i]).store(v, std::memory_order_release); }

 private:
  uint32_t Load(HeaderIndex i) { return std::atomic_ref<uint32_t>(hdr_[i]).load(std::memory_order_acquire); }

  uint32_t* hdr_;
  uint64_t* data_;
  uint32_t cap_;
  uint32_t write_;
};

}  // namespace ethburst
