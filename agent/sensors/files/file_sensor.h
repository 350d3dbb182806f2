// The credential-file sensor: files a workload process opens whose path is a credential location (~/.aws/
// credentials, .env, …) are read in that process's root and reported as secret_read, one per credential.
#pragma once

#include <memory>

#include "sensors/files/file_reads.h"
#include "sensors/sensor.h"

namespace credtrace::sensors {

class FileSensor final : public Sensor {
 public:
  explicit FileSensor(SensorContext context);

  std::string_view name() const override { return "files"; }
  std::vector<uint32_t> record_kinds() const override { return {CT_EVENT_FILE_OPEN}; }
  void on_record(const void* data, size_t size) override;
  void on_watch_set(uint32_t pid) override { reads_.on_watched(pid); }  // its root stays readable after it exits
  void on_exit(uint32_t pid) override { reads_.on_exit(pid); }
  void poll(Clock::time_point now) override;
  void report(credtrace::v1::AgentHealth& health) const override;
  void reload(const std::set<std::string>& changed_keys) override;

 private:
  void emit(FileRead& read, const process::ProcessRecord& record, const tracking::TrackedServer& server);

  SensorContext context_;
  FileReadSensor reads_;
  Clock::time_point last_expiry_{};
  uint64_t without_secrets_ = 0;  // credential-path files read without error, holding no credential
};

}  // namespace credtrace::sensors
