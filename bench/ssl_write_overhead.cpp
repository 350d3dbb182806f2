// Benchmark: added cost per SSL_write and per SSL_read (1 KiB over an in-memory TLS connection, system libssl) with
// no agent, with empty uprobes at the agent's attach points, with the agent running in each tls.uprobe_mode with this
// process unwatched (per_process: no breakpoint here; global: the probes fire and return) and watched (plaintext
// captured), plus the probe programs' own run time from the kernel's BPF statistics. Target: at most 1 us added per
// SSL_write on this VM.
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ct_empty.skel.h"
#include "running_agent.h"
#include "sensors/tls/elf_symbols.h"
#include "sensors/tls/probe_point.h"

namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using CtxPtr = std::unique_ptr<SSL_CTX, Deleter<SSL_CTX, SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, Deleter<SSL, SSL_free>>;

// A TLS client and server joined by memory BIOs, handshake done: SSL_write runs without sockets or threads.
struct MemoryTls {
  CtxPtr client_ctx{SSL_CTX_new(TLS_client_method())}, server_ctx{SSL_CTX_new(TLS_server_method())};
  SslPtr client, server;
  BIO* ciphertext_to_server = nullptr;  // the server's end of the pair: draining it skips SSL_read

  bool setup() {
    PkeyPtr key(EVP_EC_gen("P-256"));
    X509Ptr cert(X509_new());
    if (!key || !cert) return false;
    X509_set_version(cert.get(), 2);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
    X509_set_pubkey(cert.get(), key.get());
    X509_sign(cert.get(), key.get(), EVP_sha256());
    SSL_CTX_use_certificate(server_ctx.get(), cert.get());
    SSL_CTX_use_PrivateKey(server_ctx.get(), key.get());
    SSL_CTX_set_verify(client_ctx.get(), SSL_VERIFY_NONE, nullptr);
    client.reset(SSL_new(client_ctx.get()));
    server.reset(SSL_new(server_ctx.get()));
    BIO *c2s_read = nullptr, *c2s_write = nullptr;
    BIO_new_bio_pair(&c2s_write, 1 << 20, &c2s_read, 1 << 20);  // client writes c2s_write, server reads c2s_read
    SSL_set_bio(client.get(), c2s_write, c2s_write);
    SSL_set_bio(server.get(), c2s_read, c2s_read);
    ciphertext_to_server = c2s_read;
    SSL_set_connect_state(client.get());
    SSL_set_accept_state(server.get());
    SSL_set_tlsext_host_name(client.get(), "localhost");
    for (int i = 0; i < 100; ++i) {
      int c = SSL_do_handshake(client.get()), s = SSL_do_handshake(server.get());
      if (c == 1 && s == 1) return true;
    }
    return false;
  }

  // One 1 KiB request written by the client; its ciphertext is discarded (no SSL_read runs).
  void write_only(const std::string& request, std::vector<char>& sink) {
    SSL_write(client.get(), request.data(), static_cast<int>(request.size()));
    while (BIO_read(ciphertext_to_server, sink.data(), static_cast<int>(sink.size())) > 0) {
    }
  }
  // One 1 KiB request written by the client and read by the server through SSL_read.
  void write_and_read(const std::string& request, std::vector<char>& sink) {
    SSL_write(client.get(), request.data(), static_cast<int>(request.size()));
    SSL_read(server.get(), sink.data(), static_cast<int>(sink.size()));
  }
};

struct Costs {
  double write_ns = 0;  // per SSL_write (+ draining the ciphertext)
  double read_ns = 0;   // per SSL_write + SSL_read, minus write_ns
};

template <typename Step>
double median_ns(Step step) {
  std::vector<double> samples;
  for (int sample = 0; sample < 7; ++sample) {
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 20000; ++i) step();
    samples.push_back(std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() / 20000);
  }
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

Costs measure(MemoryTls& tls, const std::string& request) {
  std::vector<char> sink(16384);
  Costs c;
  c.write_ns = median_ns([&] { tls.write_only(request, sink); });
  c.read_ns = median_ns([&] { tls.write_and_read(request, sink); }) - c.write_ns;
  return c;
}

// Run count and total run time of every loaded BPF program with this name (kernel BPF statistics).
struct ProgramStats {
  uint64_t runs = 0;
  uint64_t ns = 0;
};

ProgramStats program_stats(const std::string& name) {
  ProgramStats stats;
  for (uint32_t id = 0; bpf_prog_get_next_id(id, &id) == 0;) {
    int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0) continue;
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && name.compare(0, BPF_OBJ_NAME_LEN - 1, info.name) == 0) {
      stats.runs += info.run_cnt;
      stats.ns += info.run_time_ns;
    }
    close(fd);
  }
  return stats;
}

// Prints the program's ns per run; returns it (negative: it did not run).
double print_program(const char* label, const ProgramStats& before, const ProgramStats& after) {
  const uint64_t runs = after.runs - before.runs;
  if (!runs) return -1;
  const double ns = static_cast<double>(after.ns - before.ns) / static_cast<double>(runs);
  std::printf("    %-22s %8.0f ns per run in the program (%llu runs)\n", label, ns,
              static_cast<unsigned long long>(runs));
  return ns;
}

