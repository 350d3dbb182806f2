// Benchmark helper (root): empty uprobes at exactly the points the agent probes in an executable's TLS (Go
// crypto/tls: (*Conn).Write, (*Conn).Read's entry and each RET; BoringSSL in Bun: SSL_write, SSL_read's entry and
// return), for every process running it, until stdin closes: the mechanism's own cost beside which
// bench/runtime_tls_bench.py measures the agent's programs.
// Usage: bench_tls_empty_probes EXECUTABLE   (prints "ready N" once N probes are attached)
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "ct_empty.skel.h"
#include "sensors/tls/tls_libraries.h"

namespace {

struct EmptyDeleter {
  void operator()(ct_empty* skel) const { ct_empty__destroy(skel); }
};
struct LinkDeleter {
  void operator()(bpf_link* link) const { bpf_link__destroy(link); }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: bench_tls_empty_probes EXECUTABLE\n");
    return 2;
  }
  const std::string path = argv[1];
  const auto plan = credtrace::sensors::plan_tls_probes(path);
  if (plan.empty()) {
    std::fprintf(stderr, "%s: no TLS probe point\n", path.c_str());
    return 1;
  }
  std::unique_ptr<ct_empty, EmptyDeleter> skel(ct_empty__open_and_load());
  if (!skel) {
    std::fprintf(stderr, "cannot load the empty programs (root?)\n");
    return 1;
  }
  std::vector<std::unique_ptr<bpf_link, LinkDeleter>> links;
  for (const auto& probe : plan) {
    const bool at_return = probe.probe == credtrace::kernel::TlsProbe::ssl_read_ret ||
                           probe.probe == credtrace::kernel::TlsProbe::ssl_new_ret;  // uretprobes, as the agent's
    bpf_link* link =
        bpf_program__attach_uprobe(skel->progs.empty_uprobe, at_return, -1, path.c_str(), probe.file_offset);
    if (!link) {
      std::fprintf(stderr, "cannot attach an empty probe at %s\n", probe.label.c_str());
      return 1;
    }
    links.emplace_back(link);
    std::fprintf(stderr, "empty probe: %s\n", probe.label.c_str());
  }
  std::printf("ready %zu\n", links.size());
  std::fflush(stdout);
  char buf[64];
  while (read(STDIN_FILENO, buf, sizeof buf) > 0) {
  }
  return 0;
}
