// Reference-host harness: runs a proxy-wasm HTTP filter module through the real
// proxy-wasm-cpp-host code paths (WasmBase, ContextBase, PluginBase, exports.cc) on the WAMR
// runtime, with a host implemented after Envoy's source/extensions/common/wasm/context.cc.
//
// usage: harness <module.wasm> <mode> <jwks.json> <demo.jwt>
//   single VM, driven directly (WasmBase::load/initialize/start/configure):
//     inline | remote | remote-fail | remote-unknown-cluster
//   Envoy's deployment flow (createWasm: base VM + configuration canary on the main thread, then
//   getOrCreateThreadLocalPlugin on the main thread and on each worker thread, one std::thread each):
//     multi-vm     3 worker VMs + main, one jwksUri rule: one fetch for all, the others served from
//                  shared data (jwt_authn.v1.meta|<uri>, jwt_authn.v1.body|<uri>) on their 100 ms ticks
//     shared       proxy_{get,set}_shared_data CAS and shared queues across two VMs of one vm_id
//     tick         the tick periods the filter sets (1 s, 100 ms while requests wait) and a refresh
//     metrics      the filter's counters/gauges after a fixed set of requests, read back via getMetric
//     properties   source.address, destination.port/address, connection.* read by policies
//     trap         a trap in the module, the next requests, and a reload from the base VM
//     reconfigure  a second plugin configuration (new PluginBase, new root context) on the same VM
//
// Everything the module does through the ABI is printed: the filter action cpp-host returns,
// local replies, logs (all levels; warn/error flagged), http callouts, continue/close calls,
// metrics, property reads, and every error/failure cpp-host or WAMR reports (missing imports,
// traps, unimplemented host calls).

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <memory>
#include <sstream>
#include <string>
#include <vector>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "include/proxy-wasm/context.h"
#include "include/proxy-wasm/wamr.h"
#include "include/proxy-wasm/wasm.h"

using namespace proxy_wasm;

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

int g_errors = 0;         // integration / WasmBase / ContextBase errors (fail, trap, unimplemented)
int g_warn_logs = 0;      // proxy_log at warn or above

const char *levelName(uint32_t l) {
  static const char *n[] = {"trace", "debug", "info", "warn", "error", "critical"};
  return l < 6 ? n[l] : "?";
}

const char *resultName(WasmResult r) {
  switch (r) {
  case WasmResult::Ok: return "Ok";
  case WasmResult::NotFound: return "NotFound";
  case WasmResult::BadArgument: return "BadArgument";
  case WasmResult::SerializationFailure: return "SerializationFailure";
  case WasmResult::ParseFailure: return "ParseFailure";
  case WasmResult::BadExpression: return "BadExpression";
  case WasmResult::InvalidMemoryAccess: return "InvalidMemoryAccess";
  case WasmResult::Empty: return "Empty";
  case WasmResult::CasMismatch: return "CasMismatch";
  case WasmResult::ResultMismatch: return "ResultMismatch";
  case WasmResult::InternalFailure: return "InternalFailure";
  case WasmResult::BrokenConnection: return "BrokenConnection";
  case WasmResult::Unimplemented: return "Unimplemented";
  }
  return "?";
}

const char *headersStatusName(FilterHeadersStatus s) {
  switch (s) {
  case FilterHeadersStatus::Continue: return "Continue";
  case FilterHeadersStatus::StopIteration: return "StopIteration";
  case FilterHeadersStatus::ContinueAndEndStream: return "ContinueAndEndStream";
  case FilterHeadersStatus::StopAllIterationAndBuffer: return "StopAllIterationAndBuffer";
  case FilterHeadersStatus::StopAllIterationAndWatermark: return "StopAllIterationAndWatermark";
  }
  return "?";
}

const char *failStateName(FailState s) {
  switch (s) {
  case FailState::Ok: return "Ok";
  case FailState::UnableToCreateVm: return "UnableToCreateVm";
  case FailState::UnableToCloneVm: return "UnableToCloneVm";
  case FailState::MissingFunction: return "MissingFunction";
  case FailState::UnableToInitializeCode: return "UnableToInitializeCode";
  case FailState::StartFailed: return "StartFailed";
  case FailState::ConfigureFailed: return "ConfigureFailed";
  case FailState::RuntimeError: return "RuntimeError";
  }
  return "?";
}

std::string lower(std::string_view s) {
  std::string r(s);
  std::transform(r.begin(), r.end(), r.begin(), [](unsigned char c) { return std::tolower(c); });
  return r;
}

std::string printable(std::string_view s, size_t max = 400) {
  std::string r;
  for (char c : s.substr(0, max)) {
    if (c == '\0') r += "\\0";
    else if (c == '\n') r += "\\n";
    else r += c;
  }
  if (s.size() > max) r += "...(" + std::to_string(s.size()) + " bytes)";
  return r;
}

std::string readFile(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    std::cerr << "cannot read " << path << "\n";
    exit(2);
  }
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string trim(std::string s) {
  while (!s.empty() && isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && isspace(static_cast<unsigned char>(s[i]))) i++;
  return s.substr(i);
}

std::string jsonString(std::string_view s) {
  std::string r = "\"";
  for (unsigned char c : s) {
    switch (c) {
    case '"': r += "\\\""; break;
    case '\\': r += "\\\\"; break;
    case '\n': r += "\\n"; break;
    case '\r': r += "\\r"; break;
    case '\t': r += "\\t"; break;
    default:
      if (c < 0x20) {
        char b[8];
        snprintf(b, sizeof b, "\\u%04x", c);
        r += b;
      } else {
        r += static_cast<char>(c);
      }
    }
  }
  return r + "\"";
}

// ----------------------------------------------------------------------------------------------
// Virtual clocks: start at the real time, move only through setClockDelta() (ticks, refreshes).
std::atomic<uint64_t> g_wall_ns{0};
std::atomic<uint64_t> g_mono_ns{0};
uint64_t g_t0_mono = 0;
std::string vt() { return "t=+" + std::to_string((g_mono_ns - g_t0_mono) / 1000000) + "ms"; }
void initClock() {
  g_wall_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  g_mono_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::steady_clock::now().time_since_epoch())
                  .count();
  g_t0_mono = g_mono_ns;
}
void setClockDelta(uint64_t ns) {
  g_wall_ns += ns;
  g_mono_ns += ns;
}

// ----------------------------------------------------------------------------------------------
// A worker thread (Envoy: one dispatcher per thread). call() runs a function there and waits;
// post() queues work for later (cpp-host's callOnThreadFunction: on_queue_ready); drain() runs it.
struct Worker;
thread_local Worker *g_this_worker = nullptr;
struct Worker {
  std::string name;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::function<void()>> tasks, posted;
  bool stop = false;
  std::thread th;
  explicit Worker(std::string n) : name(std::move(n)), th([this] { loop(); }) {}
  void loop() {
    g_this_worker = this;
    for (;;) {
      std::function<void()> f;
      {
        std::unique_lock<std::mutex> l(mu);
        cv.wait(l, [&] { return stop || !tasks.empty(); });
        if (tasks.empty()) return;
        f = std::move(tasks.front());
        tasks.pop_front();
      }
      f();
    }
  }
  void call(const std::function<void()> &f) {
    std::promise<void> p;
    auto fut = p.get_future();
    {
      std::lock_guard<std::mutex> l(mu);
      tasks.emplace_back([&] {
        f();
        std::cout.flush();
        p.set_value();
      });
    }
    cv.notify_all();
    fut.wait();
  }
  void post(std::function<void()> f) {
    std::lock_guard<std::mutex> l(mu);
    posted.push_back(std::move(f));
  }
  int drain() {
    int n = 0;
    call([&] {
      for (;;) {
        std::function<void()> f;
        {
          std::lock_guard<std::mutex> l(mu);
          if (posted.empty()) break;
          f = std::move(posted.front());
          posted.pop_front();
        }
        f();
        n++;
      }
    });
    return n;
  }
  ~Worker() {
    {
      std::lock_guard<std::mutex> l(mu);
      stop = true;
    }
    cv.notify_all();
    th.join();
  }
};

// ----------------------------------------------------------------------------------------------
// Integration: where cpp-host and the runtime report failures (missing imports, traps, ...).
class HarnessIntegration : public WasmVmIntegration {
public:
  WasmVmIntegration *clone() override { return new HarnessIntegration(); }
  // cpp-host traces every host<->vm call at trace level; enable with HARNESS_VM_TRACE=1.
  LogLevel getLogLevel() override {
    static const bool t = getenv("HARNESS_VM_TRACE") && *getenv("HARNESS_VM_TRACE") == '1';
    return t ? LogLevel::trace : LogLevel::info;
  }
  void error(std::string_view message) override {
    g_errors++;
    std::cout << "  !! [vm error] " << message << std::endl;
  }
  void error(FailState state, std::string_view message) override {
    g_errors++;
    std::cout << "  !! [vm error, FailState::" << failStateName(state) << "] " << message
              << std::endl;
  }
  void trace(std::string_view message) override {
    std::cout << "  .. [vm trace] " << message << std::endl;
  }
  bool getNullVmFunction(std::string_view, bool, int, NullPlugin *, void *) override {
    return false;
  }
};

