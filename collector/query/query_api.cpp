// Query API (JSON): GET /v1/events, /v1/credentials[/{fingerprint}], /v1/workloads, /v1/alerts, /v1/tool-calls.
#include "query/query_api.h"

#include <google/protobuf/util/json_util.h>

#include <cctype>
#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <nlohmann/json.hpp>

#include "common/time_util.h"
#include "credtrace/v1/events.pb.h"
#include "logging/log.h"

namespace credtrace::collector {
namespace {

using nlohmann::json;

constexpr int kDefaultLimit = 100;
constexpr int kMaxLimit = 1000;
constexpr int kListLinksPerKind = 100;
constexpr int kDetailLinksPerKind = 1000;

bool is_fingerprint(const std::string& text) {
  if (text.size() != 64) return false;
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// Parsed query parameters, or the 400 that explains what is wrong with them.
struct Params {
  const HttpRequest& request;
  std::optional<HttpReply> error;

  std::string get(const std::string& name) const {
    auto it = request.query.find(name);
    return it == request.query.end() ? std::string() : it->second;
  }
  void only(std::initializer_list<const char*> allowed) {
    for (const auto& [name, value] : request.query) {
      bool known = false;
      for (const char* a : allowed) known |= name == a;
      if (!known && !error) error = error_reply(400, "unknown query parameter '" + name + "'");
    }
  }
  int limit() {
    std::string text = get("limit");
    if (text.empty()) return kDefaultLimit;
    int value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < 1 || value > kMaxLimit) {
      if (!error) error = error_reply(400, "limit must be 1-" + std::to_string(kMaxLimit));
      return kDefaultLimit;
    }
    return value;
  }
  std::optional<int64_t> time(const std::string& name) {
    std::string text = get(name);
    if (text.empty()) return std::nullopt;
    auto ns = parse_time_param(text);
    if (!ns && !error) error = error_reply(400, name + " must be RFC 3339 or Unix seconds");
    return ns;
  }
  int64_t id_cursor() {
    std::string text = get("cursor");
    if (text.empty()) return 0;
    int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value <= 0) {
      if (!error) error = error_reply(400, "bad cursor");
      return 0;
    }
    return value;
  }
  // The cursor of a listing ordered by key (credentials: a fingerprint; workloads: a workload id): empty, or a key
  // of the same shape as the ones this API hands out.
  std::string key_cursor(bool fingerprint_key) {
    std::string text = get("cursor");
    if (text.empty()) return text;
    const bool printable = text.size() <= 1024 && std::all_of(text.begin(), text.end(), [](unsigned char c) {
      return c >= 0x20 && c != 0x7f;
    });
    if ((fingerprint_key ? !is_fingerprint(text) : !printable) && !error) error = error_reply(400, "bad cursor");
    return text;
  }
  // A fingerprint filter: empty, or 64 hex digits (lowercased).
  std::string fingerprint() {
    std::string text = get("fingerprint");
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!text.empty() && !is_fingerprint(text) && !error)
      error = error_reply(400, "fingerprint must be 64 hex digits (an HMAC-SHA256 fingerprint)");
    return text;
  }
  // A TLS coverage filter: absent (or empty), or one of the statuses ("unknown" selects the workloads stored without
  // one: stored as '').
  std::optional<std::string> tls_coverage() {
    std::string text = get("tls_coverage");
    if (text.empty()) return std::nullopt;
    if (text == kTlsUnknown) return std::string();
    for (const char* status : {kTlsCovered, kTlsPartial, kTlsNotCovered, kTlsNoneFound})
      if (text == status) return text;
    if (!error)
      error = error_reply(400, "tls_coverage '" + text +
                                   "' is not one of covered, partial, not_covered, none_found, unknown");
    return std::nullopt;
  }
  // A tool-call outcome filter: empty, or one of the stored outcomes.
  std::string outcome() {
    std::string text = get("outcome");
    if (text.empty() || text == kOutcomeUnknown || known_outcome(text) == text) return text;
    if (!error) error = error_reply(400, "outcome must be one of ok, tool_error, jsonrpc_error, no_answer, unknown");
    return {};
  }
};

HttpReply json_reply(const json& body) {
  HttpReply reply;
  reply.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return reply;
}

json proto_json(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string text;
  if (!google::protobuf::util::MessageToJsonString(message, &text, options).ok()) return json::object();
  json parsed = json::parse(text, nullptr, false);
  return parsed.is_object() ? parsed : json::object();
}

json cursor_json(const std::string& cursor) { return cursor.empty() ? json(nullptr) : json(cursor); }

