// An IngestBatch validated and flattened into store rows: events plus per-batch credential/link/workload deltas.
#include "ingest/batch_rows.h"

#include <map>
#include <cstdio>
#include <tuple>

#include "common/time_util.h"

namespace credtrace::collector {
namespace {

constexpr size_t kMaxAgentId = 256;
constexpr size_t kMaxType = 64;
constexpr size_t kMaxPreview = 64;

using LinkKey = std::tuple<std::string, std::string, std::string>;  // fingerprint, kind, value
using LinkKeyView = std::tuple<std::string_view, std::string_view, std::string_view>;

// A workload's delta and the message of its latest event (encoded once, when the batch is done), and of its latest
// event that carries its TLS state (none: the batch leaves the stored state alone).
struct WorkloadAccumulator {
  WorkloadDelta delta;
  const v1::Workload* latest = nullptr;
  const v1::Workload* tls_source = nullptr;
};

// Orders link keys and their views alike (std::tuple's comparison of a string tuple with a string_view tuple does
// not compile with clang and libstdc++ in C++20): both are compared as views.
struct LinkKeyLess {
  using is_transparent = void;
  static LinkKeyView view(const LinkKey& key) { return {std::get<0>(key), std::get<1>(key), std::get<2>(key)}; }
  static const LinkKeyView& view(const LinkKeyView& key) { return key; }
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return view(a) < view(b);
  }
};

// Keyed maps with transparent lookups: a key is copied only when it is new to the batch.
struct Aggregates {
  std::map<std::string, CredentialDelta, std::less<>> credentials;
  std::map<LinkKey, LinkDelta, LinkKeyLess> links;
  std::map<std::string, WorkloadAccumulator, std::less<>> workloads;
};

bool is_hex_digit(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

Status event_error(int index, const std::string& message) {
  return Status::error("event " + std::to_string(index) + ": " + message);
}

// `changed`: validation normalised the event (agent_id filled in, fingerprint lowercased).
Status validate_event(v1::Event& event, int index, const std::string& agent_id, bool& changed) {
  if (event.type().empty() || event.type().size() > kMaxType) return event_error(index, "type must be 1-64 bytes");
  if (event.has_credential_use() && event.credential().fingerprint().empty())
    return event_error(index, "credential.fingerprint is required for a credential_use");
  if (event.agent_id().empty()) event.set_agent_id(agent_id), changed = true;
  if (event.agent_id() != agent_id) return event_error(index, "agent_id differs from the batch's agent_id");
  if (Status s = validate_nested_credentials(event, changed); !s.ok()) return event_error(index, s.message());
  if (!event.has_credential()) return {};
  auto* credential = event.mutable_credential();
  if (!credential->fingerprint().empty() && !normalize_fingerprint(*credential->mutable_fingerprint(), changed))
    return event_error(index, "credential.fingerprint must be 64 hex digits (HMAC-SHA256), never a raw value");
  if (credential->preview().size() > kMaxPreview)
    return event_error(index, "credential.preview longer than 64 bytes (previews are redacted)");
  return {};
}

// Widens [first, last] by [from, to]; true when `from` became the new first.
bool widen(int64_t& first, int64_t& last, int64_t from, int64_t to) {
  bool earlier = first == 0 || from < first;
  if (earlier) first = from;
  if (to > last) last = to;
  return earlier;
}

// Compact JSON objects with keys in a fixed (sorted) order, so equal values are equal strings (link keys).
// Written by hand: nlohmann::json here cost ~15% of ingest CPU.
void append_json_string(std::string& out, const std::string& text) {
  out += '"';
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') out += '\\', out += static_cast<char>(c);
    else if (c < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else out += static_cast<char>(c);
  }
  out += '"';
}

void append_field(std::string& out, const char* key, const std::string& text) {
  if (text.empty()) return;
  out += out.size() > 1 ? ",\"" : "\"";
  out += key;
  out += "\":";
  append_json_string(out, text);
}

std::string destination_value(const v1::Destination& d) {
  if (d.host().empty() && d.ip().empty()) return {};
  std::string out = "{";
  if (!d.host().empty()) append_field(out, "host", d.host());
  else append_field(out, "ip", d.ip());
  if (d.port() != 0) out += ",\"port\":" + std::to_string(d.port());
  out += d.tls() ? ",\"tls\":true}" : ",\"tls\":false}";
  return out;
}

std::string source_value(const v1::Source& s) {
  if (s.kind().empty() && s.name().empty() && s.path().empty()) return {};
  std::string out = "{";
  append_field(out, "key", s.key());
  append_field(out, "kind", s.kind());
  append_field(out, "name", s.name());
  append_field(out, "path", s.path());
  return out + "}";
}

struct Use {
  int64_t first_ns, last_ns, uses;
};

Use use_of(const v1::Event& event, int64_t time_ns) {
  Use use{time_ns, time_ns, 0};
  if (event.has_credential_use()) {
    const auto& cu = event.credential_use();
    use.uses = cu.count() == 0 ? 1 : static_cast<int64_t>(cu.count());
    if (cu.has_first_seen()) use.first_ns = timestamp_to_ns(cu.first_seen());
    if (cu.has_last_seen()) use.last_ns = timestamp_to_ns(cu.last_seen());
    if (use.first_ns > use.last_ns) std::swap(use.first_ns, use.last_ns);
  } else if (event.type() == "credential_use") {
    use.uses = 1;
  }
  return use;
}

void add_link(Aggregates& agg, const std::string& fp, const char* kind, const std::string& value, const Use& use,
              size_t index) {
  if (value.empty()) return;
  auto it = agg.links.find(LinkKeyView{fp, kind, value});
  if (it == agg.links.end())
    it = agg.links.emplace(LinkKey{fp, kind, value}, LinkDelta{fp, kind, value, 0, 0, 0, 0, index}).first;
  LinkDelta& link = it->second;
  if (widen(link.first_ns, link.last_ns, use.first_ns, use.last_ns)) link.first_event = index;
  link.events += 1;
  link.uses += use.uses;
}

void add_credential(Aggregates& agg, const v1::Event& event, int64_t time_ns, size_t index) {
  const auto& credential = event.credential();
  const std::string& fp = credential.fingerprint();
  Use use = use_of(event, time_ns);
  auto it = agg.credentials.find(std::string_view(fp));
  if (it == agg.credentials.end())
    it = agg.credentials.emplace(fp, CredentialDelta{fp, {}, {}, 0, 0, 0, 0, 0, index}).first;
  CredentialDelta& delta = it->second;
  if (!credential.type().empty()) delta.type = credential.type();
  if (!credential.preview().empty()) delta.preview = credential.preview();
  if (widen(delta.first_ns, delta.last_ns, use.first_ns, use.last_ns)) delta.first_event = index;
  delta.uses += use.uses;
  delta.exposures += event.type() == "secret_exposure" ? 1 : 0;
  delta.events += 1;
  add_link(agg, fp, kLinkWorkload, event.workload().id(), use, index);
  add_link(agg, fp, kLinkHost, event.host(), use, index);
  if (event.has_destination()) add_link(agg, fp, kLinkDestination, destination_value(event.destination()), use, index);
  if (event.has_source()) add_link(agg, fp, kLinkSource, source_value(event.source()), use, index);
  for (const auto& source : event.sources()) add_link(agg, fp, kLinkSource, source_value(source), use, index);
}

bool is_jwt(const v1::Credential& credential) {
  return credential.has_jwt() || credential.type().find("jwt") != std::string::npos;
}

void note_source(EventFacts& facts, const v1::Source& source) {
  if (source.kind() != "config" || facts.config_source) return;
  facts.config_source = true;
  facts.config_path = source.path();
}

EventFacts facts_of(const v1::Event& event) {
  EventFacts facts;
  facts.credential_type = event.credential().type();
  facts.jwt = is_jwt(event.credential());
  facts.jwt_ttl_seconds = event.credential().jwt().ttl_seconds();
  if (event.has_destination()) {
    const auto& d = event.destination();
    facts.has_destination = true;
    facts.dest_host = d.host().empty() ? d.sni() : d.host();
    facts.dest_ip = d.ip();
    facts.dest_port = d.port();
    facts.dest_tls = d.tls();
  }
  if (event.has_source()) note_source(facts, event.source());
  for (const auto& source : event.sources()) note_source(facts, source);
  facts.workload_names = workload_names(event.workload());
  facts.mcp = mcp_facts_of(event);
  return facts;
}

void add_workload(Aggregates& agg, const v1::Event& event, int64_t time_ns) {
  const auto& workload = event.workload();
  auto it = agg.workloads.find(std::string_view(workload.id()));
  if (it == agg.workloads.end()) it = agg.workloads.emplace(workload.id(), WorkloadAccumulator{}).first;
  WorkloadAccumulator& acc = it->second;
  WorkloadDelta& delta = acc.delta;
  if (delta.events == 0 || time_ns >= delta.last_ns) {
    delta.id = workload.id();
    delta.host = workload.host().empty() ? event.host() : workload.host();
    delta.name = workload.mcp().server_name().empty() ? workload.exe() : workload.mcp().server_name();
    acc.latest = &workload;
  }
  if (carries_tls_state(event) && (acc.tls_source == nullptr || time_ns >= delta.tls_ns)) {
    delta.tls_ns = time_ns;
    acc.tls_source = &workload;
  }
  widen(delta.first_ns, delta.last_ns, time_ns, time_ns);
  delta.events += 1;
}

// The workload's TLS state as stored: its implementations without their probe points, and its status.
void encode_tls_state(const v1::Workload& workload, WorkloadDelta& delta) {
  v1::TlsCoverage state;
  *state.mutable_tls() = workload.tls();
  for (auto& implementation : *state.mutable_tls()) implementation.clear_probes();
  // "unknown" (the agent could not examine the process) is stored as no status, like a workload never reported.
  const std::string coverage = workload.tls_coverage() == "unknown" ? std::string() : workload.tls_coverage();
  state.set_tls_coverage(coverage);
  state.SerializeToString(&delta.tls);
  delta.tls_coverage = coverage;
}

template <typename Map>
auto values_of(Map& map) {
  std::vector<typename Map::mapped_type> out;
  out.reserve(map.size());
  for (auto& [key, value] : map) out.push_back(std::move(value));
  return out;
}

std::vector<WorkloadDelta> workloads_of(Aggregates& agg) {
  std::vector<WorkloadDelta> out;
  out.reserve(agg.workloads.size());
  for (auto& [id, acc] : agg.workloads) {
    acc.latest->SerializeToString(&acc.delta.payload);
    acc.delta.names = workload_names(*acc.latest);
    if (acc.tls_source != nullptr) encode_tls_state(*acc.tls_source, acc.delta);
    out.push_back(std::move(acc.delta));
  }
  return out;
}

// The event as stored: its bytes as received when validation left it unchanged, else re-encoded.
void encode_payload(const v1::Event& event, const std::vector<std::string_view>* wire_events, int index, bool changed,
                    std::string& out) {
  if (wire_events != nullptr && !changed) out.assign((*wire_events)[static_cast<size_t>(index)]);
  else event.SerializeToString(&out);
}

}  // namespace

bool normalize_fingerprint(std::string& fingerprint, bool& changed) {
  if (fingerprint.size() != 64) return false;
  for (char& c : fingerprint) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a'), changed = true;
    if (!is_hex_digit(c)) return false;
  }
  return true;
}