// Envoy's stats store is process-wide: two VMs defining "jwt_authn.allowed" share one counter
// (wasmcustom.jwt_authn.allowed); metric ids are per VM.
struct Metric {
  std::string name;
  MetricType type;
  uint64_t value = 0;
};
std::mutex g_stats_mu;
std::map<std::string, Metric> g_stats; // key: type|name
std::vector<std::string> g_stats_order;
Metric &statFor(MetricType t, const std::string &name) {
  std::string k = std::to_string(static_cast<int>(t)) + "|" + name;
  auto it = g_stats.find(k);
  if (it == g_stats.end()) {
    g_stats_order.push_back(k);
    it = g_stats.emplace(k, Metric{name, t, 0}).first;
  }
  return it->second;
}
void dumpStats(const char *title = "metrics (process-wide, as Envoy's stats store)") {
  std::lock_guard<std::mutex> l(g_stats_mu);
  std::cout << "\n-- " << title << std::endl;
  for (auto &k : g_stats_order) {
    auto &m = g_stats[k];
    std::cout << "  STAT " << (m.type == MetricType::Counter ? "counter" : m.type == MetricType::Gauge ? "gauge" : "histogram")
              << " wasmcustom." << m.name << " = " << m.value << std::endl;
  }
}

// Every http call any VM made and that is still pending (Envoy: the cluster manager's in-flight requests).
class HarnessWasm;
struct PendingCall {
  HarnessWasm *wasm;
  uint32_t root_id;
  uint32_t token;
  std::string label;
  std::string path;
  uint64_t due_ns; // Envoy: the AsyncClient timeout -> onFailure
};
std::vector<PendingCall> g_pending_calls;
int g_calls_issued = 0;
std::map<std::string, int> g_calls_by_vm;
std::set<std::string> g_clusters = {"jwks"};

struct HttpCallRecord {
  uint32_t token;
  std::string cluster;
  Headers headers;
  std::string body;
  int timeout_ms;
};

struct LocalReply {
  uint32_t code;
  std::string body;
  Headers headers;
  uint32_t grpc_status;
  std::string details;
};

class HarnessWasm;

// ----------------------------------------------------------------------------------------------
// One ContextBase subclass for VM, root and stream contexts, after Envoy's Context.
class HarnessContext : public ContextBase {
public:
  HarnessContext(WasmBase *wasm) : ContextBase(wasm) {}
  HarnessContext(WasmBase *wasm, const std::shared_ptr<PluginBase> &plugin)
      : ContextBase(wasm, plugin) {}
  HarnessContext(WasmBase *wasm, uint32_t parent_id,
                 const std::shared_ptr<PluginHandleBase> &handle)
      : ContextBase(wasm, parent_id, handle) {}

  HarnessWasm *hwasm() const;
  HarnessContext *root() { return static_cast<HarnessContext *>(root_context()); }
  std::string who() const;
  ~HarnessContext() override;

  // ---- stream state (Envoy: request_headers_, decoder callbacks, stream info) ----
  Headers *request_headers_ = nullptr;
  // Connection facts (Envoy's StreamInfo / ConnectionWrapper), per stream.
  std::string source_address_ = "127.0.0.1:54321", destination_address_ = "127.0.0.1:8080";
  int64_t source_port_ = 54321, destination_port_ = 8080;
  std::vector<LocalReply> replies_;
  int continue_calls_ = 0;
  int close_calls_ = 0;

  // ---- root state (Envoy: http_request_, http_call_response_) ----
  std::map<uint32_t, HttpCallRecord> http_calls_;
  uint32_t next_http_call_token_ = 1;
  const Headers *http_call_response_headers_ = nullptr;
  const std::string *http_call_response_body_ = nullptr;

  BufferBase buffer_;

  // Envoy: Context::error logs at trace. We print it, since it is how cpp-host reports
  // unimplemented host calls.
  void error(std::string_view message) override {
    g_errors++;
    std::cout << "  !! [context error " << who() << "] " << message << std::endl;
  }

  WasmResult log(uint32_t level, std::string_view message) override {
    if (level >= 3) g_warn_logs++;
    std::cout << "  log[" << levelName(level) << "]" << (level >= 3 ? " <<<" : "") << " ("
              << who() << ") " << message << std::endl;
    return WasmResult::Ok;
  }
  uint32_t getLogLevel() override { return 0; }
  uint64_t getCurrentTimeNanoseconds() override { return g_wall_ns; }
  uint64_t getMonotonicTimeNanoseconds() override { return g_mono_ns; }
  std::string_view getConfiguration() override {
    return temp_plugin_ ? std::string_view(temp_plugin_->plugin_configuration_)
                        : std::string_view();
  }

  BufferInterface *getBuffer(WasmBufferType type) override;

  bool endOfStream(WasmStreamType) override { return true; }

  // Envoy: httpCall is made on the root context (exports.cc http_call() uses root_context()).
  WasmResult httpCall(std::string_view cluster, const Pairs &request_headers,
                      std::string_view request_body, const Pairs &request_trailers,
                      int timeout_milliseconds, uint32_t *token_ptr) override;

  WasmResult defineMetric(uint32_t type, std::string_view name, uint32_t *metric_id_ptr) override;
  WasmResult incrementMetric(uint32_t metric_id, int64_t offset) override;
  WasmResult recordMetric(uint32_t metric_id, uint64_t value) override;
  WasmResult getMetric(uint32_t metric_id, uint64_t *value_ptr) override;

  WasmResult getProperty(std::string_view path, std::string *result) override;
  WasmResult setProperty(std::string_view key, std::string_view) override {
    std::cout << "  setProperty(" << printable(key) << ") -> NotFound" << std::endl;
    return WasmResult::NotFound;
  }

  WasmResult continueStream(WasmStreamType stream_type) override {
    std::cout << "  >> (" << vt() << ") continueStream(" << static_cast<int>(stream_type) << (stream_type == WasmStreamType::Request ? " Request" : "") << ") on " << who()
              << std::endl;
    if (stream_type != WasmStreamType::Request && stream_type != WasmStreamType::Response)
      return WasmResult::BadArgument;
    continue_calls_++;
    return WasmResult::Ok;
  }
  WasmResult closeStream(WasmStreamType stream_type) override {
    std::cout << "  >> closeStream(" << static_cast<int>(stream_type) << ") on " << who()
              << std::endl;
    close_calls_++;
    return WasmResult::Ok;
  }
  WasmResult sendLocalResponse(uint32_t response_code, std::string_view body_text,
                               Pairs additional_headers, GrpcStatusCode grpc_status,
                               std::string_view details) override {
    LocalReply r{response_code, std::string(body_text), {}, grpc_status, std::string(details)};
    for (auto &p : additional_headers)
      r.headers.emplace_back(lower(p.first), std::string(p.second));
    std::cout << "  >> sendLocalResponse on " << who() << " (" << vt() << "): status=" << response_code
              << " body=\"" << printable(body_text) << "\" details=\"" << printable(details)
              << "\" grpc_status=" << grpc_status << std::endl;
    for (auto &h : r.headers)
      std::cout << "       header " << h.first << ": " << h.second << std::endl;
    replies_.push_back(std::move(r));
    return WasmResult::Ok;
  }
  void clearRouteCache() override {}
  // Envoy (context.cc Context::failStream): failStream(Request) answers 503 "" with details wasm_fail_stream, once
  // (cpp-host calls it from CHECK_FAIL when the VM has failed and fail_open is false).
  bool failure_local_reply_sent_ = false;
  void failStream(WasmStreamType stream_type) override {
    std::cout << "  >> failStream(" << static_cast<int>(stream_type) << ") on " << who()
              << std::endl;
    if (stream_type == WasmStreamType::Request && !failure_local_reply_sent_) {
      replies_.push_back(LocalReply{503, "", {}, 14, "wasm_fail_stream"});
      failure_local_reply_sent_ = true;
    }
  }

  // ---- header maps ----
  Headers *mutableMap(WasmHeaderMapType type) {
    if (type == WasmHeaderMapType::RequestHeaders) return request_headers_;
    return nullptr;
  }
  const Headers *constMap(WasmHeaderMapType type) {
    switch (type) {
    case WasmHeaderMapType::RequestHeaders: return request_headers_;
    case WasmHeaderMapType::HttpCallResponseHeaders: return root()->http_call_response_headers_;
    default: return nullptr;
    }
  }
  WasmResult addHeaderMapValue(WasmHeaderMapType type, std::string_view key,
                               std::string_view value) override {
    auto *m = mutableMap(type);
    std::cout << "  addHeaderMapValue(" << static_cast<int>(type) << ", " << key << ", "
              << printable(value) << ")" << std::endl;
    if (!m) return WasmResult::BadArgument;
    m->emplace_back(lower(key), std::string(value));
    return WasmResult::Ok;
  }
  WasmResult getHeaderMapValue(WasmHeaderMapType type, std::string_view key,
                               std::string_view *result) override {
    const auto *m = constMap(type);
    if (!m) return WasmResult::BadArgument;
    auto k = lower(key);
    for (auto &p : *m) {
      if (p.first == k) {
        *result = p.second;
        return WasmResult::Ok;
      }
    }
    return WasmResult::NotFound; // ABI 0.2.x (0.1.0 would return "" and Ok)
  }
  WasmResult getHeaderMapPairs(WasmHeaderMapType type, Pairs *result) override {
    const auto *m = constMap(type);
    result->clear();
    if (!m) return WasmResult::Ok; // Envoy: headerMapToPairs(nullptr) = {} and Ok
    for (auto &p : *m) result->emplace_back(p.first, p.second);
    return WasmResult::Ok;
  }
  WasmResult setHeaderMapPairs(WasmHeaderMapType type, const Pairs &pairs) override {
    auto *m = mutableMap(type);
    std::cout << "  setHeaderMapPairs(" << static_cast<int>(type) << ", " << pairs.size()
              << " pairs)" << std::endl;
    if (!m) return WasmResult::BadArgument;
    m->clear();
    for (auto &p : pairs) m->emplace_back(lower(p.first), std::string(p.second));
    return WasmResult::Ok;
  }
  WasmResult removeHeaderMapValue(WasmHeaderMapType type, std::string_view key) override {
    auto *m = mutableMap(type);
    std::cout << "  removeHeaderMapValue(" << static_cast<int>(type) << ", " << key << ")"
              << std::endl;
    if (!m) return WasmResult::BadArgument;
    auto k = lower(key);
    m->erase(std::remove_if(m->begin(), m->end(), [&](auto &p) { return p.first == k; }),
             m->end());
    return WasmResult::Ok;
  }
  WasmResult replaceHeaderMapValue(WasmHeaderMapType type, std::string_view key,
                                   std::string_view value) override {
    auto *m = mutableMap(type);
    std::cout << "  replaceHeaderMapValue(" << static_cast<int>(type) << ", " << key << ", "
              << printable(value) << ")" << std::endl;
    if (!m) return WasmResult::BadArgument;
    auto k = lower(key);
    // Envoy setCopy: replace the first, remove the others; add if absent.
    bool found = false;
    for (auto it = m->begin(); it != m->end();) {
      if (it->first == k) {
        if (!found) {
          it->second = std::string(value);
          found = true;
          ++it;
        } else {
          it = m->erase(it);
        }
      } else {
        ++it;
      }
    }
    if (!found) m->emplace_back(k, std::string(value));
    return WasmResult::Ok;
  }
  WasmResult getHeaderMapSize(WasmHeaderMapType type, uint32_t *result) override {
    const auto *m = constMap(type);
    if (!m) return WasmResult::BadArgument;
    uint32_t n = 0;
    for (auto &p : *m) n += p.first.size() + p.second.size();
    *result = n;
    return WasmResult::Ok;
  }

