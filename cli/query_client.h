// HTTP(S) client of the collector's query API (libcurl, RAII handle): bearer reader token, JSON replies.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace credtrace::cli {

// Where the collector is and how to authenticate; resolved from flags first, then the environment.
struct QueryEndpoint {
  std::string url;      // http(s)://host:port (plain http only to loopback)
  std::string token;    // reader token
  std::string ca_file;  // PEM bundle for https, empty: the system store
  long timeout_seconds = 30;
};

// Flags override CREDTRACE_COLLECTOR, CREDTRACE_TOKEN and CREDTRACE_TOKEN_FILE (in that order of preference
// for the token: --token-file, $CREDTRACE_TOKEN, $CREDTRACE_TOKEN_FILE). Returns false with `error` set.
bool resolve_endpoint(const std::string& url_flag, const std::string& token_file_flag, const std::string& ca_flag,
                      long timeout_seconds, QueryEndpoint& endpoint, std::string& error);

using QueryParams = std::vector<std::pair<std::string, std::string>>;

struct QueryReply {
  bool ok = false;         // 200 with a JSON object body
  long http_status = 0;    // 0: no reply (connection failed, timeout)
  nlohmann::json body;     // the parsed reply on success
  std::string error;       // what went wrong, ready to print
};

class QueryClient {
 public:
  // nullptr with `error` set when the URL is unusable or libcurl cannot start.
  static std::unique_ptr<QueryClient> create(QueryEndpoint endpoint, std::string& error);
  ~QueryClient();
  QueryClient(const QueryClient&) = delete;
  QueryClient& operator=(const QueryClient&) = delete;

  // GET `path` (e.g. "/v1/alerts") with the parameters URL-encoded; empty values are left out. Never throws.
  QueryReply get(const std::string& path, const QueryParams& params);

 private:
  explicit QueryClient(QueryEndpoint endpoint);
  std::string url_for(const std::string& path, const QueryParams& params);

  QueryEndpoint endpoint_;
  void* curl_;  // CURL*
};

}  // namespace credtrace::cli