void print_figure(const char* name, double ns, const char* target) {
  if (ns < 0) std::printf("FIGURE %s unknown ns %s (no run counted: kernel BPF statistics unavailable)\n", name, target);
  else std::printf("FIGURE %s %.0f ns %s\n", name, ns, target);
}

struct EmptyDeleter {
  void operator()(ct_empty* skel) const { ct_empty__destroy(skel); }
};

// Where an empty probe goes: SSL_write's chosen instruction (its `call`), or the entry of the function that call
// reaches (ssl_write_internal, `push %r14`), to compare the kernel's emulation of the two instructions.
enum class WritePoint { chosen, callee_entry };

// Empty probes where the agent attaches in libssl: a uprobe for SSL_write, and an entry uprobe plus a return probe
// at the entry of SSL_read_ex's internal callee: the mechanism's own cost.
std::unique_ptr<ct_empty, EmptyDeleter> attach_empty_probes(const std::string& libssl, WritePoint where_write,
                                                            std::string* where) {
  std::unique_ptr<ct_empty, EmptyDeleter> skel(ct_empty__open_and_load());
  std::string error;
  auto functions = credtrace::tls::find_functions(libssl, {"SSL_write", "SSL_read_ex"}, &error);
  if (!skel || !functions || functions->size() != 2) return nullptr;
  const auto& write_fn = (*functions)[0];
  const auto& read_fn = (*functions)[1];
  auto write_code = credtrace::tls::read_function_bytes(libssl, write_fn, 128);
  auto read_code = credtrace::tls::read_function_bytes(libssl, read_fn, 128);
  if (!write_code || !read_code) return nullptr;
  auto write_point = credtrace::tls::choose_entry_probe(write_fn, *write_code, 3);
  uint64_t write_offset = write_point.file_offset;
  *where = "SSL_write+" + std::to_string(write_point.function_offset) + " (" + write_point.instruction + ")";
  if (where_write == WritePoint::callee_entry) {
    auto callee = credtrace::tls::called_function(write_fn, *write_code, write_point, "ssl_write_internal");
    if (!callee) return nullptr;
    write_offset = callee->file_offset;
    *where = "ssl_write_internal+0 (its entry)";
  }
  auto read_call = credtrace::tls::choose_entry_probe(read_fn, *read_code, 4);
  auto callee = credtrace::tls::called_function(read_fn, *read_code, read_call, "ssl_read_internal");
  if (!callee) return nullptr;
  if (!bpf_program__attach_uprobe(skel->progs.empty_uprobe, false, -1, libssl.c_str(), write_offset) ||
      !bpf_program__attach_uprobe(skel->progs.empty_uprobe, false, -1, libssl.c_str(), callee->file_offset) ||
      !bpf_program__attach_uprobe(skel->progs.empty_uretprobe, true, -1, libssl.c_str(), callee->file_offset))
    return nullptr;
  return skel;
}

// The watched passes copy every call: the default capture budget (50,000 captures per process per second, in 100 ms
// windows) would drop most of this loop's captures, and a dropped capture's short run would pull the figures down.
const char* const kNoCaptureBudget =
    "probes:\n  max_captures_per_process_per_second: 0\n  max_capture_bytes_per_process_per_second: 0\n";

}  // namespace

// The watched pass alone with kernel BPF statistics on: the capture programs' run time, printed as FIGURE lines.
int measure_programs_only(MemoryTls& tls, const std::string& request, const std::string& dir) {
  RunningAgent agent;
  if (!agent.start(dir, "  extra_server_patterns: [\"bench_ssl_write*\"]\n", kNoCaptureBudget)) return 1;
  measure(tls, request);
  const int stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
  const ProgramStats write_before = program_stats("ct_ssl_write"), read_before = program_stats("ct_ssl_read_ret");
  measure(tls, request);
  const ProgramStats write_after = program_stats("ct_ssl_write"), read_after = program_stats("ct_ssl_read_ret");
  std::printf("watched, in the BPF programs (kernel statistics%s):\n", stats_fd >= 0 ? "" : ", unavailable");
  print_figure("bpf_ssl_write_program_1k", print_program("ct_ssl_write", write_before, write_after), "<=250");
  print_figure("bpf_ssl_read_ret_program_1k", print_program("ct_ssl_read_ret", read_before, read_after), "<=300");
  if (stats_fd >= 0) close(stats_fd);
  return 0;
}

