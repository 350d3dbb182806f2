// Benchmark: what libcredtrace-preload.so adds per getenv (non-secret name; secret name whose first read was sent) and
// per 1 KiB SSL_write on an in-memory TLS pair, in one run side by side: no preload; preload with an in-process fake
// agent that decided ENV|TLS (consumer draining); preload in a process the agent decided not to watch (0); preload
// with no agent (socket missing). Each case runs in its own process (re-exec of this binary, identical environment
// size), the cases interleaved over several passes; figures are medians over all rounds with their p10-p90 spread.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fake_agent.h"
#include "memory_tls.h"
#include "preload_abi.h"

extern char** environ;

namespace {

using credtrace::testing::FakeAgent;
using credtrace::testing::MemoryTls;
using credtrace::testing::TlsIdentity;

constexpr const char* kPlainName = "BENCH_PRELOAD_PLAIN_SETTING";
constexpr const char* kSecretName = "BENCH_PRELOAD_API_TOKEN";
constexpr int kRounds = 9, kPasses = 5;
constexpr int kGetenvCalls = 1'000'000, kWrites = 20'000;

enum Case { kNone, kWatched, kUnwatched, kAbsent, kCases };
constexpr std::array<const char*, kCases> kCaseNames = {"no preload", "watched ENV|TLS", "unwatched (0)",
                                                        "agent absent"};
enum Metric { kGetenvPlain, kGetenvSecret, kSslWrite, kMetrics };
constexpr std::array<const char*, kMetrics> kMetricNames = {"getenv, non-secret", "getenv, secret (sent)",
                                                            "SSL_write 1 KiB"};

template <typename Step>
double ns_per_call(int calls, Step step) {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < calls; ++i) step();
  return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() / calls;
}

// ---- one case, in its own process: prints "metric ns ns ..." lines ------------------------------------------------

volatile uintptr_t sink;

// The watched process again, its decision switched between ENV|TLS and 0 before each round: the capture's own cost
// without the differences between processes (layout, neighbours). Prints "toggle watched_ns unwatched_ns" lines.
void toggled_rounds(FakeAgent& agent, MemoryTls& tls, const std::string& request, std::vector<char>& ciphertext) {
  for (int round = 0; round < 2 * kRounds; ++round) {
    std::array<double, 2> r{};
    for (int watched = 1; watched >= 0; --watched) {
      agent.decide(watched ? (CT_ENABLE_ENV | CT_ENABLE_TLS) : 0);
      r[static_cast<size_t>(watched)] = ns_per_call(kWrites, [&] {
        SSL_write(tls.client(), request.data(), static_cast<int>(request.size()));
        tls.discard_ciphertext(ciphertext.data(), static_cast<int>(ciphertext.size()));
      });
    }
    std::printf("toggle %.2f %.2f\n", r[1], r[0]);
  }
}

void measure_case(FakeAgent* agent) {
  if (agent) {  // the constructor found no socket: the hooks register on their next retry (once a second)
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (agent->registrations() == 0 && std::chrono::steady_clock::now() < deadline) {
      sink = reinterpret_cast<uintptr_t>(getenv(kPlainName));
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    if (agent->registrations() == 0) std::fprintf(stderr, "the preload never registered\n"), std::exit(1);
  }
  sink = reinterpret_cast<uintptr_t>(getenv(kSecretName));  // the first read (sent when watched)
  TlsIdentity identity;
  MemoryTls tls;
  if (!tls.setup(identity, "bench.example.test")) std::fprintf(stderr, "TLS setup failed\n"), std::exit(1);
  const std::string request(1024, 'x');
  std::vector<char> ciphertext(16384);
  std::array<std::vector<double>, kMetrics> rounds;
  for (int round = 0; round < kRounds + 1; ++round) {  // round 0 warms up
    std::array<double, kMetrics> r{};
    r[kGetenvPlain] = ns_per_call(kGetenvCalls, [] { sink = reinterpret_cast<uintptr_t>(getenv(kPlainName)); });
    r[kGetenvSecret] = ns_per_call(kGetenvCalls, [] { sink = reinterpret_cast<uintptr_t>(getenv(kSecretName)); });
    r[kSslWrite] = ns_per_call(kWrites, [&] {
      SSL_write(tls.client(), request.data(), static_cast<int>(request.size()));
      tls.discard_ciphertext(ciphertext.data(), static_cast<int>(ciphertext.size()));
    });
    if (round > 0)
      for (int m = 0; m < kMetrics; ++m) rounds[m].push_back(r[m]);
  }
  for (int m = 0; m < kMetrics; ++m) {
    std::printf("%d", m);
    for (double v : rounds[m]) std::printf(" %.2f", v);
    std::printf("\n");
  }
  if (agent) toggled_rounds(*agent, tls, request, ciphertext);
}

int child(Case c) {
  std::unique_ptr<FakeAgent> agent;
  uint64_t records = 0;
  if (c == kWatched || c == kUnwatched) {
    const uint32_t enabled = c == kWatched ? (CT_ENABLE_ENV | CT_ENABLE_TLS) : 0;
    agent = std::make_unique<FakeAgent>(std::getenv(CT_PRELOAD_SOCKET_ENV), enabled,
                                        std::vector<std::string>{kSecretName},
                                        [&records](auto&, auto&) { ++records; });
    std::string error;
    if (!agent->start(&error)) return std::fprintf(stderr, "fake agent: %s\n", error.c_str()), 1;
  }
  measure_case(agent.get());
  if (agent) {
    agent->flush();
    agent->stop();
    const auto& p = agent->processes().front();
    std::printf("records %llu dropped %llu\n", static_cast<unsigned long long>(records),
                static_cast<unsigned long long>(p.ring->dropped_records()));
  }
  return 0;
}

// ---- the parent: runs the cases, interleaved, and prints them side by side -----------------------------------------

struct Results {
  std::array<std::array<std::vector<double>, kMetrics>, kCases> rounds;
  std::array<uint64_t, kCases> records{}, dropped{};
  std::array<std::vector<double>, kCases> toggled;  // per round: watched - unwatched, in the same process
};

// The same environment for every case (the same number of entries before the names measured): getenv's own scan
// costs the same everywhere.
std::vector<std::string> case_environment(Case c, const std::string& preload, const std::string& dir) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "LD_PRELOAD=", 11) && std::strncmp(*e, "CREDTRACE_PRELOAD", 17) &&
        std::strncmp(*e, "BENCH_PRELOAD", 13))
      env.push_back(*e);
  env.push_back("LD_PRELOAD=" + (c == kNone ? std::string() : preload));
  env.push_back(std::string(CT_PRELOAD_SOCKET_ENV) + "=" + dir + "/case" + std::to_string(c) + ".sock");
  env.push_back("BENCH_PRELOAD_CASE=" + std::to_string(c));
  env.push_back(std::string(kPlainName) + "=info");
  env.push_back(std::string(kSecretName) + "=tok_live_8d0f3b5e2a7c4f91b6e0d2a3c5f7e9b1");
  return env;
}

