// Collector benchmark: ingest events/s into SQLite and PostgreSQL (batches of 500), query API latency over the result,
// then the ack latency of many agents sending small batches at once; ends each with FIGURE lines (bench/figures.py).
// Usage: bench_collector [EVENTS=1000000] [full|normal (SQLite synchronous)] [CLIENTS=4] [sqlite|postgres|both]
//                        [AGENTS=100 (0: no small-batch run)]
// CREDTRACE_BENCH_KEEP=1 keeps the SQLite database (the PostgreSQL server is stopped and its data dir kept too).
// CREDTRACE_BENCH_COLLECTOR=PATH runs another credtrace-collector binary (to compare builds).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "credtrace/v1/ingest.pb.h"
#include "postgres_server.h"

namespace {

constexpr int kBatchEvents = 500;
constexpr int kSmallBatchEvents = 20, kSmallBatchesPerAgent = 50;  // the many-agents run
constexpr int kCredentials = 5000, kWorkloads = 2000, kHosts = 200, kDestinations = 100;
const char* kAgentToken = "bench-agent-token";
const char* kReaderToken = "bench-reader-token";

using Clock = std::chrono::steady_clock;

// An owned socket/pipe fd.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// The collector under test, stopped with SIGTERM when this goes.
class CollectorProcess {
 public:
  // `db`: --db value (sqlite:PATH or postgres://...).
  CollectorProcess(const std::string& dir, const std::string& db, const std::string& sync) {
    std::ofstream(dir + "/agents") << kAgentToken << "\n";
    std::ofstream(dir + "/readers") << kReaderToken << "\n";
    std::string log = dir + "/collector.log";
    std::fflush(nullptr);  // the child must not write our buffered output again
    const char* binary = std::getenv("CREDTRACE_BENCH_COLLECTOR");
    if (binary == nullptr || *binary == '\0') binary = CREDTRACE_COLLECTOR_PATH;
    pid_ = fork();
    if (pid_ == 0) {
      FILE* out = std::freopen(log.c_str(), "w", stderr);
      (void)out;
      execl(binary, "credtrace-collector", "--listen", "127.0.0.1:0", "--agent-tokens",
            (dir + "/agents").c_str(), "--reader-tokens", (dir + "/readers").c_str(), "--db",
            db.c_str(), "--sqlite-synchronous", sync.c_str(), "--threads", "4",
            "--retention-days", "0", static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 200 && port_ == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::ifstream in(log);
      std::string text((std::istreambuf_iterator<char>(in)), {});
      if (auto at = text.find("listening on http://127.0.0.1:"); at != std::string::npos)
        port_ = std::atoi(text.c_str() + at + std::strlen("listening on http://127.0.0.1:"));
    }
  }
  ~CollectorProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

// A keep-alive HTTP/1.1 connection: one request at a time, Content-Length bodies.
class HttpClient {
 public:
  // `source`: the loopback address to connect from (127.0.0.1 unless given), as agents on other hosts would.
  explicit HttpClient(int port, uint32_t source = INADDR_LOOPBACK) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(source);
    int one = 1;
    setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (source != INADDR_LOOPBACK && bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = connect(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  bool connected() const { return ok_; }
  // Returns the status code (0 on a transport error); the body in `body`.
  int request(const std::string& method, const std::string& path, const std::string& headers,
              const std::string& payload, std::string& body) {
    std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers +
                      "Content-Length: " + std::to_string(payload.size()) + "\r\n\r\n";
    if (!ok_ || !send_all(req) || !send_all(payload)) return 0;
    return read_response(body);
  }

 private:
  bool send_all(const std::string& data) {
    for (size_t sent = 0; sent < data.size();) {
      ssize_t n = send(fd_.get(), data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }
  int read_response(std::string& body) {
    size_t header_end;
    while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos)
      if (!fill()) return 0;
    int status = std::atoi(buffer_.c_str() + 9);
    std::string head = buffer_.substr(0, header_end);
    std::transform(head.begin(), head.end(), head.begin(), ::tolower);
    size_t at = head.find("content-length:");
    size_t length = at == std::string::npos ? 0 : std::strtoul(head.c_str() + at + 15, nullptr, 10);
    while (buffer_.size() < header_end + 4 + length)
      if (!fill()) return 0;
    body = buffer_.substr(header_end + 4, length);
    buffer_.erase(0, header_end + 4 + length);
    return status;
  }
  bool fill() {
    char chunk[65536];
    ssize_t n = recv(fd_.get(), chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }
  Fd fd_;
  bool ok_ = false;
  std::string buffer_;
};

std::string hex64(uint64_t n) {
  char out[65];
  for (int i = 0; i < 64; ++i) out[i] = "0123456789abcdef"[(n * 2654435761u + static_cast<uint64_t>(i) * 40503u) % 16];
  out[64] = 0;
  std::snprintf(out, 17, "%016llx", static_cast<unsigned long long>(n));  // unique prefix
  out[16] = 'f';
  return out;
}

// Fleet shape: kHosts agents, each with kWorkloads / kHosts workloads; each workload holds 4 credentials from the
// pool (so some are shared across workloads and hosts) and sends each to one of 2 destinations. A batch comes
// from one agent and holds its recent events, as the agent sink sends them.
void fill_event(credtrace::v1::Event& e, std::mt19937_64& rng, int host, int64_t now_ns) {
  int wl = host * (kWorkloads / kHosts) + static_cast<int>(rng() % (kWorkloads / kHosts));
  uint64_t cred = (static_cast<uint64_t>(wl) * 10 + rng() % 4) * 2654435761u % kCredentials;
  e.set_type("credential_use");
  e.set_agent_id("bench-agent-" + std::to_string(host));  // as the agent sets it on every event
  int64_t t = now_ns - static_cast<int64_t>(rng() % 10'000'000'000ULL);  // within the agent's 10 s window
  e.mutable_time()->set_seconds(t / 1'000'000'000);
  e.mutable_time()->set_nanos(static_cast<int32_t>(t % 1'000'000'000));
  e.set_host("host-" + std::to_string(host));
  auto* p = e.mutable_process();
  p->set_pid(static_cast<uint32_t>(1000 + wl));
  p->set_exe("/usr/bin/node");
  p->add_args("node");
  p->add_args("/opt/mcp/server-" + std::to_string(wl) + "/index.js");
  auto* w = e.mutable_workload();
  w->set_id("wl-" + std::to_string(wl));
  w->set_host(e.host());
  w->set_exe("/usr/bin/node");
  w->mutable_mcp()->set_server_name("server-" + std::to_string(wl));
  w->mutable_mcp()->set_client("claude_desktop");
  auto* c = e.mutable_credential();
  c->set_type(cred % 2 ? "github_pat" : "openai");
  c->set_fingerprint(hex64(cred));
  c->set_preview(cred % 2 ? "ghp_…" + std::to_string(1000 + cred % 9000) : "sk-…" + std::to_string(1000 + cred % 9000));
  auto* s = e.add_sources();
  s->set_kind("env");
  s->set_name(cred % 2 ? "GITHUB_TOKEN" : "OPENAI_API_KEY");
  auto* d = e.mutable_destination();
  d->set_host("api-" + std::to_string((cred + rng() % 2) % kDestinations) + ".example.com");
  d->set_port(443);
  d->set_tls(true);
  auto* r = e.mutable_request();
  r->set_protocol("h2");
  r->set_method("POST");
  r->set_path("/v1/chat/completions");
  r->set_carrier("header:authorization");
  r->set_scheme("Bearer");
  e.mutable_credential_use()->set_count(1);
}

std::string deflate_body(const std::string& raw) {
  uLongf size = compressBound(raw.size());
  std::string out(size, '\0');
  compress2(reinterpret_cast<Bytef*>(out.data()), &size, reinterpret_cast<const Bytef*>(raw.data()), raw.size(), 1);
  out.resize(size);
  return out;
}

std::vector<std::string> make_batches(int events, size_t& raw_bytes) {
  std::mt19937_64 rng(42);
  int batches = events / kBatchEvents;
  int64_t start_ns = (static_cast<int64_t>(time(nullptr)) - 86400) * 1'000'000'000LL;
  int64_t step_ns = 86400'000'000'000LL / std::max(1, batches);  // the batches span the last day
  std::vector<std::string> bodies;
  raw_bytes = 0;
  for (int seq = 1; seq <= batches; ++seq) {
    int host = seq % kHosts;
    credtrace::v1::IngestBatch batch;
    batch.set_agent_id("bench-agent-" + std::to_string(host));
    batch.set_sequence(static_cast<uint64_t>(seq));
    for (int i = 0; i < kBatchEvents; ++i) fill_event(*batch.add_events(), rng, host, start_ns + seq * step_ns);
    std::string raw = batch.SerializeAsString();
    raw_bytes += raw.size();
    bodies.push_back(deflate_body(raw));
  }
  return bodies;
}

// The many-agents run: agent `agent` (its own agent id, on host agent % kHosts) sends kSmallBatchesPerAgent batches
// of kSmallBatchEvents recent events, sequence numbers from 1.
std::vector<std::string> make_small_batches(int agent) {
  std::mt19937_64 rng(1000 + static_cast<uint64_t>(agent));
  const std::string agent_id = "fleet-agent-" + std::to_string(agent);
  const int64_t now_ns = static_cast<int64_t>(time(nullptr)) * 1'000'000'000LL;
  std::vector<std::string> bodies;
  for (int seq = 1; seq <= kSmallBatchesPerAgent; ++seq) {
    credtrace::v1::IngestBatch batch;
    batch.set_agent_id(agent_id);
    batch.set_sequence(static_cast<uint64_t>(seq));
    for (int i = 0; i < kSmallBatchEvents; ++i) {
      credtrace::v1::Event& e = *batch.add_events();
      fill_event(e, rng, agent % kHosts, now_ns);
      e.set_agent_id(agent_id);
    }
    bodies.push_back(deflate_body(batch.SerializeAsString()));
  }
  return bodies;
}

// Clients connect one after another, each 2 ms after the previous one connected and sent its first batch, as agents
// do (each on its own schedule). Collectors before the thread per connection kept a connection on the pool worker
// that accepted it, and a worker accepted every connection pending when it woke up: clients connecting in the same
// instant landed on one worker, which served them one request at a time. Connecting in turn gave each client a worker
// of its own there too (a worker busy with a request does not accept), so both builds can be compared.
void connect_in_turn(int turn, std::atomic<int>& connected) {
  while (connected.load() < turn) std::this_thread::sleep_for(std::chrono::microseconds(200));
  if (turn > 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

// Seconds a thread spent waiting for a CPU while runnable (schedstat's run delay), 0 when unknown.
double run_delay_seconds(const std::filesystem::path& task) {
  std::ifstream in(task / "schedstat");
  unsigned long long on_cpu = 0, waiting = 0;
  if (!(in >> on_cpu >> waiting)) return 0;
  return static_cast<double>(waiting) / 1e9;
}

// Per thread name (threads of one name summed): CPU seconds (user + system) and seconds spent runnable but waiting
// for a CPU.
struct ThreadTimes {
  double cpu = 0, waiting_for_cpu = 0;
};

std::map<std::string, ThreadTimes> thread_cpu_seconds(pid_t pid) {
  std::map<std::string, ThreadTimes> out;
  std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator(task_dir, ec)) {
    std::ifstream in(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), {});
    size_t open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {  // fields 14 and 15: utime, stime (clock ticks)
      if (i == 14) utime = std::stoull(field);
      if (i == 15) stime = std::stoull(field);
    }
    ThreadTimes& times = out[stat.substr(open + 1, close - open - 1)];
    times.cpu += static_cast<double>(utime + stime) / sysconf(_SC_CLK_TCK);
    times.waiting_for_cpu += run_delay_seconds(task.path());
  }
  return out;
}

// CPU seconds (user + system) of the whole process `pid`, threads that ended included.
double process_cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / sysconf(_SC_CLK_TCK);
}

// CPU seconds this benchmark (its client threads) has used.
double own_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec / 1e9;
}

// CPU used while something ran: the collector's per thread name and in all, and the benchmark's own clients'.
struct CpuUse {
  std::map<std::string, ThreadTimes> threads;
  double collector = 0, bench = 0;
  static CpuUse now(pid_t pid) { return {thread_cpu_seconds(pid), process_cpu_seconds(pid), own_cpu_seconds()}; }
};

// Where the CPU went during a run, as microseconds per event: per collector thread name (% of one CPU busy, and
// how long it waited for a CPU while runnable), the collector in all, and the benchmark's clients (they share this
// VM's CPUs with the collector).
void print_cpu(const char* what, const CpuUse& before, const CpuUse& after, size_t events, double seconds) {
  std::printf("collector CPU per event during %s:", what);
  for (const auto& [name, times] : after.threads) {
    const ThreadTimes earlier = before.threads.count(name) ? before.threads.at(name) : ThreadTimes{};
    const double used = times.cpu - earlier.cpu, waited = times.waiting_for_cpu - earlier.waiting_for_cpu;
    if (used > 0)
      std::printf(" %s %.2f us (%.0f%% busy, waited for a CPU %.0f%% of the run);", name.c_str(), used * 1e6 / events,
                  100 * used / seconds, 100 * waited / seconds);
  }
  const double collector = after.collector - before.collector, bench = after.bench - before.bench;
  std::printf(" in all %.2f us (%.2f CPUs); bench clients %.2f us (%.2f CPUs)\n", collector * 1e6 / events,
              collector / seconds, bench * 1e6 / events, bench / seconds);
}

// Sends every batch over `clients` connections; the CPU is read before the connections close (their threads end
// with them).
double ingest(pid_t pid, int port, const std::vector<std::string>& bodies, int clients, CpuUse& before, CpuUse& after) {
  std::atomic<size_t> next{0};
  std::atomic<int> failures{0}, connected{0};
  std::string headers = std::string("Authorization: Bearer ") + kAgentToken + "\r\nContent-Encoding: deflate\r\n";
  std::vector<std::unique_ptr<HttpClient>> connections(static_cast<size_t>(clients));
  before = CpuUse::now(pid);
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t)
    threads.emplace_back([&, t] {
      connect_in_turn(t, connected);
      auto& client = connections[static_cast<size_t>(t)] = std::make_unique<HttpClient>(port);
      connected++;
      std::string body;
      for (size_t i; (i = next.fetch_add(1)) < bodies.size();)
        if (client->request("POST", "/v1/ingest", headers, bodies[i], body) != 200) failures++;
    });
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  after = CpuUse::now(pid);
  if (failures) std::printf("  WARNING: %d batches failed\n", failures.load());
  return seconds;
}

// Milliseconds at the p-th fraction of `sorted` (nearest rank below).
double percentile(const std::vector<double>& sorted, double p) {
  return sorted[std::min(sorted.size() - 1, static_cast<size_t>(p * sorted.size()))];
}

// One figure for bench/figures.py: `FIGURE name value unit target [note]` (target <=N, >=N or -).
void figure(const std::string& name, double value, const char* unit, const std::string& target, const std::string& note = "") {
  std::printf("FIGURE %s %.6g %s %s%s%s\n", name.c_str(), value, unit, target.c_str(), note.empty() ? "" : " ", note.c_str());
}

// p99 in ms of GET `paths` on one connection, with the p50 and the maximum printed.
double latency(int port, const char* label, const std::vector<std::string>& paths) {
  HttpClient client(port);
  std::string headers = std::string("Authorization: Bearer ") + kReaderToken + "\r\n";
  std::vector<double> ms;
  size_t bytes = 0;
  int failures = 0;
  for (const auto& path : paths) {
    std::string body;
    auto start = Clock::now();
    int status = client.request("GET", path, headers, "", body);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    bytes += body.size();
    if (status != 200 && ++failures <= 3) std::printf("  WARNING: %s -> %d %s\n", path.c_str(), status, body.substr(0, 120).c_str());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("%-44s n=%zu p50=%.2f ms p99=%.2f ms max=%.2f ms (avg reply %zu bytes)\n", label, ms.size(),
              percentile(ms, 0.50), percentile(ms, 0.99), ms.back(), bytes / ms.size());
  return percentile(ms, 0.99);
}

struct SmallBatchRun {
  std::vector<double> ack_seconds;  // every request's, sorted
  double seconds = 0;
  int failures = 0;
  CpuUse before, after;
};

// One agent of the many-agents run: connects from its own loopback address, waits for the start, then sends its
// batches one after another, each as soon as the previous one is acknowledged, timing each ack.
void small_agent(HttpClient& client, const std::vector<std::string>& bodies, std::atomic<int>& ready,
                 const std::atomic<bool>& go, std::vector<double>& acks, std::atomic<int>& failures) {
  if (!client.connected()) failures++;
  ready++;
  while (!go.load()) std::this_thread::sleep_for(std::chrono::microseconds(100));
  std::string headers = std::string("Authorization: Bearer ") + kAgentToken + "\r\nContent-Encoding: deflate\r\n";
  std::string body;
  for (const auto& batch : bodies) {
    auto start = Clock::now();
    if (client.request("POST", "/v1/ingest", headers, batch, body) != 200) failures++;
    acks.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
}

// `agents` agents connected at once, each sending small batches back to back: the ack latency of every request.
SmallBatchRun small_batches(pid_t pid, int port, int agents) {
  std::vector<std::vector<std::string>> bodies(static_cast<size_t>(agents));
  std::vector<std::unique_ptr<HttpClient>> connections;
  for (int a = 0; a < agents; ++a) {
    bodies[static_cast<size_t>(a)] = make_small_batches(a);
    connections.push_back(std::make_unique<HttpClient>(port, INADDR_LOOPBACK + 1 + static_cast<uint32_t>(a)));
  }  // from 127.0.0.2, ...
  std::vector<std::vector<double>> acks(static_cast<size_t>(agents));
  std::atomic<int> ready{0}, failures{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (size_t a = 0; a < static_cast<size_t>(agents); ++a)
    threads.emplace_back(small_agent, std::ref(*connections[a]), std::cref(bodies[a]), std::ref(ready), std::cref(go),
                         std::ref(acks[a]), std::ref(failures));
  while (ready.load() < agents) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  SmallBatchRun run;
  run.before = CpuUse::now(pid);
  auto start = Clock::now();
  go = true;
  for (auto& t : threads) t.join();
  run.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  run.after = CpuUse::now(pid);
  run.failures = failures.load();
  for (const auto& one : acks) run.ack_seconds.insert(run.ack_seconds.end(), one.begin(), one.end());
  std::sort(run.ack_seconds.begin(), run.ack_seconds.end());
  return run;
}

// The many-agents run on the collector at `port`, printed with its figures (`key`: sqlite or postgres).
void report_small_batches(pid_t pid, int port, const std::string& key, int agents) {
  SmallBatchRun run = small_batches(pid, port, agents);
  if (run.ack_seconds.empty()) return;
  const double events = static_cast<double>(run.ack_seconds.size()) * kSmallBatchEvents;
  std::printf("%d agents at once, each %d batches of %d events back to back: %zu acks in %.2f s (%.0f batches/s, "
              "%.0f events/s); ack p50=%.3f s p99=%.3f s max=%.3f s\n", agents, kSmallBatchesPerAgent,
              kSmallBatchEvents, run.ack_seconds.size(), run.seconds, run.ack_seconds.size() / run.seconds,
              events / run.seconds, percentile(run.ack_seconds, 0.5), percentile(run.ack_seconds, 0.99),
              run.ack_seconds.back());
  print_cpu("the small batches", run.before, run.after, static_cast<size_t>(events), run.seconds);
  if (run.failures) std::printf("  WARNING: %d requests failed\n", run.failures);
  const std::string name = "collector_" + key + "_ack_";
  const std::string suffix = "_" + std::to_string(agents) + "_agents";
  figure(name + "p50" + suffix, percentile(run.ack_seconds, 0.5), "s", "-");
  figure(name + "p99" + suffix, percentile(run.ack_seconds, 0.99), "s", "<=1");
  figure(name + "max" + suffix, run.ack_seconds.back(), "s", "<=1", run.failures ? "some requests failed" : "");
}

// What one backend's run measures and how its figures are named.
struct Backend {
  std::string label;  // SQLite, PostgreSQL
  std::string key;    // sqlite, postgres: FIGURE names
  std::string db;     // --db
  std::string ingest_target;  // events/s target with the bench's clients (>=N or -)
};

// Ingests every batch with `clients` clients and prints events/s, where the collector's CPU went and the figure.
void report_ingest(const Backend& backend, const CollectorProcess& collector, const std::string& dir,
                   const std::vector<std::string>& bodies, int clients) {
  CpuUse before, after;
  double seconds = ingest(collector.pid(), collector.port(), bodies, clients, before, after);
  size_t total = bodies.size() * kBatchEvents;
  std::printf("ingest into %s: %zu events in %.2f s = %.0f events/s (%d clients; they share this VM's CPUs with the "
              "collector)\n", backend.label.c_str(), total, seconds, total / seconds, clients);
  print_cpu("ingest", before, after, total, seconds);
  figure("collector_" + backend.key + "_events_per_s_" + std::to_string(clients) + "_agents", total / seconds,
         "events/s", backend.ingest_target);
  if (backend.key == "sqlite")
    std::printf("database: %.0f MiB for %zu stored uses\n",
                std::filesystem::file_size(dir + "/bench.db") / 1048576.0 +
                    (std::filesystem::exists(dir + "/bench.db-wal") ? std::filesystem::file_size(dir + "/bench.db-wal") / 1048576.0 : 0),
                total);
}

// The query API over the ingested data: p50/p99/max of each query, its p99 as a figure (no target: compare runs).
void report_queries(const Backend& backend, int port) {
  std::mt19937_64 rng(7);
  std::vector<std::string> list, detail, cursor_pages, events_pages, by_fingerprint, filtered, alerts;
  for (int i = 0; i < 200; ++i) {
    list.push_back("/v1/credentials?limit=100");
    cursor_pages.push_back("/v1/credentials?limit=100&cursor=" + hex64(rng() % kCredentials));
    detail.push_back("/v1/credentials/" + hex64((rng() % kWorkloads * 10 + rng() % 4) * 2654435761u % kCredentials));
    filtered.push_back("/v1/credentials?limit=100&workload=wl-" + std::to_string(rng() % kWorkloads));
    events_pages.push_back("/v1/events?limit=100&type=credential_use&workload=wl-" + std::to_string(rng() % kWorkloads));
    uint64_t credential = (rng() % kWorkloads * 10 + rng() % 4) * 2654435761u % kCredentials;
    by_fingerprint.push_back("/v1/events?limit=100&fingerprint=" + hex64(credential));
    alerts.push_back("/v1/alerts?limit=100");
  }
  const struct {
    const char* label;
    const char* name;
    const std::vector<std::string>& paths;
  } queries[] = {
      {"GET /v1/credentials?limit=100", "credentials", list},
      {"GET /v1/credentials?limit=100&cursor=<fp>", "credentials_cursor", cursor_pages},
      {"GET /v1/credentials?limit=100&workload=<id>", "credentials_workload", filtered},
      {"GET /v1/credentials/<fingerprint>", "credential_detail", detail},
      {"GET /v1/events?limit=100&type&workload", "events_type_workload", events_pages},
      {"GET /v1/events?limit=100&fingerprint=<fp>", "events_fingerprint", by_fingerprint},
      {"GET /v1/alerts?limit=100", "alerts", alerts},
  };
  for (const auto& query : queries) {
    double p99 = latency(port, query.label, query.paths);
    figure("collector_" + backend.key + "_query_p99_" + query.name, p99, "ms", "-");
  }
}

// Ingests every batch into a fresh collector on the backend, measures the query API over the result, then the
// many-agents run. `before_queries` runs between ingest and the query measurements.
int run_backend(const Backend& backend, const std::string& dir, const std::string& sync,
                const std::vector<std::string>& bodies, int clients, int agents,
                const std::function<void()>& before_queries = {}) {
  CollectorProcess collector(dir, backend.db, sync);
  if (collector.port() == 0) {
    std::fprintf(stderr, "collector did not start; see %s/collector.log\n", dir.c_str());
    return 1;
  }
  report_ingest(backend, collector, dir, bodies, clients);
  if (before_queries) before_queries();
  report_queries(backend, collector.port());
  if (agents > 0) report_small_batches(collector.pid(), collector.port(), backend.key, agents);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int events = argc > 1 ? std::atoi(argv[1]) : 1000000;
  std::string sync = argc > 2 ? argv[2] : "full";
  int clients = argc > 3 ? std::atoi(argv[3]) : 4;  // agents sending at once (a fleet has many more)
  std::string backends = argc > 4 ? argv[4] : "both";
  int agents = argc > 5 ? std::atoi(argv[5]) : 100;  // the many-agents run, after the queries
  std::string dir = std::filesystem::temp_directory_path() / ("credtrace-bench-collector-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  ::chmod(dir.c_str(), 0755);  // the PostgreSQL server (nobody when we are root) lives in a subdirectory
  size_t raw_bytes = 0;
  std::vector<std::string> bodies = make_batches(events, raw_bytes);
  size_t compressed = 0;
  for (const auto& b : bodies) compressed += b.size();
  std::printf("collector bench: %zu batches x %d events (%d credentials, %d workloads, %d hosts), %zu clients, "
              "SQLite synchronous=%s\n", bodies.size(), kBatchEvents, kCredentials, kWorkloads, kHosts,
              static_cast<size_t>(clients), sync.c_str());
  std::printf("  batch size: %.1f KiB protobuf, %.1f KiB deflated\n", raw_bytes / 1024.0 / bodies.size(),
              compressed / 1024.0 / bodies.size());
  int rc = 0;
  if (backends != "postgres")
    rc |= run_backend({"SQLite", "sqlite", "sqlite:" + dir + "/bench.db", ">=150000"}, dir, sync, bodies, clients, agents);
  if (backends != "sqlite") {
    bench::PostgresServer postgres(dir + "/pg");
    if (postgres.url().empty()) std::printf("PostgreSQL: skipped: %s\n", postgres.error().c_str());
    else
      rc |= run_backend({"PostgreSQL", "postgres", postgres.url(), "-"}, dir, sync, bodies, clients, agents, [&] {
        std::printf("  (ANALYZE after the bulk load, as autovacuum would: %s)\n", postgres.analyze() ? "done" : "FAILED");
      });
  }
  if (std::getenv("CREDTRACE_BENCH_KEEP")) std::printf("kept %s (CREDTRACE_BENCH_KEEP)\n", dir.c_str());
  else std::filesystem::remove_all(dir);
  return rc;
}
