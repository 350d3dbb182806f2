// HTTP(S) server on libmicrohttpd, a thread per connection: connections, TLS, headers, bodies and replies.
// TLS optionally asks for client certificates (verified once per connection); the handler may refuse a request from
// its headers; framing is strict; bodies are capped and buffered; connections are kept in bounds by a ConnectionGuard.
#include "http/http_server.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <new>
#include <vector>

#include "logging/log.h"

namespace credtrace::collector {

struct HttpServer::Context {
  HttpHandler* handler = nullptr;
  size_t max_body_bytes = 0;
  bool client_certificates = false;  // TLS with --client-ca: connections carry a ConnectionState
  ConnectionGuard* guard = nullptr;
};

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kReverifyAfter = std::chrono::seconds(60);  // a long keep-alive connection re-checks expiry

// Per-connection state (TLS with --client-ca), owned by libmicrohttpd's socket context between the STARTED and
// CLOSED notifications: the client certificate's verdict, decided at the first request (the handshake is over by
// then) and reused by the connection's later requests while the peer's chain is the same and the verdict is fresh.
struct ConnectionState {
  ClientCertificate client;
  std::string chain;  // the DER chain the verdict is about (length-prefixed certificates)
  Clock::time_point decided{};
  bool has_verdict = false;
};

// Per-request state, owned by libmicrohttpd's per-connection pointer between the first and the completed callback.
struct RequestState {
  HttpRequest request;
  bool replied_early = false;
  bool too_large = false;
  bool over_budget = false;  // the body did not fit in the buffered-bodies budget: 503
  size_t discarded = 0;
  size_t reserved = 0;  // bytes of the guard's body budget this body holds
};

struct ResponseDestroy {
  void operator()(MHD_Response* response) const { MHD_destroy_response(response); }
};

MHD_Result add_header(void* cls, MHD_ValueKind, const char* key, const char* value) {
  std::string name(key ? key : "");
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  auto& request = *static_cast<HttpRequest*>(cls);
  auto [it, inserted] = request.headers.emplace(name, value ? value : "");
  if (!inserted) request.repeated_headers.push_back(std::move(name));
  return MHD_YES;
}

MHD_Result add_query(void* cls, MHD_ValueKind, const char* key, const char* value) {
  static_cast<HttpRequest*>(cls)->query.emplace(key ? key : "", value ? value : "");
  return MHD_YES;
}

MHD_Result queue_reply(MHD_Connection* connection, const HttpReply& reply) {
  std::unique_ptr<MHD_Response, ResponseDestroy> response(MHD_create_response_from_buffer(
      reply.body.size(), const_cast<char*>(reply.body.data()), MHD_RESPMEM_MUST_COPY));
  if (!response) return MHD_NO;
  MHD_add_response_header(response.get(), MHD_HTTP_HEADER_CONTENT_TYPE, reply.content_type.c_str());
  for (const auto& [name, value] : reply.headers) MHD_add_response_header(response.get(), name.c_str(), value.c_str());
  return MHD_queue_response(connection, static_cast<unsigned>(reply.status), response.get());
}

std::string peer_chain(gnutls_session_int* session) {
  unsigned int count = 0;
  const gnutls_datum_t* certs = gnutls_certificate_get_peers(session, &count);
  std::string out;
  for (unsigned int i = 0; certs != nullptr && i < count; ++i) {
    out.append(std::to_string(certs[i].size)).push_back(':');
    out.append(reinterpret_cast<const char*>(certs[i].data), certs[i].size);
  }
  return out;
}

std::string client_address(MHD_Connection* connection) {
  const MHD_ConnectionInfo* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (info == nullptr || info->client_addr == nullptr) return "?";
  char text[INET6_ADDRSTRLEN] = "?";
  const sockaddr* addr = info->client_addr;
  if (addr->sa_family == AF_INET)
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(addr)->sin_addr, text, sizeof text);
  else if (addr->sa_family == AF_INET6)
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr, text, sizeof text);
  return text;
}

void log_verdict(MHD_Connection* connection, const ClientCertificate& client) {
  std::string who = "client certificate from " + client_address(connection) + " (subject \"" + client.subject +
                    "\", sha256 " + client.sha256 + ")";
  if (client.verified()) log::info(who + " verified");
  else log::warn(who + " not trusted: " + client.reason);
}

