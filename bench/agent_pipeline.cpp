// Agent CPU per captured HTTP request + response (issue 18): kernel records as the ring delivers them, through the
// TLS sensor wired as in the agent (tracker, registry, MCP call book, a JSON-lines sink to /dev/null), no BPF.
// HTTP/1.1 and HTTP/2 (nghttp2's HPACK deflater, as a client library would encode), a bearer token on every request.
// Prints CPU ns and heap allocations per request + response. Usage: bench_agent_pipeline [REQUESTS] [ROUNDS] [http1|h2]
#include <nghttp2/nghttp2.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "export/json_lines_sink.h"
#include "kernel_stand_in.h"
#include "sensors/tls/tls_sensor.h"

namespace {
std::atomic<uint64_t> g_allocations{0};
}  // namespace

// Every heap allocation of the process is counted (operator new, protobuf and C code alike: all reach malloc).
extern "C" void* __libc_malloc(size_t size);
extern "C" void* __libc_calloc(size_t count, size_t size);
extern "C" void* __libc_realloc(void* p, size_t size);
extern "C" void* malloc(size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(size);
}
extern "C" void* calloc(size_t count, size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(count, size);
}
extern "C" void* realloc(void* p, size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(p, size);
}

namespace credtrace {
namespace {

// The agent's JSON-lines sink (to /dev/null: the encoding is paid) that also sums the uses the events stand for.
struct CountingSink final : exporter::EventSink {
  explicit CountingSink(std::unique_ptr<exporter::JsonLinesSink> out) : json(std::move(out)) {}
  void write(const credtrace::v1::Event& event) override {
    if (event.type() == "credential_use") uses += event.credential_use().count();
    json->write(event);
  }
  void report(credtrace::v1::AgentHealth& health) const override { json->report(health); }
  std::unique_ptr<exporter::JsonLinesSink> json;
  uint64_t uses = 0;
};

constexpr uint32_t kServer = 7300;
constexpr uint64_t kSsl = 0x7f00aa0010;
constexpr uint32_t kFd = 7;

// Resident set of this process, in KiB.
long rss_kib() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

uint64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::string fake_github_pat() {
  const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string token = "ghp_";
  unsigned seed = 20261206;
  for (int i = 0; i < 36; ++i) token.push_back(alnum[(seed = seed * 1103515245u + 12345u) % 62]);
  return token;
}

// One record as the ring hands it over: the fixed fields, then the bytes.
class Record {
 public:
  template <typename Event>
  explicit Record(const Event& e) : bytes_(reinterpret_cast<const char*>(&e), reinterpret_cast<const char*>(&e + 1)) {}
  static Record data(uint32_t direction, uint64_t time_ns, const std::string& payload) {
    Record record(*testing::data_record(CT_EVENT_TLS_DATA, kServer, kSsl, direction, payload, time_ns));
    record.bytes_.resize(offsetof(ct_tls_data_event, data) + payload.size());  // as long as the ring's record
    return record;
  }
  const void* data() const { return bytes_.data(); }
  size_t size() const { return bytes_.size(); }