int main(int argc, char** argv) {
  // `programs`: only the watched pass with kernel statistics (the BPF programs' own run time), for quick iterations.
  const bool programs_only = argc > 1 && std::string(argv[1]) == "programs";
  if (geteuid() != 0) {
    std::fprintf(stderr, "bench_ssl_write needs root (the agent loads BPF programs)\n");
    return 2;
  }
  MemoryTls tls;
  if (!tls.setup()) {
    std::fprintf(stderr, "in-memory TLS handshake failed\n");
    return 1;
  }
  // A 1 KiB request the agent fully parses (header, exact Content-Length body) with a typed credential in it.
  const std::string head = "POST /v1/chat HTTP/1.1\r\nHost: api.example.test\r\n"
                           "Authorization: Bearer ghp_Zq4bT8wXr2mKc7Ln0pVs5Hy3Ud9Ef1Ga6Jk4\r\nContent-Length: ";
  std::string request = head + "000\r\n\r\n";
  const size_t body = 1024 - request.size();
  request = head + std::to_string(body) + "\r\n\r\n" + std::string(body, 'x');
  char dir_template[] = "/tmp/credtrace-bench-ssl-XXXXXX";
  std::string dir = mkdtemp(dir_template);
  measure(tls, request);  // warm up
  if (programs_only) return measure_programs_only(tls, request, dir);
  const Costs off = measure(tls, request);
  Costs empty, empty_callee, unwatched, unwatched_global, watched, watched_global;
  const std::string global = "tls:\n  uprobe_mode: global\n";
  const std::string watch_me = "  extra_server_patterns: [\"bench_ssl_write*\"]\n";
  std::string where, where_callee;
  auto measure_empty = [&](WritePoint point, Costs* costs, std::string* text) {
    auto skel = attach_empty_probes("/usr/lib/x86_64-linux-gnu/libssl.so.3", point, text);
    if (!skel) return false;
    *costs = measure(tls, request);
    return true;
  };
  // First, while no uprobe has ever touched this process's libssl: once one has (and even after it is gone), its
  // SSL_write stays slower for the rest of its life, which would hide what "no breakpoint here" is worth.
  {
    RunningAgent agent;  // per_process (the default): no breakpoint in this unwatched process
    if (!agent.start(dir)) return 1;
    unwatched = measure(tls, request);
  }
  if (!measure_empty(WritePoint::chosen, &empty, &where)) {
    std::fprintf(stderr, "cannot attach the empty probes\n");
    return 1;
  }
  const Costs after_probes = measure(tls, request);  // no agent, no probe: what a probe leaves behind
  ProgramStats write_before, write_after, read_before, read_after;
  int stats_fd = -1;
  {
    RunningAgent agent;  // global: the breakpoint is in every process mapping libssl, watched or not
    if (!agent.start(dir, "", global)) return 1;
    unwatched_global = measure(tls, request);
  }
  {
    RunningAgent agent;
    if (!agent.start(dir, watch_me, global + kNoCaptureBudget)) return 1;
    watched_global = measure(tls, request);
  }
  {
    RunningAgent agent;
    if (!agent.start(dir, watch_me, kNoCaptureBudget)) return 1;
    watched = measure(tls, request);
    // Kernel BPF statistics cost two clock reads per program run: enabled only for this separate pass.
    stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
    write_before = program_stats("ct_ssl_write"), read_before = program_stats("ct_ssl_read_ret");
    measure(tls, request);
    write_after = program_stats("ct_ssl_write"), read_after = program_stats("ct_ssl_read_ret");
  }
  // Last: once a probe has sat on ssl_write_internal's entry, this process's SSL_write stays slower (~+0.6 us) for
  // the rest of its life even after the probe is gone, which would skew every phase measured after it.
  if (!measure_empty(WritePoint::callee_entry, &empty_callee, &where_callee)) {
    std::fprintf(stderr, "cannot attach the empty probe at the callee\n");
    return 1;
  }
  std::printf("1 KiB SSL_write and SSL_read, in-memory TLS, system libssl (median of 7 x 20000)\n");
  std::printf("                         per SSL_write   added per SSL_write   added per SSL_read\n");
  std::printf("no agent:                %8.0f ns\n", off.write_ns);
  auto row = [&](const char* label, const Costs& c) {
    std::printf("%-24s %8.0f ns   %+16.0f ns   %+16.0f ns\n", label, c.write_ns, c.write_ns - off.write_ns,
                c.read_ns - off.read_ns);
  };
  row("empty probes:", empty);
  row("empty, write at callee:", empty_callee);
  row("no probe any more:", after_probes);
  row("per_process, unwatched:", unwatched);
  row("global, unwatched:", unwatched_global);
  row("per_process, watched:", watched);
  row("global, watched:", watched_global);
  std::printf("empty probes: uprobe at %s (or at %s); entry uprobe + return probe at ssl_read_internal\n",
              where.c_str(), where_callee.c_str());
  std::printf("watched, in the BPF programs (kernel statistics, separate pass%s):\n", stats_fd >= 0 ? "" : ", unavailable");
  const double write_program_ns = print_program("ct_ssl_write", write_before, write_after);
  const double read_program_ns = print_program("ct_ssl_read_ret", read_before, read_after);
  std::printf("target: <= 1000 ns added per SSL_write\n");
  std::printf("FIGURE ssl_write_added_watched %.0f ns <=1000 per_process, median of 7 x 20000\n",
              watched.write_ns - off.write_ns);
  print_figure("bpf_ssl_write_program_1k", write_program_ns, "<=250");
  print_figure("bpf_ssl_read_ret_program_1k", read_program_ns, "<=300");
  if (stats_fd >= 0) close(stats_fd);
  return 0;
}
