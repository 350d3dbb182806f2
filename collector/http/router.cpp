// Routes requests to ingest, the query API, /healthz and /metrics, after agent or reader authentication.
// Agents authenticate by token or client certificate, readers by reader token; errors are JSON.
#include "http/router.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "logging/log.h"

namespace credtrace::collector {
namespace {

constexpr const char* kIngestPath = "/v1/ingest";

HttpReply unauthorized(const std::string& message) {
  HttpReply reply = error_reply(401, message);
  reply.headers.emplace_back("WWW-Authenticate", "Bearer");
  return reply;
}

std::optional<uint64_t> content_length(const HttpRequest& request) {
  std::string text = request.header("content-length");
  if (text.empty()) return std::nullopt;
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

bool is_query_path(const std::string& path) { return path.starts_with("/v1/") && path != kIngestPath; }

}  // namespace

// An agent is authenticated by a valid agent bearer token OR, with --client-ca, by a client certificate that verified
// on this connection. Reader tokens never authenticate an agent.
std::optional<HttpReply> Router::check_agent(const HttpRequest& request, const ClientCertificate& client) {
  std::string authorization = request.header("authorization");
  if (client.verified() || agents_.authorizes(authorization)) return std::nullopt;
  metrics_.rejected(RejectReason::kUnauthorized);
  std::string message;
  if (!authorization.empty()) message = "invalid agent token";
  if (client.state == ClientCertificate::State::kRejected)
    message += (message.empty() ? "" : "; ") + std::string("client certificate not trusted: ") + client.reason;
  if (message.empty())
    message = options_.client_certificates ? "missing agent bearer token or client certificate (mTLS)"
                                           : "missing agent bearer token";
  log::warn("ingest rejected (unauthorized): " + message);
  return unauthorized(message);
}

std::optional<HttpReply> Router::check_ingest(const HttpRequest& request, const ClientCertificate& client) {
  if (request.method != "POST") return error_reply(405, "use POST for /v1/ingest");
  if (auto refused = check_agent(request, client)) return refused;
  if (auto length = content_length(request); length && *length > options_.max_body_bytes) {
    metrics_.rejected(RejectReason::kBodyTooLarge);
    return error_reply(413, "body of " + std::to_string(*length) + " bytes exceeds --max-body-bytes (" +
                                std::to_string(options_.max_body_bytes) + ")");
  }
  return std::nullopt;
}

std::optional<HttpReply> Router::check_reader(const HttpRequest& request) {
  if (request.method != "GET") return error_reply(405, "the query API takes GET");
  if (!options_.readers_configured) return error_reply(403, "query API disabled: start the collector with --reader-tokens");
  if (readers_.authorizes(request.header("authorization"))) return std::nullopt;
  if (ui_ && ui_->authorizes_query(request)) return std::nullopt;  // the web UI's own page, logged in
  metrics_.reader_unauthorized();
  return unauthorized(request.header("authorization").empty() ? "missing reader bearer token" : "invalid reader token");
}

std::optional<HttpReply> Router::before_body(const HttpRequest& request, const ClientCertificate& client,
                                             bool& authenticated) {
  if (request.path == kIngestPath) {
    auto refused = check_ingest(request, client);
    authenticated = !refused || refused->status == 413;  // 413 comes after the agent was authenticated
    return refused;
  }
  if (is_query_path(request.path)) {
    auto refused = check_reader(request);
    authenticated = !refused;
    return refused;
  }
  if (content_length(request).value_or(0) > options_.max_body_bytes) return error_reply(413, "body too large");
  return std::nullopt;
}

HttpReply Router::body_too_large(const HttpRequest& request) {
  if (request.path == kIngestPath) metrics_.rejected(RejectReason::kBodyTooLarge);
  return error_reply(413, "body exceeds --max-body-bytes (" + std::to_string(options_.max_body_bytes) + ")");
}

HttpReply Router::healthz() {
  Status status = store_.ping();
  if (!status.ok()) return error_reply(503, "storage unavailable: " + status.message());
  HttpReply reply;
  reply.body = R"({"status":"ok"})";
  return reply;
}

HttpReply Router::handle(const HttpRequest& request) {
  if (request.path == kIngestPath) return ingest_.handle(request);
  if (UiServer::is_ui_path(request.path)) {
    if (ui_) return ui_->handle(request);
    return error_reply(404, "the web UI is off (start the collector with --ui)");
  }
  if (request.path == "/healthz" || request.path == "/metrics") {
    if (request.method != "GET" && request.method != "HEAD") return error_reply(405, "use GET");
    if (request.path == "/healthz") return healthz();
    HttpReply reply;
    reply.content_type = "text/plain; version=0.0.4";
    reply.body = metrics_.prometheus_text();
    return reply;
  }
  if (is_query_path(request.path))
    if (auto reply = query_.handle(request)) return *reply;
  return error_reply(404, "no such path: " + request.path);
}

}  // namespace credtrace::collector
