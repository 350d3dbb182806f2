// The preload sensor: registrations, per-process decisions, ring draining, env read events, TLS hand-over and the
// per-server env secret usage summary.
#include "sensors/preload/preload_sensor.h"

#include <poll.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <cstring>
#include <ctime>

#include "common/timestamp.h"
#include "common/wipe_guard.h"
#include "events/credential_facts.h"
#include "identity/procfs.h"
#include "logging/log.h"
#include "sensors/tls/credential_use.h"

namespace credtrace::sensors {
namespace {

constexpr size_t kMaxPendingReads = 256;
constexpr size_t kMaxPendingTlsBytes = 4u << 20;       // per undecided process
constexpr size_t kMaxPendingTlsBytesTotal = 64u << 20; // over all of them
constexpr size_t kMaxNamesPerProcess = 1024;           // env names a process's records can make the agent keep

uint64_t mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

bool is_shell(const std::string& exe) {
  for (const char* shell : {"sh", "bash", "dash", "zsh", "ksh", "busybox"})
    if (exe == shell) return true;
  return false;
}

}  // namespace

PreloadSensor::PreloadSensor(SensorContext context, kernel::RecordHandler& tls, PreloadSensorOptions options)
    : context_(context),
      options_(std::move(options)),
      names_(context.config.secrets.env_name_patterns, context.config.secrets.env_name_excludes),
      inspector_(names_, context.fingerprinter),
      server_(context.config.preload.socket,
              [this](uint32_t pid, uint64_t start_ticks) { return identity_matches(pid, start_ticks); }),
      tls_(tls) {}

PreloadSensor::~PreloadSensor() = default;

void PreloadSensor::reload(const std::set<std::string>& changed_keys) {
  if (env_names_changed(changed_keys))  // in place: the inspector refers to it
    names_ = secrets::NamePatterns(context_.config.secrets.env_name_patterns, context_.config.secrets.env_name_excludes);
}

void PreloadSensor::start() {
  if (!context_.config.preload.enabled) {
    listen_error_ = "off";
    return;
  }
  if (!server_.listen(&listen_error_)) log::warn("preload channel: " + listen_error_);
}

void PreloadSensor::describe(credtrace::v1::AgentReady& ready) const {
  ready.set_preload(server_.listening() ? "listening " + server_.path() : listen_error_);
}

// The peer is the process that started at start_ticks: its /proc entry says so, or (gone, or reaped, before its hello
// was read) the kernel reported a process of a watched server starting then under that pid. Gone and not reported
// yet (its exec record is still in the ring, behind the exit that made the agent read hellos): unknown, asked again.
PreloadServer::Identity PreloadSensor::identity_matches(uint32_t pid, uint64_t start_ticks) const {
  using Identity = PreloadServer::Identity;
  if (start_ticks == 0) return Identity::refused;
  if (const uint64_t in_proc = proc_start_ticks(context_.config.proc_root, pid))
    return in_proc == start_ticks ? Identity::confirmed : Identity::refused;
  static const uint64_t ns_per_tick = 1'000'000'000ull / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
  auto member = members_.find(pid);
  if (member == members_.end()) {
    // Its exec record can only still be on its way if it started moments ago.
    constexpr uint64_t kRecentNs = 10'000'000'000ull;
    const uint64_t started_ns = start_ticks * ns_per_tick;
    return started_ns + kRecentNs >= common::boot_clock_ns() ? Identity::unknown : Identity::refused;
  }
  return member->second.start_boottime_ns / ns_per_tick == start_ticks ? Identity::confirmed : Identity::refused;
}

bool PreloadSensor::captures_tls(uint32_t pid) {
  if (!options_.tls || !server_.listening() || preload_failed_.count(pid)) return false;
  if (auto it = processes_.find(pid); it != processes_.end()) return it->second.decision != Decision::unwatched;
  if (expected_.count(pid)) return true;
  auto env = identity::read_environ(static_cast<int32_t>(pid), context_.config.proc_root);
  if (!env) return false;
  bool preloaded = false, disabled = false;
  for (auto& [name, value] : *env) {
    if (name == "LD_PRELOAD") preloaded = value.find("libcredtrace-preload.so") != std::string::npos;
    if (name == CT_PRELOAD_DISABLE_ENV) disabled = value == "1";
    OPENSSL_cleanse(value.data(), value.size());
  }
  if (!preloaded || disabled) return false;
  expected_[pid] = mono_ns();
  return true;
}

// Processes expected to register that did not within preload.decide_seconds: their libssl is probed after all.
void PreloadSensor::check_expected(uint64_t now_mono_ns) {
  const uint64_t wait = uint64_t{context_.config.preload.decide_seconds} * 1'000'000'000ull;
  for (auto it = expected_.begin(); it != expected_.end();) {
    if (processes_.count(it->first)) {
      it = expected_.erase(it);
      continue;
    }
    if (now_mono_ns - it->second < wait) {
      ++it;
      continue;
    }
    const uint32_t pid = it->first;
    it = expected_.erase(it);
    preload_failed_.insert(pid);
    count_error("preload_expected_not_registered");
    if (options_.tls_not_preloaded) options_.tls_not_preloaded(pid);
  }
}

void PreloadSensor::poll(Clock::time_point now) {
  if (!server_.listening()) return;
  const uint64_t now_mono = mono_ns();
  const uint64_t before = common::boot_clock_ns();  // records after this wait: the kernel's of the same moment may be unread
  if (options_.drain_kernel) options_.drain_kernel();
  accept_registrations(now_mono);
  std::vector<uint32_t> gone;
  for (auto& [pid, p] : processes_) {
    if (p.decision == Decision::undecided) decide(pid, p);
    drain(pid, p, before, now_mono);
    p.registration.ring->heartbeat(now_mono);
    auto member = members_.find(pid);
    if (member != members_.end() && member->second.exited) gone.push_back(pid);
  }
  for (uint32_t pid : gone) release(pid);
  check_expected(now_mono);
  if (now - last_liveness_ >= std::chrono::seconds(1)) {
    check_connections();
    last_liveness_ = now;
  }
  settle_exits();
}

void PreloadSensor::accept_registrations(uint64_t now_mono_ns) {
  const size_t max = context_.config.preload.max_processes;
  const size_t room = processes_.size() < max ? max - processes_.size() : 0;
  for (auto& registration : server_.accept(room, now_mono_ns)) add(std::move(registration), now_mono_ns);
}

void PreloadSensor::add(PreloadRegistration registration, uint64_t now_mono_ns) {
  const uint32_t pid = registration.pid;
  if (processes_.count(pid)) release(pid);  // the image before an exec: what it wrote is read first
  auto& images = images_[pid];
  if (images.size() < 16) images.push_back(registration.exe);
  Preloaded& p = processes_[pid];
  p.registration = std::move(registration);
  p.registered_mono_ns = now_mono_ns;
  decide(pid, p);
}

PreloadSensor::Member* PreloadSensor::member_of(uint32_t pid) {
  auto member = members_.find(pid);
  if (member != members_.end()) return &member->second;
  tracking::Attribution who = context_.tracker.attribute(pid);
  if (!who.record || !who.server) return nullptr;
  return &remember(*who.record, *who.server);
}

PreloadSensor::Member& PreloadSensor::remember(const process::ProcessRecord& record,
                                               const tracking::TrackedServer& server) {
  Member& member = members_[record.pid];
  member.server_pid = server.pid;
  member.start_boottime_ns = record.start_boottime_ns;
  member.process = std::make_shared<const credtrace::v1::Process>(context_.tracker.process_view(record));
  member.workload = server.workload;
  member.comm = record.comm;
  return member;
}

void PreloadSensor::decide(uint32_t pid, Preloaded& p) {
  if (Member* member = member_of(pid)) return watch(pid, p, *member);
  if (mono_ns() - p.registered_mono_ns < uint64_t{context_.config.preload.decide_seconds} * 1'000'000'000ull) return;
  p.decision = Decision::unwatched;  // no server claimed it: its hooks pass through from now on
  ++unwatched_;
  p.registration.ring->decide(0);
  p.pending_reads.clear();
  for (auto& record : p.pending_tls) OPENSSL_cleanse(record.body.data(), record.body.size());
  p.pending_tls.clear();
  pending_tls_total_ -= p.pending_tls_bytes;
  p.pending_tls_bytes = 0;
}

// The process belongs to a server: its table gets the secret names of its environment, and what it did before the
// decision is reported now.
void PreloadSensor::watch(uint32_t pid, Preloaded& p, const Member& member) {
  if (p.decision == Decision::watched) return;
  p.decision = Decision::watched;
  if (auto env = identity::read_environ(static_cast<int32_t>(pid), context_.config.proc_root)) {
    for (const auto& secret : inspector_.inspect(*env)) {
      if (p.registration.ring->add_name(secret.name, p.reported.count(secret.name) > 0)) p.secret_names.insert(secret.name);
      else count_error("preload_table_full");
      usage_.expose(member.server_pid, secret.name, secret.credential);
    }
    for (auto& [_, value] : *env) OPENSSL_cleanse(value.data(), value.size());
  }
  for (const auto& name : p.set_by_process)  // secrets it set itself before the decision
    if (p.registration.ring->add_name(name, p.reported.count(name) > 0)) p.secret_names.insert(name);
  p.registration.ring->decide(CT_ENABLE_ENV | (options_.tls ? CT_ENABLE_TLS : 0));
  if (options_.tls && options_.tls_preloaded) options_.tls_preloaded(pid);
  for (const auto& read : std::exchange(p.pending_reads, {})) {
    p.reported.emplace(read.name, read.credential);
    report_read(pid, member, read, 1);
  }
  for (auto& record : std::exchange(p.pending_tls, {})) {
    if (options_.tls) on_tls(pid, p, record);
    OPENSSL_cleanse(record.body.data(), record.body.size());
  }
  pending_tls_total_ -= p.pending_tls_bytes;
  p.pending_tls_bytes = 0;
}

void PreloadSensor::drain(uint32_t pid, Preloaded& p, uint64_t before_ns, uint64_t now_mono_ns) {
  p.registration.ring->drain(before_ns, now_mono_ns, [&](PreloadRecord& record) { on_record(pid, p, record); });
}

void PreloadSensor::on_record(uint32_t pid, Preloaded& p, PreloadRecord& record) {
  switch (record.type) {
    case CT_PREC_ENV_READ:
    case CT_PREC_ENV_SET:
    case CT_PREC_ENV_UNSET: return on_env(pid, p, record);
    case CT_PREC_TLS_DATA:
    case CT_PREC_TLS_SNI:
    case CT_PREC_TLS_FREE: return on_tls(pid, p, record);
    case CT_PREC_LIBSSL: p.libssl = true; return;
    default: ++records_malformed_;
  }
}

// An env record: the raw value is classified and fingerprinted here, then wiped with the record.
void PreloadSensor::on_env(uint32_t pid, Preloaded& p, PreloadRecord& record) {
  ct_prec_env fixed;
  if (record.body.size() < sizeof(fixed)) return void(++records_malformed_);
  std::memcpy(&fixed, record.body.data(), sizeof(fixed));
  if (fixed.name_len == 0 || fixed.name_len > record.body.size() - sizeof(fixed) ||
      fixed.value_len > record.body.size() - sizeof(fixed) - fixed.name_len)
    return void(++records_malformed_);
  const std::string name = record.body.substr(sizeof(fixed), fixed.name_len);
  const std::string_view value(record.body.data() + sizeof(fixed) + fixed.name_len, fixed.value_len);
  if (record.type == CT_PREC_ENV_UNSET) return;
  std::optional<secrets::EnvFinding> finding = secrets::inspect_env_var(name, value, names_);
  if (!finding) return;
  if (!p.reported.count(name) && !p.set_by_process.count(name) &&
      p.reported.size() + p.set_by_process.size() + p.reads_not_in_table.size() >= kMaxNamesPerProcess)
    return count_error("preload_names_over_limit");  // a process forging names cannot grow the agent without bound
  credtrace::v1::Credential credential =
      events::describe_credential(context_.fingerprinter, finding->credential_in(value), finding->type,
                                  finding->prefix_len);
  if (record.type == CT_PREC_ENV_SET) {
    p.set_by_process.insert(name);
    if (p.decision == Decision::watched && p.registration.ring->add_name(name, p.reported.count(name) > 0))
      p.secret_names.insert(name);
    return;
  }
  ++env_reads_records_;
  if (!(fixed.flags & CT_ENV_COUNTED)) ++p.reads_not_in_table[name];
  on_env_read(pid, p, FirstRead{name, std::move(credential), (fixed.flags & CT_ENV_SECURE) != 0,
                                p.set_by_process.count(name) > 0});
}

void PreloadSensor::on_env_read(uint32_t pid, Preloaded& p, FirstRead read) {
  if (p.reported.count(read.name)) return;
  if (p.decision == Decision::unwatched) return;
  if (p.decision == Decision::undecided) {
    for (const auto& pending : p.pending_reads)
      if (pending.name == read.name) return;
    if (p.pending_reads.size() < kMaxPendingReads) p.pending_reads.push_back(std::move(read));
    return;
  }
  p.reported.emplace(read.name, read.credential);
  report_read(pid, members_.at(pid), read, 1);
}

void PreloadSensor::report_read(uint32_t /*pid*/, const Member& member, const FirstRead& read, uint64_t count) {
  credtrace::v1::Source source;
  source.set_kind("env");
  source.set_name(read.name);
  context_.registry.add_workload_source(member.server_pid, read.credential.fingerprint(), source);
  auto event = context_.events.about("secret_env_read", *member.process, *member.workload);
  *event.mutable_credential() = read.credential;
  *event.mutable_source() = source;
  auto* detail = event.mutable_secret_env_read();
  detail->set_name(read.name);
  detail->set_count(count);
  detail->set_secure_getenv(read.secure);
  detail->set_set_by_process(read.set_by_process);
  detail->set_sensor("preload");
  context_.sink.write(event);
  ++env_reads_reported_;
}

void PreloadSensor::on_tls(uint32_t pid, Preloaded& p, PreloadRecord& record) {
  ++tls_records_;
  if (p.decision == Decision::unwatched) return;
  if (p.decision == Decision::undecided) {
    if (p.pending_tls_bytes + record.body.size() > kMaxPendingTlsBytes ||
        pending_tls_total_ + record.body.size() > kMaxPendingTlsBytesTotal)
      return void(++pending_tls_dropped_);
    p.pending_tls_bytes += record.body.size();
    pending_tls_total_ += record.body.size();
    p.pending_tls.push_back(std::move(record));
    record.body.clear();
    return;
  }
  if (!options_.tls) return;
  if (!tls_.forward(pid, record)) ++records_malformed_;
}

// The process (or its image) is done: its ring read to the end, its reads tallied for its server, its memory let go.
void PreloadSensor::release(uint32_t pid) {
  auto it = processes_.find(pid);
  if (it == processes_.end()) return;
  Preloaded& p = it->second;
  drain(pid, p, UINT64_MAX, mono_ns());
  auto member = members_.find(pid);
  if (member != members_.end() && p.decision == Decision::watched) {
    const auto& args = member->second.process->args();
    const bool launcher = passes_environment_on(std::vector<std::string>(args.begin(), args.end()));
    for (const auto& [name, credential] : p.reported) {
      auto early = p.reads_not_in_table.find(name);
      const uint64_t reads = p.registration.ring->reads_of(name) + (early == p.reads_not_in_table.end() ? 0 : early->second);
      usage_.read(member->second.server_pid, pid, name, credential, reads ? reads : 1, launcher);
    }
  }
  dropped_records_ += p.registration.ring->dropped_records();
  for (auto& record : p.pending_tls) OPENSSL_cleanse(record.body.data(), record.body.size());
  pending_tls_total_ -= p.pending_tls_bytes;
  tls_.forget_process(pid);
  processes_.erase(it);
}

// Once a second: a process whose connection closed is gone (released) unless it is still the same process (it
// closed our descriptor itself); those without a connection are checked through /proc.
void PreloadSensor::check_connections() {
  std::vector<uint32_t> gone;
  for (auto& [pid, p] : processes_) {
    bool hung_up = !p.registration.connection.valid();
    if (!hung_up) {
      pollfd fd{p.registration.connection.get(), POLLRDHUP, 0};
      hung_up = ::poll(&fd, 1, 0) > 0 && (fd.revents & (POLLRDHUP | POLLHUP | POLLERR));
    }
    if (!hung_up) continue;
    if (proc_start_ticks(context_.config.proc_root, pid) == p.registration.start_ticks) {
      p.registration.connection.reset();
      continue;
    }
    gone.push_back(pid);
  }
  for (uint32_t pid : gone) {
    release(pid);
    if (!members_.count(pid)) images_.erase(pid);
  }
}

void PreloadSensor::on_attributed(const process::ProcessRecord& record, const tracking::TrackedServer& server) {
  Member& member = remember(record, server);
  if (record.pid == server.pid) {
    servers_[server.pid] = {member.process, server.workload};
    note_exposures(record, server.pid);
  }
  auto p = processes_.find(record.pid);
  if (p != processes_.end()) watch(record.pid, p->second, member);
}

// The secrets of the server's own environment: exposed to it and to whatever it starts.
void PreloadSensor::note_exposures(const process::ProcessRecord& record, uint32_t server_pid) {
  auto env = identity::read_environ(static_cast<int32_t>(record.pid), context_.config.proc_root);
  if (!env) return;
  for (const auto& secret : inspector_.inspect(*env)) usage_.expose(server_pid, secret.name, secret.credential);
  for (auto& [_, value] : *env) OPENSSL_cleanse(value.data(), value.size());
}

void PreloadSensor::on_exit(uint32_t pid) {
  expected_.erase(pid);
  preload_failed_.erase(pid);
  Member* member = member_of(pid);  // the tracker still knows it while its observers are told
  if (member) member->exited = true;
  // A process that lived a few ms (curl) may have registered since the last turn: its hello is taken now, while the
  // tracker still knows the process, so what it wrote is reported in its name (the TLS sensor hears of the exit next).
  if (server_.listening()) accept_registrations(mono_ns());
  release(pid);
  if (!member) {
    images_.erase(pid);
    return;
  }
  exits_to_settle_.insert(pid);  // after the next accept: a hello sent just before the exit may still be queued
}

void PreloadSensor::settle_exits() {
  for (uint32_t pid : std::exchange(exits_to_settle_, {})) {
    auto member = members_.find(pid);
    if (member == members_.end()) continue;
    settle_member(pid, member->second);
    members_.erase(member);
    images_.erase(pid);
  }
}

// Whether the process's reads were observable: it had the preload, and no image of it copies the environment at
// start (a shell that exec'd another program counts as that program).
void PreloadSensor::settle_member(uint32_t pid, Member& member) {
  const std::vector<std::string>& images = images_[pid];
  const std::string who = std::to_string(pid) + " " + (images.empty() ? member.comm : images.back());
  if (images.empty()) {
    usage_.not_observable(member.server_pid, pid, who + ": no preload (static or Go binary, setuid, or not started "
                                                        "through credtrace run)");
    return;
  }
  const std::vector<std::string> args(member.process->args().begin(), member.process->args().end());
  for (size_t i = 0; i < images.size(); ++i) {
    if (is_shell(images[i]) && (i + 1 < images.size() || shell_reads_nothing(args))) continue;
    if (auto why = env_reads_unobservable(images[i])) return usage_.not_observable(member.server_pid, pid, who + ": " + *why);
  }
  usage_.observed(member.server_pid, pid);
}

void PreloadSensor::on_server_forgotten(uint32_t server_pid) {
  std::vector<uint32_t> members;
  for (const auto& [pid, member] : members_)
    if (member.server_pid == server_pid) members.push_back(pid);
  for (uint32_t pid : members) {
    release(pid);
    settle_member(pid, members_.at(pid));
    members_.erase(pid);
    images_.erase(pid);
    exits_to_settle_.erase(pid);
  }
  emit_usage(server_pid);
}

void PreloadSensor::emit_usage(uint32_t server_pid) {
  auto server = servers_.find(server_pid);
  std::optional<credtrace::v1::EnvSecretUsage> usage = usage_.finish(server_pid);
  if (usage && server != servers_.end()) {
    auto event = context_.events.about("env_secret_usage", *server->second.first, *server->second.second);
    *event.mutable_env_secret_usage() = std::move(*usage);
    context_.sink.write(event);
    ++usage_reports_;
  }
  if (server != servers_.end()) servers_.erase(server);
}

void PreloadSensor::stop() {
  if (options_.drain_kernel) options_.drain_kernel();
  settle_exits();
  std::vector<uint32_t> pids;
  for (const auto& [pid, _] : processes_) pids.push_back(pid);
  for (uint32_t pid : pids) {
    processes_.at(pid).registration.ring->close();  // its hooks pass through until an agent is back
    release(pid);
  }
  for (auto& [pid, member] : members_) settle_member(pid, member);
  members_.clear();
  for (uint32_t server_pid : usage_.servers()) emit_usage(server_pid);
}

void PreloadSensor::report(credtrace::v1::AgentHealth& health) const {
  auto& sensors = *health.mutable_sensors();
  const auto& s = server_.stats();
  sensors["preload_registered"] = processes_.size();
  sensors["preload_registrations"] = s.accepted;
  sensors["preload_refused_identity"] = s.refused_identity;
  sensors["preload_refused_memory"] = s.refused_memory;
  sensors["preload_refused_full"] = s.refused_full;
  sensors["preload_refused_version"] = s.refused_version;
  sensors["preload_malformed_hellos"] = s.malformed_hellos;
  sensors["preload_hello_timeouts"] = s.hello_timeouts;
  uint64_t dropped = dropped_records_, malformed = records_malformed_, discarded = 0;
  for (const auto& [_, p] : processes_) {
    dropped += p.registration.ring->dropped_records();
    malformed += p.registration.ring->stats().malformed;
    discarded += p.registration.ring->stats().discarded;
  }
  sensors["preload_records_dropped"] = dropped;  // rings full: counted by the processes
  sensors["preload_records_malformed"] = malformed;
  sensors["preload_records_discarded"] = discarded;
  sensors["preload_unwatched"] = unwatched_;
  sensors["preload_env_read_records"] = env_reads_records_;
  sensors["secret_env_reads"] = env_reads_reported_;
  sensors["preload_tls_records"] = tls_records_;
  sensors["preload_tls_pending_dropped"] = pending_tls_dropped_;
  sensors["env_secret_usage_reports"] = usage_reports_;
  for (const auto& [kind, n] : errors_) (*health.mutable_agent_errors())[kind] = n;
}

}  // namespace credtrace::sensors