  // Make the protected temp_plugin_ reachable for getBuffer.
  const std::shared_ptr<PluginBase> &tempPlugin() const { return temp_plugin_; }
};

class HarnessWasm : public WasmBase {
public:
  // A base VM (createWasm's factory) or a single VM driven directly.
  HarnessWasm(std::unique_ptr<WasmVm> vm, std::string_view vm_id, std::string_view vm_key,
              std::string label)
      : WasmBase(std::move(vm), vm_id, /*vm_configuration=*/"", vm_key, {}, {}),
        label_(std::move(label)), worker_(g_this_worker) {
    track();
  }
  // A clone of the base VM (Envoy: createThreadLocalWasm / the configuration canary).
  HarnessWasm(const std::shared_ptr<WasmHandleBase> &base, std::string label)
      : WasmBase(base,
                 [] {
                   auto vm = createWamrVm();
                   vm->integration() = std::make_unique<HarnessIntegration>();
                   return vm;
                 }),
        label_(std::move(label)), worker_(g_this_worker) {
    track();
  }
  ~HarnessWasm() override {
    std::lock_guard<std::mutex> l(registry_mu());
    registry().erase(this);
  }

  ContextBase *createVmContext() override { return new HarnessContext(this); }
  ContextBase *createRootContext(const std::shared_ptr<PluginBase> &plugin) override {
    return new HarnessContext(this, plugin);
  }
  ContextBase *createContext(const std::shared_ptr<PluginBase> &plugin) override {
    return new HarnessContext(this, plugin);
  }
  void error(std::string_view message) override {
    g_errors++;
    std::cout << "  !! [WasmBase error " << label_ << "] " << message << std::endl;
  }
  // Envoy (wasm.cc Wasm::setTimerPeriod): a new period restarts the timer from now; 0 stops it.
  void setTimerPeriod(uint32_t root_context_id, std::chrono::milliseconds period) override {
    WasmBase::setTimerPeriod(root_context_id, period);
    auto &t = timers_[root_context_id];
    t.period_ms = period.count();
    t.due_ns = g_mono_ns + static_cast<uint64_t>(period.count()) * 1000000ull;
    std::cout << "  TICK-PERIOD " << label_ << " root#" << root_context_id << " = " << period.count()
              << " ms" << std::endl;
  }
  // Envoy (wasm.cc Wasm::callOnThreadFunction): posts to the dispatcher of the VM's thread.
  CallOnThreadFunction callOnThreadFunction() override {
    Worker *w = worker_;
    std::string label = label_;
    return [w, label](std::function<void()> f) {
      std::cout << "  (posted to " << (w ? w->name : std::string("?")) << "'s thread for " << label
                << ")" << std::endl;
      if (w) w->post(std::move(f));
    };
  }

  struct Timer {
    int64_t period_ms = 0;
    uint64_t due_ns = 0;
  };
  std::string label_;
  Worker *worker_;
  std::map<uint32_t, Timer> timers_;
  std::map<uint32_t, std::string> metric_names_; // id -> type|name key in g_stats

  static std::mutex &registry_mu() {
    static std::mutex m;
    return m;
  }
  static std::set<HarnessWasm *> &registry() {
    static std::set<HarnessWasm *> r;
    return r;
  }

private:
  void track() {
    std::lock_guard<std::mutex> l(registry_mu());
    registry().insert(this);
  }
};

HarnessWasm *HarnessContext::hwasm() const { return static_cast<HarnessWasm *>(wasm()); }

std::string HarnessContext::who() const {
  std::string l = wasm() ? static_cast<HarnessWasm *>(wasm())->label_ + ":" : std::string("(no vm):");
  if (isVmContext()) return l + "vm";
  if (isRootContext()) return l + "root#" + std::to_string(id());
  return l + "stream#" + std::to_string(id());
}

// Envoy (context.cc Context::~Context): "Cancel any outstanding requests" -- no callback follows.
HarnessContext::~HarnessContext() {
  for (auto it = g_pending_calls.begin(); it != g_pending_calls.end();) {
    if (it->wasm == wasm() && it->root_id == id()) {
      std::cout << "  CALL-CANCELLED token=" << it->token << " of " << it->label
                << " (its root context is destroyed; Envoy's ~Context cancels it)" << std::endl;
      it = g_pending_calls.erase(it);
    } else {
      ++it;
    }
  }
}

BufferInterface *HarnessContext::getBuffer(WasmBufferType type) {
  switch (type) {
  case WasmBufferType::VmConfiguration:
    return buffer_.set(wasm()->vm_configuration());
  case WasmBufferType::PluginConfiguration:
    if (temp_plugin_) return buffer_.set(temp_plugin_->plugin_configuration_);
    return nullptr;
  case WasmBufferType::HttpCallResponseBody: {
    auto *r = root();
    if (r->http_call_response_body_) return buffer_.set(*r->http_call_response_body_);
    return nullptr;
  }
  default:
    std::cout << "  getBuffer(" << static_cast<int>(type) << ") -> nullptr" << std::endl;
    return nullptr;
  }
}

WasmResult HarnessContext::httpCall(std::string_view cluster, const Pairs &request_headers,
                                    std::string_view request_body, const Pairs &request_trailers,
                                    int timeout_milliseconds, uint32_t *token_ptr) {
  std::cout << "  >> httpCall on " << who() << ": cluster=\"" << cluster
            << "\" timeout_ms=" << timeout_milliseconds << " body_bytes=" << request_body.size()
            << " trailers=" << request_trailers.size() << std::endl;
  for (auto &p : request_headers)
    std::cout << "       " << p.first << ": " << p.second << std::endl;
  // Envoy order of checks: timeout, cluster, then :path/:method/:authority present.
  if (timeout_milliseconds < 0) return WasmResult::BadArgument;
  if (!g_clusters.count(std::string(cluster))) {
    std::cout << "     -> BadArgument (unknown cluster)" << std::endl;
    return WasmResult::BadArgument;
  }
  bool path = false, method = false, host = false;
  HttpCallRecord rec;
  for (auto &p : request_headers) {
    auto k = lower(p.first);
    path |= k == ":path";
    method |= k == ":method";
    host |= k == ":authority" || k == "host";
    rec.headers.emplace_back(k, std::string(p.second));
  }
  if (!path || !method || !host) {
    std::cout << "     -> BadArgument (missing :path/:method/:authority)" << std::endl;
    return WasmResult::BadArgument;
  }
  uint32_t token = next_http_call_token_++;
  rec.token = token;
  rec.cluster = std::string(cluster);
  rec.body = std::string(request_body);
  rec.timeout_ms = timeout_milliseconds;
  std::string call_path;
  for (auto &p : rec.headers)
    if (p.first == ":path") call_path = p.second;
  http_calls_[token] = std::move(rec);
  *token_ptr = token;
  g_calls_issued++;
  g_calls_by_vm[hwasm()->label_]++;
  g_pending_calls.push_back(PendingCall{hwasm(), id(), token, hwasm()->label_, call_path,
                                        g_mono_ns + static_cast<uint64_t>(timeout_milliseconds) * 1000000ull});
  std::cout << "  CALL-ISSUED by " << hwasm()->label_ << " (" << vt() << ") token=" << token << " path=" << call_path
            << std::endl;
  std::cout << "     -> Ok token=" << token << std::endl;
  return WasmResult::Ok;
}

// Envoy (context.cc Context::defineMetric/incrementMetric/recordMetric/getMetric).
WasmResult HarnessContext::defineMetric(uint32_t type, std::string_view name,
                                        uint32_t *metric_id_ptr) {
  auto t = static_cast<MetricType>(type);
  uint32_t id;
  if (t == MetricType::Counter) id = wasm()->nextCounterMetricId();
  else if (t == MetricType::Gauge) id = wasm()->nextGaugeMetricId();
  else if (t == MetricType::Histogram) id = wasm()->nextHistogramMetricId();
  else return WasmResult::BadArgument;
  std::lock_guard<std::mutex> l(g_stats_mu);
  statFor(t, std::string(name));
  hwasm()->metric_names_[id] = std::to_string(type) + "|" + std::string(name);
  *metric_id_ptr = id;
  std::cout << "  defineMetric(" << type << ", " << name << ") on " << who() << " -> id " << id
            << std::endl;
  return WasmResult::Ok;
}

