// TLS and socket records to credential_use and issued-credential events: each raw value is fingerprinted here, the
// moment the parser hands it over, and wiped; only its description goes on to the event.
#include "sensors/tls/tls_sensor.h"

#include <arpa/inet.h>
#include <google/protobuf/util/time_util.h>

#include "common/timestamp.h"
#include "common/wipe_guard.h"
#include "protocols/limit_hits.h"
#include "events/credential_facts.h"

namespace credtrace::sensors {
namespace {

// Where a use went, as credential_use, audience_mismatch and the like report it.
void fill_destination(const CredentialUse& use, credtrace::v1::Event& event) {
  auto* destination = event.mutable_destination();
  destination->set_host(use.host);
  destination->set_sni(use.sni);
  destination->set_ip(use.ip);
  destination->set_port(use.port);
  destination->set_tls(use.tls);
  destination->set_address_source(use.address_source);
  destination->set_host_port(use.host_port);
  destination->set_host_source(use.host_source);
  auto* request = event.mutable_request();
  request->set_protocol(use.protocol);
  request->set_method(use.method);
  request->set_path(use.path);
  request->set_carrier(use.credential.carrier);
  request->set_scheme(use.credential.scheme);
}

}  // namespace

namespace {

TlsLibrariesOptions libraries_options(const config::AgentConfig& config) {
  TlsLibrariesOptions options;
  options.mode = config.tls.uprobe_mode == config::TlsUprobeMode::global ? UprobeMode::global : UprobeMode::per_process;
  options.max_process_links = config.tls.max_process_links;
  options.proc_root = config.proc_root;
  return options;
}

}  // namespace

TlsSensor::TlsSensor(SensorContext context, InboundBearers* bearers, PreloadCaptures preload_captures)
    : context_(context),
      mcp_http_(context.mcp_calls, resolve_mcp_origin(context.tracker)),
      mcp_served_(context.mcp_calls, resolve_mcp_origin(context.tracker)),
      libraries_(context.uprobes, libraries_options(context.config), std::move(preload_captures)),
      coverage_(context_, libraries_),
      start_attaches_(std::chrono::milliseconds(context.config.tls.start_attach_budget_ms)),
      aggregator_(std::chrono::seconds(context.config.credential_use.aggregation_window_seconds),
                  context.config.credential_use.max_open_windows),
      use_descriptions_(context.fingerprinter),
      bearers_(bearers) {
  uses_.set_http_observers([this](uint32_t pid, bool served, std::string_view destination) {
    return observe(pid, served, destination);
  });
}

namespace {

// A stream a watched process serves over TLS: the bearer tokens its clients send are kept as fingerprints (token
// passthrough), and its MCP exchanges go to the call book.
class ServedExchanges final : public HttpExchangeObserver {
 public:
  using Note = std::function<void(const protocols::HttpRequest&)>;
  ServedExchanges(std::unique_ptr<McpHttpConnection> mcp, Note note) : mcp_(std::move(mcp)), note_(std::move(note)) {}
  void on_request(const protocols::HttpRequest& request, std::string_view raw_query, uint64_t now_ns) override {
    note_(request);
    mcp_->on_request(request, raw_query, now_ns);
  }
  bool on_response_head(const protocols::HttpResponse& head, uint64_t now_ns) override {
    return mcp_->on_response_head(head, now_ns);
  }
  void on_response_body(std::string_view bytes, bool end, bool cut, uint64_t now_ns) override {
    mcp_->on_response_body(bytes, end, cut, now_ns);
  }

