// credtrace events as OpenTelemetry log records (OTLP/HTTP JSON): resource grouping, attributes, severity, body.
#include "otlp/otlp_log_records.h"

#include <google/protobuf/util/json_util.h>

#include <map>
#include <nlohmann/json.hpp>

namespace credtrace::otlp {
namespace {

using nlohmann::json;
using credtrace::v1::Event;

// OTLP's AnyValue: strings, integers (as decimal strings, as OTLP/JSON encodes 64-bit numbers), booleans, arrays.
class Attributes {
 public:
  void text(const char* key, const std::string& value) {
    if (!value.empty()) list_.push_back({{"key", key}, {"value", {{"stringValue", value}}}});
  }
  void integer(const char* key, int64_t value, bool keep_zero = false) {
    if (value != 0 || keep_zero) list_.push_back({{"key", key}, {"value", {{"intValue", std::to_string(value)}}}});
  }
  void flag(const char* key, bool value) {
    if (value) list_.push_back({{"key", key}, {"value", {{"boolValue", true}}}});
  }
  void real(const char* key, double value) {
    if (value != 0) list_.push_back({{"key", key}, {"value", {{"doubleValue", value}}}});
  }
  void texts(const char* key, const std::vector<std::string>& values) {
    if (values.empty()) return;
    json items = json::array();
    for (const auto& v : values) items.push_back({{"stringValue", v}});
    list_.push_back({{"key", key}, {"value", {{"arrayValue", {{"values", items}}}}}});
  }
  json take() { return std::move(list_); }

 private:
  json list_ = json::array();
};

int64_t unix_nanos(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1'000'000'000LL + t.nanos();
}

std::string source_text(const credtrace::v1::Source& s) {
  std::string where = !s.name().empty() ? s.name() : !s.path().empty() ? s.path() : s.key();
  if (!s.path().empty() && !s.key().empty()) where = s.path() + "#" + s.key();
  return s.kind() + (where.empty() ? "" : ":" + where);
}

// network.transport of an MCP transport: stdio is a pipe, the HTTP transports run over TCP.
std::string network_transport(const std::string& mcp_transport) {
  if (mcp_transport == "stdio") return "pipe";
  if (mcp_transport == "http" || mcp_transport == "sse") return "tcp";
  return "";
}

void add_workload(Attributes& a, const Event& e) {
  if (!e.has_workload()) return;
  const auto& w = e.workload();
  a.text("credtrace.workload.id", w.id());
  a.text("credtrace.mcp.server.name", w.mcp().server_name());
  a.text("credtrace.mcp.client", w.mcp().client());
  a.text("credtrace.systemd.unit", w.systemd().unit());
  a.text("credtrace.workload.tls_coverage", w.tls_coverage());
}

void add_process(Attributes& a, const Event& e) {
  if (!e.has_process()) return;
  a.integer("process.pid", e.process().pid());
  a.integer("process.parent_pid", e.process().ppid());
  a.text("process.executable.path", e.process().exe());
  a.text("process.owner", e.process().user());
}

void add_credential(Attributes& a, const Event& e) {
  if (!e.has_credential()) return;
  a.text("credtrace.credential.type", e.credential().type());
  a.text("credtrace.credential.fingerprint", e.credential().fingerprint());
  a.text("credtrace.credential.preview", e.credential().preview());
}

void add_sources(Attributes& a, const Event& e) {
  if (e.has_source()) a.text("credtrace.source", source_text(e.source()));
  std::vector<std::string> sources;
  for (const auto& s : e.sources()) sources.push_back(source_text(s));
  a.texts("credtrace.sources", sources);
}

// server.address is a name or address alone: a Host header's ":port" (and an IPv6 literal's brackets) are not part of
// it.
std::string address_without_port(const std::string& host) {
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    return close == std::string::npos ? host : host.substr(1, close - 1);
  }
  const size_t colon = host.find(':');
  if (colon == std::string::npos || host.find(':', colon + 1) != std::string::npos) return host;  // bare IPv6
  const std::string port = host.substr(colon + 1);
  const bool digits = !port.empty() && port.find_first_not_of("0123456789") == std::string::npos;
  return digits ? host.substr(0, colon) : host;
}

void add_destination(Attributes& a, const credtrace::v1::Destination& d) {
  a.text("server.address", address_without_port(d.host()));
  a.integer("server.port", d.port() ? d.port() : d.host_port());
  a.text("network.peer.address", d.ip());
  a.text("tls.client.server_name", d.sni());
  a.text("credtrace.destination.address_source", d.address_source());
}

void add_request(Attributes& a, const credtrace::v1::Request& r) {
  a.text("http.request.method", r.method());
  a.text("url.path", r.path());
  if (!r.protocol().empty()) {
    a.text("network.protocol.name", "http");
    a.text("network.protocol.version", r.protocol() == "h2" ? "2" : r.protocol() == "http/1.1" ? "1.1" : r.protocol());
  }
  a.text("credtrace.request.carrier", r.carrier());
  a.text("credtrace.request.scheme", r.scheme());
}

void add_tool_call_link(Attributes& a, const Event& e) {
  if (!e.has_tool_call()) return;
  const auto& link = e.tool_call();
  if (link.has_call()) {
    a.text("mcp.method.name", link.call().method());
    a.text("gen_ai.tool.name", link.call().tool());
    a.text("jsonrpc.request.id", link.call().jsonrpc_id());
    a.text("credtrace.tool_call.id", link.call().call_id());
    a.text("credtrace.tool_call.server", link.call().server_name());
  }
  a.flag("credtrace.tool_call.ambiguous", link.ambiguous());
}

void add_mcp_detail(Attributes& a, const Event& e) {
  if (e.has_mcp_tool_call()) {
    const auto& c = e.mcp_tool_call();
    a.text("mcp.method.name", c.method());
    a.text("gen_ai.tool.name", c.tool());
    a.text("jsonrpc.request.id", c.jsonrpc_id());
    a.text("mcp.session.id", c.session_id());
    a.text("mcp.protocol.version", c.protocol_version());
    a.text("network.transport", network_transport(c.transport()));
    a.text("credtrace.tool_call.id", c.call_id());
    a.text("credtrace.tool_call.outcome", c.outcome());
    if (c.outcome() != "ok") a.text("error.type", c.outcome());
    if (c.has_error_code()) a.integer("rpc.jsonrpc.error_code", c.error_code(), true);
    a.real("credtrace.tool_call.duration_seconds", c.duration_seconds());
    a.text("credtrace.mcp.client.name", c.client_name());
    a.text("credtrace.mcp.server.info_name", c.server_name());
    a.integer("credtrace.tool_call.downstream", c.downstream_size());
  }
  if (e.has_mcp_session()) {
    a.text("mcp.session.id", e.mcp_session().session_id());
    a.text("mcp.protocol.version", e.mcp_session().protocol_version());
    a.text("network.transport", network_transport(e.mcp_session().transport()));
  }
  if (e.has_credential_use()) {
    a.integer("credtrace.use.count", static_cast<int64_t>(e.credential_use().count()));
    a.text("credtrace.use.sensor", e.credential_use().sensor());
  }
}

json record_attributes(const Event& e) {
  Attributes a;
  a.text("credtrace.agent.id", e.agent_id());
  add_workload(a, e);
  add_process(a, e);
  add_credential(a, e);
  add_sources(a, e);
  if (e.has_destination()) add_destination(a, e.destination());
  if (e.has_request()) add_request(a, e.request());
  add_tool_call_link(a, e);
  add_mcp_detail(a, e);
  return a.take();
}

// What sets an event's resource apart: its host and, when known, its pod and container.
json resource_attributes(const Event& e, const OtlpResource& r) {
  Attributes a;
  a.text("service.name", r.service_name);
  a.text("service.version", r.service_version);
  a.text("service.instance.id", r.service_instance_id);
  a.text("host.name", e.host());
  if (e.has_workload()) {
    const auto& k = e.workload().kubernetes();
    a.text("k8s.namespace.name", k.namespace_());
    a.text("k8s.pod.name", k.pod());
    a.text("k8s.pod.uid", k.pod_uid());
    a.text("k8s.container.name", k.container());
    a.text("container.id", e.workload().container().id());
    a.text("container.runtime.name", e.workload().container().runtime());
  }
  return a.take();
}

std::string event_json(const Event& e) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(e, &out, options).ok()) return "{}";
  return out;
}

