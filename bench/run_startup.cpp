// `credtrace run` start-up cost: the median wall time of spawning and reaping /bin/true directly, with a no-op
// library in LD_PRELOAD, through `credtrace run --preload` (the launcher) and through credtrace-cli (the full CLI).
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

extern char** environ;

namespace {

struct Variant {
  const char* label;
  std::vector<std::string> argv;
  std::vector<std::string> extra_env;
  std::vector<double> ms;
};

double spawn_and_wait_ms(const Variant& variant) {
  std::vector<std::string> env_storage = variant.extra_env;
  for (char** e = environ; *e != nullptr; ++e)
    if (std::string(*e).rfind("LD_PRELOAD=", 0) != 0) env_storage.push_back(*e);
  std::vector<char*> envp, argv;
  for (std::string& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = variant.argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  auto start = std::chrono::steady_clock::now();
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), envp.data()) != 0) return -1;
  int status = 0;
  ::waitpid(pid, &status, 0);
  auto end = std::chrono::steady_clock::now();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
  return std::chrono::duration<double, std::milli>(end - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0 : values[values.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s CREDTRACE CREDTRACE_CLI NOOP_LIBRARY [RUNS=200]\n", argv[0]);
    return 2;
  }
  std::string credtrace = argv[1], cli = argv[2], library = argv[3];
  int runs = argc > 4 ? std::atoi(argv[4]) : 200;
  std::vector<Variant> variants = {
      {"/bin/true", {"/bin/true"}, {}, {}},
      {"LD_PRELOAD=noop.so /bin/true", {"/bin/true"}, {"LD_PRELOAD=" + library}, {}},
      {"credtrace run --preload noop.so -- /bin/true", {credtrace, "run", "--preload", library, "--", "/bin/true"}, {}, {}},
      {"credtrace-cli run (full CLI, no launcher)", {cli, "run", "--preload", library, "--", "/bin/true"}, {}, {}},
  };
  for (int i = 0; i < runs; ++i) {  // interleaved, so load changes hit every variant alike
    for (Variant& variant : variants) {
      double ms = spawn_and_wait_ms(variant);
      if (ms < 0) {
        std::fprintf(stderr, "%s failed\n", variant.label);
        return 1;
      }
      variant.ms.push_back(ms);
    }
  }
  std::printf("run_startup: median of %d runs each (spawn to reap)\n", runs);
  for (const Variant& variant : variants) std::printf("  %-46s %7.3f ms\n", variant.label, median(variant.ms));
  std::printf("  added by credtrace run (vs LD_PRELOAD direct)  %7.3f ms (target <= 5 ms)\n",
              median(variants[2].ms) - median(variants[1].ms));
  std::printf("  added by the full CLI instead                  %7.3f ms\n",
              median(variants[3].ms) - median(variants[1].ms));
  return 0;
}
