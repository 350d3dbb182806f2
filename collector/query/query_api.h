// Query API (JSON): GET /v1/events, /v1/credentials[/{fingerprint}], /v1/workloads, /v1/alerts, /v1/tool-calls.
#pragma once

#include "common/metrics.h"
#include "http/http_types.h"
#include "store/store.h"

namespace credtrace::collector {

class QueryApi {
 public:
  QueryApi(Store& store, Metrics& metrics) : store_(store), metrics_(metrics) {}
  // The reader token was checked by the router. nullopt: not a query path.
  std::optional<HttpReply> handle(const HttpRequest& request);

 private:
  HttpReply events(const HttpRequest& request);
  HttpReply credentials(const HttpRequest& request);
  HttpReply credential(const std::string& fingerprint);
  HttpReply workloads(const HttpRequest& request);
  HttpReply alerts(const HttpRequest& request);
  HttpReply tool_calls(const HttpRequest& request);
  HttpReply store_failed(const Status& status);
  // Fills a Page with `read` (Status(Page&)) and replies {key: its items, next_cursor}.
  template <typename Page, typename Read>
  HttpReply listing(const char* key, Read read);

  Store& store_;
  Metrics& metrics_;
};

}  // namespace credtrace::collector
