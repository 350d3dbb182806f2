// Alert rules over one event's facts (pure functions): credential rules, MCP findings, tool definition changes.
#include "alerts/alert_rules.h"

#include <arpa/inet.h>

#include <nlohmann/json.hpp>

#include "common/time_util.h"

namespace credtrace::collector {
namespace {

using nlohmann::json;

bool is_loopback_ip(std::string ip) {
  if (ip.starts_with('[') && ip.ends_with(']')) ip = ip.substr(1, ip.size() - 2);
  in_addr v4{};
  if (inet_pton(AF_INET, ip.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, ip.c_str(), &v6) != 1) return false;
  if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
  return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

bool is_localhost_name(std::string host) {
  for (auto& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (auto colon = host.rfind(':'); colon != std::string::npos && host.find(':') == colon) host.resize(colon);
  while (!host.empty() && host.back() == '.') host.pop_back();
  return host == "localhost" || host.ends_with(".localhost") || is_loopback_ip(host);
}

std::string destination_name(const EventFacts& f) { return f.dest_host.empty() ? f.dest_ip : f.dest_host; }

json destination_json(const EventFacts& f) {
  json d = json::object();
  if (!f.dest_host.empty()) d["host"] = f.dest_host;
  if (!f.dest_ip.empty()) d["ip"] = f.dest_ip;
  if (f.dest_port) d["port"] = f.dest_port;
  d["tls"] = f.dest_tls;
  return d;
}

AlertHit hit(const char* kind, const EventRow& row, size_t index, std::string subject, const json& detail) {
  return AlertHit{kind,  row.fingerprint, std::move(subject), row.facts.credential_type,
                  detail.dump(-1, ' ', false, json::error_handler_t::replace), {}, index, row.time_ns};
}

bool is_use_with_destination(const EventRow& row) {
  return row.type == "credential_use" && row.facts.has_destination && !destination_name(row.facts).empty();
}

void jwt_ttl_rule(const EventRow& row, size_t index, const AlertConfig& config, std::vector<AlertHit>& out) {
  const EventFacts& f = row.facts;
  if (config.max_jwt_ttl_seconds <= 0 || f.jwt_ttl_seconds <= config.max_jwt_ttl_seconds) return;
  out.push_back(hit(kAlertLongLivedJwt, row, index, "",
                    json{{"ttl_seconds", f.jwt_ttl_seconds}, {"limit_seconds", config.max_jwt_ttl_seconds}}));
}

void hard_coded_rule(const EventRow& row, size_t index, std::vector<AlertHit>& out) {
  bool config_exposure = row.type == "config_exposure";
  bool config_secret = row.type == "secret_exposure" && row.facts.config_source;
  if (!config_exposure && !config_secret) return;
  json detail{{"event_type", row.type}};
  if (!row.facts.config_path.empty()) detail["path"] = row.facts.config_path;
  out.push_back(hit(kAlertHardCoded, row, index, row.facts.config_path, detail));
}

void plain_http_rule(const EventRow& row, size_t index, std::vector<AlertHit>& out) {
  const EventFacts& f = row.facts;
  if (!is_use_with_destination(row) || f.dest_tls || is_loopback_destination(f.dest_host, f.dest_ip)) return;
  std::string subject = destination_name(f) + (f.dest_port ? ":" + std::to_string(f.dest_port) : "");
  out.push_back(hit(kAlertPlainHttp, row, index, subject, json{{"destination", destination_json(f)}}));
}

void allowlist_rule(const EventRow& row, size_t index, const AlertConfig& config, std::vector<AlertHit>& out) {
  if (config.allowlist.empty() || !is_use_with_destination(row)) return;
  const EventFacts& f = row.facts;
  std::string host = destination_name(f);
  AllowlistVerdict verdict = check_allowlist(config.allowlist, f.credential_type, row.workload_id, host, f.workload_names);
  if (!verdict.denied()) return;
  json lists = json::array();
  if (verdict.type_denied) lists.push_back("credential_type");
  if (verdict.workload_denied) lists.push_back("workload");
  out.push_back(hit(kAlertNotAllowed, row, index, row.workload_id + " " + host,
                    json{{"destination", destination_json(f)}, {"workload", row.workload_id}, {"denied_by", lists}}));
}

// The alert of an MCP finding: about the event's workload, with the call it names in the detail.
AlertHit mcp_hit(const char* kind, const EventRow& row, size_t index, std::string subject, json detail) {
  const McpFacts& m = row.facts.mcp;
  detail["workload"] = row.workload_id;
  if (!m.server_name.empty()) detail["server"] = m.server_name;
  if (!m.call_id.empty())
    detail["call"] = json{{"call_id", m.call_id}, {"tool", m.call_tool}, {"method", m.call_method}, {"server", m.call_server}};
  AlertHit h = hit(kind, row, index, std::move(subject), detail);
  h.workload_id = row.workload_id;
  return h;
}

// The call's server and tool as a subject ("server tool"), from the call when named, else the workload's server.
std::string call_subject(const McpFacts& m) {
  std::string server = m.call_server.empty() ? m.server_name : m.call_server;
  std::string tool = m.call_tool.empty() ? m.call_method : m.call_tool;
  return server + " " + tool;
}

void secret_in_tool_io_rule(const EventRow& row, size_t index, std::vector<AlertHit>& out) {
  if (row.type != kAlertSecretInToolIo) return;
  const McpFacts& m = row.facts.mcp;
  out.push_back(mcp_hit(kAlertSecretInToolIo, row, index, call_subject(m) + " " + m.direction,
                        json{{"direction", m.direction}, {"sender", m.sender}}));
}

void relayed_rule(const EventRow& row, size_t index, std::vector<AlertHit>& out) {
  if (row.type != kAlertCredentialRelayed) return;
  const McpFacts& m = row.facts.mcp;
  json detail{{"relay", m.relay}, {"carried_by_server", m.carried_by_server}, {"carried_by_call", m.carried_by_call}};
  if (row.facts.has_destination) detail["destination"] = destination_json(row.facts);
  out.push_back(mcp_hit(kAlertCredentialRelayed, row, index, m.carried_by_server + " -> " + m.server_name, detail));
}

void passthrough_rule(const EventRow& row, size_t index, std::vector<AlertHit>& out) {
  if (row.type != kAlertTokenPassthrough) return;
  const McpFacts& m = row.facts.mcp;
  json detail{{"received_port", m.received_port}, {"received_path", m.received_path}};
  if (row.facts.has_destination) detail["destination"] = destination_json(row.facts);
  out.push_back(mcp_hit(kAlertTokenPassthrough, row, index, row.workload_id + " " + destination_name(row.facts), detail));
}

void audience_rule(const EventRow& row, size_t index, std::vector<AlertHit>& out) {
  if (row.type != kAlertAudienceMismatch) return;
  json detail{{"aud", row.facts.mcp.aud}};
  if (row.facts.has_destination) detail["destination"] = destination_json(row.facts);
  out.push_back(mcp_hit(kAlertAudienceMismatch, row, index, destination_name(row.facts), detail));
}

void tool_changed_rule(const EventRow& row, size_t index, std::vector<AlertHit>& out) {
  const McpFacts& m = row.facts.mcp;
  if (row.type != "mcp_tool_changed" || m.tool.empty() || m.sha256.empty()) return;
  out.push_back(tool_changed_hit(ToolChangeFacts{row.workload_id, m.server_name, m.tool, m.previous_sha256, m.sha256,
                                                 m.previous_session_id, m.session_id, "agent", m.previous_seen_ns},
                                 index, row.time_ns));
}

}  // namespace

AlertHit tool_changed_hit(const ToolChangeFacts& c, size_t index, int64_t time_ns) {
  json detail{{"workload", c.workload_id},        {"server", c.server_name},
              {"tool", c.tool},                   {"previous_sha256", c.previous_sha256},
              {"sha256", c.sha256},               {"previous_session_id", c.previous_session_id},
              {"session_id", c.session_id},       {"reported_by", c.reported_by}};
  if (c.previous_seen_ns > 0) detail["previous_seen"] = ns_to_rfc3339(c.previous_seen_ns);
  // One alert per change: the agent's report and the collector's comparison of the same new definition meet here.
  return AlertHit{kAlertToolChanged, "", c.workload_id + " " + c.tool + " " + c.sha256, "",
                  detail.dump(-1, ' ', false, json::error_handler_t::replace), c.workload_id, index, time_ns};
}

bool is_loopback_destination(const std::string& host, const std::string& ip) {
  if (!ip.empty()) return is_loopback_ip(ip);
  return is_localhost_name(host);
}

bool is_long_lived(int64_t first_ns, int64_t use_ns, const AlertConfig& config) {
  return config.max_age_ns > 0 && first_ns > 0 && use_ns - first_ns > config.max_age_ns;
}

std::vector<AlertHit> event_alerts(const EventRow& row, size_t index, const AlertConfig& config) {
  std::vector<AlertHit> out;
  tool_changed_rule(row, index, out);
  if (row.fingerprint.empty()) return out;  // the other alerts are about credentials
  secret_in_tool_io_rule(row, index, out);
  relayed_rule(row, index, out);
  passthrough_rule(row, index, out);
  audience_rule(row, index, out);
  jwt_ttl_rule(row, index, config, out);
  hard_coded_rule(row, index, out);
  plain_http_rule(row, index, out);
  allowlist_rule(row, index, config, out);
  return out;
}

}  // namespace credtrace::collector
