// TLS coverage in events: mcp_server_start's list, tls_coverage on changes, the per-server union in its Workload.
#include "sensors/tls/tls_coverage_report.h"

namespace credtrace::sensors {
namespace {

std::string signature_of(const std::vector<TlsCoverageEntry>& entries) {
  std::string out;
  for (const auto& e : entries) {
    out += e.implementation + '\x1f' + e.file + '\x1f' + (e.probed ? "1" : "0") + '\x1f' + e.reason + '\x1f' +
           std::to_string(e.probes.size()) + '\x1e';
  }
  return out;
}

void fill(google::protobuf::RepeatedPtrField<credtrace::v1::TlsImplementation>& out,
          const std::vector<TlsCoverageEntry>& entries) {
  for (const auto& entry : entries) *out.Add() = to_proto(entry, true);
}

std::string union_summary(const std::map<std::pair<std::string, std::string>, credtrace::v1::TlsImplementation>& all) {
  std::vector<TlsCoverageEntry> entries;
  for (const auto& [key, tls] : all) entries.push_back({tls.implementation(), tls.file(), "", tls.probed(), "", {}});
  return tls_coverage_summary(entries);
}

constexpr const char* kUnknown = "unknown";

}  // namespace

credtrace::v1::TlsImplementation to_proto(const TlsCoverageEntry& entry, bool with_probes) {
  credtrace::v1::TlsImplementation out;
  out.set_implementation(entry.implementation);
  out.set_file(entry.file);
  out.set_version(entry.version);
  out.set_probed(entry.probed);
  out.set_reason(entry.reason);
  if (with_probes)
    for (const auto& probe : entry.probes) out.add_probes(probe);
  return out;
}

void TlsCoverageReport::on_server_starting(uint32_t pid, tracking::TrackedServer& server,
                                           credtrace::v1::McpServerStart& start) {
  const std::vector<TlsCoverageEntry> entries = libraries_.coverage(pid);
  fill(*start.mutable_tls(), entries);
  start.set_tls_coverage(summary_of(pid, entries));
  reported_[pid] = signature_of(entries);
  by_server_.erase(pid);  // a new server instance on this pid
  merge_into_workload(pid, pid, entries, *server.workload);
}

std::string TlsCoverageReport::summary_of(uint32_t pid, const std::vector<TlsCoverageEntry>& entries) const {
  return entries.empty() && !libraries_.examined(pid) ? kUnknown : tls_coverage_summary(entries);
}

void TlsCoverageReport::check(uint32_t pid) {
  const std::vector<TlsCoverageEntry> entries = libraries_.coverage(pid);
  std::string signature = signature_of(entries);
  std::string& reported = reported_[pid];
  if (reported == signature) return;
  tracking::Attribution who = context_.tracker.attribute(pid);
  if (!who.record || !who.server) return;
  credtrace::v1::Workload* workload = context_.tracker.server_workload(who.server->pid);
  if (!workload) return;
  reported = std::move(signature);
  merge_into_workload(who.server->pid, pid, entries, *workload);
  auto event = context_.events.about("tls_coverage", context_.tracker.process_view(*who.record), *workload);
  auto* detail = event.mutable_tls_coverage();
  fill(*detail->mutable_tls(), entries);
  detail->set_tls_coverage(summary_of(pid, entries));
  context_.sink.write(event);
  ++events_;
}

// One entry per (implementation, file) over the server's processes; one not probed in any process stays not probed.
void TlsCoverageReport::merge_into_workload(uint32_t server_pid, uint32_t pid,
                                            const std::vector<TlsCoverageEntry>& entries,
                                            credtrace::v1::Workload& workload) {
  ServerTls& server = by_server_[server_pid];
  server.examined = server.examined || libraries_.examined(pid) || !entries.empty();
  auto& all = server.all;
  for (const auto& entry : entries) {
    auto [it, inserted] = all.try_emplace(Key{entry.implementation, entry.file}, to_proto(entry, false));
    if (!inserted && it->second.probed() && !entry.probed) it->second = to_proto(entry, false);
  }
  workload.clear_tls();
  for (const auto& [key, tls] : all) *workload.add_tls() = tls;
  workload.set_tls_coverage(all.empty() && !server.examined ? kUnknown : union_summary(all));
}

}  // namespace credtrace::sensors