// A link's value as JSON: workload {"id"}, host {"host"}, destination/source: the stored object.
json link_value(const std::string& kind, const std::string& value) {
  if (kind == kLinkWorkload) return json{{"id", value}};
  if (kind == kLinkHost) return json{{"host", value}};
  json parsed = json::parse(value, nullptr, false);
  return parsed.is_object() ? parsed : json{{"value", value}};
}

const char* plural(const std::string& kind) {
  if (kind == kLinkWorkload) return "workloads";
  if (kind == kLinkHost) return "hosts";
  if (kind == kLinkDestination) return "destinations";
  if (kind == kLinkSource) return "sources";
  return nullptr;
}

json credential_json(const CredentialSummary& c) {
  json out = {{"fingerprint", c.fingerprint},
              {"type", c.type},
              {"preview", c.preview},
              {"first_seen", ns_to_rfc3339(c.first_ns)},
              {"last_seen", ns_to_rfc3339(c.last_ns)},
              {"counts", {{"uses", c.uses}, {"exposures", c.exposures}, {"events", c.events}}}};
  for (const char* kind : {kLinkSource, kLinkWorkload, kLinkDestination, kLinkHost}) {
    json items = json::array();
    int64_t total = 0;
    if (auto it = c.links.find(kind); it != c.links.end()) {
      total = it->second.total;
      for (const auto& link : it->second.items) {
        json item = link_value(kind, link.value);
        item["first_seen"] = ns_to_rfc3339(link.first_ns);
        item["last_seen"] = ns_to_rfc3339(link.last_ns);
        item["events"] = link.events;
        item["uses"] = link.uses;
        items.push_back(std::move(item));
      }
    }
    out[plural(kind)] = std::move(items);
    out[std::string(plural(kind)) + "_total"] = total;
  }
  return out;
}

double seconds_of(int64_t ns) { return static_cast<double>(ns) / 1e9; }

// A call a credential is tied to (credential detail); the call's own fields when its mcp_tool_call is stored.
json credential_call_json(const CredentialCall& c) {
  json out = {{"agent_id", c.agent_id},   {"call_id", c.call_id},
              {"via", c.via},             {"ambiguous", c.ambiguous},
              {"tool", c.tool},           {"server", c.server_name},
              {"events", c.events},       {"first_seen", ns_to_rfc3339(c.first_ns)},
              {"last_seen", ns_to_rfc3339(c.last_ns)}};
  if (!c.stored) return out;
  out["event_id"] = c.event_id, out["time"] = ns_to_rfc3339(c.time_ns), out["outcome"] = c.outcome;
  out["method"] = c.method, out["workload_id"] = c.workload_id;
  return out;
}

json credential_detail_json(const CredentialSummary& c) {
  json out = credential_json(c);
  json calls = json::array();
  for (const auto& call : c.calls) calls.push_back(credential_call_json(call));
  out["tool_calls"] = std::move(calls);
  out["tool_calls_total"] = c.calls_total;
  return out;
}

json tool_call_json(const ToolCallSummary& c) {
  json credentials = json::array();
  for (const auto& l : c.credentials)
    credentials.push_back({{"fingerprint", l.fingerprint}, {"via", l.via}, {"type", l.type}, {"preview", l.preview},
                           {"ambiguous", l.ambiguous}, {"events", l.events}});
  json out = {{"event_id", c.event_id},
              {"agent_id", c.agent_id},
              {"call_id", c.call_id},
              {"time", ns_to_rfc3339(c.time_ns)},
              {"workload_id", c.workload_id},
              {"server", c.server_name},
              {"client", c.client_name},
              {"tool", c.tool},
              {"method", c.method},
              {"transport", c.transport},
              {"session_id", c.session_id},
              {"side", c.side},
              {"requester", c.requester},
              {"outcome", c.outcome},
              {"duration_seconds", seconds_of(c.duration_ns)},
              {"request_bytes", c.request_bytes},
              {"response_bytes", c.response_bytes},
              {"credentials", std::move(credentials)}};
  if (c.has_error_code) out["error_code"] = c.error_code;
  if (!c.no_answer.empty()) out["no_answer"] = c.no_answer;
  return out;
}

// The workload's TLS implementations as stored (from its latest mcp_server_start / tls_coverage event).
json tls_json(const v1::TlsCoverage& state) {
  json out = json::array();
  for (const auto& t : state.tls())
    out.push_back({{"implementation", t.implementation()},
                   {"file", t.file()},
                   {"version", t.version()},
                   {"probed", t.probed()},
                   {"reason", t.reason()}});
  return out;
}