static Metric *metricById(HarnessWasm *w, uint32_t id) {
  auto it = w->metric_names_.find(id);
  if (it == w->metric_names_.end()) return nullptr;
  return &g_stats[it->second];
}

WasmResult HarnessContext::incrementMetric(uint32_t metric_id, int64_t offset) {
  std::lock_guard<std::mutex> l(g_stats_mu);
  auto type = static_cast<MetricType>(metric_id & 3);
  if (type != MetricType::Counter && type != MetricType::Gauge) return WasmResult::BadArgument;
  auto *m = metricById(hwasm(), metric_id);
  if (!m) return WasmResult::NotFound;
  if (type == MetricType::Counter) {
    if (offset <= 0) return WasmResult::BadArgument; // Envoy: counters only go up
    m->value += offset;
  } else {
    m->value += offset; // add, or sub(-offset)
  }
  std::cout << "  metric " << m->name << " += " << offset << " -> " << m->value << std::endl;
  return WasmResult::Ok;
}

WasmResult HarnessContext::recordMetric(uint32_t metric_id, uint64_t value) {
  std::lock_guard<std::mutex> l(g_stats_mu);
  auto *m = metricById(hwasm(), metric_id);
  if (!m) return WasmResult::NotFound;
  if (m->type == MetricType::Counter) m->value += value; // Envoy: counter->add(value)
  else m->value = value;                                  // gauge set; histogram: last value here
  std::cout << "  metric " << m->name << " record " << value << " -> " << m->value << std::endl;
  return WasmResult::Ok;
}

WasmResult HarnessContext::getMetric(uint32_t metric_id, uint64_t *value_ptr) {
  std::lock_guard<std::mutex> l(g_stats_mu);
  auto type = static_cast<MetricType>(metric_id & 3);
  if (type != MetricType::Counter && type != MetricType::Gauge) return WasmResult::BadArgument;
  auto *m = metricById(hwasm(), metric_id);
  if (!m) return WasmResult::NotFound;
  *value_ptr = m->value;
  return WasmResult::Ok;
}

static std::string int64Bytes(int64_t v) { return std::string(reinterpret_cast<const char *>(&v), 8); }

// Envoy (context.cc Context::getProperty / findValue, filters/common/expr/context.cc): the path's
// segments are separated by NUL; a dotted name is one top-level name (filter state wasm.<name>),
// NotFound here. Stream properties need the stream; root contexts get the plugin_* ones only.
WasmResult HarnessContext::getProperty(std::string_view path, std::string *result) {
  std::string raw(path), p(path);
  bool has_nul = raw.find('\0') != std::string::npos;
  std::replace(p.begin(), p.end(), '\0', '.');
  WasmResult r = WasmResult::NotFound;
  auto ok = [&](std::string v) {
    *result = std::move(v);
    r = WasmResult::Ok;
  };
  if (!has_nul && raw.find('.') != std::string::npos) {
    // one top-level name with dots in it: Envoy looks up filter state "wasm.<name>"
  } else if (p == "plugin_root_id") {
    ok(std::string(root_id()));
  } else if (p == "plugin_name") {
    ok(plugin_ ? plugin_->name_ : "");
  } else if (p == "plugin_vm_id") {
    ok(std::string(wasm()->vm_id()));
  } else if (!isRootContext() && !isVmContext()) {
    if (p == "source.address") ok(source_address_);
    else if (p == "source.port") ok(int64Bytes(source_port_));
    else if (p == "destination.address") ok(destination_address_);
    else if (p == "destination.port") ok(int64Bytes(destination_port_));
    else if (p == "connection.requested_server_name") ok(""); // plain HTTP: "" (Ok, empty)
    else if (p == "connection.mtls") ok(std::string(1, '\0'));
    else if (p == "connection.id") ok(int64Bytes(1));
    else if (p == "connection.uri_san_peer_certificate") {
      // no TLS: Envoy's ConnectionWrapper gives no value -> NotFound
    } else if (request_headers_ && p.rfind("request.", 0) == 0) {
      std::string_view v;
      auto get = [&](const char *k) {
        return getHeaderMapValue(WasmHeaderMapType::RequestHeaders, k, &v) == WasmResult::Ok;
      };
      if ((p == "request.path" && get(":path")) || (p == "request.host" && get(":authority")) ||
          (p == "request.scheme" && get(":scheme")) || (p == "request.method" && get(":method")) ||
          (p == "request.id" && get("x-request-id")) ||
          (p == "request.useragent" && get("user-agent"))) {
        ok(std::string(v));
      } else if (p == "request.url_path" && get(":path")) {
        std::string s(v);
        ok(s.substr(0, s.find('?')));
      } else if (p == "request.protocol") {
        ok("HTTP/1.1");
      }
    }
  }
  std::cout << "  PROPERTY " << (has_nul || p.find('.') == std::string::npos ? "" : "(no NUL separator) ")
            << "\"" << printable(p) << "\" on " << who() << " -> " << resultName(r);
  if (r == WasmResult::Ok) {
    if (result->size() == 8 && (p.find("port") != std::string::npos || p == "connection.id")) {
      int64_t v;
      memcpy(&v, result->data(), 8);
      std::cout << " int64 " << v;
    } else {
      std::cout << " \"" << printable(*result) << "\"";
    }
  }
  std::cout << std::endl;
  return r;
}

// ----------------------------------------------------------------------------------------------

struct Stream {
  std::unique_ptr<HarnessContext> ctx;
  Headers headers;
  std::string name;
  FilterHeadersStatus status;
};

Headers requestHeaders(const std::string &authorization) {
  Headers h = {{":authority", "gateway.local"},
               {":path", "/headers"},
               {":method", "GET"},
               {":scheme", "http"},
               {"user-agent", "refhost-harness"},
               {"x-request-id", "00000000-0000-0000-0000-000000000001"}};
  if (!authorization.empty()) h.emplace_back("authorization", authorization);
  return h;
}

std::string verdictOf(Stream &s) {
  auto &c = *s.ctx;
  if (!c.replies_.empty()) {
    auto &r = c.replies_.back();
    return "LOCAL REPLY " + std::to_string(r.code) + " \"" + r.body + "\" (details " + r.details + ")";
  }
  if (s.status == FilterHeadersStatus::Continue || c.continue_calls_ > 0)
    return "CONTINUE to upstream (200 from upstream)";
  return "PAUSED (no reply, no continue yet)";
}

void summarizeStream(Stream &s) {
  auto &c = *s.ctx;
  std::cout << "  == " << s.name << ": action=" << headersStatusName(s.status)
            << ", continueStream calls=" << c.continue_calls_
            << ", local replies=" << c.replies_.size() << " => " << verdictOf(s) << std::endl;
  std::cout << "     request headers now:";
  for (auto &h : s.headers) std::cout << " [" << h.first << ": " << printable(h.second, 40) << "]";
  std::cout << std::endl;
}

// Envoy: decodeHeaders() -> onCreate(); onRequestHeaders(headers.size(), end_stream)
std::unique_ptr<Stream> startRequest(WasmBase *wasm, uint32_t root_id,
                                     const std::shared_ptr<PluginHandleBase> &handle,
                                     const std::string &name, const std::string &authorization,
                                     std::function<void(HarnessContext &)> setup = nullptr,
                                     bool create = true) {
  auto s = std::make_unique<Stream>();
  s->name = name;
  s->headers = requestHeaders(authorization);
  std::cout << "\n-- request: " << name << std::endl;
  s->ctx = std::make_unique<HarnessContext>(wasm, root_id, handle);
  s->ctx->request_headers_ = &s->headers;
  if (setup) setup(*s->ctx);
  if (create) s->ctx->onCreate();
  auto t0 = std::chrono::steady_clock::now();
  s->status = s->ctx->onRequestHeaders(static_cast<uint32_t>(s->headers.size()), true);
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::steady_clock::now() - t0)
                .count();
  std::cout << "  onRequestHeaders returned " << headersStatusName(s->status) << " (" << us
            << " us)" << (wasm->isFailed() ? "  [VM FAILED]" : "") << std::endl;
  return s;
}

// Envoy: access log -> onLog(); onDestroy() -> onDone(); onDelete()
void endRequest(Stream &s) {
  s.ctx->onLog();
  s.ctx->onDone();
  s.ctx->onDelete();
  s.ctx.reset();
}

// Envoy: Context::onHttpCallSuccess / onHttpCallFailure on the root context that made the call.
void deliverCall(const PendingCall &c, const Headers *headers, const std::string *body) {
  std::cout << "\n-- delivering http call response to " << c.label << " token=" << c.token << ": "
            << (headers ? "headers=" + std::to_string(headers->size()) +
                              " body=" + std::to_string(body ? body->size() : 0)
                        : std::string("failure (reset): onHttpCallResponse(token, 0, 0, 0)"))
            << std::endl;
  for (auto it = g_pending_calls.begin(); it != g_pending_calls.end(); ++it)
    if (it->wasm == c.wasm && it->token == c.token) {
      g_pending_calls.erase(it);
      break;
    }
  auto *root = static_cast<HarnessContext *>(c.wasm->getContext(c.root_id));
  if (!root) {
    std::cout << "  (root context gone)" << std::endl;
    return;
  }
  root->http_call_response_headers_ = headers;
  root->http_call_response_body_ = body;
  root->onHttpCallResponse(c.token, headers ? static_cast<uint32_t>(headers->size()) : 0,
                           body ? static_cast<uint32_t>(body->size()) : 0, 0);
  root->http_call_response_headers_ = nullptr;
  root->http_call_response_body_ = nullptr;
  root->http_calls_.erase(c.token);
  if (c.wasm->isFailed()) std::cout << "  [VM FAILED]" << std::endl;
}