 private:
  std::vector<char> bytes_;
};

ct_event_header header(uint32_t type, uint64_t time_ns) {
  ct_event_header h{};
  h.type = type;
  h.tgid = h.pid = kServer;
  h.flags = CT_FLAG_WATCHED;
  h.time_boot_ns = time_ns;
  return h;
}

// A connection's set-up records: connect to 127.0.0.1:8443, the SNI, the SSL*'s pairing with the socket.
std::vector<Record> connection_setup(uint64_t time_ns) {
  ct_connect_event connect{};
  connect.hdr = header(CT_EVENT_CONNECT, time_ns);
  connect.fd = kFd;
  connect.family = 2;
  connect.port = 8443;
  const unsigned char loopback[4] = {127, 0, 0, 1};
  std::memcpy(connect.addr, loopback, 4);
  ct_tls_sni_event sni{};
  sni.hdr = header(CT_EVENT_TLS_SNI, time_ns + 1);
  sni.ssl = kSsl;
  std::strcpy(sni.name, "api.example.com");
  ct_tls_socket_event socket{};
  socket.hdr = header(CT_EVENT_TLS_SOCKET, time_ns + 2);
  socket.ssl = kSsl;
  socket.fd = kFd;
  socket.record_len = 512;
  return {Record(connect), Record(sni), Record(socket)};
}

// An exchange: what the client wrote, then what it read.
struct Exchange {
  std::vector<Record> writes;
  std::vector<Record> reads;
};

const std::string kBody = [] {
  std::string body = "{\"query\":\"";
  body.append(1024 - body.size() - 2, 'q');
  return body + "\"}";
}();
const std::string kAnswer = "{\"ok\":true,\"items\":[1,2,3]}";

class Http1Workload {
 public:
  explicit Http1Workload(const std::string& token) {
    request_ = "POST /v1/search HTTP/1.1\r\nHost: api.example.com\r\nAccept-Encoding: identity\r\n"
               "Content-Type: application/json\r\nAuthorization: Bearer " + token +
               "\r\nUser-Agent: bench-client/1.0\r\nContent-Length: " + std::to_string(kBody.size()) + "\r\n\r\n" + kBody;
    response_ = "HTTP/1.1 200 OK\r\nServer: BaseHTTP/0.6 Python/3.11.2\r\nDate: Sun, 06 Dec 2026 03:00:00 GMT\r\n"
                "Content-Type: application/json\r\nContent-Length: " + std::to_string(kAnswer.size()) + "\r\n\r\n" +
                kAnswer;
  }
  std::vector<Record> setup(uint64_t time_ns) const { return connection_setup(time_ns); }
  Exchange next(uint64_t time_ns) {
    Exchange x;
    x.writes.push_back(Record::data(CT_TLS_WRITE, time_ns, request_));
    x.reads.push_back(Record::data(CT_TLS_READ, time_ns + 500, response_));
    return x;
  }

 private:
  std::string request_;
  std::string response_;
};

struct DeflaterDeleter {
  void operator()(nghttp2_hd_deflater* d) const { nghttp2_hd_deflate_del(d); }
};

class Hpack {
 public:
  Hpack() {
    nghttp2_hd_deflater* raw = nullptr;
    if (nghttp2_hd_deflate_new(&raw, 4096) != 0) std::abort();
    deflater_.reset(raw);
  }
  std::string block(const std::vector<std::pair<std::string, std::string>>& fields) {
    std::vector<nghttp2_nv> nva;
    for (const auto& [name, value] : fields)
      nva.push_back(nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                               reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
                               NGHTTP2_NV_FLAG_NONE});
    std::string out(nghttp2_hd_deflate_bound(deflater_.get(), nva.data(), nva.size()), '\0');
    const ssize_t n = nghttp2_hd_deflate_hd(deflater_.get(), reinterpret_cast<uint8_t*>(out.data()), out.size(),
                                            nva.data(), nva.size());
    if (n < 0) std::abort();
    out.resize(static_cast<size_t>(n));
    return out;
  }

