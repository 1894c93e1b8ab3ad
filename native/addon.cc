// The Node binding: argument checks, object lifetime and conversions only.
// Errors cross as errno numbers; src/sampling/native.ts turns them into Node-style
// errors (code, errno, syscall, device), so no Napi object is ever touched
// off the main thread.
#include <napi.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "ethtool.h"
#include "links.h"
#include "sampler.h"

namespace {

using ethburst::DriverInfo;
using ethburst::EthtoolSocket;

bool IsPowerOfTwo(uint32_t v) { return v && !(v & (v - 1)); }

std::string DeviceArg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsString()) throw Napi::TypeError::New(info.Env(), "device name must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

uint32_t IdArg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "device id must be a number");
  return info[i].As<Napi::Number>().Uint32Value();
}

struct ProbeResult {
  int err = 0;
  const char* op = "";
  DriverInfo drv;
  uint32_t n_stats = 0;
};

void Probe(const std::string& dev, ProbeResult* r) {
  EthtoolSocket sock;
  if (sock.open_errno()) {
    r->err = sock.open_errno();
    r->op = "socket";
    return;
  }
  r->op = "ETHTOOL_GDRVINFO";
  r->err = sock.GetDriverInfo(dev.c_str(), &r->drv);
  // A driver without get_drvinfo may still have stats; the stats call decides.
  if (r->err && r->err != EOPNOTSUPP) return;
  r->op = "ETHTOOL_GSSET_INFO";
  r->err = sock.GetStatCount(dev.c_str(), &r->n_stats);
}

Napi::Object ProbeObject(Napi::Env env, const ProbeResult& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("errno", r.err);
  o.Set("op", r.op);
  o.Set("driver", r.drv.driver);
  o.Set("driverVersion", r.drv.version);
  o.Set("firmwareVersion", r.drv.firmware_version);
  o.Set("busInfo", r.drv.bus_info);
  o.Set("nStats", r.n_stats);
  return o;
}

