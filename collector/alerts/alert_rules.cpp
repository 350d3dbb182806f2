// Alert rules over one event's facts (pure functions): long-lived JWT, hard-coded, plain HTTP, not allow-listed.
#include "alerts/alert_rules.h"

#include <arpa/inet.h>

#include <nlohmann/json.hpp>

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
  return AlertHit{kind, row.fingerprint, std::move(subject), row.facts.credential_type,
                  detail.dump(-1, ' ', false, json::error_handler_t::replace), index, row.time_ns};
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

}  // namespace

bool is_loopback_destination(const std::string& host, const std::string& ip) {
  if (!ip.empty()) return is_loopback_ip(ip);
  return is_localhost_name(host);
}

bool is_long_lived(int64_t first_ns, int64_t use_ns, const AlertConfig& config) {
  return config.max_age_ns > 0 && first_ns > 0 && use_ns - first_ns > config.max_age_ns;
}

std::vector<AlertHit> event_alerts(const EventRow& row, size_t index, const AlertConfig& config) {
  std::vector<AlertHit> out;
  if (row.fingerprint.empty()) return out;  // alerts are about credentials
  jwt_ttl_rule(row, index, config, out);
  hard_coded_rule(row, index, out);
  plain_http_rule(row, index, out);
  allowlist_rule(row, index, config, out);
  return out;
}

}  // namespace credtrace::collector
