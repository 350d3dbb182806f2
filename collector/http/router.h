// Routes requests to ingest, the query API, /healthz, /metrics and the web UI, after agent or reader authentication.
// Agents authenticate by token or client certificate, readers by reader token or the web UI's session; errors are
// JSON.
#pragma once

#include "common/metrics.h"
#include "http/auth.h"
#include "http/http_server.h"
#include "ingest/ingest.h"
#include "query/query_api.h"
#include "ui/ui_server.h"

namespace credtrace::collector {

struct RouterOptions {
  size_t max_body_bytes = 8 << 20;
  bool readers_configured = false;  // --reader-tokens given: without it the query API answers 403
  bool client_certificates = false;  // --client-ca given: a verified client certificate authenticates an agent
};

class Router final : public HttpHandler {
 public:
  // `ui`: the web UI (nullptr or disabled: /ui/ answers 404 and only reader tokens read the query API).
  Router(IngestService& ingest, QueryApi& query, Store& store, Metrics& metrics, const TokenSet& agents,
         const TokenSet& readers, RouterOptions options, UiServer* ui = nullptr)
      : ingest_(ingest), query_(query), store_(store), metrics_(metrics), agents_(agents), readers_(readers),
        options_(options), ui_(ui) {}

  std::optional<HttpReply> before_body(const HttpRequest& request, const ClientCertificate& client,
                                       bool& authenticated) override;
  HttpReply handle(const HttpRequest& request) override;
  HttpReply body_too_large(const HttpRequest& request) override;

 private:
  std::optional<HttpReply> check_ingest(const HttpRequest& request, const ClientCertificate& client);
  std::optional<HttpReply> check_agent(const HttpRequest& request, const ClientCertificate& client);
  std::optional<HttpReply> check_reader(const HttpRequest& request);
  HttpReply healthz();

  IngestService& ingest_;
  QueryApi& query_;
  Store& store_;
  Metrics& metrics_;
  const TokenSet& agents_;
  const TokenSet& readers_;
  RouterOptions options_;
  UiServer* ui_;
};

}  // namespace credtrace::collector