// What the connection's client certificate proves, verified at most once per connection and chain (and again after
// kReverifyAfter), logged when first decided.
ClientCertificate client_certificate(const HttpServer::Context& context, MHD_Connection* connection) {
  if (!context.client_certificates) return {};
  const MHD_ConnectionInfo* tls = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
  if (tls == nullptr || tls->tls_session == nullptr) return {};
  auto* session = static_cast<gnutls_session_int*>(tls->tls_session);
  const MHD_ConnectionInfo* socket = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  auto* state = socket ? static_cast<ConnectionState*>(socket->socket_context) : nullptr;
  if (state == nullptr) return verify_client_certificate(session);  // its allocation failed: verify every time
  std::string chain = peer_chain(session);
  Clock::time_point now = Clock::now();
  if (state->has_verdict && state->chain == chain && now - state->decided < kReverifyAfter) return state->client;
  ClientCertificate verdict = verify_client_certificate(session);
  bool changed = !state->has_verdict || state->chain != chain || verdict.state != state->client.state;
  if (changed && verdict.state != ClientCertificate::State::kNone) log_verdict(connection, verdict);
  state->client = verdict;
  state->chain = std::move(chain);
  state->decided = now;
  state->has_verdict = true;
  return verdict;
}

// Framing a proxy in front could read differently than we do (request smuggling), or credentials given twice: one
// 400, and the connection closed after it.
std::optional<HttpReply> framing_error(const HttpRequest& request, bool nul_decoded) {
  auto refuse = [](const std::string& message) {
    HttpReply reply = error_reply(400, message);
    reply.headers.emplace_back("Connection", "close");
    return reply;
  };
  if (nul_decoded) return refuse("NUL (%00) in the path or a query parameter");
  for (const char* once : {"content-length", "transfer-encoding", "authorization", "host"})
    if (std::find(request.repeated_headers.begin(), request.repeated_headers.end(), once) !=
        request.repeated_headers.end())
      return refuse(std::string("header sent more than once: ") + once);
  if (request.headers.count("content-length") && request.headers.count("transfer-encoding"))
    return refuse("both Content-Length and Transfer-Encoding");
  return std::nullopt;
}

MHD_Result first_call(HttpServer::Context& context, MHD_Connection* connection, const char* url, const char* method,
                      void** state_slot) {
  auto state = std::make_unique<RequestState>();
  state->request.method = method;
  state->request.path = url;
  MHD_get_connection_values(connection, MHD_HEADER_KIND, add_header, &state->request);
  MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, add_query, &state->request);
  bool authenticated = false;
  std::optional<HttpReply> early = framing_error(state->request, context.guard->take_nul(connection));
  if (!early)
    early = context.handler->before_body(state->request, client_certificate(context, connection), authenticated);
  context.guard->headers_complete(connection, authenticated);
  RequestState* raw = state.release();  // owned by libmicrohttpd until request_completed
  *state_slot = raw;
  if (!early) return MHD_YES;
  raw->replied_early = true;
  return queue_reply(connection, *early);
}

// Appends a body chunk; past the cap the body is dropped and the rest discarded (up to 16x the cap, then the
// connection is closed).
// Past the buffered-bodies budget of the guard the body is dropped the same way and the reply is 503.
MHD_Result body_chunk(const HttpServer::Context& context, RequestState& state, const char* data, size_t size) {
  const bool fits = state.request.body.size() + size <= context.max_body_bytes;
  if (!state.too_large && fits && context.guard->reserve_body(size)) {
    state.reserved += size;
    state.request.body.append(data, size);
    return MHD_YES;
  }
  if (!state.too_large) {
    state.too_large = true;
    state.over_budget = fits;
    state.discarded = state.request.body.size();
    std::string().swap(state.request.body);
    context.guard->release_body(state.reserved);
    state.reserved = 0;
  }
  state.discarded += size;
  return state.discarded > 16 * context.max_body_bytes ? MHD_NO : MHD_YES;
}