bool run_case(Case c, const std::string& self, const std::string& preload, const std::string& dir, Results& out) {
  std::vector<std::string> env = case_environment(c, preload, dir);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return false;
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(pipe_fds[1], 1);
    close(pipe_fds[0]);
    char* argv[] = {const_cast<char*>(self.c_str()), nullptr};
    execve(self.c_str(), argv, envp.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  std::string output;
  char buf[4096];
  for (ssize_t n; (n = read(pipe_fds[0], buf, sizeof(buf))) > 0;) output.append(buf, static_cast<size_t>(n));
  close(pipe_fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return false;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream in(line);
    std::string head;
    in >> head;
    if (head == "toggle") {
      double watched = 0, unwatched = 0;
      in >> watched >> unwatched;
      out.toggled[c].push_back(watched - unwatched);
      continue;
    }
    if (head == "records") {
      uint64_t records = 0, dropped = 0;
      std::string word;
      in >> records >> word >> dropped;
      out.records[c] += records, out.dropped[c] += dropped;
      continue;
    }
    const int m = std::atoi(head.c_str());
    for (double v; in >> v;) out.rounds[c][m].push_back(v);
  }
  return true;
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5)];
}

void print(const Results& r) {
  std::printf("LD_PRELOAD sensor: ns per call, median of %d rounds (%d passes x %d, cases interleaved) "
              "[p10-p90]; added = median - no preload\n",
              kPasses * kRounds, kPasses, kRounds);
  std::printf("%-22s", "");
  for (const char* name : kCaseNames) std::printf(" %28s", name);
  std::printf("\n");
  for (int m = 0; m < kMetrics; ++m) {
    const double base = percentile(r.rounds[kNone][m], 0.5);
    std::printf("%-22s", kMetricNames[m]);
    for (int c = 0; c < kCases; ++c) {
      const auto& v = r.rounds[c][m];
      char cell[64];
      if (c == kNone)
        std::snprintf(cell, sizeof(cell), "%.1f [%.1f-%.1f]", base, percentile(v, 0.1), percentile(v, 0.9));
      else
        std::snprintf(cell, sizeof(cell), "%+.1f [%.1f-%.1f]", percentile(v, 0.5) - base, percentile(v, 0.1),
                      percentile(v, 0.9));
      std::printf(" %28s", cell);
    }
    std::printf("\n");
  }
  for (Case c : {kWatched, kUnwatched}) {
    const auto& v = r.toggled[c];
    std::printf("SSL_write 1 KiB, same process, decision switched each round (%s case's process, %zu rounds): "
                "watched - unwatched = %+.1f ns [p10 %+.1f, p90 %+.1f]\n",
                kCaseNames[c], v.size(), percentile(v, 0.5), percentile(v, 0.1), percentile(v, 0.9));
  }
  std::printf("targets (added): getenv non-secret <= 10 ns, secret <= 100 ns, watched SSL_write <= 100 ns, "
              "unwatched SSL_write <= 20 ns\n");
  std::printf("watched: %llu records drained, %llu dropped; unwatched: %llu records\n",
              static_cast<unsigned long long>(r.records[kWatched]), static_cast<unsigned long long>(r.dropped[kWatched]),
              static_cast<unsigned long long>(r.records[kUnwatched]));
}

}  // namespace

int main(int argc, char** argv) {
  if (const char* c = std::getenv("BENCH_PRELOAD_CASE")) return child(static_cast<Case>(std::atoi(c)));
  const std::string preload = argc > 1 ? argv[1] : CREDTRACE_PRELOAD_PATH;
  char dir_template[] = "/tmp/credtrace-bench-preload-XXXXXX";
  const std::string dir = mkdtemp(dir_template);
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return 1;
  self[n] = '\0';
  Results results;
  for (int pass = 0; pass < kPasses; ++pass)
    for (int c = 0; c < kCases; ++c)
      if (!run_case(static_cast<Case>(c), self, preload, dir, results))
        return std::fprintf(stderr, "case %s failed\n", kCaseNames[c]), 1;
  print(results);
  std::filesystem::remove_all(dir);
  return 0;
}
