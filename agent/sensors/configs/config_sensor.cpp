// MCP client configs: where they may be, read as their owner may read them, and each hard-coded credential (or a
// reference where one would be) reported as config_exposure, its fingerprint remembered host-wide.
#include "sensors/configs/config_sensor.h"

#include <sys/stat.h>

#include <algorithm>

#include "credfiles/credential_file.h"
#include "events/credential_facts.h"
#include "mcp/client_config.h"

namespace credtrace::sensors {

namespace {

// The owner of a home or project directory, whose configs are read only if that user may read them
// (credfiles::ReadOptions::reader_uid); nullopt when the directory cannot be stat'ed (nothing is watched there).
std::optional<uid_t> directory_owner(const std::string& dir) {
  struct stat st{};
  if (::stat(dir.c_str(), &st) != 0) return std::nullopt;
  return st.st_uid;
}

// Every place an MCP client config may be (existing or not), grouped by the user they are read for: each user's
// client configs (read as that user may), and the configured paths (a directory stands for its project-level
// configs; an administrator chose them: read as the agent).
std::vector<std::pair<std::set<std::string>, std::optional<uid_t>>> config_candidates(const config::McpConfig& mcp) {
  std::vector<std::pair<std::set<std::string>, std::optional<uid_t>>> groups;
  if (mcp.scan_user_homes) {
    for (const auto& home : mcp::home_directories(mcp.passwd_file)) {
      std::optional<uid_t> owner = directory_owner(home);
      if (!owner) continue;  // no home there: nothing to read
      std::set<std::string> paths;
      for (const auto& location : mcp::user_config_locations(home)) paths.insert(location.path);
      groups.emplace_back(std::move(paths), owner);
    }
  }
  std::set<std::string> configured;
  for (const auto& path : mcp.config_paths) {
    struct stat st{};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      for (const auto& location : mcp::project_config_locations(path)) configured.insert(location.path);
    } else {
      configured.insert(path);
    }
  }
  groups.emplace_back(std::move(configured), std::nullopt);
  return groups;
}

}  // namespace

ConfigSensor::ConfigSensor(SensorContext context)
    : context_(context), scanner_(context.config.secrets.max_file_bytes) {}

void ConfigSensor::start() {
  for (const auto& [paths, reader] : config_candidates(context_.config.mcp)) watch(paths, reader);
}

void ConfigSensor::reload(const std::set<std::string>& changed_keys) {
  if (changed_keys.count("secrets.max_file_bytes")) scanner_.set_max_bytes(context_.config.secrets.max_file_bytes);
}

void ConfigSensor::poll(Clock::time_point /*now*/) { emit(scanner_.changes()); }

void ConfigSensor::on_client_project(const std::string& dir) {
  std::optional<uid_t> owner = directory_owner(dir);
  if (!owner) return;
  std::set<std::string> paths;
  for (const auto& location : mcp::project_config_locations(dir)) paths.insert(location.path);
  watch(paths, owner);
}

void ConfigSensor::watch(const std::set<std::string>& paths, std::optional<uid_t> reader_uid) {
  emit(scanner_.watch(paths, reader_uid));
}

void ConfigSensor::emit(std::vector<credfiles::FileScan> scans) {
  for (auto& scan : scans) {
    for (const auto& finding : scan.findings) emit_finding(scan, finding);
    scan.findings.clear();  // the raw values go with the findings (SecretBytes wipe themselves)
  }
}

void ConfigSensor::emit_finding(const credfiles::FileScan& scan, const credfiles::Finding& finding) {
  auto event = context_.events.make("config_exposure");
  auto* source = event.mutable_source();
  source->set_kind("config");
  source->set_path(scan.path);
  source->set_key(finding.key);
  source->set_name(finding.server);
  auto* detail = event.mutable_config_exposure();
  detail->set_client(std::string(mcp::client_name(scan.client)));
  detail->set_server_name(finding.server);
  detail->set_field(finding.key);
  detail->set_line(static_cast<uint32_t>(std::max(finding.line, 0)));
  if (!finding.is_secret()) {
    detail->set_reference(finding.reference.empty() ? "placeholder" : finding.reference);
    context_.sink.write(event);
    return;
  }
  *event.mutable_credential() =
      events::describe_credential(context_.fingerprinter, finding.value.view(), finding.type, finding.prefix_len);
  context_.registry.add_host_source(event.credential().fingerprint(), *source);
  context_.sink.write(event);
}

void ConfigSensor::report(credtrace::v1::AgentHealth& health) const {
  auto& sensors = *health.mutable_sensors();
  const auto& configs = scanner_.stats();
  sensors["mcp_configs_watched"] = configs.files_watched;
  sensors["mcp_config_scans"] = configs.scans;
  sensors["mcp_config_unchanged"] = configs.unchanged;
  sensors["mcp_config_dirs_absent"] = configs.dirs_absent;  // not installed: waited for, not a failure
  sensors["mcp_config_dirs_appeared"] = configs.dirs_appeared;
  sensors["mcp_config_watch_failures"] = configs.watch_failures;
  sensors["mcp_config_watch_overflows"] = configs.event_overflows;
  for (const auto& [error, n] : configs.errors) (*health.mutable_agent_errors())["mcp_config_" + error] = n;
}

}  // namespace credtrace::sensors
