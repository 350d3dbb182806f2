// Stress test of the preload's hooks against an in-process fake agent: dozens of threads calling getenv,
// secure_getenv, setenv, putenv, unsetenv, SSL_write(_ex) and SSL_read(_ex) while a SIGALRM handler calls getenv, the
// process forks (children re-register), vforks and execs, dlopens/dlcloses libssl and has its environ replaced.
// Checks every record, the TLS payloads per SSL in order, first reads per secret, drops against what is missing, and
// that every hooked call answers exactly what libc answers. Built three ways (see CMakeLists.txt): the real
// libcredtrace-preload.so through LD_PRELOAD (--preload PATH), or the preload's sources linked in under ASan/UBSan or
// TSan (an executable's symbol interposes libc exactly as LD_PRELOAD does).
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "fake_agent.h"
#include "memory_tls.h"
#include "preload_abi.h"

extern char** environ;

namespace {

using credtrace::sensors::PreloadRecord;
using credtrace::testing::FakeAgent;
using credtrace::testing::FakeProcess;
using credtrace::testing::MemoryTls;
using credtrace::testing::TlsIdentity;

constexpr int kReaders = 12, kMutators = 4, kTlsThreads = 12;  // + forker, vforker, dlopener, replacer = 32
constexpr int kForkerPair = 100;
constexpr int kChildRounds = 4;  // SSL_write + SSL_read pairs in each forked child
constexpr const char* kProbe = "CT_STRESS_PROBE";
constexpr std::array<const char*, 4> kSecrets = {"CT_STRESS_SECRET_A", "CT_STRESS_SECRET_BB", "CT_STRESS_TOKEN_C",
                                                 "CT_STRESS_KEY_D"};
constexpr std::array<const char*, 5> kPlain = {"CT_STRESS_PLAIN_0", "CT_STRESS_PLAIN_1", "CT_STRESS_PLAIN_2",
                                               "CT_STRESS_PLAIN_3", "CT_STRESS_MISSING"};
constexpr const char* kReplaced = "CT_STRESS_PLAIN_3";  // the entry the environ replacer changes

std::string secret_value(size_t i) { return "s3cr3t-value-" + std::to_string(i) + "-" + std::string(20 + i, 'q'); }

// ---- libc without the hooks -------------------------------------------------------------------------------------

using getenv_fn = char* (*)(const char*);
getenv_fn libc_getenv, libc_secure_getenv;

bool resolve_libc() {
  void* libc = dlopen("libc.so.6", RTLD_NOLOAD | RTLD_LAZY);
  if (!libc) return false;
  libc_getenv = reinterpret_cast<getenv_fn>(dlsym(libc, "getenv"));
  libc_secure_getenv = reinterpret_cast<getenv_fn>(dlsym(libc, "secure_getenv"));
  return libc_getenv && libc_secure_getenv && reinterpret_cast<void*>(libc_getenv) != reinterpret_cast<void*>(&getenv);
}

// ---- what the workload did (expected records) -------------------------------------------------------------------

struct Expected {
  std::atomic<uint64_t> env_set{0}, env_unset{0}, tls_data{0}, sni{0}, ssl_free{0};
  std::array<std::atomic<uint64_t>, kSecrets.size()> secret_reads{};  // hooked calls that returned a secret
  std::atomic<uint64_t> mismatches{0};                                // a hooked call answered unlike libc
  std::atomic<uint64_t> handler_calls{0}, forks{0}, vforks{0}, dlopens{0}, replacements{0};
};
Expected expected;
std::atomic<bool> stopping{false};
pthread_rwlock_t env_lock;  // env mutations (writers) against reads compared with libc (readers): POSIX's rule

std::mutex failures_mutex;
std::vector<std::string> failures;
void fail(const std::string& what) {
  std::lock_guard lock(failures_mutex);
  if (failures.size() < 40) failures.push_back(what);
}

// SSL pointers of the pairs, by pair id: which SSL a record names.
std::mutex pairs_mutex;
std::map<uint64_t, int> pair_of_ssl;
std::vector<pid_t> forked_pids;

// ---- payloads: self-describing, so the consumer checks them without shared state ----------------------------------

constexpr size_t kPayloadHeader = 22;  // "CTS pppp ssssssssss o|"

std::string payload(int pair, uint32_t seq, int origin) {
  const size_t len = 64 + (seq * 37u) % 961u;
  std::string p(len, '\0');
  std::snprintf(p.data(), kPayloadHeader + 1, "CTS %04d %010u %d|", pair, seq, origin);
  for (size_t i = kPayloadHeader; i < len; ++i) p[i] = static_cast<char>('a' + (pair * 7u + seq * 13u + i) % 26u);
  return p;
}

struct PayloadId {
  int pair = -1;
  uint32_t seq = 0;
  int origin = 0;
};

bool parse_payload(const std::string& data, PayloadId* id) {
  if (data.size() < kPayloadHeader) return false;
  const std::string header = data.substr(0, kPayloadHeader);
  unsigned seq = 0;
  if (std::sscanf(header.c_str(), "CTS %4d %10u %1d|", &id->pair, &seq, &id->origin) != 3) return false;
  id->seq = seq;
  return payload(id->pair, id->seq, id->origin) == data;
}

// ---- the consumer: every record checked -------------------------------------------------------------------------

struct ProcessLog {
  std::map<uint32_t, uint64_t> by_type;
  std::array<uint64_t, kSecrets.size()> first_reads{};
  std::map<std::pair<uint64_t, uint32_t>, int64_t> last_seq;  // (ssl, direction) -> seq
  uint64_t probe_reads = 0, foreign = 0;
};
std::vector<ProcessLog> logs;  // by FakeProcess::index, the consumer thread's until the agent stops
pid_t main_pid;

int secret_index(const std::string& name) {
  for (size_t i = 0; i < kSecrets.size(); ++i)
    if (name == kSecrets[i]) return static_cast<int>(i);
  return -1;
}

bool own_name(const std::string& name) {
  return name.rfind("CT_STRESS_OWN_", 0) == 0 || name.rfind("CT_STRESS_PUT_", 0) == 0;
}

void check_env(const FakeProcess& process, ProcessLog& log, const PreloadRecord& record) {
  ct_prec_env env{};
  if (record.body.size() < sizeof(env)) return fail("env record too short");
  std::memcpy(&env, record.body.data(), sizeof(env));
  if (sizeof(env) + env.name_len + env.value_len != record.body.size() || env.value_len > env.value_total ||
      env.value_len > CT_PRELOAD_VALUE_MAX || (env.flags & ~(CT_ENV_SECURE | CT_ENV_COUNTED)))
    return fail("env record lengths or flags wrong");
  const std::string name = record.body.substr(sizeof(env), env.name_len);
  const std::string value = record.body.substr(sizeof(env) + env.name_len);
  const bool in_main = process.pid == static_cast<uint32_t>(main_pid);
  if (record.type == CT_PREC_ENV_READ) {
    const int secret = secret_index(name);
    if (secret >= 0) {
      if (value != secret_value(static_cast<size_t>(secret))) fail("secret read with a wrong value: " + name);
      ++log.first_reads[static_cast<size_t>(secret)];
    } else if (name == kProbe) {
      ++log.probe_reads;  // before the agent's decision
    } else if (in_main) {
      fail("non-secret read sent after the decision: " + name);
    }
    return;
  }
  if (in_main && !own_name(name)) fail("env change of a name nobody changed: " + name);
  if (record.type == CT_PREC_ENV_UNSET && (env.value_len || env.value_total)) fail("unset with a value");
  if (record.type == CT_PREC_ENV_SET && value.empty()) fail("set without a value: " + name);
}

void check_tls(ProcessLog& log, const PreloadRecord& record) {
  ct_prec_tls_data tls{};
  if (record.body.size() < sizeof(tls)) return fail("tls record too short");
  std::memcpy(&tls, record.body.data(), sizeof(tls));
  if (sizeof(tls) + tls.len != record.body.size() || tls.len != tls.total_len || tls.direction > 1 || tls.fd != -1)
    return fail("tls record header wrong");
  PayloadId id;
  if (!parse_payload(record.body.substr(sizeof(tls)), &id)) return fail("tls payload damaged");
  {
    std::lock_guard lock(pairs_mutex);
    auto it = pair_of_ssl.find(tls.ssl);
    if (it == pair_of_ssl.end() || it->second != id.pair) return fail("tls payload under another SSL");
  }
  auto [it, fresh] = log.last_seq.try_emplace({tls.ssl, tls.direction}, -1);
  if (static_cast<int64_t>(id.seq) <= it->second) fail("tls payloads out of order for one SSL");
  it->second = id.seq;
}

void check_ssl_pointer(const PreloadRecord& record, size_t fixed, size_t extra) {
  uint64_t ssl = 0;
  if (record.body.size() < fixed) return fail("ssl record too short");
  std::memcpy(&ssl, record.body.data(), sizeof(ssl));
  if (extra == SIZE_MAX) {
    uint32_t len = 0;
    std::memcpy(&len, record.body.data() + 8, sizeof(len));
    const std::string name = record.body.substr(fixed);
    if (len != name.size() || name.rfind("pair", 0) != 0) fail("sni record wrong");
  }
  std::lock_guard lock(pairs_mutex);
  if (!pair_of_ssl.count(ssl)) fail("record for an unknown SSL");
}

void on_record(FakeProcess& process, PreloadRecord& record) {
  if (logs.size() <= process.index) logs.resize(process.index + 1);
  ProcessLog& log = logs[process.index];
  ++log.by_type[record.type];
  if (record.tid == 0 || record.time_boot_ns == 0) fail("record without tid or time");
  switch (record.type) {
    case CT_PREC_ENV_READ:
    case CT_PREC_ENV_SET:
    case CT_PREC_ENV_UNSET: return check_env(process, log, record);
    case CT_PREC_TLS_DATA: return check_tls(log, record);
    case CT_PREC_TLS_SNI: return check_ssl_pointer(record, sizeof(ct_prec_tls_sni), SIZE_MAX);
    case CT_PREC_TLS_FREE: return check_ssl_pointer(record, sizeof(ct_prec_tls_free), 0);
    case CT_PREC_LIBSSL:
      if (!record.body.empty()) fail("libssl record with a body");
      return;
    default: ++log.foreign, fail("record of unknown type " + std::to_string(record.type));
  }
}

// ---- the workload -----------------------------------------------------------------------------------------------

// A hooked read compared with libc's answer (the same pointer); secrets also by value.
void read_and_compare(const char* name, bool secure) {
  char* hooked = secure ? secure_getenv(name) : getenv(name);
  char* real = secure ? libc_secure_getenv(name) : libc_getenv(name);
  if (hooked != real) expected.mismatches.fetch_add(1, std::memory_order_relaxed);
  for (size_t i = 0; i < kSecrets.size(); ++i)
    if (name == kSecrets[i] && hooked) expected.secret_reads[i].fetch_add(1, std::memory_order_relaxed);
}

std::array<std::string, kSecrets.size()> secret_values;  // filled before any thread, read by the handler

// Runs in a reader thread holding the env lock for reading (SIGALRM is unblocked only there): async-signal-safe.
void on_alarm(int) {
  const int saved = errno;
  const uint64_t n = expected.handler_calls.fetch_add(1, std::memory_order_relaxed);
  const size_t i = n % kSecrets.size();
  char* hooked = getenv(kSecrets[i]);
  if (hooked != libc_getenv(kSecrets[i]) || !hooked) expected.mismatches.fetch_add(1, std::memory_order_relaxed);
  if (hooked) expected.secret_reads[i].fetch_add(1, std::memory_order_relaxed);
  errno = saved;
}

void set_alarm_mask(int how) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGALRM);
  pthread_sigmask(how, &set, nullptr);
}

