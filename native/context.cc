#include "context.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ethburst {

namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

// Start of the line after `p` (or the terminating NUL).
const char* NextLine(const char* p) {
  while (*p && *p != '\n') p++;
  return *p ? p + 1 : p;
}

// Whether the line at `p` starts with "<section>:".
bool HasSection(const char* p, const std::string& section) {
  return strncmp(p, section.data(), section.size()) == 0 && p[section.size()] == ':';
}

// Advances `p` over blanks and returns the length of the token there.
size_t Token(const char*& p) {
  while (IsSpace(*p)) p++;
  size_t n = 0;
  while (p[n] && p[n] != '\n' && !IsSpace(p[n])) n++;
  return n;
}

}  // namespace

uint64_t LeadingNumber(const char* p) {
  while (IsSpace(*p)) p++;
  if (*p < '0' || *p > '9') return kUnknown;
  uint64_t v = 0;
  for (; *p >= '0' && *p <= '9'; p++) {
    uint64_t d = static_cast<uint64_t>(*p - '0');
    // Above 2^64 - 2 is not a counter we can tell from kUnknown.
    if (v > (kUnknown - 1 - d) / 10) return kUnknown;
    v = v * 10 + d;
  }
  return v;
}

uint64_t TableField(const char* text, const std::string& section, const std::string& field) {
  const char* names = text;
  while (*names && !HasSection(names, section)) names = NextLine(names);
  if (!*names) return kUnknown;
  const char* values = NextLine(names);
  if (!HasSection(values, section)) return kUnknown;
  names += section.size() + 1;
  values += section.size() + 1;
  for (;;) {
    size_t n = Token(names);
    size_t m = Token(values);
    if (n == 0 || m == 0) return kUnknown;
    if (n == field.size() && memcmp(names, field.data(), n) == 0) return LeadingNumber(values);
    names += n;
    values += m;
  }
}

ProcFile::ProcFile(std::string path, size_t capacity, bool to_eof)
    : path_(std::move(path)), to_eof_(to_eof), buf_(capacity) {}

ProcFile::~ProcFile() { Close(); }

void ProcFile::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  retry_at_ = 0;
}

const char* ProcFile::Read(int64_t now_mono_ns) {
  if (fd_ < 0) {
    if (now_mono_ns < retry_at_) return nullptr;
    fd_ = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      retry_at_ = now_mono_ns + kReopenNs;
      return nullptr;
    }
  }
  size_t len = 0;
  // A seq_file read at an offset other than where the last one ended
  // replays every record before it (traverse()): reading to the end goes
  // from a rewind in sequence instead, and the read that finds the end
  // costs nothing.
  if (to_eof_ && lseek(fd_, 0, SEEK_SET) != 0) {
    close(fd_);
    fd_ = -1;
    retry_at_ = now_mono_ns + kReopenNs;
    return nullptr;
  }
  for (;;) {
    ssize_t r = to_eof_ ? read(fd_, buf_.data() + len, buf_.size() - 1 - len)
                        : pread(fd_, buf_.data() + len, buf_.size() - 1 - len, static_cast<off_t>(len));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      // A sysfs file of an interface that went away answers ENODEV for
      // good: look for the name again later.
      close(fd_);
      fd_ = -1;
      retry_at_ = now_mono_ns + kReopenNs;
      return nullptr;
    }
    len += static_cast<size_t>(r);
    // A read shorter than asked is the end: every file read here (a sysfs
    // attribute, a single_open procfs file, a sysctl) is generated whole by
    // one show() per read, so asking again would only generate it again.
    if (r == 0 || len == buf_.size() - 1) break;
    if (!to_eof_ && static_cast<size_t>(r) < buf_.size() - 1 - (len - static_cast<size_t>(r))) break;
  }
  buf_[len] = '\0';
  len_ = len;
  return buf_.data();
}

