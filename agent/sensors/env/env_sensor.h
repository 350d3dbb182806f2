// The environment sensor: the secrets in the environment of every process that joins a server's workload, read
// from the block the kernel copied at exec (whole even when the process is already gone), else /proc/PID/environ.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "secrets/env_names.h"
#include "sensors/env/env_exposure.h"
#include "sensors/env/exec_env.h"
#include "sensors/sensor.h"

namespace credtrace::sensors {

class EnvSensor final : public Sensor {
 public:
  explicit EnvSensor(SensorContext context);

  std::string_view name() const override { return "env"; }
  std::vector<uint32_t> record_kinds() const override { return {CT_EVENT_EXEC_ENV}; }
  void on_record(const void* data, size_t size) override;
  void on_joining(const process::ProcessRecord& record) override;
  void on_attributed(const process::ProcessRecord& record, const tracking::TrackedServer& server) override;
  void on_exec_handled(uint32_t pid) override { exec_envs_.drop(pid); }
  void on_exit(uint32_t pid) override;
  void on_server_forgotten(uint32_t server_pid) override { reported_.erase(server_pid); }
  void report(credtrace::v1::AgentHealth& health) const override;
  void reload(const std::set<std::string>& changed_keys) override;

 private:
  std::optional<std::vector<EnvSecret>> collect(const process::ProcessRecord& record);
  std::vector<EnvSecret> inspect(std::vector<std::pair<std::string, std::string>>& env);
  void count_error(const std::string& kind) { ++errors_[kind]; }

  SensorContext context_;
  secrets::NamePatterns names_;
  EnvExposureSensor inspector_;
  ExecEnvironments exec_envs_;  // environments the kernel read at watched execs, until handled
  std::map<uint32_t, std::vector<EnvSecret>> pending_;           // found on joining, reported once attributed
  // A fingerprint + name already exported (kept for every watched server's secrets, so compactly).
  using ReportedKey = std::pair<secrets::KeptFingerprint, std::string>;
  static ReportedKey reported_key(const EnvSecret& secret);
  std::map<uint32_t, std::set<ReportedKey>> reported_;  // server → what it exported
  std::map<std::string, uint64_t> errors_;
};

}  // namespace credtrace::sensors