std::string rulesFor(const std::string &kind, const std::string &jwks) {
  if (kind == "inline") return R"({"issuer":"testing@secure.istio.io","jwks":)" + jsonString(jwks) + "}";
  return R"({"issuer":"testing@secure.istio.io","jwksUri":"http://jwks.local/jwks.json","jwksCluster":")" +
         std::string(kind == "remote-unknown-cluster" ? "no-such-cluster" : "jwks") + R"("})";
}
const std::string kRequireJwt =
    R"({"name":"require-jwt","action":"ALLOW","rules":[{"from":[{"source":{"requestPrincipals":["testing@secure.istio.io/testing@secure.istio.io"]}}]}]})";
std::string configFor(const std::string &kind, const std::string &jwks,
                      const std::string &policies = "[" + kRequireJwt + "]") {
  return R"({"jwtRules":[)" + rulesFor(kind, jwks) + R"(],"policies":)" + policies + "}";
}

void check(const std::string &name, const std::string &value) {
  std::cout << "  CHECK " << name << ": " << value << std::endl;
}

// ----------------------------------------------------------------------------------------------
// Envoy's deployment of one plugin: createWasm on the main thread (base VM, plus the configuration
// canary: a clone that is started, configured and killed), then getOrCreateThreadLocalPlugin on the
// main thread and on every worker (Envoy's ThreadLocal slot set() runs on all of them).
struct Deployment {
  std::string code, vm_id = "jwt_authn", vm_key;
  std::shared_ptr<WasmHandleBase> base;
  std::vector<std::unique_ptr<Worker>> threads; // [0] is "main"
  // per thread, per plugin key
  std::map<std::pair<Worker *, std::string>, std::shared_ptr<PluginHandleBase>> handles;

  Worker &w(size_t i) { return *threads[i]; }

  static std::shared_ptr<WasmHandleBase> cloneFactory(std::shared_ptr<WasmHandleBase> b) {
    static int canaries = 0;
    std::string label = g_this_worker ? g_this_worker->name : "?";
    if (g_this_worker && g_this_worker->name == "main" && g_creating_canary) label = "canary" + std::to_string(++canaries);
    std::cout << "  clone_factory: new VM \"" << label << "\" cloned from the base VM" << std::endl;
    return std::make_shared<WasmHandleBase>(std::make_shared<HarnessWasm>(b, label));
  }
  static inline bool g_creating_canary = false;

  bool canary = true;
  bool create(const std::shared_ptr<PluginBase> &plugin) {
    vm_key = makeVmKey(vm_id, "", code);
    bool ok = false;
    if (!canary && !base) {
      // Control: the base VM without createWasm, so no configuration canary runs.
      w(0).call([&] {
        std::cout << "\n-- main: base VM load + initialize (NO configuration canary)" << std::endl;
        auto vm = createWamrVm();
        vm->integration() = std::make_unique<HarnessIntegration>();
        base = std::make_shared<WasmHandleBase>(std::make_shared<HarnessWasm>(std::move(vm), vm_id, vm_key, "base"));
        ok = base->wasm()->load(code, false) && base->wasm()->initialize();
      });
      return ok;
    }
    if (!canary) return true;
    w(0).call([&] {
      std::cout << "\n-- main: createWasm (base VM load + initialize, then the configuration canary)"
                << std::endl;
      g_creating_canary = true;
      base = createWasm(
          vm_key, code, plugin,
          [this](std::string_view) {
            auto vm = createWamrVm();
            vm->integration() = std::make_unique<HarnessIntegration>();
            return std::make_shared<WasmHandleBase>(
                std::make_shared<HarnessWasm>(std::move(vm), vm_id, vm_key, "base"));
          },
          cloneFactory, false);
      g_creating_canary = false;
      ok = base != nullptr;
      std::cout << "  createWasm -> " << (ok ? "ok" : "FAILED") << std::endl;
    });
    return ok;
  }

  // getOrCreateThreadLocalPlugin on thread i; returns the root context id (0 on failure).
  uint32_t plug(size_t i, const std::shared_ptr<PluginBase> &plugin) {
    uint32_t root_id = 0;
    w(i).call([&] {
      std::cout << "\n-- " << w(i).name << ": getOrCreateThreadLocalPlugin(plugin key "
                << printable(plugin->key(), 24) << "...)" << std::endl;
      auto h = getOrCreateThreadLocalPlugin(
          base, plugin, cloneFactory,
          [](std::shared_ptr<WasmHandleBase> wh, std::shared_ptr<PluginBase> p) {
            return std::make_shared<PluginHandleBase>(wh, p);
          });
      if (!h) {
        std::cout << "  -> nullptr (failed)" << std::endl;
        return;
      }
      handles[{&w(i), plugin->key()}] = h;
      auto *root = h->wasm()->getRootContext(plugin, false);
      root_id = root ? root->id() : 0;
      std::cout << "  -> VM \"" << static_cast<HarnessWasm *>(h->wasm().get())->label_
                << "\" root context #" << root_id << std::endl;
    });
    drainAll();
    return root_id;
  }

  std::shared_ptr<PluginHandleBase> handle(size_t i, const std::shared_ptr<PluginBase> &plugin) {
    return handles[{&w(i), plugin->key()}];
  }

  void drainAll() {
    for (int round = 0; round < 8; round++) {
      int n = 0;
      for (auto &t : threads) n += t->drain();
      if (!n) break;
    }
  }

  // Moves the virtual clock by ms, firing every VM's tick timers in time order on their threads
  // (Envoy: Wasm::tickHandler -> root onTick, then the timer re-armed with the current period).
  int advance(uint64_t ms, bool quiet = false) {
    uint64_t target = g_mono_ns + ms * 1000000ull;
    int fired = 0;
    for (;;) {
      HarnessWasm *best = nullptr;
      uint32_t best_root = 0;
      uint64_t best_due = UINT64_MAX;
      {
        std::lock_guard<std::mutex> l(HarnessWasm::registry_mu());
        for (auto *hw : HarnessWasm::registry())
          for (auto &[root, t] : hw->timers_)
            if (t.period_ms > 0 && t.due_ns <= target && t.due_ns < best_due && hw->getContext(root)) {
              best = hw, best_root = root, best_due = t.due_ns;
            }
      }
      // A pending http call whose timeout comes first fails (Envoy: onHttpCallFailure).
      PendingCall *late = nullptr;
      for (auto &c : g_pending_calls)
        if (c.due_ns <= target && c.due_ns < best_due && (!late || c.due_ns < late->due_ns)) late = &c;
      if (late) {
        PendingCall copy = *late;
        if (copy.due_ns > g_mono_ns) setClockDelta(copy.due_ns - g_mono_ns);
        std::cout << "  CALL-TIMEOUT token=" << copy.token << " of " << copy.label << " (" << vt() << ")" << std::endl;
        copy.wasm->worker_->call([&] { deliverCall(copy, nullptr, nullptr); });
        drainAll();
        continue;
      }
      if (!best) break;
      if (best_due > g_mono_ns) setClockDelta(best_due - g_mono_ns);
      Worker *wk = best->worker_;
      auto fire = [&] {
        if (!quiet) std::cout << "  TICK " << best->label_ << " root#" << best_root << std::endl;
        auto *ctx = best->getContext(best_root);
        if (ctx) ctx->onTick(0);
        auto &t = best->timers_[best_root];
        if (t.period_ms > 0) t.due_ns = g_mono_ns + static_cast<uint64_t>(t.period_ms) * 1000000ull;
      };
      if (wk) wk->call(fire);
      else fire();
      fired++;
      drainAll();
    }
    if (target > g_mono_ns) setClockDelta(target - g_mono_ns);
    return fired;
  }

  void releaseAll() {
    for (size_t i = threads.size(); i-- > 0;) {
      w(i).call([&] {
        for (auto it = handles.begin(); it != handles.end();) {
          if (it->first.first == &w(i)) it = handles.erase(it);
          else ++it;
        }
      });
    }
    w(0).call([&] { base.reset(); });
  }
};

std::shared_ptr<PluginBase> makePlugin(const std::string &config, bool fail_open = false) {
  return std::make_shared<PluginBase>("jwt_authn", /*root_id=*/"", "jwt_authn", "wamr", config,
                                      fail_open, "key");
}

PendingCall *pendingFor(const std::string &label_prefix = "") {
  for (auto &c : g_pending_calls)
    if (c.label.rfind(label_prefix, 0) == 0) return &c;
  return nullptr;
}

// A request on thread i of plugin p; ends it unless keep.
struct Req {
  std::unique_ptr<Stream> s;
  size_t thread;
};

