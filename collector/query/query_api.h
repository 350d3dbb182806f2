// Query API (JSON): GET /v1/events, /v1/credentials[/{fingerprint}], /v1/workloads, /v1/alerts, /v1/tool-calls.
#pragma once

#include "common/metrics.h"
#include "http/http_types.h"
#include "store/store.h"

namespace credtrace::collector {

class QueryApi {
 public:
  // `max_answer_bytes`: a page stops before the item that would take its JSON past this (at least one item is
  // given); its next_cursor continues from there, so nothing is skipped.
  QueryApi(Store& store, Metrics& metrics, size_t max_answer_bytes = kDefaultMaxAnswerBytes)
      : store_(store), metrics_(metrics), max_answer_bytes_(max_answer_bytes) {}
  static constexpr size_t kDefaultMaxAnswerBytes = 8u << 20;
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
  // Fills a Page with `read` (Status(Page&)) and replies {key: its items, next_cursor}, bounded in bytes.
  template <typename Page, typename Read>
  HttpReply listing(const char* key, Read read);

  Store& store_;
  Metrics& metrics_;
  size_t max_answer_bytes_;
};

}  // namespace credtrace::collector