// GDRVINFO + GSSET_INFO on the libuv pool: both take rtnl_lock, which
// another process (a CNI plugin, `ip link`) may hold for a while.
class ProbeWorker : public Napi::AsyncWorker {
 public:
  ProbeWorker(Napi::Env env, std::string dev) : Napi::AsyncWorker(env), dev_(std::move(dev)), deferred_(env) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { ::Probe(dev_, &result_); }
  void OnOK() override { deferred_.Resolve(ProbeObject(Env(), result_)); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  std::string dev_;
  Napi::Promise::Deferred deferred_;
  ProbeResult result_;
};

// The netlink dump on the libuv pool (it waits for rtnl_lock on the kernels
// EKS runs); the counters are copied into the caller's Float64Array on the
// main thread: [ifindex, rx_packets, tx_packets, rx_bytes, tx_bytes] per
// interface, as many as fit. Resolves with how many there were, or -errno.
class LinkCountersWorker : public Napi::AsyncWorker {
 public:
  LinkCountersWorker(Napi::Env env, Napi::Float64Array out)
      : Napi::AsyncWorker(env), out_(Napi::Persistent(out)), deferred_(env) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { err_ = ethburst::DumpLinkCounters(&links_); }
  void OnOK() override {
    if (err_) {
      deferred_.Resolve(Napi::Number::New(Env(), -err_));
      return;
    }
    Napi::Float64Array out = out_.Value();
    size_t room = out.ElementLength() / 5;
    double* d = out.Data();
    for (size_t i = 0; i < links_.size() && i < room; i++) {
      const auto& l = links_[i];
      d[5 * i] = l.ifindex;
      d[5 * i + 1] = static_cast<double>(l.rx_packets);
      d[5 * i + 2] = static_cast<double>(l.tx_packets);
      d[5 * i + 3] = static_cast<double>(l.rx_bytes);
      d[5 * i + 4] = static_cast<double>(l.tx_bytes);
    }
    deferred_.Resolve(Napi::Number::New(Env(), static_cast<double>(links_.size())));
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Reference<Napi::Float64Array> out_;
  Napi::Promise::Deferred deferred_;
  std::vector<ethburst::LinkCounters> links_;
  int err_ = 0;
};

Napi::Value LinkCounters(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    throw Napi::TypeError::New(info.Env(), "linkCounters needs a Float64Array");
  }
  auto* w = new LinkCountersWorker(info.Env(), info[0].As<Napi::Float64Array>());
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value ProbeAsync(const Napi::CallbackInfo& info) {
  auto* w = new ProbeWorker(info.Env(), DeviceArg(info, 0));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value ProbeSync(const Napi::CallbackInfo& info) {
  ProbeResult r;
  Probe(DeviceArg(info, 0), &r);
  return ProbeObject(info.Env(), r);
}

int64_t Mono() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

// The physical floor for the benchmark: GSTATS in a tight loop on the
// calling thread, nothing else. Blocks the event loop by design.
Napi::Value BenchGstats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string dev = DeviceArg(info, 0);
  if (info.Length() < 2 || !info[1].IsNumber()) throw Napi::TypeError::New(env, "iterations must be a number");
  uint32_t iterations = info[1].As<Napi::Number>().Uint32Value();
  EthtoolSocket sock;
  Napi::Object o = Napi::Object::New(env);
  uint32_t n = 0;
  int err = sock.open_errno() ? sock.open_errno() : sock.GetStatCount(dev.c_str(), &n);
  ethburst::StatsBuffer buf;
  buf.Reserve(n);
  int64_t total = 0, min = INT64_MAX, max = 0;
  uint32_t done = 0;
  for (; !err && done < iterations; done++) {
    uint32_t got = n;
    int64_t t0 = Mono();
    err = sock.GetStats(dev.c_str(), buf.get(), buf.capacity(), &got);
    int64_t dt = Mono() - t0;
    total += dt;
    min = std::min(min, dt);
    max = std::max(max, dt);
  }
  o.Set("errno", err);
  o.Set("calls", done);
  o.Set("totalNs", static_cast<double>(total));
  o.Set("minNs", static_cast<double>(done ? min : 0));
  o.Set("maxNs", static_cast<double>(max));
  o.Set("nStats", n);
  return o;
}

std::string StringField(Napi::Env env, Napi::Object o, const char* key, const std::string& where) {
  Napi::Value v = o.Get(key);
  if (!v.IsString()) throw Napi::TypeError::New(env, where + "." + key + " must be a string");
  return v.As<Napi::String>();
}

// {node: {path, section, field}[], traffic: string[]}: what to read besides
// GSTATS (src/sampling/context.ts).
ethburst::ContextOptions ContextArg(Napi::Env env, Napi::Value arg) {
  ethburst::ContextOptions c;
  if (!arg.IsObject()) throw Napi::TypeError::New(env, "context must be {node, traffic}");
  Napi::Object o = arg.As<Napi::Object>();
  Napi::Value node = o.Get("node");
  if (!node.IsUndefined()) {
    if (!node.IsArray()) throw Napi::TypeError::New(env, "context.node must be an array");
    Napi::Array a = node.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
      std::string where = "context.node[" + std::to_string(i) + "]";
      Napi::Value f = a.Get(i);
      if (!f.IsObject()) throw Napi::TypeError::New(env, where + " must be {path, section, field}");
      Napi::Object fo = f.As<Napi::Object>();
      c.node.push_back({StringField(env, fo, "path", where), StringField(env, fo, "section", where),
                        StringField(env, fo, "field", where)});
    }
  }
  Napi::Value traffic = o.Get("traffic");
  if (!traffic.IsUndefined()) {
    if (!traffic.IsArray() || traffic.As<Napi::Array>().Length() != ethburst::kTrafficValues) {
      throw Napi::TypeError::New(env,
                                 "context.traffic must name " + std::to_string(ethburst::kTrafficValues) + " files");
    }
    Napi::Array a = traffic.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
      Napi::Value f = a.Get(i);
      std::string name = f.IsString() ? f.As<Napi::String>().Utf8Value() : "";
      // A file name inside statistics/, never a path.
      if (name.empty() || name.find('/') != std::string::npos || name[0] == '.') {
        throw Napi::TypeError::New(env, "context.traffic[" + std::to_string(i) + "] must be a file name");
      }
      c.traffic.push_back(name);
    }
  }
  return c;
}

