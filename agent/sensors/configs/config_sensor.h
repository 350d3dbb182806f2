// The MCP-config sensor: every MCP client config on the host (each user's, each client project's, the configured
// paths) watched with inotify; a hard-coded credential in one is a config_exposure and a host-wide source.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "sensors/configs/config_exposure.h"
#include "sensors/sensor.h"

namespace credtrace::sensors {

class ConfigSensor final : public Sensor {
 public:
  explicit ConfigSensor(SensorContext context);

  std::string_view name() const override { return "mcp_configs"; }
  void start() override;
  void poll(Clock::time_point now) override;
  void on_client_project(const std::string& dir) override;
  void report(credtrace::v1::AgentHealth& health) const override;
  void reload(const std::set<std::string>& changed_keys) override;

 private:
  void watch(const std::set<std::string>& paths, std::optional<uid_t> reader_uid);
  void emit(std::vector<credfiles::FileScan> scans);
  void emit_finding(const credfiles::FileScan& scan, const credfiles::Finding& finding);

  SensorContext context_;
  ConfigExposureScanner scanner_;
};

}  // namespace credtrace::sensors
