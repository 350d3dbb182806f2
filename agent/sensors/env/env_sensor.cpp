// Environment secrets of workload processes: collected when a process joins, reported as secret_exposure once it
// is attributed, each (name, credential) once per server instance; every value is wiped after inspection.
#include "sensors/env/env_sensor.h"

#include <openssl/crypto.h>

#include "identity/procfs.h"

namespace credtrace::sensors {

namespace {

void cleanse(std::vector<std::pair<std::string, std::string>>& env) {
  for (auto& [_, value] : env) OPENSSL_cleanse(value.data(), value.size());
  env.clear();
}

}  // namespace

EnvSensor::ReportedKey EnvSensor::reported_key(const EnvSecret& secret) {
  return {secrets::KeptFingerprint(secret.credential.fingerprint()), secret.name};
}

EnvSensor::EnvSensor(SensorContext context)
    : context_(context),
      names_(context.config.secrets.env_name_patterns, context.config.secrets.env_name_excludes),
      inspector_(names_, context.fingerprinter) {}

void EnvSensor::reload(const std::set<std::string>& changed_keys) {
  if (env_names_changed(changed_keys))  // in place: the inspector refers to it
    names_ = secrets::NamePatterns(context_.config.secrets.env_name_patterns, context_.config.secrets.env_name_excludes);
}

void EnvSensor::on_record(const void* data, size_t /*size*/) {
  exec_envs_.on_chunk(*static_cast<const ct_exec_env_event*>(data));
}

void EnvSensor::on_joining(const process::ProcessRecord& record) {
  auto found = collect(record);
  if (found) pending_[record.pid] = std::move(*found);
}

void EnvSensor::on_attributed(const process::ProcessRecord& record, const tracking::TrackedServer& server) {
  auto pending = pending_.find(record.pid);
  if (pending == pending_.end()) return;
  std::vector<EnvSecret> found = std::move(pending->second);
  pending_.erase(pending);
  auto& reported = reported_[server.pid];
  for (const auto& secret : found) {
    if (!reported.insert(reported_key(secret)).second) continue;
    credtrace::v1::Source source;
    source.set_kind("env");
    source.set_name(secret.name);
    context_.registry.add_workload_source(server.pid, secret.credential.fingerprint(), source);
    auto event = context_.events.about("secret_exposure", context_.tracker.process_view(record), *server.workload);
    *event.mutable_source() = source;
    *event.mutable_credential() = secret.credential;
    event.mutable_secret_exposure()->set_matched_name(secret.matched_name);
    event.mutable_secret_exposure()->set_matched_value(secret.matched_value);
    context_.sink.write(event);
  }
}

void EnvSensor::on_exit(uint32_t pid) {
  exec_envs_.drop(pid);
  pending_.erase(pid);
}

// The environment the kernel read at the exec being handled when it is whole (the process may be gone already),
// else /proc/PID/environ, else the partial block the kernel sent (counted: its last variable is left out).
std::optional<std::vector<EnvSecret>> EnvSensor::collect(const process::ProcessRecord& record) {
  std::optional<ExecEnvironments::Env> at_exec = exec_envs_.take(record.pid, record.start_boottime_ns);
  if (at_exec && at_exec->complete) return inspect(at_exec->vars);
  auto env = identity::read_environ(static_cast<int32_t>(record.pid), context_.config.proc_root);
  if (env) {
    if (at_exec) cleanse(at_exec->vars);
    return inspect(*env);
  }
  if (at_exec) {
    count_error("environ_incomplete_at_exec");
    return inspect(at_exec->vars);
  }
  count_error("environ_unreadable");
  return std::nullopt;
}

std::vector<EnvSecret> EnvSensor::inspect(std::vector<std::pair<std::string, std::string>>& env) {
  std::vector<EnvSecret> found = inspector_.inspect(env);
  cleanse(env);
  return found;
}

void EnvSensor::report(credtrace::v1::AgentHealth& health) const {
  auto& sensors = *health.mutable_sensors();
  const auto& envs = exec_envs_.stats();
  sensors["exec_environments"] = envs.blocks;
  sensors["exec_environments_used"] = envs.used;
  sensors["exec_environments_truncated"] = envs.truncated;
  sensors["exec_environment_gaps"] = envs.gaps;
  sensors["exec_environments_evicted"] = envs.evicted;
  const identity::ProcfsTruncations procfs = identity::procfs_truncations();
  sensors["procfs_cmdline_truncated"] = procfs.cmdline;
  sensors["procfs_environ_truncated"] = procfs.environ;
  for (const auto& [kind, n] : errors_) (*health.mutable_agent_errors())[kind] = n;
}

}  // namespace credtrace::sensors