class SamplerWrap : public Napi::ObjectWrap<SamplerWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Sampler",
                       {
                           InstanceMethod<&SamplerWrap::Start>("start"),
                           InstanceMethod<&SamplerWrap::Stop>("stop"),
                           InstanceMethod<&SamplerWrap::Add>("add"),
                           InstanceMethod<&SamplerWrap::Remove>("remove"),
                           InstanceMethod<&SamplerWrap::Revalidate>("revalidate"),
                           InstanceMethod<&SamplerWrap::SetDeviceInterval>("setDeviceInterval"),
                           InstanceAccessor<&SamplerWrap::Running>("running"),
                       });
  }

  // new Sampler(ring: Uint32Array over a SharedArrayBuffer, intervalNs: number, backoff?: {...},
  //             nodeFields?: {path, section, field}[])
  explicit SamplerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SamplerWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsNumber()) {
      throw Napi::TypeError::New(env, "Sampler(ring: Uint32Array, intervalNs: number)");
    }
    Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
    if (ta.TypedArrayType() != napi_uint32_array) throw Napi::TypeError::New(env, "ring must be a Uint32Array");
    Napi::Uint32Array ring = ta.As<Napi::Uint32Array>();
    uint32_t* mem = ring.Data();
    size_t len = ring.ElementLength();
    if (reinterpret_cast<uintptr_t>(mem) % 8 != 0 || len < ethburst::kHeaderU32) {
      throw Napi::RangeError::New(env, "ring must be 8-byte aligned and hold the header");
    }
    uint32_t cap = mem[ethburst::kCapacity];
    if (mem[ethburst::kMagic] != ethburst::kRingMagic || !IsPowerOfTwo(cap) ||
        len < ethburst::kHeaderU32 + 2 * static_cast<size_t>(cap)) {
      throw Napi::RangeError::New(env, "ring header is not initialised or capacity does not fit");
    }
    double interval = info[1].As<Napi::Number>().DoubleValue();
    if (!(interval >= 1e6 && interval <= 3.6e12)) throw Napi::RangeError::New(env, "intervalNs out of range");
    ethburst::BackoffOptions backoff;
    if (info.Length() > 2 && info[2].IsObject()) {
      Napi::Object o = info[2].As<Napi::Object>();
      if (o.Has("enabled")) backoff.enabled = o.Get("enabled").ToBoolean().Value();
      if (o.Has("thresholdNs"))
        backoff.threshold_ns = static_cast<int64_t>(o.Get("thresholdNs").ToNumber().DoubleValue());
      if (o.Has("maxIntervalNs"))
        backoff.max_interval_ns = static_cast<int64_t>(o.Get("maxIntervalNs").ToNumber().DoubleValue());
      if (o.Has("recoverAfter")) backoff.recover_after = o.Get("recoverAfter").ToNumber().Uint32Value();
    }
    if (backoff.max_interval_ns < static_cast<int64_t>(interval))
      backoff.max_interval_ns = static_cast<int64_t>(interval);
    ethburst::ContextOptions context;
    if (info.Length() > 3 && !info[3].IsUndefined()) context = ContextArg(env, info[3]);
    ring_ = Napi::Persistent(ring);
    sampler_ =
        std::make_unique<ethburst::Sampler>(mem, cap, static_cast<int64_t>(interval), backoff, std::move(context));
    // Worker termination and process exit may skip finalizers: stop the
    // thread before the ring's memory goes away.
    napi_add_env_cleanup_hook(env, &SamplerWrap::Cleanup, this);
    env_ = env;
  }

  ~SamplerWrap() override {
    if (sampler_) sampler_->Stop();
    if (!cleaned_) napi_remove_env_cleanup_hook(env_, &SamplerWrap::Cleanup, this);
  }

 private:
  static void Cleanup(void* arg) {
    auto* self = static_cast<SamplerWrap*>(arg);
    self->cleaned_ = true;
    if (self->sampler_) self->sampler_->Stop();
  }

  Napi::Value Start(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), sampler_->Start()); }

  void Stop(const Napi::CallbackInfo&) { sampler_->Stop(); }

  void Add(const Napi::CallbackInfo& info) {
    uint32_t id = IdArg(info, 0);
    sampler_->Add(id, DeviceArg(info, 1));
  }

  void Remove(const Napi::CallbackInfo& info) { sampler_->Remove(IdArg(info, 0)); }

  void Revalidate(const Napi::CallbackInfo& info) { sampler_->Revalidate(IdArg(info, 0)); }

  void SetDeviceInterval(const Napi::CallbackInfo& info) {
    uint32_t id = IdArg(info, 0);
    if (info.Length() < 2 || !info[1].IsNumber()) throw Napi::TypeError::New(info.Env(), "intervalNs must be a number");
    sampler_->SetDeviceInterval(id, static_cast<int64_t>(info[1].As<Napi::Number>().DoubleValue()));
  }

  Napi::Value Running(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), sampler_->running()); }

  Napi::Reference<Napi::Uint32Array> ring_;
  std::unique_ptr<ethburst::Sampler> sampler_;
  napi_env env_ = nullptr;
  bool cleaned_ = false;
};