NodeContext::NodeContext(const std::vector<NodeField>& fields) {
  std::vector<std::string> paths;
  for (const auto& f : fields) {
    size_t i = 0;
    while (i < paths.size() && paths[i] != f.path) i++;
    if (i == paths.size()) {
      paths.push_back(f.path);
      // /proc/net/snmp is ~1.5 KiB and /proc/net/netstat ~4 KiB today.
      files_.push_back(std::make_unique<ProcFile>(f.path, 64 * 1024));
    }
    fields_.push_back({i, f.section, f.field});
  }
  text_.assign(files_.size(), nullptr);
}

void NodeContext::Read(int64_t now_mono_ns, uint64_t* out) {
  // Each file once per tick, however many fields come from it.
  for (size_t i = 0; i < files_.size(); i++) text_[i] = files_[i]->Read(now_mono_ns);
  for (size_t k = 0; k < fields_.size(); k++) {
    const Field& f = fields_[k];
    const char* t = text_[f.file];
    if (!t) {
      out[k] = kUnknown;
    } else {
      out[k] = f.field.empty() ? LeadingNumber(t) : TableField(t, f.section, f.field);
    }
  }
}

void NodeContext::Close() {
  for (auto& f : files_) f->Close();
}

DeviceTraffic::DeviceTraffic(const std::string& device, const std::vector<std::string>& files) {
  for (const auto& f : files)
    files_.push_back(std::make_unique<ProcFile>("/sys/class/net/" + device + "/statistics/" + f, 32));
}

void DeviceTraffic::Read(int64_t now_mono_ns, uint64_t* out) {
  for (size_t i = 0; i < files_.size(); i++) {
    const char* t = files_[i]->Read(now_mono_ns);
    out[i] = t ? LeadingNumber(t) : kUnknown;
  }
}

namespace {
// Columns of /proc/net/dev after the name: 8 receive, then 8 transmit
// (net/core/net-procfs.c, dev_seq_printf_stats).
constexpr int kNetDevColumns = 16;
int NetDevColumn(const std::string& file) {
  if (file == "rx_bytes") return 0;
  if (file == "rx_packets") return 1;
  if (file == "tx_bytes") return 8;
  if (file == "tx_packets") return 9;
  return -1;
}
}  // namespace

bool NetDevLine(const char* line, const std::string& device, const int* columns, uint64_t* out) {
  const char* p = line;
  while (IsSpace(*p)) p++;
  // An interface name holds no ':' or blank (dev_valid_name).
  const char* colon = p;
  while (*colon && *colon != ':' && *colon != '\n') colon++;
  if (*colon != ':' || static_cast<size_t>(colon - p) != device.size() ||
      memcmp(p, device.data(), device.size()) != 0) {
    return false;
  }
  uint64_t v[kNetDevColumns];
  p = colon + 1;
  for (int i = 0; i < kNetDevColumns; i++) {
    size_t n = Token(p);
    v[i] = n ? LeadingNumber(p) : kUnknown;
    p += n;
  }
  for (uint32_t k = 0; k < kTrafficValues; k++) out[k] = v[columns[k]];
  return true;
}

NetDevTable::NetDevTable(const std::vector<std::string>& files) : file_("/proc/net/dev", 64 * 1024, true) {
  if (files.size() != kTrafficValues) usable_ = false;
  for (uint32_t k = 0; usable_ && k < kTrafficValues; k++) {
    columns_[k] = NetDevColumn(files[k]);
    if (columns_[k] < 0) usable_ = false;
  }
}

bool NetDevTable::Read(int64_t now_mono_ns) {
  text_ = usable_ ? file_.Read(now_mono_ns) : nullptr;
  interfaces_ = 0;
  if (!text_) return false;
  // A table that filled the buffer may have lost interfaces: not used.
  if (file_.length() >= file_.capacity() - 1) {
    text_ = nullptr;
    return false;
  }
  // Two header lines, then one line per interface.
  const char* p = NextLine(NextLine(text_));
  for (; *p; p = NextLine(p)) interfaces_++;
  return true;
}

bool NetDevTable::Lookup(const std::string& device, uint64_t* out) const {
  if (!text_) return false;
  for (const char* p = NextLine(NextLine(text_)); *p; p = NextLine(p)) {
    if (NetDevLine(p, device, columns_, out)) return true;
  }
  return false;
}

}  // namespace ethburst