json log_record(const Event& e) {
  const int severity = severity_number(e.type());
  json record = {
      {"timeUnixNano", std::to_string(e.has_time() ? unix_nanos(e.time()) : 0)},
      {"severityNumber", severity},
      {"severityText", severity_text(severity)},
      {"eventName", "credtrace." + e.type()},
      {"body", {{"stringValue", event_json(e)}}},
      {"attributes", record_attributes(e)},
  };
  return record;
}

}  // namespace

int severity_number(const std::string& type) {
  if (type == "token_passthrough" || type == "audience_mismatch" || type == "credential_relayed" ||
      type == "secret_in_tool_io" || type == "mcp_tool_changed")
    return 13;  // WARN
  if (type == "agent_health") return 5;  // DEBUG
  return 9;  // INFO
}

const char* severity_text(int severity_number) {
  if (severity_number >= 13) return "WARN";
  if (severity_number >= 9) return "INFO";
  return "DEBUG";
}

std::string logs_request_json(const std::vector<Event>& events, const OtlpResource& resource) {
  std::map<std::string, size_t> index_of;  // resource attributes (as text) -> its ResourceLogs
  json resource_logs = json::array();
  for (const Event& e : events) {
    json attributes = resource_attributes(e, resource);
    const std::string key = attributes.dump();
    auto [it, fresh] = index_of.emplace(key, resource_logs.size());
    if (fresh) {
      resource_logs.push_back({{"resource", {{"attributes", std::move(attributes)}}},
                               {"scopeLogs", json::array({{{"scope", {{"name", "credtrace"}, {"version", resource.service_version}}},
                                                           {"logRecords", json::array()}}})}});
    }
    resource_logs[it->second]["scopeLogs"][0]["logRecords"].push_back(log_record(e));
  }
  return json{{"resourceLogs", std::move(resource_logs)}}.dump();
}

}  // namespace credtrace::otlp