Req request(Deployment &d, size_t i, const std::shared_ptr<PluginBase> &p, const std::string &name,
            const std::string &auth, std::function<void(HarnessContext &)> setup = nullptr) {
  Req r{nullptr, i};
  d.w(i).call([&] {
    auto h = d.handle(i, p);
    auto *root = h->wasm()->getRootContext(p, false);
    r.s = startRequest(h->wasm().get(), root ? root->id() : 0, h, name, auth, setup);
    summarizeStream(*r.s);
  });
  d.drainAll();
  return r;
}
void finish(Deployment &d, Req &r) {
  d.w(r.thread).call([&] {
    summarizeStream(*r.s);
    endRequest(*r.s);
  });
  d.drainAll();
}
std::string oneShot(Deployment &d, size_t i, const std::shared_ptr<PluginBase> &p,
                    const std::string &name, const std::string &auth,
                    std::function<void(HarnessContext &)> setup = nullptr) {
  auto r = request(d, i, p, name, auth, setup);
  std::string v = verdictOf(*r.s);
  finish(d, r);
  return v;
}

// ----------------------------------------------------------------------------------------------
int runLegacy(const std::string &mode, const std::string &code, const std::string &jwks,
              const std::string &token);

int runMultiVm(Deployment &d, const std::string &jwks, const std::string &token) {
  std::string bearer = "Bearer " + token;
  auto plugin = makePlugin(configFor("remote", jwks));
  std::cout << "== plugin configuration: " << printable(plugin->plugin_configuration_, 300) << std::endl;
  if (!d.create(plugin)) return 1;
  check("calls issued by the configuration canary's on_configure", std::to_string(g_calls_by_vm["canary1"]));
  check("calls still pending after the canary was killed", std::to_string(g_pending_calls.size()));
  for (size_t i = 0; i < d.threads.size(); i++) d.plug(i, plugin);
  std::cout << "\n  calls issued so far, by VM:";
  for (auto &[k, v] : g_calls_by_vm) std::cout << " " << k << "=" << v;
  std::cout << "; pending: " << g_pending_calls.size() << std::endl;
  check("fetches started by the thread-local VMs' on_configure",
        std::to_string(g_calls_issued - g_calls_by_vm["canary1"]));

  // One request on each worker while the set is unknown.
  std::vector<Req> waiting;
  for (size_t i = 1; i < d.threads.size(); i++)
    waiting.push_back(request(d, i, plugin, "demo.jwt on " + d.w(i).name + " (no keys yet)", bearer));
  int t_ms = 0;
  Headers ok = {{":status", "200"}, {"content-type", "application/json"}};
  // Time moves in 100 ms steps; the first pending call gets its JWKS 200 after 200 ms.
  bool delivered = false;
  int fetches_before = g_calls_issued;
  for (int step = 0; step < 120; step++) {
    bool all_done = true;
    for (auto &r : waiting)
      if (verdictOf(*r.s).rfind("PAUSED", 0) == 0) all_done = false;
    if (all_done && delivered) break;
    if (!delivered && t_ms >= 200) {
      if (auto *c = pendingFor()) {
        PendingCall copy = *c;
        d.w(0).call([] {}); // order
        Worker *wk = copy.wasm->worker_;
        wk->call([&] { deliverCall(copy, &ok, &jwks); });
        d.drainAll();
        delivered = true;
        std::cout << "  (JWKS delivered to " << copy.label << " at t=" << t_ms << " ms)" << std::endl;
        check("fetch answered", copy.label + " at t=" + std::to_string(t_ms) + " ms after the workers' requests");
      }
    }
    d.advance(100, true);
    t_ms += 100;
  }
  std::cout << "\n  after " << t_ms << " ms of virtual time:" << std::endl;
  for (auto &r : waiting) {
    check("request on " + d.w(r.thread).name, verdictOf(*r.s));
    finish(d, r);
  }
  check("fetches issued while the requests waited (all VMs)", std::to_string(g_calls_issued - fetches_before));
  for (size_t i = 0; i < d.threads.size(); i++)
    check("again on " + d.w(i).name + " (keys shared)", oneShot(d, i, plugin, "demo.jwt on " + d.w(i).name + " (keys cached)", bearer));
  check("total fetches issued (all VMs, canary included)", std::to_string(g_calls_issued));
  std::cout << "  by VM:";
  for (auto &[k, v] : g_calls_by_vm) std::cout << " " << k << "=" << v;
  std::cout << std::endl;
  dumpStats();
  d.releaseAll();
  return 0;
}

int runShared(Deployment &d, const std::string &jwks) {
  auto plugin = makePlugin(configFor("inline", jwks));
  if (!d.create(plugin)) return 1;
  d.plug(1, plugin);
  d.plug(2, plugin);
  auto rootOf = [&](size_t i) {
    return static_cast<HarnessContext *>(d.handle(i, plugin)->wasm()->getRootContext(plugin, false));
  };
  std::cout << "\n-- shared data across VMs (ContextBase::getSharedData/setSharedData, what proxy_get/set_shared_data call)" << std::endl;
  uint32_t cas1 = 0;
  d.w(1).call([&] {
    std::pair<std::string, uint32_t> v;
    auto r0 = rootOf(1)->getSharedData("jwt_authn.v1.vm_seq", &v);
    check("worker1 get jwt_authn.v1.vm_seq (written by the VMs' claimVmId)",
          std::string(resultName(r0)) + " bytes=" + std::to_string(v.first.size()) + " cas=" + std::to_string(v.second));
    check("worker1 set k=v1 cas=0", resultName(rootOf(1)->setSharedData("k", "v1", 0)));
    rootOf(1)->getSharedData("k", &v);
    cas1 = v.second;
    check("worker1 get k", "\"" + v.first + "\" cas=" + std::to_string(cas1));
  });
  d.w(2).call([&] {
    std::pair<std::string, uint32_t> v;
    auto r = rootOf(2)->getSharedData("k", &v);
    check("worker2 get k (same vm_id)", std::string(resultName(r)) + " \"" + v.first + "\" cas=" + std::to_string(v.second));
    check("worker2 set k=v2 with that cas", resultName(rootOf(2)->setSharedData("k", "v2", cas1)));
  });
  d.w(1).call([&] {
    check("worker1 set k=v3 with the stale cas", resultName(rootOf(1)->setSharedData("k", "v3", cas1)));
    check("worker1 set missing key with cas=12345", resultName(rootOf(1)->setSharedData("fresh", "x", 12345)));
    std::pair<std::string, uint32_t> v;
    check("worker1 get missing key", resultName(rootOf(1)->getSharedData("nope", &v)));
    check("worker1 set empty value", resultName(rootOf(1)->setSharedData("empty", "", 0)));
    auto r = rootOf(1)->getSharedData("empty", &v);
    check("worker1 get empty value", std::string(resultName(r)) + " size=" + std::to_string(v.first.size()));
  });
  std::cout << "\n-- shared queues across VMs" << std::endl;
  uint32_t tq = 0;
  d.w(1).call([&] {
    auto r = rootOf(1)->registerSharedQueue("q", &tq);
    check("worker1 register q", std::string(resultName(r)) + " token=" + std::to_string(tq));
  });
  d.w(2).call([&] {
    uint32_t t = 0;
    auto r = rootOf(2)->lookupSharedQueue("", "q", &t);
    check("worker2 resolve(\"\", q)", std::string(resultName(r)) + " token=" + std::to_string(t));
    r = rootOf(2)->lookupSharedQueue("jwt_authn", "q", &t);
    check("worker2 resolve(jwt_authn, q)", std::string(resultName(r)) + " token=" + std::to_string(t));
    t = 0;
    r = rootOf(2)->lookupSharedQueue("other_vm", "q", &t);
    check("worker2 resolve(other_vm, q)", resultName(r));
    r = rootOf(2)->lookupSharedQueue("", "never", &t);
    check("worker2 resolve(\"\", never)", resultName(r));
    check("worker2 enqueue a", resultName(rootOf(2)->enqueueSharedQueue(tq, "a")));
    check("worker2 enqueue b", resultName(rootOf(2)->enqueueSharedQueue(tq, "b")));
    check("worker2 enqueue to unknown token", resultName(rootOf(2)->enqueueSharedQueue(tq + 100, "z")));
  });
  check("notifications waiting on worker1's thread", std::to_string(d.w(1).posted.size()));
  check("notifications waiting on worker2's thread", std::to_string(d.w(2).posted.size()));
  std::cout << "  draining (each runs proxy_on_queue_ready(root, token) on the registrant VM):" << std::endl;
  d.drainAll();
  d.w(1).call([&] {
    std::string s;
    auto r = rootOf(1)->dequeueSharedQueue(tq, &s);
    check("worker1 dequeue", std::string(resultName(r)) + " \"" + s + "\"");
    s.clear();
    r = rootOf(1)->dequeueSharedQueue(tq, &s);
    check("worker1 dequeue", std::string(resultName(r)) + " \"" + s + "\"");
    r = rootOf(1)->dequeueSharedQueue(tq, &s);
    check("worker1 dequeue (empty)", resultName(r));
    r = rootOf(1)->dequeueSharedQueue(tq + 100, &s);
    check("worker1 dequeue unknown token", resultName(r));
  });
  d.w(2).call([&] {
    uint32_t t2 = 0;
    rootOf(2)->registerSharedQueue("q", &t2);
    check("worker2 re-registers q", "token=" + std::to_string(t2) + (t2 == tq ? " (same)" : " (NEW)"));
    rootOf(2)->enqueueSharedQueue(tq, "c");
  });
  check("after re-register: notifications on worker1 / worker2",
        std::to_string(d.w(1).posted.size()) + " / " + std::to_string(d.w(2).posted.size()));
  d.drainAll();
  d.releaseAll();
  return 0;
}