// native/ring.h as data: the one definition src/sampling/ring.ts and the tests read.
Napi::Object RingLayout(Napi::Env env) {
  using namespace ethburst;
  Napi::Object o = Napi::Object::New(env);
  o.Set("magic", kRingMagic);
  o.Set("headerU32", kHeaderU32);
  Napi::Object h = Napi::Object::New(env);
  h.Set("magic", static_cast<uint32_t>(kMagic));
  h.Set("capacity", static_cast<uint32_t>(kCapacity));
  h.Set("writePos", static_cast<uint32_t>(kWritePos));
  h.Set("readPos", static_cast<uint32_t>(kReadPos));
  h.Set("overruns", static_cast<uint32_t>(kOverruns));
  h.Set("ticks", static_cast<uint32_t>(kTicks));
  h.Set("missedTicks", static_cast<uint32_t>(kMissedTicks));
  h.Set("threadState", static_cast<uint32_t>(kThreadState));
  o.Set("header", h);
  Napi::Object k = Napi::Object::New(env);
  k.Set("pad", static_cast<uint32_t>(kPad));
  k.Set("sample", static_cast<uint32_t>(kSample));
  k.Set("tick", static_cast<uint32_t>(kTick));
  k.Set("interval", static_cast<uint32_t>(kInterval));
  k.Set("layout", static_cast<uint32_t>(kLayout));
  k.Set("context", static_cast<uint32_t>(kContext));
  o.Set("kinds", k);
  Napi::Object r = Napi::Object::New(env);
  r.Set(static_cast<uint32_t>(kReasonSlow), "slow");
  r.Set(static_cast<uint32_t>(kReasonError), "error");
  r.Set(static_cast<uint32_t>(kReasonAdminQueue), "admin_queue");
  r.Set(static_cast<uint32_t>(kReasonRecovered), "recovered");
  o.Set("intervalReasons", r);
  o.Set("sampleHeaderWords", kSampleHeaderWords);
  o.Set("trafficWord", kTrafficWord);
  o.Set("trafficValues", kTrafficValues);
  o.Set("contextHeaderWords", kContextHeaderWords);
  o.Set("tickWords", kTickWords);
  o.Set("intervalWords", kIntervalWords);
  o.Set("layoutHeaderWords", kLayoutHeaderWords);
  o.Set("nameBytes", kNameBytes);
  o.Freeze();
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("ringLayout", RingLayout(env));
  exports.Set("Sampler", SamplerWrap::Define(env));
  exports.Set("probe", Napi::Function::New<ProbeAsync>(env, "probe"));
  exports.Set("probeSync", Napi::Function::New<ProbeSync>(env, "probeSync"));
  exports.Set("benchGstats", Napi::Function::New<BenchGstats>(env, "benchGstats"));
  exports.Set("linkCounters", Napi::Function::New<LinkCounters>(env, "linkCounters"));
  return exports;
}

}  // namespace

NODE_API_MODULE(ethburst, Init)
