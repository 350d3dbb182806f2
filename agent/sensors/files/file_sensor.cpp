// Credential files opened by workload processes: matched, read, fingerprinted here, reported as secret_read and
// registered as sources of the workload's later uses. A file read without error that holds no credential (a CA
// bundle, a .env of plain settings) is only counted: it is not news.
#include "sensors/files/file_sensor.h"

#include <algorithm>

#include "credfiles/credential_file.h"
#include "events/credential_facts.h"

namespace credtrace::sensors {

namespace {

std::vector<credfiles::PathPattern> credential_path_patterns(const config::AgentConfig& config) {
  auto patterns = credfiles::default_credential_path_patterns();
  for (const auto& glob : config.secrets.extra_file_patterns)
    patterns.push_back({glob, "configured", credfiles::Format::text});
  return patterns;
}

}  // namespace

FileSensor::FileSensor(SensorContext context)
    : context_(context),
      reads_(credential_path_patterns(context.config), context.config.proc_root, context.config.secrets.max_file_bytes) {}

void FileSensor::reload(const std::set<std::string>& changed_keys) {
  if (changed_keys.count("secrets.extra_file_patterns")) reads_.set_patterns(credential_path_patterns(context_.config));
  if (changed_keys.count("secrets.max_file_bytes")) reads_.set_max_bytes(context_.config.secrets.max_file_bytes);
}

void FileSensor::on_record(const void* data, size_t /*size*/) {
  const auto& e = *static_cast<const ct_file_open_event*>(data);
  tracking::Attribution who = context_.tracker.attribute(e.hdr.tgid);
  if (!who.server) return;  // not (or no longer) attributed to a workload: nothing to link it to
  auto read = reads_.on_open(e, who.server->workload->id());
  if (read) emit(*read, *who.record, *who.server);
}

void FileSensor::emit(FileRead& read, const process::ProcessRecord& record, const tracking::TrackedServer& server) {
  credfiles::FileScan& scan = read.scan;
  if (!credfiles::worth_reporting(scan)) {
    ++without_secrets_;
    scan.findings.clear();
    return;
  }
  auto base = context_.events.about("secret_read", context_.tracker.process_view(record), *server.workload);
  base.mutable_source()->set_kind("file");
  base.mutable_source()->set_path(scan.path);
  auto* detail = base.mutable_secret_read();
  detail->set_format(std::string(credfiles::format_name(scan.format)));
  detail->set_file_kind(scan.kind);
  detail->set_error(std::string(credfiles::file_error_name(scan.error)));
  detail->set_read_delay_ms(read.read_delay_ms);
  detail->set_modified_after_open(read.modified_after_open);
  size_t secrets_found = 0;
  for (const auto& finding : scan.findings) {
    if (!finding.is_secret()) continue;
    ++secrets_found;
    auto event = base;
    event.mutable_source()->set_key(finding.key);
    event.mutable_secret_read()->set_line(static_cast<uint32_t>(std::max(finding.line, 0)));
    *event.mutable_credential() =
        events::describe_credential(context_.fingerprinter, finding.value.view(), finding.type, finding.prefix_len);
    context_.registry.add_workload_source(server.pid, event.credential().fingerprint(), event.source());
    context_.sink.write(event);
  }
  scan.findings.clear();  // the raw values go with the findings (SecretBytes wipe themselves)
  if (secrets_found == 0) context_.sink.write(base);  // unreadable or malformed: the failure is the news
}

void FileSensor::poll(Clock::time_point now) {
  if (now - last_expiry_ < std::chrono::seconds(1)) return;
  reads_.expire_roots();
  last_expiry_ = now;
}

void FileSensor::report(credtrace::v1::AgentHealth& health) const {
  auto& sensors = *health.mutable_sensors();
  const auto& files = reads_.stats();
  sensors["file_opens"] = files.opens;
  sensors["credential_files_matched"] = files.matched;
  sensors["credential_files_read"] = files.scanned;
  sensors["credential_file_repeats"] = files.repeats;
  sensors["credential_files_without_secrets"] = without_secrets_;
  sensors["credential_files_absent"] = files.not_found;
  sensors["file_paths_unresolved"] = files.unresolved;
  sensors["credential_file_roots_unavailable"] = files.root_unavailable;
  sensors["credential_files_read_after_exit"] = files.read_after_exit;
  sensors["file_roots_pinned"] = reads_.roots_pinned();
  for (const auto& [error, n] : files.errors) (*health.mutable_agent_errors())["credential_file_" + error] = n;
}

}  // namespace credtrace::sensors