int runTick(Deployment &d, const std::string &jwks, const std::string &token) {
  std::string bearer = "Bearer " + token;
  auto plugin = makePlugin(configFor("remote", jwks));
  d.canary = false; // the canary's lease is multi-vm's subject; here the JWKS answers at once
  if (!d.create(plugin)) return 1;
  d.plug(0, plugin);
  d.plug(1, plugin);
  Headers ok = {{":status", "200"}, {"content-type", "application/json"}};
  auto answerAll = [&] {
    while (!g_pending_calls.empty()) {
      PendingCall copy = g_pending_calls.front();
      copy.wasm->worker_->call([&] { deliverCall(copy, &ok, &jwks); });
      d.drainAll();
    }
  };
  auto period = [&](size_t i) {
    auto h = d.handle(i, plugin);
    auto *hw = static_cast<HarnessWasm *>(h->wasm().get());
    auto *root = h->wasm()->getRootContext(plugin, false);
    return std::to_string(hw->timers_[root->id()].period_ms) + " ms";
  };
  check("tick period on main / worker1 after on_configure (main's fetch in flight)", period(0) + " / " + period(1));
  auto r = request(d, 1, plugin, "demo.jwt on worker1 (main's fetch in flight)", bearer);
  check("tick period on worker1 while its request waits", period(1));
  int ticks = d.advance(200);
  check("tick firings in 200 ms (main 1 s, worker1 100 ms)", std::to_string(ticks));
  answerAll();
  uint64_t fetched_at = g_mono_ns;
  for (int i = 0; i < 20 && verdictOf(*r.s).rfind("PAUSED", 0) == 0; i++) d.advance(100, true);
  check("worker1's request", verdictOf(*r.s) + " (" + vt() + ")");
  finish(d, r);
  check("tick period on main / worker1 once nothing waits", period(0) + " / " + period(1));
  int before = g_calls_issued;
  ticks = d.advance(5000, true);
  check("tick firings in 5 s with keys fresh (2 VMs)", std::to_string(ticks) + ", fetches " + std::to_string(g_calls_issued - before));
  // Envoy's default lifetime (10 minutes): the refresh happens ahead of expiry.
  before = g_calls_issued;
  for (int s = 0; s < 11 * 60 && g_calls_issued == before; s++) d.advance(1000, true);
  if (g_calls_issued > before)
    check("first refresh fetch", std::to_string((g_mono_ns - fetched_at) / 1000000000ull) + " s after the first fetch was answered (by " + g_pending_calls.back().label + ")");
  else
    check("first refresh fetch", "none in 11 min");
  answerAll();
  check("after the refresh", oneShot(d, 1, plugin, "demo.jwt on worker1 (after refresh)", bearer));
  dumpStats();
  d.releaseAll();
  return 0;
}

int runMetrics(Deployment &d, const std::string &jwks, const std::string &token) {
  std::string bearer = "Bearer " + token;
  auto plugin = makePlugin(configFor("inline", jwks));
  if (!d.create(plugin)) return 1;
  d.plug(1, plugin);
  d.plug(2, plugin);
  // The same requests as tools/reference-host/node/compare.ts sends to the Node host.
  std::vector<std::tuple<size_t, std::string, std::string>> reqs = {
      {1, "no token", ""},
      {1, "demo.jwt", bearer},
      {2, "garbage token", "Bearer abc.def.ghi"},
      {2, "demo.jwt", bearer},
      {1, "demo.jwt again (token cache)", bearer},
      {2, "expired-looking junk", "Bearer eyJhbGciOiJSUzI1NiJ9.e30.AAAA"}};
  for (auto &[i, n, a] : reqs) check("request " + n + " on " + d.w(i).name, oneShot(d, i, plugin, n, a));
  dumpStats();
  std::cout << "\n-- getMetric for every id each VM defined (what proxy_get_metric answers)" << std::endl;
  for (size_t i = 1; i <= 2; i++)
    d.w(i).call([&] {
      auto h = d.handle(i, plugin);
      auto *hw = static_cast<HarnessWasm *>(h->wasm().get());
      auto *root = static_cast<HarnessContext *>(h->wasm()->getRootContext(plugin, false));
      for (auto &[id, key] : hw->metric_names_) {
        uint64_t v = 0;
        auto r = root->getMetric(id, &v);
        std::cout << "  " << hw->label_ << " id " << id << " " << key << " -> " << resultName(r) << " " << v << std::endl;
      }
    });
  d.releaseAll();
  return 0;
}

int runProperties(Deployment &d, const std::string &jwks, const std::string &token) {
  // DENY from 10.0.0.0/8; ALLOW from 127.0.0.1/32 to port 8080 when destination.ip 127.0.0.0/8.
  std::string policies =
      R"([{"name":"deny-ten","action":"DENY","rules":[{"from":[{"source":{"ipBlocks":["10.0.0.0/8"]}}]}]},)"
      R"({"name":"allow-local","action":"ALLOW","rules":[{"from":[{"source":{"ipBlocks":["127.0.0.1/32"]}}],"to":[{"operation":{"ports":["8080"]}}],"when":[{"key":"destination.ip","values":["127.0.0.0/8"]},{"key":"connection.sni","notValues":["forbidden.example"]}]}]}])";
  auto plugin = makePlugin(configFor("inline", jwks, policies));
  std::cout << "== plugin configuration: " << printable(plugin->plugin_configuration_, 200) << std::endl;
  if (!d.create(plugin)) return 1;
  d.plug(1, plugin);
  check("A 127.0.0.1:54321 -> 127.0.0.1:8080", oneShot(d, 1, plugin, "A", ""));
  check("B 10.1.2.3:4444 -> 127.0.0.1:8080", oneShot(d, 1, plugin, "B", "", [](HarnessContext &c) {
          c.source_address_ = "10.1.2.3:4444";
          c.source_port_ = 4444;
        }));
  check("C 127.0.0.1:54321 -> 127.0.0.1:9090", oneShot(d, 1, plugin, "C", "", [](HarnessContext &c) {
          c.destination_address_ = "127.0.0.1:9090";
          c.destination_port_ = 9090;
        }));
  check("D [::1]:5555 -> [::1]:8080", oneShot(d, 1, plugin, "D", "", [](HarnessContext &c) {
          c.source_address_ = "[::1]:5555";
          c.destination_address_ = "[::1]:8080";
        }));
  d.releaseAll();
  return 0;
}

int runTrap(Deployment &d, const std::string &jwks, const std::string &token) {
  std::string bearer = "Bearer " + token;
  auto plugin = makePlugin(configFor("inline", jwks));
  if (!d.create(plugin)) return 1;
  d.plug(1, plugin);
  check("before the trap: demo.jwt", oneShot(d, 1, plugin, "demo.jwt", bearer));
  // A real trap inside our module: proxy_on_request_headers for a context id the module never saw
  // (no proxy_on_context_create). The AS runtime's context_map.get() aborts -> unreachable.
  std::string trapped;
  d.w(1).call([&] {
    auto h = d.handle(1, plugin);
    auto *root = h->wasm()->getRootContext(plugin, false);
    auto s = startRequest(h->wasm().get(), root->id(), h, "TRAP: on_request_headers without on_context_create", bearer, nullptr, /*create=*/false);
    summarizeStream(*s);
    trapped = verdictOf(*s) + "; VM failed=" + (h->wasm()->isFailed() ? "yes (FailState::" + std::string(failStateName(h->wasm()->fail_state())) + ")" : "no");
    s->ctx->onDone();
    s->ctx->onDelete();
  });
  check("the trapping request", trapped);
  check("next request, same VM (cpp-host CHECK_FAIL, fail_open=false)", oneShot(d, 1, plugin, "demo.jwt after the trap", bearer));
  check("and the one after", oneShot(d, 1, plugin, "no token after the trap", ""));
  int ticks = d.advance(3000, true);
  check("tick timer firings on the failed VM in 3 s (cpp-host ContextBase::onTick then skips the module: isFailed)", std::to_string(ticks));
  // Envoy's FAIL_RELOAD (failure_policy) asks getOrCreateThreadLocalPlugin again: cpp-host's fail
  // callback erased this thread's cached plugin and VM, so a new clone of the base VM answers.
  auto failed_handle = d.handle(1, plugin);
  uint32_t root = d.plug(1, plugin);
  auto h2 = d.handle(1, plugin);
  check("getOrCreateThreadLocalPlugin after the trap",
        std::string("new VM \"") + static_cast<HarnessWasm *>(h2->wasm().get())->label_ + "\" root #" + std::to_string(root) +
            (h2->wasm().get() != failed_handle->wasm().get() ? " (a fresh VM)" : " (the failed VM!)"));
  check("request on the reloaded VM", oneShot(d, 1, plugin, "demo.jwt on the reloaded VM", bearer));
  d.w(1).call([&] {
    failed_handle.reset();
    h2.reset();
  });
  dumpStats();
  d.releaseAll();
  return 0;
}