MHD_Result handle_call(void* cls, MHD_Connection* connection, const char* url, const char* method, const char*,
                      const char* upload_data, size_t* upload_data_size, void** state_slot) {
  auto& context = *static_cast<HttpServer::Context*>(cls);
  if (*state_slot == nullptr) return first_call(context, connection, url, method, state_slot);
  auto& state = *static_cast<RequestState*>(*state_slot);
  if (*upload_data_size != 0) {
    size_t size = *upload_data_size;
    *upload_data_size = 0;
    if (state.replied_early) return MHD_YES;
    return body_chunk(context, state, upload_data, size);
  }
  if (state.replied_early) return MHD_YES;
  if (state.over_budget) {
    HttpReply busy = error_reply(503, "request bodies buffered by the collector are at their limit; retry");
    busy.headers.emplace_back("Retry-After", "1");
    return queue_reply(connection, busy);
  }
  HttpReply reply = state.too_large ? context.handler->body_too_large(state.request)
                                    : context.handler->handle(state.request);
  return queue_reply(connection, reply);
}

// The C boundary: nothing may unwind into libmicrohttpd (only bad_alloc can reach here).
MHD_Result on_request(void* cls, MHD_Connection* connection, const char* url, const char* method, const char* version,
                      const char* upload_data, size_t* upload_data_size, void** state_slot) {
  try {
    return handle_call(cls, connection, url, method, version, upload_data, upload_data_size, state_slot);
  } catch (const std::exception& e) {
    log::error(std::string("request failed: ") + e.what());
    *upload_data_size = 0;
    return MHD_NO;
  }
}

void on_completed(void* cls, MHD_Connection* connection, void** state_slot, MHD_RequestTerminationCode) {
  auto& context = *static_cast<HttpServer::Context*>(cls);
  std::unique_ptr<RequestState> owned(static_cast<RequestState*>(*state_slot));
  *state_slot = nullptr;
  if (owned) context.guard->release_body(owned->reserved);
  context.guard->request_completed(connection);
}

void on_connection(void* cls, MHD_Connection* connection, void** socket_context,
                   MHD_ConnectionNotificationCode code) {
  auto& context = *static_cast<HttpServer::Context*>(cls);
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    if (context.client_certificates)
      *socket_context = new (std::nothrow) ConnectionState();  // owned by libmicrohttpd until CLOSED
    const MHD_ConnectionInfo* fd = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    context.guard->opened(connection, fd ? fd->connect_fd : -1, client_address(connection));
  } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
    context.guard->closed(connection);  // before libmicrohttpd closes the socket: the guard never shuts down a reused fd
    std::unique_ptr<ConnectionState> owned(static_cast<ConnectionState*>(*socket_context));
    *socket_context = nullptr;
  }
}

// Called once per request, when its request line is in (headers still to come).
void* on_request_line(void* cls, const char*, MHD_Connection* connection) {
  static_cast<HttpServer::Context*>(cls)->guard->request_line(connection);
  return nullptr;  // the access handler's first call still sees no request state
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding of the path and of query names and values, in place. A %00 is left encoded and flagged: the
// request is refused with its headers instead of being cut at the NUL.
size_t unescape(void* cls, MHD_Connection* connection, char* text) {
  char* out = text;
  for (const char* in = text; *in != '\0'; ++in) {
    const int high = in[0] == '%' ? hex_value(in[1]) : -1;
    const int low = high >= 0 ? hex_value(in[2]) : -1;
    if (low < 0) {
      *out++ = *in;
      continue;
    }
    const char decoded = static_cast<char>(high * 16 + low);
    if (decoded == '\0') {
      static_cast<HttpServer::Context*>(cls)->guard->flag_nul(connection);
      *out++ = *in;
      continue;
    }
    *out++ = decoded;
    in += 2;
  }
  *out = '\0';
  return static_cast<size_t>(out - text);
}

void on_log(void*, const char* format, va_list args) {
  char buffer[512];
  std::vsnprintf(buffer, sizeof buffer, format, args);
  std::string line(buffer);
  while (!line.empty() && line.back() == '\n') line.pop_back();
  log::warn("http: " + line);
}

}  // namespace

void HttpServer::DaemonStop::operator()(MHD_Daemon* daemon) const { MHD_stop_daemon(daemon); }

HttpServer::~HttpServer() { daemon_.reset(); }  // stop serving before the context and the guard go