void reader(int id) {
  uint64_t n = static_cast<uint64_t>(id);
  std::vector<const char*> names(kSecrets.begin(), kSecrets.end());
  names.insert(names.end(), kPlain.begin(), kPlain.end());
  const std::string own = "CT_STRESS_OWN_" + std::to_string(id % kMutators);
  names.push_back(own.c_str());
  while (!stopping.load(std::memory_order_relaxed)) {
    pthread_rwlock_rdlock(&env_lock);
    set_alarm_mask(SIG_UNBLOCK);
    for (int i = 0; i < 64; ++i, ++n) read_and_compare(names[n % names.size()], (n & 3) == 3);
    set_alarm_mask(SIG_BLOCK);
    pthread_rwlock_unlock(&env_lock);
  }
}

struct EnvWrite {
  pthread_rwlock_t* lock;
  explicit EnvWrite(pthread_rwlock_t* l) : lock(l) { pthread_rwlock_wrlock(lock); }
  ~EnvWrite() { pthread_rwlock_unlock(lock); }
};

void mutate_once(int id, uint64_t n, char* put_buffer, size_t put_size) {
  const std::string own = "CT_STRESS_OWN_" + std::to_string(id);
  const std::string put_name = "CT_STRESS_PUT_" + std::to_string(id);
  EnvWrite lock(&env_lock);
  switch (n % 5) {
    case 0: {
      const std::string value = "v" + std::to_string(id) + "_" + std::to_string(n);
      if (setenv(own.c_str(), value.c_str(), 1) != 0 || !libc_getenv(own.c_str()) || value != libc_getenv(own.c_str()))
        return fail("setenv did not set");
      expected.env_set.fetch_add(1);
      return;
    }
    case 1:
      if (unsetenv(own.c_str()) != 0 || libc_getenv(own.c_str())) return fail("unsetenv did not unset");
      expected.env_unset.fetch_add(1);
      return;
    case 2:  // the buffer is not in the environment (removed by case 3 or never put)
      std::snprintf(put_buffer, put_size, "%s=%llu", put_name.c_str(), static_cast<unsigned long long>(n));
      if (putenv(put_buffer) != 0 || libc_getenv(put_name.c_str()) != put_buffer + put_name.size() + 1)
        return fail("putenv did not put");
      expected.env_set.fetch_add(1);
      return;
    case 3: {
      std::string remove = put_name;  // glibc: putenv("NAME") removes NAME
      if (putenv(remove.data()) != 0 || libc_getenv(put_name.c_str())) return fail("putenv(NAME) did not remove");
      expected.env_unset.fetch_add(1);
      return;
    }
    default:
      errno = 0;
      if (setenv("CT_STRESS=BAD", "x", 1) != -1 || errno != EINVAL || unsetenv("") != -1 || errno != EINVAL)
        fail("invalid setenv/unsetenv not refused as libc does");
  }
}