int runReconfigure(Deployment &d, const std::string &jwks, const std::string &token) {
  std::string bearer = "Bearer " + token;
  auto a = makePlugin(configFor("inline", jwks));
  auto b = makePlugin(configFor("inline", jwks, "[]"));
  check("plugin keys differ", a->key() != b->key() ? "yes" : "no");
  if (!d.create(a)) return 1;
  uint32_t ra = d.plug(1, a);
  check("A: no token", oneShot(d, 1, a, "no token (config A: require-jwt)", ""));
  // LDS update: a new filter config => new PluginBase; Envoy calls createWasm again (same vm_key:
  // the base VM is reused, a new canary runs), then getOrCreateThreadLocalPlugin per thread.
  std::cout << "\n-- LDS update: plugin B on the same VM" << std::endl;
  if (!d.create(b)) return 1;
  uint32_t rb = d.plug(1, b);
  auto ha = d.handle(1, a), hb = d.handle(1, b);
  check("B's VM is A's VM", ha->wasm().get() == hb->wasm().get() ? "yes (same thread-local VM)" : "no");
  check("root context ids A / B", std::to_string(ra) + " / " + std::to_string(rb));
  check("B: no token", oneShot(d, 1, b, "no token (config B: no policies)", ""));
  check("B: demo.jwt", oneShot(d, 1, b, "demo.jwt (config B)", bearer));
  check("A still: no token", oneShot(d, 1, a, "no token (config A, old listener draining)", ""));
  std::cout << "\n-- the old listener drains: plugin A's handle released (startShutdown(A key))" << std::endl;
  d.w(1).call([&] {
    d.handles.erase({&d.w(1), a->key()});
    ha.reset();
  });
  d.drainAll();
  d.w(1).call([&] {
    check("root A after shutdown", hb->wasm()->getContext(ra) ? "still there" : "gone (on_done, on_delete)");
  });
  check("B after A is gone: demo.jwt", oneShot(d, 1, b, "demo.jwt (config B, A gone)", bearer));
  d.w(1).call([&] { hb.reset(); });
  dumpStats();
  d.releaseAll();
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 5) {
    std::cerr << "usage: " << argv[0]
              << " <module.wasm> <inline|remote|remote-fail|remote-unknown-cluster|multi-vm|shared|"
                 "tick|metrics|properties|trap|reconfigure> <jwks.json> <demo.jwt>\n";
    return 2;
  }
  std::string module_path = argv[1], mode = argv[2];
  std::string jwks = trim(readFile(argv[3]));
  std::string token = trim(readFile(argv[4]));
  std::string code = readFile(module_path);
  initClock();
  std::cout << "== module: " << module_path << " (" << code.size() << " bytes)" << std::endl;
  std::cout << "== mode: " << mode << std::endl;
  if (mode == "inline" || mode == "remote" || mode == "remote-fail" || mode == "remote-unknown-cluster")
    return runLegacy(mode, code, jwks, token);

  int rc = 2;
  {
    Deployment d;
    d.code = code;
    d.threads.push_back(std::make_unique<Worker>("main"));
    for (int i = 1; i <= 3; i++) d.threads.push_back(std::make_unique<Worker>("worker" + std::to_string(i)));
    if (mode == "multi-vm") rc = runMultiVm(d, jwks, token);
    else if (mode == "multi-vm-nocanary") {
      d.canary = false;
      rc = runMultiVm(d, jwks, token);
    }
    else if (mode == "shared") rc = runShared(d, jwks);
    else if (mode == "tick") rc = runTick(d, jwks, token);
    else if (mode == "metrics") rc = runMetrics(d, jwks, token);
    else if (mode == "properties") rc = runProperties(d, jwks, token);
    else if (mode == "trap") rc = runTrap(d, jwks, token);
    else if (mode == "reconfigure") rc = runReconfigure(d, jwks, token);
    else std::cerr << "unknown mode " << mode << "\n";
  }
  std::cout << "RESULT: " << (rc == 0 ? "ran" : "FAILED") << "; errors reported by host=" << g_errors
            << "; warn/error logs=" << g_warn_logs << std::endl;
  return rc;
}

namespace {
// The original single-VM scenarios (one VM driven directly, as first written).
int runLegacy(const std::string &mode, const std::string &code, const std::string &jwks,
              const std::string &token) {
  std::string config = configFor(mode == "inline" ? "inline" : mode, jwks);
  std::cout << "== plugin configuration: " << printable(config, 300) << std::endl;

  auto vm = createWamrVm();
  vm->integration() = std::make_unique<HarnessIntegration>();
  std::cout << "== engine: " << vm->getEngineName() << std::endl;
  auto wasm = std::make_shared<HarnessWasm>(std::move(vm), "jwt_authn", "", "vm");
  auto wasm_handle = std::make_shared<WasmHandleBase>(wasm);

  std::cout << "\n-- load" << std::endl;
  auto t0 = std::chrono::steady_clock::now();
  if (!wasm->load(code, false)) {
    std::cout << "RESULT: load FAILED (FailState::" << failStateName(wasm->fail_state()) << ")" << std::endl;
    return 1;
  }
  auto load_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  const char *abi = "Unknown";
  switch (wasm->abiVersion()) {
  case AbiVersion::ProxyWasm_0_1_0: abi = "0.1.0"; break;
  case AbiVersion::ProxyWasm_0_2_0: abi = "0.2.0"; break;
  case AbiVersion::ProxyWasm_0_2_1: abi = "0.2.1"; break;
  default: break;
  }
  std::cout << "  loaded in " << load_ms << " ms; ABI version detected by cpp-host: " << abi << std::endl;

  std::cout << "\n-- initialize (link imports, _initialize)" << std::endl;
  if (!wasm->initialize()) {
    std::cout << "RESULT: initialize FAILED (FailState::" << failStateName(wasm->fail_state()) << ")" << std::endl;
    return 1;
  }
  auto plugin = makePlugin(config);
  auto plugin_handle = std::make_shared<PluginHandleBase>(wasm_handle, plugin);

  std::cout << "\n-- start (root context: on_context_create, on_vm_start)" << std::endl;
  auto *root = wasm->start(plugin);
  if (!root) {
    std::cout << "RESULT: start FAILED (on_vm_start returned false or VM failed; FailState::"
              << failStateName(wasm->fail_state()) << ")" << std::endl;
    return 1;
  }
  auto *hroot = static_cast<HarnessContext *>(root);
  std::cout << "\n-- configure (on_configure)" << std::endl;
  bool configured = wasm->configure(root, plugin);
  std::cout << "  on_configure returned " << (configured ? "true" : "false")
            << (wasm->isFailed() ? "  [VM FAILED]" : "") << std::endl;
  if (!configured) {
    std::cout << "RESULT: configure FAILED (Envoy would reject the filter)" << std::endl;
    return 1;
  }

  std::string bearer = "Bearer " + token;
  Headers jwks_ok = {{":status", "200"}, {"content-type", "application/json"}};
  Headers jwks_503 = {{":status", "503"}, {"content-type", "text/plain"}};
  std::string fail_body = "upstream connect error";
  auto rid = root->id();
  auto req = [&](const std::string &n, const std::string &a) {
    return startRequest(wasm.get(), rid, plugin_handle, n, a);
  };
  auto pending = [&]() -> PendingCall * { return g_pending_calls.empty() ? nullptr : &g_pending_calls.front(); };
  auto deliver = [&](const Headers *h, const std::string *b) {
    if (auto *c = pending()) {
      PendingCall copy = *c;
      deliverCall(copy, h, b);
    } else {
      std::cout << "  !! no pending http call to answer" << std::endl;
    }
  };

  if (mode == "inline") {
    for (auto &[n, a] : std::vector<std::pair<std::string, std::string>>{
             {"no token", ""}, {"demo.jwt", bearer}, {"garbage token", "Bearer abc.def.ghi"},
             {"demo.jwt again (token cache)", bearer}}) {
      auto s = req(n, a);
      summarizeStream(*s);
      endRequest(*s);
    }
  } else if (mode == "remote") {
    std::cout << "\n  pending callouts after on_configure: " << g_pending_calls.size() << std::endl;
    auto s1 = req("no token (fetch in flight)", "");
    summarizeStream(*s1);
    endRequest(*s1);
    auto s3 = req("garbage token (fetch in flight)", "Bearer abc.def.ghi");
    summarizeStream(*s3);
    endRequest(*s3);
    auto s2 = req("demo.jwt (fetch in flight)", bearer);
    summarizeStream(*s2);
    std::cout << "  pending callouts now: " << g_pending_calls.size() << std::endl;
    deliver(&jwks_ok, &jwks);
    std::cout << "  after the callout response:" << std::endl;
    summarizeStream(*s2);
    endRequest(*s2);
    for (auto &[n, a] : std::vector<std::pair<std::string, std::string>>{
             {"no token (keys cached)", ""}, {"demo.jwt (keys cached)", bearer},
             {"garbage token (keys cached)", "Bearer abc.def.ghi"}}) {
      auto s = req(n, a);
      summarizeStream(*s);
      endRequest(*s);
    }
    std::cout << "  pending callouts at end: " << g_pending_calls.size() << std::endl;
  } else if (mode == "remote-fail") {
    auto s2 = req("demo.jwt (fetch in flight, will get 503)", bearer);
    summarizeStream(*s2);
    deliver(&jwks_503, &fail_body);
    std::cout << "  after the callout response:" << std::endl;
    summarizeStream(*s2);
    endRequest(*s2);
    auto s3 = req("demo.jwt (previous fetch failed: new fetch, then reset)", bearer);
    summarizeStream(*s3);
    deliver(nullptr, nullptr);
    std::cout << "  after the callout failure:" << std::endl;
    summarizeStream(*s3);
    endRequest(*s3);
  } else if (mode == "remote-unknown-cluster") {
    for (auto &[n, a] : std::vector<std::pair<std::string, std::string>>{
             {"no token", ""}, {"demo.jwt (cluster unknown)", bearer}}) {
      auto s = req(n, a);
      summarizeStream(*s);
      endRequest(*s);
    }
  }
  (void)hroot;
  dumpStats();
  std::cout << "\n-- shutdown" << std::endl;
  bool failed = wasm->isFailed();
  plugin_handle.reset();
  std::cout << "RESULT: " << (failed ? "VM FAILED" : "ok") << "; errors reported by host=" << g_errors
            << "; warn/error logs=" << g_warn_logs << std::endl;
  wasm_handle.reset();
  wasm.reset();
  return failed ? 1 : 0;
}
} // namespace