Status HttpServer::start(const HttpServerOptions& options, HttpHandler& handler, std::unique_ptr<HttpServer>& out) {
  auto server = std::make_unique<HttpServer>();
  bool tls = !options.tls_cert_pem.empty();
  bool client_certificates = tls && !options.client_ca_pem.empty();
  server->guard_ = std::make_unique<ConnectionGuard>(options.connections);
  server->context_ =
      std::make_unique<Context>(Context{&handler, options.max_body_bytes, client_certificates, server->guard_.get()});
  const ConnectionLimits& limits = options.connections;
  // libmicrohttpd's own limits are the backstop: above the guard's (evicted connections count until they close) and
  // its inactivity timeout above every deadline of the guard.
  const unsigned hard_limit = limits.max_connections + limits.max_connections / 4 + 64;
  const auto longest = std::max({limits.header_timeout, limits.request_timeout, limits.idle_timeout});
  const auto inactivity = std::chrono::duration_cast<std::chrono::seconds>(longest).count() + 5;
  // A thread per connection: a connection is never held behind another one's request (a worker thread of a pool
  // kept every connection it accepted, and accepted every connection pending when it woke, so clients connecting
  // together were served one request at a time). Work is bounded elsewhere: the guard's connection limits, the
  // store's connection pools (queries, PostgreSQL ingest) and the ingest's decode slots (--threads).
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL | MHD_USE_ITC |
                   MHD_USE_ERROR_LOG;
  if (options.listen.addr.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
  if (tls) flags |= MHD_USE_TLS;
  std::vector<MHD_OptionItem> items = {
      {MHD_OPTION_EXTERNAL_LOGGER, reinterpret_cast<intptr_t>(&on_log), nullptr},  // first, to catch every message
      {MHD_OPTION_SOCK_ADDR, 0, const_cast<sockaddr_storage*>(&options.listen.addr)},
      {MHD_OPTION_CONNECTION_TIMEOUT, static_cast<intptr_t>(inactivity), nullptr},
      {MHD_OPTION_CONNECTION_LIMIT, static_cast<intptr_t>(hard_limit), nullptr},
      {MHD_OPTION_NOTIFY_COMPLETED, reinterpret_cast<intptr_t>(&on_completed), server->context_.get()},
      {MHD_OPTION_NOTIFY_CONNECTION, reinterpret_cast<intptr_t>(&on_connection), server->context_.get()},
      {MHD_OPTION_URI_LOG_CALLBACK, reinterpret_cast<intptr_t>(&on_request_line), server->context_.get()},
      {MHD_OPTION_UNESCAPE_CALLBACK, reinterpret_cast<intptr_t>(&unescape), server->context_.get()},
  };
  if (tls) {
    items.push_back({MHD_OPTION_HTTPS_MEM_KEY, 0, const_cast<char*>(options.tls_key_pem.c_str())});
    items.push_back({MHD_OPTION_HTTPS_MEM_CERT, 0, const_cast<char*>(options.tls_cert_pem.c_str())});
  }
  if (client_certificates) {
    // A trust list makes libmicrohttpd ask for a client certificate (GNUTLS_CERT_REQUEST: optional, not verified
    // by the handshake); client_certificate() verifies it. Token-only agents and readers still connect.
    items.push_back({MHD_OPTION_HTTPS_MEM_TRUST, 0, const_cast<char*>(options.client_ca_pem.c_str())});
  }
  items.push_back({MHD_OPTION_END, 0, nullptr});
  MHD_Daemon* daemon = MHD_start_daemon(flags, options.listen.port, nullptr, nullptr, &on_request,
                                        server->context_.get(), MHD_OPTION_ARRAY, items.data(), MHD_OPTION_END);
  if (daemon == nullptr)
    return Status::error("cannot listen on " + options.listen.host + ":" + std::to_string(options.listen.port) +
                         (tls ? client_certificates ? " with TLS (check --tls-cert/--tls-key/--client-ca)"
                                                : " with TLS (check --tls-cert/--tls-key)"
                               : "") + " (see the http: log line above)");
  server->daemon_.reset(daemon);
  out = std::move(server);
  return {};
}

ConnectionGuardCounts HttpServer::connection_counts() const { return guard_->counts(); }

uint16_t HttpServer::port() const {
  const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon_.get(), MHD_DAEMON_INFO_BIND_PORT);
  return info ? info->port : 0;
}

}  // namespace credtrace::collector