bool carries_tls_state(const v1::Event& event) {
  return event.type() == "mcp_server_start" || event.type() == "tls_coverage";
}

std::vector<std::string> workload_names(const v1::Workload& w) {
  std::vector<std::string> names;
  auto add = [&](const std::string& name) {
    if (!name.empty()) names.push_back(name);
  };
  add(w.mcp().server_name());
  add(w.systemd().unit());
  add(w.systemd().user_unit());
  add(w.container().id());
  if (!w.kubernetes().pod().empty()) {
    add(w.kubernetes().namespace_() + "/" + w.kubernetes().pod());
    add(w.kubernetes().pod());
  }
  return names;
}

Status build_batch_rows(v1::IngestBatch& batch, int64_t received_ns, const BatchLimits& limits, BatchRows& out,
                        const std::vector<std::string_view>* wire_events) {
  if (batch.agent_id().empty() || batch.agent_id().size() > kMaxAgentId)
    return Status::error("agent_id must be 1-256 bytes");
  if (static_cast<size_t>(batch.events_size()) > limits.max_events)
    return Status::error("batch holds " + std::to_string(batch.events_size()) + " events, more than " +
                         std::to_string(limits.max_events));
  if (wire_events != nullptr && wire_events->size() != static_cast<size_t>(batch.events_size())) wire_events = nullptr;
  out = BatchRows{batch.agent_id(), batch.sequence(), received_ns, {}, {}, {}, {}, {}, {}};
  out.events.reserve(batch.events_size());
  Aggregates agg;
  McpRowsBuilder mcp;
  for (int i = 0; i < batch.events_size(); ++i) {
    v1::Event& event = *batch.mutable_events(i);
    bool changed = false;
    if (Status status = validate_event(event, i, batch.agent_id(), changed); !status.ok()) return status;
    int64_t time_ns = event.has_time() ? timestamp_to_ns(event.time()) : received_ns;
    EventRow& row = out.events.emplace_back(EventRow{event.type(), time_ns, event.host(), event.agent_id(),
                                                     event.workload().id(), event.credential().fingerprint(), {},
                                                     facts_of(event)});
    encode_payload(event, wire_events, i, changed, row.payload);
    if (!event.credential().fingerprint().empty()) add_credential(agg, event, time_ns, static_cast<size_t>(i));
    if (!event.workload().id().empty()) add_workload(agg, event, time_ns);
    mcp.add_event(event, static_cast<size_t>(i), time_ns);
    if (event.has_agent_health()) out.health.push_back(health_snapshot(event, time_ns));
  }
  out.credentials = values_of(agg.credentials);
  out.links = values_of(agg.links);
  out.workloads = workloads_of(agg);
  out.mcp = mcp.finish();
  return {};
}

}  // namespace credtrace::collector