void mutator(int id) {
  static std::array<std::array<char, 64>, kMutators> put_buffers;
  for (uint64_t n = 0; !stopping.load(std::memory_order_relaxed); ++n) {
    mutate_once(id, n, put_buffers[static_cast<size_t>(id)].data(), put_buffers[0].size());
    if (n % 8 == 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

// One environment array replaced by another (every old array and changed string kept alive: a reader that loaded
// environ before the swap keeps reading its array; never destroyed: environ still points into them at exit, when
// libraries' destructors call getenv).
void replacer() {
  static auto& arrays = *new std::deque<std::vector<char*>>;
  static auto& strings = *new std::deque<std::string>;
  for (uint64_t n = 0; !stopping.load(std::memory_order_relaxed); ++n) {
    {
      EnvWrite lock(&env_lock);
      std::vector<char*> copy;
      strings.push_back(std::string(kReplaced) + "=generation-" + std::to_string(n));
      for (char** e = environ; *e; ++e)
        copy.push_back(std::strncmp(*e, kReplaced, std::strlen(kReplaced)) == 0 ? strings.back().data() : *e);
      copy.push_back(nullptr);
      arrays.push_back(std::move(copy));
      environ = arrays.back().data();
      if (!libc_getenv(kReplaced) || libc_getenv(kReplaced) != strings.back().data() + std::strlen(kReplaced) + 1)
        fail("environ replacement not seen by libc");
      expected.replacements.fetch_add(1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
  }
}

// Bytes of TLS payload the main process may still write (--ring-laps-free): under TSan the ring must never wrap.
// The agent maps the ring at another address than the process, so TSan cannot see the consumer's acquire/release
// between a record and the one written over it a lap later and would report every reuse of ring memory as a race.
// With a 64 MiB ring written once, TSan checks what it can see: the producers' reservations against each other and
// the hooks' own state; the consumer's ordering is what the payload checks of the other two variants cover.
std::atomic<int64_t> tls_budget{INT64_MAX};

// A TLS pair's traffic: payload written by the client (SSL_write or _ex), read by the server (SSL_read or _ex).
bool tls_round(MemoryTls& tls, int pair, uint32_t seq, int origin, uint64_t* records) {
  const std::string sent = payload(pair, seq, origin);
  if (origin == 0 && tls_budget.fetch_sub(2 * static_cast<int64_t>(sent.size() + 64)) < 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return true;
  }
  size_t done = 0;
  if (seq & 1) {
    if (SSL_write_ex(tls.client(), sent.data(), sent.size(), &done) != 1 || done != sent.size()) return false;
  } else if (SSL_write(tls.client(), sent.data(), static_cast<int>(sent.size())) != static_cast<int>(sent.size())) {
    return false;
  }
  ++*records;
  std::string got(16384, '\0');
  if (seq & 2) {
    if (SSL_read_ex(tls.server(), got.data(), got.size(), &done) != 1) return false;
  } else {
    const int n = SSL_read(tls.server(), got.data(), static_cast<int>(got.size()));
    if (n <= 0) return false;
    done = static_cast<size_t>(n);
  }
  ++*records;
  got.resize(done);
  return got == sent;
}

void free_pair(std::unique_ptr<MemoryTls> tls) {
  if (!tls) return;
  tls.reset();  // SSL_free of client and server, both while the agent listens
  expected.ssl_free.fetch_add(2);
}

std::unique_ptr<MemoryTls> make_pair(const TlsIdentity& identity, int pair) {
  auto tls = std::make_unique<MemoryTls>();
  if (!tls->create(identity)) {
    fail("TLS pair setup failed");
    return nullptr;
  }
  {
    std::lock_guard lock(pairs_mutex);
    pair_of_ssl[reinterpret_cast<uint64_t>(tls->client())] = pair;
    pair_of_ssl[reinterpret_cast<uint64_t>(tls->server())] = pair;
  }
  if (!tls->handshake("pair" + std::to_string(pair) + ".stress.test")) {
    ERR_print_errors_fp(stderr);
    fail("TLS handshake failed");
    expected.sni.fetch_add(1);
    free_pair(std::move(tls));
    return nullptr;
  }
  expected.sni.fetch_add(1);
  return tls;
}


void tls_thread(const TlsIdentity* identity, int pair) {
  auto tls = make_pair(*identity, pair);
  uint64_t records = 0;
  for (uint32_t seq = 0; tls && !stopping.load(std::memory_order_relaxed); ++seq)
    if (!tls_round(*tls, pair, seq, 0, &records)) {
      fail("TLS round failed");
      break;
    }
  expected.tls_data.fetch_add(records);
  free_pair(std::move(tls));
}

// OpenSSL's memory in a forked child: a child of a threaded process must not use the heap (GCC 12's ASan allocator,
// unlike glibc's malloc, is not locked across fork: another thread may hold it at the fork, forever in the child,
// and SSL_write allocates). Every OpenSSL allocation carries its size in front; in the child, allocations come from
// a static arena and frees are dropped (the child exits soon).
bool in_forked_child = false;
constexpr size_t kAllocHeader = 16;
alignas(16) char child_arena[8 << 20];
size_t child_arena_used = 0;

void* openssl_malloc(size_t size, const char*, int) {
  char* block = nullptr;
  if (!in_forked_child) {
    block = static_cast<char*>(std::malloc(size + kAllocHeader));
  } else if (size <= sizeof child_arena - kAllocHeader - child_arena_used) {
    block = child_arena + child_arena_used;
    child_arena_used += (size + kAllocHeader + 15) & ~size_t{15};
  }
  if (!block) return nullptr;
  std::memcpy(block, &size, sizeof size);
  return block + kAllocHeader;
}

void openssl_free(void* p, const char*, int) {
  if (p && !in_forked_child) std::free(static_cast<char*>(p) - kAllocHeader);
}

void* openssl_realloc(void* p, size_t size, const char* file, int line) {
  if (!p) return openssl_malloc(size, file, line);
  size_t old = 0;
  std::memcpy(&old, static_cast<char*>(p) - kAllocHeader, sizeof old);
  void* moved = openssl_malloc(size, file, line);
  if (!moved) return nullptr;
  std::memcpy(moved, p, std::min(old, size));
  openssl_free(p, file, line);
  return moved;
}

// What a forked child sends, made before the fork (the child must not use the heap, see above).
struct ChildPlan {
  std::array<std::string, kChildRounds> payloads;
  std::string received = std::string(16384, '\0');
};

// The forked child: getenv of every secret (libc's answer) and a few TLS rounds on the parent's pair; the exit code
// says what failed. Async-signal-safe calls only, apart from OpenSSL on objects this thread owned.
[[noreturn]] void forked_child(MemoryTls& tls, ChildPlan& plan) {
  in_forked_child = true;
  for (size_t i = 0; i < kSecrets.size(); ++i) {
    char* v = getenv(kSecrets[i]);
    if (v != libc_getenv(kSecrets[i]) || !v || std::strcmp(secret_values[i].c_str(), v) != 0) _exit(3);
  }
  if (secure_getenv(kPlain[0]) != libc_secure_getenv(kPlain[0])) _exit(3);
  for (const std::string& sent : plan.payloads) {
    const int n = static_cast<int>(sent.size());
    if (SSL_write(tls.client(), sent.data(), n) != n) _exit(4);
    if (SSL_read(tls.server(), plan.received.data(), static_cast<int>(plan.received.size())) != n ||
        std::memcmp(plan.received.data(), sent.data(), sent.size()) != 0)
      _exit(4);
  }
  _exit(0);
}

void forker(const TlsIdentity* identity, bool fork_children) {
  auto tls = make_pair(*identity, kForkerPair);
  uint64_t records = 0;
  for (uint32_t seq = 0; tls && !stopping.load(std::memory_order_relaxed); seq += 16) {
    if (!tls_round(*tls, kForkerPair, seq, 0, &records)) fail("forker TLS round failed");
    if (!fork_children) continue;
    ChildPlan plan;
    for (int i = 0; i < kChildRounds; ++i) plan.payloads[i] = payload(kForkerPair, seq + 1 + i, 1);
    pthread_rwlock_rdlock(&env_lock);  // no env mutation half done in the child's copy
    const pid_t pid = fork();
    if (pid == 0) forked_child(*tls, plan);
    pthread_rwlock_unlock(&env_lock);
    if (pid < 0) return fail("fork failed");
    {
      std::lock_guard lock(pairs_mutex);
      forked_pids.push_back(pid);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
      fail("forked child failed: status " + std::to_string(status));
    expected.forks.fetch_add(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(15));
  }
  expected.tls_data.fetch_add(records);
  free_pair(std::move(tls));
}

void vforker() {
  while (!stopping.load(std::memory_order_relaxed)) {
    char* argv[] = {const_cast<char*>("true"), nullptr};
    pthread_rwlock_rdlock(&env_lock);  // execve reads environ
    const pid_t pid = vfork();
    if (pid == 0) {
      execve("/bin/true", argv, environ);
      _exit(127);
    }
    pthread_rwlock_unlock(&env_lock);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
      fail("vfork+exec of /bin/true failed");
    expected.vforks.fetch_add(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void dlopener() {
  while (!stopping.load(std::memory_order_relaxed)) {
    void* ssl = dlopen("libssl.so.3", RTLD_NOW | RTLD_LOCAL);
    if (!ssl || !dlsym(ssl, "SSL_write")) fail("dlopen of libssl failed");
    if (ssl) dlclose(ssl);
    expected.dlopens.fetch_add(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// ---- the run ----------------------------------------------------------------------------------------------------

struct Options {
  double seconds = 4;
  bool fork_children = true;
  bool laps_free = false;  // a 64 MiB ring and TLS traffic bounded to fit it (TSan, see tls_budget)
  std::string preload;  // the real library through LD_PRELOAD, else the hooks are linked in
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--preload" && i + 1 < argc) o.preload = argv[++i];
    else if (a == "--seconds" && i + 1 < argc) o.seconds = std::atof(argv[++i]);
    else if (a == "--no-fork") o.fork_children = false;
    else if (a == "--ring-laps-free") o.laps_free = true;
  }
  return o;
}

// First stage: the environment the hooks' constructor must see (socket, ring size, names, LD_PRELOAD), then exec.
int reexec(const Options& options, char** argv) {
  char dir_template[] = "/tmp/credtrace-preload-stress-XXXXXX";
  if (!mkdtemp(dir_template)) return std::perror("mkdtemp"), 1;
  setenv(CT_PRELOAD_SOCKET_ENV, (std::string(dir_template) + "/preload.sock").c_str(), 1);
  // The smallest ring: the storm fills it, drops get counted. Or the largest, never wrapped (TSan).
  setenv("CREDTRACE_PRELOAD_RING_KB", options.laps_free ? "65536" : "64", 1);
  setenv("CT_STRESS_STAGE", "2", 1);
  for (size_t i = 0; i < kSecrets.size(); ++i) setenv(kSecrets[i], secret_value(i).c_str(), 1);
  for (size_t i = 0; i + 1 < kPlain.size(); ++i) setenv(kPlain[i], ("plain-" + std::to_string(i)).c_str(), 1);
  if (!options.preload.empty()) setenv("LD_PRELOAD", options.preload.c_str(), 1);
  execv("/proc/self/exe", argv);
  std::perror("execv");
  return 1;
}

// Reads the probe name until the agent has registered (the constructor found no socket: the hooks retry once a
// second) and decided.
bool wait_registered(FakeAgent& agent) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (agent.registrations() == 0) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    if (!getenv(kProbe)) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  return true;
}

// Kills the process when the run does not end in time: a deadlock fails the test instead of hanging ctest.
class Watchdog {
 public:
  explicit Watchdog(double seconds)
      : thread_([this, seconds] {
          std::unique_lock lock(mutex_);
          if (!cv_.wait_for(lock, std::chrono::duration<double>(seconds), [this] { return done_; })) {
            std::fprintf(stderr, "FAIL: no progress after %.0f s (deadlock?)\n", seconds);
            std::fflush(stderr);
            _exit(3);
          }
        }) {}
  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

void storm(const Options& options, const TlsIdentity& identity) {
  std::vector<std::thread> threads;
  for (int i = 0; i < kReaders; ++i) threads.emplace_back(reader, i);
  for (int i = 0; i < kMutators; ++i) threads.emplace_back(mutator, i);
  for (int i = 0; i < kTlsThreads; ++i) threads.emplace_back(tls_thread, &identity, i);
  threads.emplace_back(forker, &identity, options.fork_children);
  threads.emplace_back(vforker);
  threads.emplace_back(dlopener);
  threads.emplace_back(replacer);
  struct sigaction sa{};
  sa.sa_handler = on_alarm;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &sa, nullptr);
  itimerval timer{{0, 500}, {0, 500}};
  setitimer(ITIMER_REAL, &timer, nullptr);
  std::this_thread::sleep_for(std::chrono::duration<double>(options.seconds));
  stopping.store(true);
  for (auto& t : threads) t.join();
  itimerval off{};
  setitimer(ITIMER_REAL, &off, nullptr);
}

uint64_t count(const ProcessLog& log, uint32_t type) {
  auto it = log.by_type.find(type);
  return it == log.by_type.end() ? 0 : it->second;
}

// The main process's ring: first reads, reads counted by the hooks, and every record either received or counted as
// dropped.
void verify_main(FakeProcess& process, const ProcessLog& log) {
  for (size_t i = 0; i < kSecrets.size(); ++i) {
    // Read first before the storm, on an empty ring: exactly one record each, never dropped.
    if (log.first_reads[i] != 1) fail(std::string("not exactly one first read of ") + kSecrets[i]);
    const uint64_t reads = process.ring->reads_of(kSecrets[i]);
    if (reads != expected.secret_reads[i].load())
      fail(std::string("reads counted for ") + kSecrets[i] + ": " + std::to_string(reads) + ", made " +
           std::to_string(expected.secret_reads[i].load()));
  }
  uint64_t first_reads = 0;
  for (uint64_t n : log.first_reads) first_reads += n;
  const uint64_t want = kSecrets.size() + expected.env_set + expected.env_unset + expected.tls_data + expected.sni +
                        expected.ssl_free + 1 /* libssl */;
  const uint64_t got = first_reads + count(log, CT_PREC_ENV_SET) + count(log, CT_PREC_ENV_UNSET) +
                       count(log, CT_PREC_TLS_DATA) + count(log, CT_PREC_TLS_SNI) + count(log, CT_PREC_TLS_FREE) +
                       count(log, CT_PREC_LIBSSL);
  const uint64_t dropped = process.ring->dropped_records();
  std::printf("main process: %llu records expected, %llu received, %llu dropped (counted in the header)\n",
              static_cast<unsigned long long>(want), static_cast<unsigned long long>(got),
              static_cast<unsigned long long>(dropped));
  if (got + dropped != want) fail("records lost without being counted (or invented)");
  if (process.ring->abandoned_records() || process.ring->stats().discarded || process.ring->stats().malformed)
    fail("abandoned, discarded or malformed records in the main ring");
}

void verify_children(std::vector<FakeProcess>& processes) {
  std::map<uint32_t, const FakeProcess*> by_pid;
  for (const auto& p : processes) by_pid[p.pid] = &p;
  for (pid_t child : forked_pids) {
    auto it = by_pid.find(static_cast<uint32_t>(child));
    if (it == by_pid.end()) {
      fail("forked child " + std::to_string(child) + " never registered");
      continue;
    }
    const FakeProcess& p = *it->second;
    const ProcessLog& log = logs.size() > p.index ? logs[p.index] : ProcessLog{};
    if (!(p.flags & CT_HELLO_AFTER_FORK)) fail("child registered without CT_HELLO_AFTER_FORK");
    if (p.ring->dropped_records() != 0 || count(log, CT_PREC_TLS_DATA) != 2 * kChildRounds)
      fail("child " + std::to_string(child) + ": " + std::to_string(count(log, CT_PREC_TLS_DATA)) +
           " TLS records, wanted " + std::to_string(2 * kChildRounds));
    for (size_t i = 0; i < kSecrets.size(); ++i)
      if (log.first_reads[i] == 0) fail("child's read of a secret not reported");
  }
}

int run(const Options& options) {
  main_pid = getpid();
  if (!CRYPTO_set_mem_functions(openssl_malloc, openssl_realloc, openssl_free))
    return std::fprintf(stderr, "FAIL: OpenSSL allocated before its memory functions were set\n"), 1;
  if (!resolve_libc()) return std::fprintf(stderr, "FAIL: the hooks are not interposed on getenv\n"), 1;
  for (size_t i = 0; i < kSecrets.size(); ++i) secret_values[i] = secret_value(i);
  if (options.laps_free) tls_budget = 48 << 20;  // the rest of the 64 MiB for env and the other records
  pthread_rwlockattr_t attr;
  pthread_rwlockattr_init(&attr);
  pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  pthread_rwlock_init(&env_lock, &attr);
  set_alarm_mask(SIG_BLOCK);  // every thread inherits it; readers unblock SIGALRM while they hold the env lock
  const std::string socket = libc_getenv(CT_PRELOAD_SOCKET_ENV);
  Watchdog watchdog(options.seconds + 50);
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::string> secrets(kSecrets.begin(), kSecrets.end());
  FakeAgent agent(socket, CT_ENABLE_ENV | CT_ENABLE_TLS, secrets, on_record);
  // A live agent's beat can be newer than a hook's clock read (or on another clock): liveness is the beat moving.
  agent.set_heartbeat_lead(50'000'000);
  std::string error;
  if (!agent.start(&error)) return std::fprintf(stderr, "FAIL: %s\n", error.c_str()), 1;
  setenv(kProbe, "probe", 1);
  if (!wait_registered(agent)) return std::fprintf(stderr, "FAIL: the hooks never registered\n"), 1;
  for (size_t i = 0; i < kSecrets.size(); ++i) read_and_compare(kSecrets[i], false);  // first reads
  {
    TlsIdentity identity;
    storm(options, identity);
  }
  agent.flush();
  agent.stop();
  auto& processes = agent.processes();
  if (processes.empty() || processes[0].pid != static_cast<uint32_t>(main_pid))
    return std::fprintf(stderr, "FAIL: the main process is not the first registration\n"), 1;
  // The agent drained all along: a hook that took it for gone (closed the ring, registered again) split the counts.
  size_t main_registrations = 0;
  for (const auto& p : processes) main_registrations += p.pid == static_cast<uint32_t>(main_pid);
  if (main_registrations != 1)
    fail("the main process registered " + std::to_string(main_registrations) + " times: a live agent taken for gone");
  if (logs.size() < processes.size()) logs.resize(processes.size());
  verify_main(processes[0], logs[0]);
  verify_children(processes);
  size_t execs = 0;  // /bin/true after vfork+exec: with the real library (LD_PRELOAD inherited) it registers itself
  for (const auto& p : processes) execs += p.exe == "true" && !(p.flags & CT_HELLO_AFTER_FORK);
  if (!options.preload.empty() && expected.vforks > 0 && execs == 0) fail("no exec'd program registered");
  if (expected.mismatches) fail(std::to_string(expected.mismatches.load()) + " hooked calls answered unlike libc");
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("%zu registrations (%llu forks, %llu vfork+exec), %llu signal-handler reads, %llu dlopen, %llu environ "
              "replacements, %llu TLS records, %.1f s\n",
              processes.size(), static_cast<unsigned long long>(expected.forks.load()),
              static_cast<unsigned long long>(expected.vforks.load()),
              static_cast<unsigned long long>(expected.handler_calls.load()),
              static_cast<unsigned long long>(expected.dlopens.load()),
              static_cast<unsigned long long>(expected.replacements.load()),
              static_cast<unsigned long long>(expected.tls_data.load()), took);
  std::filesystem::remove_all(std::filesystem::path(socket).parent_path());
  for (const auto& f : failures) std::fprintf(stderr, "FAIL: %s\n", f.c_str());
  if (!failures.empty()) return 1;
  if (options.fork_children && expected.forks == 0) return std::fprintf(stderr, "FAIL: no fork ran\n"), 1;
  if (expected.handler_calls == 0) return std::fprintf(stderr, "FAIL: the signal handler never ran\n"), 1;
  std::printf("PASS\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  if (!std::getenv("CT_STRESS_STAGE")) return reexec(options, argv);
  return run(options);
}