 private:
  std::unique_ptr<McpHttpConnection> mcp_;
  Note note_;
};

}  // namespace

// Who follows a connection's HTTP/1.1 exchanges: MCP on the client side, or, on a stream the process serves, on the
// server side (the endpoint is the Host its clients name: a TLS server's port is not observed).
std::unique_ptr<HttpExchangeObserver> TlsSensor::observe(uint32_t pid, bool served, std::string_view destination) {
  if (!served)
    return std::make_unique<McpHttpConnection>(mcp_http_, McpHttpPeer{pid, false, 0, std::string(destination), ""});
  tracking::Attribution who = context_.tracker.attribute(pid);
  if (!who.server) return nullptr;
  const uint32_t server_pid = who.server->pid;
  auto mcp = std::make_unique<McpHttpConnection>(mcp_served_,
                                                 McpHttpPeer{pid, true, server_pid, "tls:" + std::string(destination), ""});
  return std::make_unique<ServedExchanges>(std::move(mcp), [this, server_pid](const protocols::HttpRequest& request) {
    if (bearers_) note_inbound_bearers(*bearers_, context_.fingerprinter, server_pid, request, 0, "");
  });
}

void TlsSensor::on_server_forgotten(uint32_t server_pid) {
  coverage_.forget_server(server_pid);
  if (bearers_) bearers_->forget_server(server_pid);
}

std::vector<uint32_t> TlsSensor::record_kinds() const {
  return {CT_EVENT_TLS_DATA, CT_EVENT_TLS_SNI,  CT_EVENT_SOCK_DATA, CT_EVENT_CONNECT,
          CT_EVENT_TLS_FREE, CT_EVENT_TLS_NEW, CT_EVENT_TLS_SOCKET, CT_EVENT_LIB_MAP};
}

void TlsSensor::on_record(const void* data, size_t /*size: checked by kernel::check_record*/) {
  switch (static_cast<const ct_event_header*>(data)->type) {
    case CT_EVENT_TLS_DATA: return on_tls_data(*static_cast<const ct_tls_data_event*>(data));
    case CT_EVENT_SOCK_DATA: return on_socket_data(*static_cast<const ct_tls_data_event*>(data));
    case CT_EVENT_TLS_SNI: return uses_.on_sni(*static_cast<const ct_tls_sni_event*>(data));
    case CT_EVENT_CONNECT:
      uses_.on_connect(*static_cast<const ct_connect_event*>(data));
      return link_connection(*static_cast<const ct_connect_event*>(data));
    case CT_EVENT_TLS_FREE: return on_tls_free(*static_cast<const ct_tls_free_event*>(data));
    case CT_EVENT_TLS_NEW:
      uses_.on_new(*static_cast<const ct_tls_free_event*>(data));
      return emit_uses(uses_.take_released());
    case CT_EVENT_TLS_SOCKET: return emit_uses(uses_.on_tls_socket(*static_cast<const ct_tls_socket_event*>(data)));
    case CT_EVENT_LIB_MAP: return on_lib_map(*static_cast<const ct_lib_map_event*>(data));
    default: return;
  }
}

void TlsSensor::on_joining(const process::ProcessRecord& record) {
  if (!start_attaches_.attach_now(record.pid, Clock::now())) return;  // a running process past the start budget
  libraries_.attach_for_process(record.pid, record.exec_boot_ns);
}

// Libraries mapped since (ld.so's own at start are usually covered by on_joining already: once per process and file).
void TlsSensor::on_attributed(const process::ProcessRecord& record, const tracking::TrackedServer& /*server*/) {
  if (start_attaches_.queued(record.pid)) return;  // attached (and its coverage reported) after agent_ready
  libraries_.attach_for_process(record.pid);
  coverage_.check(record.pid);
}

void TlsSensor::on_server_starting(const process::ProcessRecord& record, tracking::TrackedServer& server,
                                   credtrace::v1::McpServerStart& start) {
  coverage_.on_server_starting(record.pid, server, start);
}

// A library a watched process mapped after exec (dlopen, `import ssl`): attached for it, if it is in a workload.
void TlsSensor::on_lib_map(const ct_lib_map_event& e) {
  if (!context_.tracker.attribute(e.hdr.tgid).server) return count_error("tls_lib_map_unknown_workload");
  libraries_.attach_mapped(e.hdr.tgid, e.dev, e.inode, e.start, e.hdr.time_boot_ns);
  coverage_.check(e.hdr.tgid);
}

void TlsSensor::on_tls_data(const ct_tls_data_event& e) {
  if (e.direction == CT_TLS_READ) {
    for (auto& issued : uses_.on_read_data(e)) emit_issued(issued);
    return emit_token_exchanges(uses_.take_token_exchanges());  // answers read
  }
  emit_uses(uses_.on_data(e));
}

void TlsSensor::on_exit(uint32_t pid) {
  start_attaches_.forget(pid);
  libraries_.release_process(pid);
  coverage_.forget_process(pid);
  emit_uses(uses_.forget_process(pid));  // held uses: address unknown
  mcp_http_.forget_process(pid, common::boot_clock_ns());
}

void TlsSensor::on_socket_data(const ct_tls_data_event& e) {
  if (e.direction == CT_TLS_READ) {
    for (auto& issued : uses_.on_socket_read(e)) emit_issued(issued);
    return;
  }
  bool stop_capture = false;
  std::vector<CredentialUse> uses = uses_.on_socket_data(e, &stop_capture);
  if (stop_capture) context_.kernel.stop_socket_capture(e.hdr.tgid, static_cast<uint32_t>(e.ssl));
  emit_uses(std::move(uses));
}

void TlsSensor::on_tls_free(const ct_tls_free_event& e) {
  for (auto& issued : uses_.on_free(e)) emit_issued(issued);
  emit_uses(uses_.take_released());  // uses whose socket was never seen: address unknown
}

void TlsSensor::poll(Clock::time_point now) {
  start_attaches_.drain(now, [this](uint32_t pid) {
    if (!context_.tracker.attribute(pid).server) return;  // left its workload meanwhile
    libraries_.attach_for_process(pid);
    coverage_.check(pid);
  });
  if (now - last_expiry_ < std::chrono::seconds(1)) return;
  const uint64_t now_ns = common::boot_clock_ns();
  emit_uses(uses_.expire(now_ns));  // the ring was just drained
  mcp_http_.expire(now_ns);
  mcp_served_.expire(now_ns);
  emit_aggregated(aggregator_.expire(UseAggregator::Clock::now()));
  last_expiry_ = now;
}

void TlsSensor::stop() {
  emit_uses(uses_.expire(UINT64_MAX));  // uses still waiting for their socket: unknown
  emit_aggregated(aggregator_.flush());
}

// The raw value is described (fingerprint, preview, JWT facts) and wiped before anything else looks at the use.
credtrace::v1::Credential TlsSensor::describe_and_wipe(protocols::CarriedCredential& carried) const {
  common::WipeGuard forget(carried.value);
  return events::describe_credential(context_.fingerprinter, carried.value, carried.type, carried.prefix_len);
}

const credtrace::v1::Credential& TlsSensor::describe_use_and_wipe(protocols::CarriedCredential& carried) {
  common::WipeGuard forget(carried.value);
  return use_descriptions_.describe(carried.value, carried.type, carried.prefix_len);
}

void TlsSensor::emit_uses(std::vector<CredentialUse> uses) {
  for (auto& use : uses) emit_use(use);
  uses_.recycle(std::move(uses));
  emit_token_exchanges(uses_.take_token_exchanges());  // whatever completed them completed these too
}

void TlsSensor::emit_use(CredentialUse& use) {
  const credtrace::v1::Credential& credential = describe_use_and_wipe(use.credential);
  tracking::Attribution who = context_.tracker.attribute(use.pid);
  if (!who.record) return count_error("credential_use_unknown_process");
  if (!who.server) return count_error("credential_use_unknown_workload");
  // The process's view is built once it is needed: a repeat outside any MCP call needs none.
  std::optional<credtrace::v1::Process> process;
  auto process_view = [&]() -> const credtrace::v1::Process& {
    if (!process) process = context_.tracker.process_view(*who.record);
    return *process;
  };
  credtrace::v1::ToolCallLink link;
  if (context_.mcp_calls.wants_downstream(who.server->pid, credential.fingerprint(), made_ns(use)))
    link = link_use(use, credential, who.server->pid, process_view(), *who.server->workload);
  check_audience(credential, use, who, link);
  check_passthrough(who, credential, use, link);
  const std::string call_key = UseAggregator::call_key_of(link);
  if (aggregator_.count_repeat({.workload_id = who.server->workload->id(), .fingerprint = credential.fingerprint(),
                                .host = use.host, .ip = use.ip, .port = use.port,
                                .address_source = use.address_source, .carrier = use.credential.carrier,
                                .call_key = call_key},
                               UseAggregator::Clock::now()))
    return;  // a repeat in an open window: counted, reported when the window closes
  auto event = context_.events.about("credential_use", process_view(), *who.server->workload);
  *event.mutable_credential() = credential;
  event.mutable_credential_use()->set_sensor(use.sensor);
  if (link.has_call() || link.ambiguous()) *event.mutable_tool_call() = std::move(link);
  context_.registry.add_sources_to(who.server->pid, credential.fingerprint(), event);
  fill_destination(use, event);
  emit_aggregated(aggregator_.add(std::move(event), UseAggregator::Clock::now()));
}

// When the request was made (a use held for its socket is emitted later): the calls in flight then are its calls.
uint64_t TlsSensor::made_ns(const CredentialUse& use) { return use.time_ns ? use.time_ns : common::boot_clock_ns(); }

// The MCP calls of the use's server in flight when it was made list it, and the use names them.
credtrace::v1::ToolCallLink TlsSensor::link_use(const CredentialUse& use, const credtrace::v1::Credential& credential,
                                                uint32_t server_pid, const credtrace::v1::Process& process,
                                                const credtrace::v1::Workload& workload) {
  credtrace::v1::Event described;  // the same destination and request a credential_use carries
  fill_destination(use, described);
  credtrace::v1::Downstream downstream;
  *downstream.mutable_credential() = credential;
  *downstream.mutable_destination() = std::move(*described.mutable_destination());
  *downstream.mutable_request() = std::move(*described.mutable_request());
  downstream.set_pid(use.pid);
  *downstream.mutable_time() = common::now_timestamp();
  return context_.mcp_calls.link_downstream(server_pid, downstream, made_ns(use), &process, &workload);
}

// A connection a server (or a descendant) opened while one of its MCP calls was in flight: the call lists it.
void TlsSensor::link_connection(const ct_connect_event& e) {
  if (e.hdr.flags & CT_FLAG_PEER) return;  // an older socket's peer, read at pairing: not opened during the call
  tracking::Attribution who = context_.tracker.attribute(e.hdr.tgid);
  if (!who.server) return;
  char text[INET6_ADDRSTRLEN] = {};
  if (!inet_ntop(e.family == AF_INET6 ? AF_INET6 : AF_INET, e.addr, text, sizeof(text))) return;
  credtrace::v1::Downstream downstream;
  auto* destination = downstream.mutable_destination();
  destination->set_ip(text);
  destination->set_port(e.port);
  destination->set_host(text);
  destination->set_host_source(kHostFromIp);
  destination->set_address_source(kAddressFromConnect);
  downstream.set_pid(e.hdr.tgid);
  *downstream.mutable_time() = common::now_timestamp();
  context_.mcp_calls.link_downstream(who.server->pid, downstream, e.hdr.time_boot_ns);
}

// A bearer token an HTTP MCP server on this host received from its client, now sent by that server (or a descendant)
// to another destination: token passthrough, reported once per (server, token, destination).
void TlsSensor::check_passthrough(const tracking::Attribution& who, const credtrace::v1::Credential& credential,
                                  const CredentialUse& use, const credtrace::v1::ToolCallLink& link) {
  if (!bearers_) return;
  std::optional<InboundBearer> received = bearers_->inbound_bearer(who.server->pid, credential.fingerprint());
  if (!received) return;
  const std::string once = std::to_string(who.server->pid) + "\x1f" + credential.fingerprint() + "\x1f" + use.host;
  if (passthroughs_reported_.size() >= 65536) passthroughs_reported_.clear();
  if (!passthroughs_reported_.insert(once).second) return;
  ++passthroughs_;
  auto event =
      context_.events.about("token_passthrough", context_.tracker.process_view(*who.record), *who.server->workload);
  *event.mutable_credential() = credential;
  fill_destination(use, event);
  if (link.has_call() || link.ambiguous()) *event.mutable_tool_call() = link;
  auto* detail = event.mutable_token_passthrough();
  detail->set_received_carrier(received->carrier);
  detail->set_received_port(received->port);
  detail->set_received_path(received->path);
  detail->set_received_from_ip(received->from_ip);
  *detail->mutable_received_at() = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(received->unix_ns);
  context_.sink.write(event);
}

// A server handed the workload a credential (a token endpoint's response): it becomes one of the credential's
// sources, so its later uses name where it came from, and is reported as an exposure of kind http_response.
void TlsSensor::emit_issued(IssuedCredential& issued) {
  const credtrace::v1::Credential credential = describe_and_wipe(issued.credential);
  tracking::Attribution who = context_.tracker.attribute(issued.pid);
  if (!who.server) return count_error("issued_credential_unknown_workload");
  credtrace::v1::Source source;
  source.set_kind("http_response");
  source.set_name(issued.credential.carrier);
  source.set_path((issued.tls ? "https://" : "http://") + issued.host + issued.path);
  // A token endpoint that hands out the same token again: one source, one report.
  if (!context_.registry.add_workload_source(who.server->pid, credential.fingerprint(), source)) return;
  auto event = context_.events.about("secret_exposure", context_.tracker.process_view(*who.record), *who.server->workload);
  *event.mutable_source() = source;
  *event.mutable_credential() = credential;
  event.mutable_secret_exposure()->set_matched_value(true);
  context_.sink.write(event);
}

// A JWT presented in a header (Authorization: Bearer, an API-key header) whose aud names hosts, none of them the one
// it was sent to (sensors/tls/audience_check.h): reported once per (fingerprint, destination host). JWTs in bodies
// (a token request's subject_token or assertion) are handed over, not presented to that destination: not judged.
void TlsSensor::check_audience(const credtrace::v1::Credential& credential, const CredentialUse& use,
                               const tracking::Attribution& who, const credtrace::v1::ToolCallLink& link) {
  if (!credential.has_jwt() || credential.jwt().aud().empty()) return;
  if (!use.credential.carrier.starts_with("header:")) return;
  const std::vector<std::string> aud(credential.jwt().aud().begin(), credential.jwt().aud().end());
  std::optional<std::string> host =
      audience_.check(aud, credential.fingerprint(), use.host, use.sni, use.host_source == kHostFromIp);
  if (!host) return;
  auto event = context_.events.about("audience_mismatch", context_.tracker.process_view(*who.record), *who.server->workload);
  *event.mutable_credential() = credential;
  context_.registry.add_sources_to(who.server->pid, credential.fingerprint(), event);
  fill_destination(use, event);
  auto* mismatch = event.mutable_audience_mismatch();
  for (const auto& value : aud) mismatch->add_aud(value);
  mismatch->set_destination_host(*host);
  if (link.has_call() || link.ambiguous()) *event.mutable_tool_call() = link;
  context_.sink.write(event);
}

void TlsSensor::emit_token_exchanges(std::vector<ObservedTokenExchange> exchanges) {
  for (auto& exchange : exchanges) emit_token_exchange(exchange);
}

// A token request and its answer: the tokens it issued become sources of their later uses by the same workload.
void TlsSensor::emit_token_exchange(ObservedTokenExchange& exchange) {
  tracking::Attribution who = context_.tracker.attribute(exchange.pid);
  if (!who.record || !who.server) return count_error("token_exchange_unknown_workload");  // raw values: wiped
  auto event = context_.events.about("token_exchange", context_.tracker.process_view(*who.record), *who.server->workload);
  const std::vector<credtrace::v1::Credential> issued = describe_exchange(exchange, context_.fingerprinter, event);
  const credtrace::v1::Source source = token_exchange_source(event);
  for (const auto& credential : issued) {
    context_.registry.add_workload_source(who.server->pid, credential.fingerprint(), source);
  }
  context_.sink.write(event);
}

void TlsSensor::emit_aggregated(std::vector<credtrace::v1::Event> events) {
  for (auto& event : events) {
    *event.mutable_time() = common::now_timestamp();
    context_.sink.write(event);
  }
}

void TlsSensor::reload(const std::set<std::string>& changed_keys) {
  if (changed_keys.count("credential_use.aggregation_window_seconds"))
    aggregator_.set_window(std::chrono::seconds(context_.config.credential_use.aggregation_window_seconds));
}

void TlsSensor::report(credtrace::v1::AgentHealth& health) const {
  auto& sensors = *health.mutable_sensors();
  const auto& tls = uses_.stats();
  sensors["tls_streams"] = tls.streams;
  sensors["tls_coverage_events"] = coverage_.events();
  sensors["tls_start_attach_deferred"] = start_attaches_.deferred();  // running at start, past the start budget
  sensors["tls_start_attach_pending"] = start_attaches_.pending();
  sensors["tls_start_attach_drain_ms"] = static_cast<uint64_t>(start_attaches_.drain_time().count());
  sensors["http1_requests"] = tls.requests;  // over TLS and plain sockets
  sensors["tls_capture_gaps"] = tls.gaps;
  sensors["tls_unparsed_streams"] = tls.unsupported;
  sensors["h2_connections"] = tls.h2_streams;
  sensors["h2_connections_broken"] = tls.h2_broken;
  sensors["sockets_not_http"] = tls.sockets_not_http;
  sensors["tls_streams_evicted"] = tls.streams_dropped;
  sensors["tls_streams_expired"] = tls.streams_expired;  // idle for CredentialUseSensor::kIdleNs
  sensors["tls_truncated_calls"] = tls.truncated_calls;  // writes longer than the kernel copies
  sensors["tls_write_retries"] = tls.write_retries;      // SSL_write repeated after WANT_READ/WRITE: not a request
  sensors["tls_streams_paired"] = tls.tls_streams_paired;
  sensors["tls_socket_not_connected"] = tls.tls_socket_not_connected;
  sensors["tls_client_hello_names"] = tls.client_hello_names;
  sensors["tls_pairing_conflicts"] = tls.tls_pairing_conflicts;
  sensors["destinations_unknown"] = tls.destinations_unknown;
  sensors["http1_responses"] = tls.responses;
  const protocols::LimitHits& limits = protocols::limit_hits();  // every stream's parsers, not only TLS ones
  sensors["http1_header_blocks_oversized"] = limits.http1_header_blocks.load(std::memory_order_relaxed);
  sensors["h2_header_blocks_oversized"] = limits.http2_header_blocks.load(std::memory_order_relaxed);
  sensors["h2_header_lists_oversized"] = limits.http2_header_lists.load(std::memory_order_relaxed);
  sensors["tls_read_gaps"] = tls.read_gaps;
  sensors["tls_reads_unparsed"] = tls.reads_unparsed;
  mcp_http_.report(health, "mcp_http_client_");
  mcp_served_.report(health, "mcp_https_server_");
  sensors["tls_served_requests"] = tls.served_requests;
  sensors["token_passthroughs"] = passthroughs_;
  sensors["tls_credential_descriptions_emptied"] = use_descriptions_.emptied();  // full: described anew from then
  sensors["tls_uprobes_attached"] = context_.uprobes.uprobes_attached();
  sensors["tls_attach_failures"] = libraries_.failures();
  const TlsAttachStats& attach = libraries_.stats();
  sensors["tls_uprobe_processes"] = libraries_.processes_with_links();  // per_process: holding links now
  sensors["tls_uprobe_process_links"] = libraries_.process_links();
  sensors["tls_uprobe_processes_attached"] = attach.processes_attached;
  sensors["tls_uprobe_processes_released"] = attach.processes_released;
  sensors["tls_uprobe_links_refused"] = attach.links_refused;  // tls.max_process_links reached
  sensors["tls_libraries_mapped"] = attach.libraries_mapped;
  sensors["tls_files_planned"] = attach.files_planned;
  sensors["tls_attach_latency_samples"] = attach.latency_samples;  // exec or library map → links created
  sensors["tls_attach_latency_us_max"] = attach.latency_us_max;
  sensors["tls_attach_latency_us_mean"] =
      attach.latency_samples ? attach.latency_us_total / attach.latency_samples : 0;
  sensors["credential_use_unaggregated"] = aggregator_.unaggregated();
  sensors["credential_use_open_windows"] = aggregator_.open_windows();
  const auto& tokens = uses_.token_stats();
  sensors["token_requests"] = tokens.requests;
  sensors["token_requests_answered"] = tokens.answered;
  sensors["token_requests_unanswered"] = tokens.unanswered;
  sensors["token_requests_unparsed"] = tokens.requests_unparsed;
  sensors["token_answers_unparsed"] = tokens.answers_unparsed;
  sensors["token_requests_h2_unread"] = tokens.h2_form_bodies_unread;
  const auto& audience = audience_.stats();
  sensors["audience_checked"] = audience.checked;
  sensors["audience_matched"] = audience.matched;
  sensors["audience_mismatches"] = audience.mismatches;
  sensors["audience_mismatch_repeats"] = audience.repeats;
  sensors["audience_not_comparable"] = audience.not_comparable;
  sensors["audience_no_destination"] = audience.no_destination;
  sensors["audience_pairs_forgotten"] = audience.forgotten;
  for (const auto& [kind, n] : errors_) (*health.mutable_agent_errors())[kind] = n;
}

void TlsSensor::describe(credtrace::v1::AgentReady& ready) const {
  for (const auto& probe : libraries_.attached()) ready.add_probes("uprobe:" + probe);
  ready.set_tls_uprobe_mode(uprobe_mode_name(libraries_.mode()));
  ready.set_tls_attach_pending(static_cast<uint32_t>(start_attaches_.pending()));
}

}  // namespace credtrace::sensors