 private:
  std::unique_ptr<nghttp2_hd_deflater, DeflaterDeleter> deflater_;
};

std::string frame(uint8_t type, uint8_t flags, uint32_t stream, const std::string& payload) {
  std::string f;
  f.push_back(static_cast<char>(payload.size() >> 16));
  f.push_back(static_cast<char>(payload.size() >> 8));
  f.push_back(static_cast<char>(payload.size()));
  f.push_back(static_cast<char>(type));
  f.push_back(static_cast<char>(flags));
  for (int shift = 24; shift >= 0; shift -= 8) f.push_back(static_cast<char>(stream >> shift));
  return f + payload;
}

constexpr uint8_t kData = 0x0, kHeaders = 0x1, kSettings = 0x4, kEndStream = 0x1, kEndHeaders = 0x4, kAck = 0x1;

// A client's HTTP/2 connection (as Node's or curl's): the preface and SETTINGS, then one stream per request
// (HEADERS with the bearer token, DATA), each answered by HEADERS and DATA.
class Http2Workload {
 public:
  explicit Http2Workload(std::string token) : token_(std::move(token)) {}
  std::vector<Record> setup(uint64_t time_ns) {
    std::vector<Record> records = connection_setup(time_ns);
    records.push_back(Record::data(CT_TLS_WRITE, time_ns + 3,
                                   "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(kSettings, 0, 0, std::string(6, '\0'))));
    records.push_back(Record::data(CT_TLS_READ, time_ns + 4,
                                   frame(kSettings, 0, 0, "") + frame(kSettings, kAck, 0, "")));
    return records;
  }
  Exchange next(uint64_t time_ns) {
    const uint32_t id = stream_id_;
    stream_id_ += 2;
    Exchange x;
    const std::string headers = client_.block({{":method", "POST"},
                                               {":scheme", "https"},
                                               {":authority", "api.example.com"},
                                               {":path", "/v1/search"},
                                               {"content-type", "application/json"},
                                               {"authorization", "Bearer " + token_},
                                               {"user-agent", "bench-client/1.0"},
                                               {"content-length", std::to_string(kBody.size())}});
    x.writes.push_back(Record::data(CT_TLS_WRITE, time_ns, frame(kHeaders, kEndHeaders, id, headers) +
                                                               frame(kData, kEndStream, id, kBody)));
    const std::string answer = server_.block({{":status", "200"},
                                              {"content-type", "application/json"},
                                              {"content-length", std::to_string(kAnswer.size())},
                                              {"date", "Sun, 06 Dec 2026 03:00:00 GMT"}});
    x.reads.push_back(Record::data(CT_TLS_READ, time_ns + 500, frame(kHeaders, kEndHeaders, id, answer) +
                                                                   frame(kData, kEndStream, id, kAnswer)));
    return x;
  }

 private:
  std::string token_;
  Hpack client_;
  Hpack server_;
  uint32_t stream_id_ = 1;
};

// The TLS sensor wired as in the agent, with a server process known to the tracker.
struct Pipeline {
  Pipeline() {
    config.proc_root = "/nonexistent-proc-root";
    config.mcp.scan_user_homes = false;
    std::string error;
    fingerprinter = secrets::Fingerprinter::from_key("bench-fleet-key-0123456789abcdef0123", &error);
    auto json = exporter::JsonLinesSink::open("/dev/null", &error);
    if (json) sink = std::make_unique<CountingSink>(std::move(json));
    if (!fingerprinter || !sink) {
      std::fprintf(stderr, "set-up failed: %s\n", error.c_str());
      std::exit(1);
    }
    mcp_calls.emplace(sensors::McpCallsDeps{*fingerprinter, events, *sink, registry}, sensors::McpCallsOptions{});
    tracker.emplace(config, kernel, *sink, events);
    context.emplace(sensors::SensorContext{config, *fingerprinter, events, *sink, registry, *tracker, kernel, kernel,
                                           *mcp_calls});
    tls.emplace(*context);
    tracker->add_observer(&*tls);
    tracker->on_exec(testing::server_exec(kServer));
  }
  // Uses reported once every window closed.
  uint64_t flush_uses() {
    tls->stop();
    return sink->uses;
  }
  void feed(const Record& r) { tls->on_record(r.data(), r.size()); }

  config::AgentConfig config = config::default_config();
  std::optional<secrets::Fingerprinter> fingerprinter;
  testing::NoKernel kernel;
  std::unique_ptr<CountingSink> sink;
  events::EventFactory events{"bench-host", "agt_bench"};
  events::CredentialRegistry registry;
  std::optional<tracking::ProcessTracker> tracker;
  std::optional<sensors::McpCalls> mcp_calls;
  std::optional<sensors::SensorContext> context;
  std::optional<sensors::TlsSensor> tls;
};

struct Figure {
  double ns_per_exchange;
  double allocations_per_exchange;
};

// Records are built before the clock starts: only the agent's handling is timed.
template <typename Workload>
Figure run_round(Workload& workload, size_t requests) {
  Pipeline pipeline;
  uint64_t t = 2'000'000'000ull;
  for (const Record& r : workload.setup(t)) pipeline.feed(r);
  std::vector<Exchange> exchanges;
  exchanges.reserve(requests);
  for (size_t i = 0; i < requests; ++i) exchanges.push_back(workload.next(t += 100'000));
  for (size_t i = 0; i < std::min<size_t>(requests, 200); ++i) {  // warm-up: tables and caches as in steady state
    for (const Record& r : exchanges[i].writes) pipeline.feed(r);
    for (const Record& r : exchanges[i].reads) pipeline.feed(r);
  }
  const long rss_before = rss_kib();
  rusage usage_before{};
  getrusage(RUSAGE_SELF, &usage_before);
  const uint64_t allocations_before = g_allocations.load();
  const uint64_t start = thread_cpu_ns();
  for (size_t i = 200; i < requests; ++i) {
    for (const Record& r : exchanges[i].writes) pipeline.feed(r);
    for (const Record& r : exchanges[i].reads) pipeline.feed(r);
  }
  const uint64_t cpu = thread_cpu_ns() - start;
  const uint64_t allocations = g_allocations.load() - allocations_before;
  if (std::getenv("BENCH_RSS")) {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    std::fprintf(stderr, "over the timed loop: rss grew %ld KiB, %ld minor page faults\n", rss_kib() - rss_before,
                 usage.ru_minflt - usage_before.ru_minflt);
  }
  const double timed = static_cast<double>(requests - 200);
  if (const uint64_t uses = pipeline.flush_uses(); uses != requests) {
    std::fprintf(stderr, "the pipeline reported %llu uses of %zu requests: the benchmark measures nothing useful\n",
                 static_cast<unsigned long long>(uses), requests);
    std::exit(1);
  }
  return {static_cast<double>(cpu) / timed, static_cast<double>(allocations) / timed};
}

template <typename Workload>
void report(const char* name, const std::string& token, size_t requests, int rounds) {
  std::vector<double> ns;
  double allocations = 0;
  for (int round = 0; round < rounds; ++round) {
    Workload workload(token);
    const Figure f = run_round(workload, requests);
    ns.push_back(f.ns_per_exchange);
    allocations = f.allocations_per_exchange;
  }
  std::sort(ns.begin(), ns.end());
  std::printf("%-8s agent CPU per request + response: median %.0f ns (min %.0f, max %.0f), %.1f heap allocations\n",
              name, ns[ns.size() / 2], ns.front(), ns.back(), allocations);
  std::printf("FIGURE agent_cpu_per_request_%s %.0f ns <=3000\n", name, ns[ns.size() / 2]);
}

}  // namespace
}  // namespace credtrace

int main(int argc, char** argv) {
  const size_t requests = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 50'000;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
  const std::string only = argc > 3 ? argv[3] : "";  // http1 or h2: that protocol alone (for a profiler)
  if (requests <= 200 || rounds <= 0) {
    std::fprintf(stderr, "usage: bench_agent_pipeline [REQUESTS > 200] [ROUNDS > 0]\n");
    return 2;
  }
  const std::string token = credtrace::fake_github_pat();
  std::printf("TLS sensor pipeline (records built in advance, one thread's CPU time): %zu exchanges x %d rounds, "
              "1 KiB JSON POST with a bearer token, small JSON answer\n", requests, rounds);
  if (only.empty() || only == "http1") credtrace::report<credtrace::Http1Workload>("http1", token, requests, rounds);
  if (only.empty() || only == "h2") credtrace::report<credtrace::Http2Workload>("h2", token, requests, rounds);
  return 0;
}
