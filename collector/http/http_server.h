// HTTP(S) server on libmicrohttpd, a thread per connection: connections, TLS, headers, bodies and replies.
// TLS optionally asks for client certificates (verified once per connection); the handler may refuse a request from
// its headers; framing is strict; bodies are capped and buffered; connections are kept in bounds by a ConnectionGuard.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "http/auth.h"
#include "http/connection_guard.h"
#include "http/http_types.h"
#include "http/listen_address.h"

struct MHD_Daemon;

namespace credtrace::collector {

class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  // Called once the headers are in (body empty): a reply here is sent at once and the body is never read
  // (authentication, oversized Content-Length). `client` is what the connection's client certificate proved
  // (State::kNone without --client-ca, on plain HTTP, or when the client sent none). `authenticated` is set when a
  // token or certificate authenticated the request (the connection then no longer counts as unauthenticated).
  virtual std::optional<HttpReply> before_body(const HttpRequest& request, const ClientCertificate& client,
                                               bool& authenticated) = 0;
  virtual HttpReply handle(const HttpRequest& request) = 0;
  // The body grew past max_body_bytes while it was read (no Content-Length, or a lying one).
  virtual HttpReply body_too_large(const HttpRequest& request) = 0;
};

struct HttpServerOptions {
  ListenAddress listen;
  std::string tls_cert_pem, tls_key_pem;  // both empty: plain HTTP
  // With TLS: ask every client for a certificate (optional for the client) and verify it against this PEM bundle.
  std::string client_ca_pem;
  size_t max_body_bytes = 8 << 20;
  ConnectionLimits connections;
};

class HttpServer {
 public:
  static Status start(const HttpServerOptions& options, HttpHandler& handler, std::unique_ptr<HttpServer>& out);
  HttpServer() = default;  // not running until start()
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  uint16_t port() const;  // the bound port (useful with --listen HOST:0)
  ConnectionGuardCounts connection_counts() const;

  struct Context;  // what libmicrohttpd callbacks reach through their closure pointer

 private:
  struct DaemonStop {
    void operator()(MHD_Daemon* daemon) const;
  };
  std::unique_ptr<ConnectionGuard> guard_;
  std::unique_ptr<Context> context_;
  std::unique_ptr<MHD_Daemon, DaemonStop> daemon_;
};

}  // namespace credtrace::collector