json workload_json(const WorkloadSummary& w) {
  v1::Workload workload;
  v1::TlsCoverage tls;
  bool parsed = workload.ParseFromString(w.payload);
  tls.ParseFromString(w.tls);  // empty (unknown) or unreadable: no implementations
  // The detail's own tls fields are a copy from whichever event came last, maybe older than the stored state: the
  // stored state replaces them, so that the item never says two things.
  *workload.mutable_tls() = tls.tls();
  workload.set_tls_coverage(w.tls_coverage);
  return {{"id", w.id},
          {"host", w.host},
          {"name", w.name},
          {"first_seen", ns_to_rfc3339(w.first_ns)},
          {"last_seen", ns_to_rfc3339(w.last_ns)},
          {"events", w.events},
          {"credentials", w.credentials},
          {"tls_coverage", w.tls_coverage.empty() ? kTlsUnknown : w.tls_coverage},
          {"tls", tls_json(tls)},
          {"workload", parsed ? proto_json(workload) : json::object()}};
}

json alert_json(const AlertSummary& a) {
  json detail = json::parse(a.detail, nullptr, false);
  json out = {{"id", a.id},
              {"kind", a.kind},
              {"fingerprint", a.fingerprint},
              {"credential_type", a.credential_type},
              {"preview", a.preview},
              {"subject", a.subject},
              {"detail", detail.is_object() ? detail : json::object()},
              {"first_seen", ns_to_rfc3339(a.first_ns)},
              {"last_seen", ns_to_rfc3339(a.last_ns)},
              {"hits", a.hits},
              {"evidence_events", a.evidence},
              {"evidence_total", a.evidence_total}};
  if (a.kind == kAlertSharedKey) out["detail"]["workloads"] = a.workloads, out["detail"]["hosts"] = a.hosts;
  if (!a.workload_id.empty()) out["workload"] = a.workload_id;
  return out;
}

// A page's items as JSON (one renderer per page: the event message is reused, parsing clears it), and the cursors:
// the page's own, or the one that continues after a given item.
struct ItemJson {
  v1::Event event;
  json operator()(const StoredEvent& stored) {
    json item = event.ParseFromString(stored.payload) ? proto_json(event) : json::object();
    item["id"] = stored.id;
    return item;
  }
  json operator()(const CredentialSummary& item) const { return credential_json(item); }
  json operator()(const WorkloadSummary& item) const { return workload_json(item); }
  json operator()(const AlertSummary& item) const { return alert_json(item); }
  json operator()(const ToolCallSummary& item) const { return tool_call_json(item); }
};
std::string dumped(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }
const std::vector<StoredEvent>& items_of(const EventPage& page) { return page.events; }
const std::vector<CredentialSummary>& items_of(const CredentialPage& page) { return page.credentials; }
const std::vector<WorkloadSummary>& items_of(const WorkloadPage& page) { return page.workloads; }
const std::vector<AlertSummary>& items_of(const AlertPage& page) { return page.alerts; }
const std::vector<ToolCallSummary>& items_of(const ToolCallPage& page) { return page.calls; }
std::string id_cursor(int64_t before_id) { return before_id ? std::to_string(before_id) : ""; }
std::string next_cursor(const EventPage& page) { return id_cursor(page.next_before_id); }
std::string next_cursor(const CredentialPage& page) { return page.next_after; }
std::string next_cursor(const WorkloadPage& page) { return page.next_after; }
std::string next_cursor(const AlertPage& page) { return id_cursor(page.next_before_id); }
std::string next_cursor(const ToolCallPage& page) { return id_cursor(page.next_before_id); }
std::string cursor_after(const StoredEvent& item) { return id_cursor(item.id); }
std::string cursor_after(const CredentialSummary& item) { return item.fingerprint; }
std::string cursor_after(const WorkloadSummary& item) { return item.id; }
std::string cursor_after(const AlertSummary& item) { return id_cursor(item.id); }
std::string cursor_after(const ToolCallSummary& item) { return id_cursor(item.event_id); }

}  // namespace

std::optional<HttpReply> QueryApi::handle(const HttpRequest& request) {
  const std::string& path = request.path;
  constexpr std::string_view kCredentialPrefix = "/v1/credentials/";
  if (path == "/v1/events") return events(request);
  if (path == "/v1/credentials") return credentials(request);
  if (path == "/v1/workloads") return workloads(request);
  if (path == "/v1/alerts") return alerts(request);
  if (path == "/v1/tool-calls") return tool_calls(request);
  if (path.starts_with(kCredentialPrefix)) return credential(path.substr(kCredentialPrefix.size()));
  return std::nullopt;
}

