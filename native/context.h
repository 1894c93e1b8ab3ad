// Kernel counters read in the same tick as the allowance counters: what the
// node and each interface were doing when drops began. Plain files that any
// process in the host network namespace may read: no ioctl, no privilege,
// no process spawned. Each file is opened once and re-read in place with
// pread at offset 0, which makes procfs and sysfs generate fresh contents.
// A file that is missing or fails (no nf_conntrack module, an interface
// going away) reads as unknown and is reopened now and then; it never
// stops the others or the sampling.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ethburst {

// A value the kernel did not give us this tick.
constexpr uint64_t kUnknown = UINT64_MAX;

// One node counter: field `field` of the "Section: names" / "Section:
// values" line pair in `path` (the layout of /proc/net/snmp and
// /proc/net/netstat), or the one number in `path` when `field` is empty
// (/proc/sys/net/netfilter/nf_conntrack_count). Which counters, and what
// they are called, is src/sampling/context.ts's to say.
struct NodeField {
  std::string path;
  std::string section;
  std::string field;
};

class ProcFile {
 public:
  ProcFile(std::string path, size_t capacity);
  ~ProcFile();
  ProcFile(const ProcFile&) = delete;
  ProcFile& operator=(const ProcFile&) = delete;

  // The whole file, NUL-terminated, or nullptr while it is unavailable.
  const char* Read(int64_t now_mono_ns);
  // Closes the file; the next Read opens it again.
  void Close();

 private:
  // A missing file is looked for again after this long, not every tick.
  static constexpr int64_t kReopenNs = 10'000'000'000;
  std::string path_;
  int fd_ = -1;
  int64_t retry_at_ = 0;
  std::vector<char> buf_;
};

class NodeContext {
 public:
  explicit NodeContext(const std::vector<NodeField>& fields);
  uint32_t size() const { return static_cast<uint32_t>(fields_.size()); }
  // size() values, kUnknown where a file or field is missing.
  void Read(int64_t now_mono_ns, uint64_t* out);
  // Closes every file (a stopped sampler holds none open).
  void Close();

 private:
  struct Field {
    size_t file;
    std::string section;
    std::string field;
  };
  std::vector<std::unique_ptr<ProcFile>> files_;
  // This tick's text of each file (reused: reading allocates nothing).
  std::vector<const char*> text_;
  std::vector<Field> fields_;
};

// Packets and bytes of one interface, as the kernel counts them for
// `ip -s link`: files of /sys/class/net/DEV/statistics, one per traffic
// word of a sample record (native/ring.h), named by JavaScript.
class DeviceTraffic {
 public:
  DeviceTraffic(const std::string& device, const std::vector<std::string>& files);
  // One value per file; kUnknown where not read.
  void Read(int64_t now_mono_ns, uint64_t* out);

 private:
  std::vector<std::unique_ptr<ProcFile>> files_;
};

// What the sampler reads besides GSTATS.
struct ContextOptions {
  std::vector<NodeField> node;
  // Empty, or one statistics file name per traffic word.
  std::vector<std::string> traffic;
};

// Parsers, exposed for the sanitizer harness.
// The value of `field` in the `section` line pair of `text`, or kUnknown.
uint64_t TableField(const char* text, const std::string& section, const std::string& field);
// The leading unsigned decimal number of `text`, or kUnknown.
uint64_t LeadingNumber(const char* text);

}  // namespace ethburst
