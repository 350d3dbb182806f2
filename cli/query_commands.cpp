// Query commands: build the request per command, follow next_cursor with --all, render tables or JSON.
#include "query_commands.h"

#include <algorithm>
#include <cstdio>
#include <cctype>
#include <exception>
#include <nlohmann/json.hpp>
#include <set>

#include "logging/log.h"
#include "query_client.h"
#include "scan_command.h"
#include "table.h"

namespace credtrace::cli {
namespace {

using nlohmann::json;

constexpr int kMaxPages = 100000;  // --all stops here even if a collector kept handing out cursors

// A nested field as display text: strings as is, numbers and booleans printed, anything else empty.
std::string field(const json& object, std::initializer_list<const char*> path) {
  const json* at = &object;
  for (const char* key : path) {
    if (!at->is_object()) return {};
    auto it = at->find(key);
    if (it == at->end()) return {};
    at = &*it;
  }
  if (at->is_string()) return at->get<std::string>();
  if (at->is_boolean()) return at->get<bool>() ? "true" : "false";
  if (at->is_number()) return at->dump();
  return {};
}

// "host:port": the port the bytes went to, unless the host already names one (a Host header "localhost:8443") or it
// is unknown (0).
std::string destination_text(const json& event) {
  std::string host = field(event, {"destination", "host"});
  if (host.empty()) host = field(event, {"destination", "ip"});
  if (host.empty()) return {};
  std::string port = field(event, {"destination", "port"});
  const size_t colon = host.rfind(':');
  const bool names_port = colon != std::string::npos && colon + 1 < host.size() && host.find(']', colon) == std::string::npos &&
                          host.find_first_not_of("0123456789", colon + 1) == std::string::npos &&
                          host.find(':') == colon;  // one colon: host:port (a bare IPv6 address has several)
  const bool bracketed_port = host.front() == '[' && host.find("]:") != std::string::npos;
  std::string text = port.empty() || port == "0" || names_port || bracketed_port ? host : host + ":" + port;
  if (field(event, {"destination", "tls"}) != "true") text += " (plain)";
  return text;
}

bool is_fingerprint(const std::string& text) {
  return text.size() == 64 &&
         std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

struct Listing {
  const char* path;
  const char* key;  // the array in each page
};

Listing listing_for(QueryKind kind) {
  switch (kind) {
    case QueryKind::credentials: return {"/v1/credentials", "credentials"};
    case QueryKind::uses: return {"/v1/events", "events"};
    case QueryKind::alerts: return {"/v1/alerts", "alerts"};
    case QueryKind::calls: return {"/v1/tool-calls", "tool_calls"};
    case QueryKind::workloads: return {"/v1/workloads", "workloads"};
  }
  return {"/v1/credentials", "credentials"};
}

QueryParams params_for(QueryKind kind, const QueryOptions& o) {
  std::string limit = o.limit > 0 ? std::to_string(o.limit) : "";
  switch (kind) {
    case QueryKind::credentials:
      return {{"type", o.type}, {"workload", o.workload}, {"host", o.host}, {"limit", limit}};
    case QueryKind::uses:
      return {{"type", "credential_use"}, {"workload", o.workload}, {"host", o.host}, {"fingerprint", o.fingerprint},
              {"since", o.since}, {"until", o.until}, {"limit", limit}};
    case QueryKind::alerts:
      return {{"kind", o.kind}, {"fingerprint", o.fingerprint}, {"type", o.type}, {"workload", o.workload},
              {"since", o.since}, {"limit", limit}};
    case QueryKind::calls:
      return {{"server", o.server}, {"tool", o.tool}, {"client", o.client}, {"workload", o.workload},
              {"fingerprint", o.fingerprint}, {"outcome", o.outcome}, {"since", o.since}, {"until", o.until},
              {"limit", limit}};
    case QueryKind::workloads:
      return {{"host", o.host}, {"workload", o.workload}, {"tls_coverage", o.tls_coverage}, {"limit", limit}};
  }
  return {};
}

void credentials_table(const json& items, std::ostream& out) {
  Table table({"FINGERPRINT", "TYPE", "PREVIEW", "USES", "EXPOSURES", "WORKLOADS", "HOSTS", "LAST SEEN"});
  for (const json& c : items)
    table.add_row({field(c, {"fingerprint"}), field(c, {"type"}), field(c, {"preview"}), field(c, {"counts", "uses"}),
                   field(c, {"counts", "exposures"}), field(c, {"workloads_total"}), field(c, {"hosts_total"}),
                   field(c, {"last_seen"})});
  table.write(out);
}

void uses_table(const json& items, std::ostream& out) {
  Table table({"TIME", "HOST", "WORKLOAD", "TYPE", "PREVIEW", "FINGERPRINT", "DESTINATION", "CARRIER", "COUNT"});
  for (const json& e : items) {
    std::string count = field(e, {"credential_use", "count"});
    table.add_row({field(e, {"time"}), field(e, {"host"}), field(e, {"workload", "id"}), field(e, {"credential", "type"}),
                   field(e, {"credential", "preview"}), field(e, {"credential", "fingerprint"}), destination_text(e),
                   field(e, {"request", "carrier"}), count.empty() ? "1" : count});
  }
  table.write(out);
}

// shared_key has no subject: show how widely the key is shared instead.
std::string alert_subject(const json& alert) {
  std::string subject = field(alert, {"subject"});
  if (!subject.empty() || field(alert, {"kind"}) != "shared_key") return subject;
  return field(alert, {"detail", "workloads"}) + " workloads, " + field(alert, {"detail", "hosts"}) + " hosts";
}

void alerts_table(const json& items, std::ostream& out) {
  Table table({"ID", "KIND", "TYPE", "PREVIEW", "SUBJECT", "HITS", "LAST SEEN", "FINGERPRINT"});
  for (const json& a : items)
    table.add_row({field(a, {"id"}), field(a, {"kind"}), field(a, {"credential_type"}), field(a, {"preview"}),
                   alert_subject(a), field(a, {"hits"}), field(a, {"last_seen"}), field(a, {"fingerprint"})});
  table.write(out);
}

// "tools/call echo" style: the tool when there is one, else the method.
std::string call_name(const json& call) {
  std::string tool = field(call, {"tool"});
  return tool.empty() ? field(call, {"method"}) : tool;
}

// "ok", "jsonrpc_error -32601", "no_answer (timeout)".
std::string outcome_text(const json& call) {
  std::string text = field(call, {"outcome"});
  if (std::string code = field(call, {"error_code"}); !code.empty()) text += " " + code;
  if (std::string why = field(call, {"no_answer"}); !why.empty()) text += " (" + why + ")";
  return text;
}

// Milliseconds, as a call's duration reads best.
std::string duration_text(const json& call) {
  const json* seconds = call.contains("duration_seconds") ? &call["duration_seconds"] : nullptr;
  if (!seconds || !seconds->is_number()) return {};
  char text[32];
  std::snprintf(text, sizeof text, "%.1f ms", seconds->get<double>() * 1000.0);
  return text;
}

// The credentials tied to a call: "preview (via, via?)" each ("?": an ambiguous tie); the collector sorts the ties
// by fingerprint, so those of one credential are neighbours.
std::string call_credentials_text(const json& call) {
  std::string text, last;
  if (!call.contains("credentials") || !call["credentials"].is_array()) return text;
  for (const json& c : call["credentials"]) {
    std::string via = field(c, {"via"}) + (field(c, {"ambiguous"}) == "true" ? "?" : "");
    if (field(c, {"fingerprint"}) == last) {
      text.insert(text.size() - 1, ", " + via);
      continue;
    }
    last = field(c, {"fingerprint"});
    std::string name = field(c, {"preview"});
    text += (text.empty() ? "" : ", ") + (name.empty() ? last.substr(0, 12) : name) + " (" + via + ")";
  }
  return text;
}

void calls_table(const json& items, std::ostream& out) {
  Table table({"TIME", "SERVER", "CLIENT", "TOOL", "OUTCOME", "DURATION", "CREDENTIALS", "WORKLOAD", "CALL ID"});
  for (const json& c : items)
    table.add_row({field(c, {"time"}), field(c, {"server"}), field(c, {"client"}), call_name(c), outcome_text(c),
                   duration_text(c), call_credentials_text(c), field(c, {"workload_id"}), field(c, {"call_id"})});
  table.write(out);
}

// One TLS implementation as "go crypto/tls go1.25.1 probed (preload)", "rustls not probed (unsupported: rustls)".
std::string tls_implementation_text(const json& implementation) {
  std::string text = field(implementation, {"implementation"});
  if (std::string version = field(implementation, {"version"}); !version.empty()) text += " " + version;
  text += field(implementation, {"probed"}) == "true" ? " probed" : " not probed";
  if (std::string reason = field(implementation, {"reason"}); !reason.empty()) text += " (" + reason + ")";
  return text;
}

// A workload's TLS implementations, "; "-separated (empty when none were found or it was not examined).
std::string tls_detail_text(const json& workload) {
  std::string text;
  if (!workload.contains("tls") || !workload["tls"].is_array()) return text;
  for (const json& implementation : workload["tls"])
    text += (text.empty() ? "" : "; ") + tls_implementation_text(implementation);
  return text;
}

void workloads_table(const json& items, std::ostream& out) {
  Table table({"NAME", "HOST", "TLS", "TLS DETAIL", "EVENTS", "CREDENTIALS", "LAST SEEN", "ID"});
  for (const json& w : items) {
    std::string coverage = field(w, {"tls_coverage"});
    table.add_row({field(w, {"name"}), field(w, {"host"}), coverage.empty() ? "unknown" : coverage, tls_detail_text(w),
                   field(w, {"events"}), field(w, {"credentials"}), field(w, {"last_seen"}), field(w, {"id"})});
  }
  table.write(out);
}

// The calls a credential is tied to (credential detail).
void credential_calls_table(const json& credential, std::ostream& out) {
  const json* items = credential.contains("tool_calls") ? &credential["tool_calls"] : nullptr;
  if (!items || !items->is_array() || items->empty()) return;
  out << "\ntool calls (" << field(credential, {"tool_calls_total"}) << "):\n";
  Table table({"TIME", "SERVER", "TOOL", "VIA", "OUTCOME", "WORKLOAD", "CALL ID"});
  for (const json& c : *items) {
    std::string time = field(c, {"time"});
    table.add_row({time.empty() ? field(c, {"last_seen"}) : time, field(c, {"server"}), call_name(c),
                   field(c, {"via"}) + (field(c, {"ambiguous"}) == "true" ? " (ambiguous)" : ""), outcome_text(c),
                   field(c, {"workload_id"}), field(c, {"call_id"})});
  }
  table.write(out);
}

void link_table(const json& credential, const char* kind, std::ostream& out) {
  const json* items = credential.contains(kind) ? &credential[kind] : nullptr;
  if (!items || !items->is_array() || items->empty()) return;
  out << "\n" << kind << " (" << field(credential, {(std::string(kind) + "_total").c_str()}) << "):\n";
  std::string k = kind;
  Table table({k == "sources" ? "SOURCE" : k == "workloads" ? "WORKLOAD" : k == "hosts" ? "HOST" : "DESTINATION",
               "USES", "EVENTS", "FIRST SEEN", "LAST SEEN"});
  for (const json& item : *items) {
    std::string name;
    if (k == "workloads") name = field(item, {"id"});
    else if (k == "hosts") name = field(item, {"host"});
    else if (k == "destinations") name = destination_text(json{{"destination", item}});
    else {
      name = field(item, {"kind"});
      for (const char* part : {"name", "path", "key"})
        if (std::string v = field(item, {part}); !v.empty()) name += " " + v;
    }
    table.add_row({name, field(item, {"uses"}), field(item, {"events"}), field(item, {"first_seen"}),
                   field(item, {"last_seen"})});
  }
  table.write(out);
}

void credential_detail(const json& c, std::ostream& out) {
  Table table({"FIELD", "VALUE"});
  table.add_row({"fingerprint", field(c, {"fingerprint"})});
  table.add_row({"type", field(c, {"type"})});
  table.add_row({"preview", field(c, {"preview"})});
  table.add_row({"first seen", field(c, {"first_seen"})});
  table.add_row({"last seen", field(c, {"last_seen"})});
  table.add_row({"uses", field(c, {"counts", "uses"})});
  table.add_row({"exposures", field(c, {"counts", "exposures"})});
  table.add_row({"events", field(c, {"counts", "events"})});
  table.write(out);
  for (const char* kind : {"sources", "workloads", "destinations", "hosts"}) link_table(c, kind, out);
  credential_calls_table(c, out);
}

void write_json(const json& value, std::ostream& out) {
  out << value.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
}

int fail(const std::string& message) {
  log::error(message);
  return kExitError;
}

int query(QueryKind kind, const QueryOptions& options, std::ostream& out) {
  if (options.limit < 0 || options.limit > 1000) return fail("--limit must be 1-1000");
  std::string fingerprint = lower(options.fingerprint);
  if (!fingerprint.empty() && !is_fingerprint(fingerprint))
    return fail("a fingerprint is 64 hex digits (got '" + printable(options.fingerprint) + "')");
  QueryEndpoint endpoint;
  std::string error;
  if (!resolve_endpoint(options.collector, options.token_file, options.ca_file, options.timeout_seconds, endpoint,
                        error))
    return fail(error);
  std::unique_ptr<QueryClient> client = QueryClient::create(std::move(endpoint), error);
  if (!client) return fail(error);

  if (kind == QueryKind::credentials && !fingerprint.empty()) {
    QueryReply reply = client->get("/v1/credentials/" + fingerprint, {});
    if (!reply.ok) return fail(reply.error);
    if (options.json) write_json(reply.body, out);
    else credential_detail(reply.body, out);
    out.flush();
    return kExitClean;
  }

  QueryOptions effective = options;
  effective.fingerprint = fingerprint;
  const Listing listing = listing_for(kind);
  const QueryParams base = params_for(kind, effective);
  json items = json::array();
  json next_cursor = nullptr;
  std::string cursor = options.cursor;
  std::set<std::string> seen_cursors;
  for (int page = 0; page < kMaxPages; ++page) {
    QueryParams params = base;
    params.emplace_back("cursor", cursor);
    QueryReply reply = client->get(listing.path, params);
    if (!reply.ok) return fail(reply.error);
    const json& page_items = reply.body.contains(listing.key) ? reply.body[listing.key] : json();
    if (!page_items.is_array()) return fail(std::string("the reply has no '") + listing.key + "' array");
    for (const json& item : page_items) items.push_back(item);
    next_cursor = reply.body.contains("next_cursor") ? reply.body["next_cursor"] : json(nullptr);
    if (!options.all || !next_cursor.is_string()) break;
    cursor = next_cursor.get<std::string>();
    if (!seen_cursors.insert(cursor).second) return fail("the collector repeated cursor " + cursor);
  }
  if (options.all && next_cursor.is_string()) return fail("too many pages");

  if (options.json) {
    write_json(json{{listing.key, std::move(items)}, {"next_cursor", next_cursor}}, out);
  } else {
    switch (kind) {
      case QueryKind::credentials: credentials_table(items, out); break;
      case QueryKind::uses: uses_table(items, out); break;
      case QueryKind::alerts: alerts_table(items, out); break;
      case QueryKind::calls: calls_table(items, out); break;
      case QueryKind::workloads: workloads_table(items, out); break;
    }
    if (next_cursor.is_string())
      log::info("more results: --cursor " + printable(next_cursor.get<std::string>()) + " (or --all)");
  }
  out.flush();
  return kExitClean;
}

}  // namespace

int run_query(QueryKind kind, const QueryOptions& options, std::ostream& out) {
  try {
    return query(kind, options, out);
  } catch (const std::exception& e) {
    log::error(std::string("internal error: ") + e.what());
  } catch (...) {
    log::error("internal error");
  }
  return kExitError;
}

}  // namespace credtrace::cli