HttpReply QueryApi::store_failed(const Status& status) {
  metrics_.query(false);
  log::error("query failed: " + status.message());
  return error_reply(503, "storage failed: " + status.message());
}

template <typename Page, typename Read>
HttpReply QueryApi::listing(const char* key, Read read) {
  Page page;
  if (Status s = read(page); !s.ok()) return store_failed(s);
  metrics_.query(true);
  // Each item is serialized once, into the answer; the answer is what json_reply({key: items, "next_cursor": c})
  // prints (an object's keys in order).
  const auto& items = items_of(page);
  ItemJson render;
  std::string array = "[";
  std::string cursor = next_cursor(page);
  for (size_t i = 0; i < items.size(); ++i) {
    std::string item = dumped(render(items[i]));
    if (i > 0 && array.size() + item.size() + 1 > max_answer_bytes_) {  // the rest comes with the next page
      cursor = cursor_after(items[i - 1]);
      break;
    }
    if (i > 0) array += ',';
    array += item;
  }
  array += ']';
  const std::string items_member = dumped(json(key)) + ":" + array;
  const std::string cursor_member = "\"next_cursor\":" + dumped(cursor_json(cursor));
  HttpReply reply;
  reply.body = std::string(key) < "next_cursor" ? "{" + items_member + "," + cursor_member + "}"
                                                 : "{" + cursor_member + "," + items_member + "}";
  return reply;
}

HttpReply QueryApi::events(const HttpRequest& request) {
  Params p{request, std::nullopt};
  p.only({"type", "workload", "host", "fingerprint", "since", "until", "limit", "cursor"});
  EventFilter filter{p.get("type"), p.get("workload"), p.get("host"), p.get("fingerprint"),
                     p.time("since"), p.time("until"), p.id_cursor(), p.limit()};
  if (p.error) return *p.error;
  return listing<EventPage>("events", [&](EventPage& page) { return store_.events(filter, page); });
}

HttpReply QueryApi::credentials(const HttpRequest& request) {
  Params p{request, std::nullopt};
  p.only({"type", "workload", "host", "limit", "cursor"});
  CredentialFilter filter{p.get("type"), p.get("workload"), p.get("host"), p.key_cursor(true), p.limit(),
                          kListLinksPerKind};
  if (p.error) return *p.error;
  return listing<CredentialPage>("credentials", [&](CredentialPage& page) { return store_.credentials(filter, page); });
}

HttpReply QueryApi::credential(const std::string& fingerprint) {
  if (!is_fingerprint(fingerprint)) return error_reply(400, "a fingerprint is 64 lowercase hex digits");
  std::optional<CredentialSummary> found;
  if (Status s = store_.credential(fingerprint, kDetailLinksPerKind, found); !s.ok()) return store_failed(s);
  metrics_.query(true);
  if (!found) return error_reply(404, "no credential with fingerprint " + fingerprint);
  return json_reply(credential_detail_json(*found));
}

HttpReply QueryApi::workloads(const HttpRequest& request) {
  Params p{request, std::nullopt};
  p.only({"host", "workload", "tls_coverage", "limit", "cursor"});
  WorkloadFilter filter{p.get("host"), p.get("workload"), p.key_cursor(false), p.limit(), p.tls_coverage()};
  if (p.error) return *p.error;
  return listing<WorkloadPage>("workloads", [&](WorkloadPage& page) { return store_.workloads(filter, page); });
}

HttpReply QueryApi::alerts(const HttpRequest& request) {
  Params p{request, std::nullopt};
  p.only({"kind", "fingerprint", "type", "workload", "since", "limit", "cursor"});
  AlertFilter filter{p.get("kind"), p.get("fingerprint"), p.get("type"), p.get("workload"), p.time("since"),
                     p.id_cursor(), p.limit()};
  if (p.error) return *p.error;
  return listing<AlertPage>("alerts", [&](AlertPage& page) { return store_.alerts(filter, page); });
}

HttpReply QueryApi::tool_calls(const HttpRequest& request) {
  Params p{request, std::nullopt};
  p.only({"server", "tool", "client", "workload", "fingerprint", "outcome", "since", "until", "limit", "cursor"});
  ToolCallFilter filter{p.get("server"), p.get("tool"),   p.get("client"),  p.get("workload"), p.fingerprint(),
                        p.outcome(),     p.time("since"), p.time("until"), p.id_cursor(),     p.limit()};
  if (p.error) return *p.error;
  return listing<ToolCallPage>("tool_calls", [&](ToolCallPage& page) { return store_.tool_calls(filter, page); });
}

}  // namespace credtrace::collector
