// HTTP request and reply values passed between the server (http_server) and the route handlers.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace credtrace::collector {

struct HttpRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::map<std::string, std::string> query;    // URL-decoded; a repeated name keeps its first value
  std::vector<std::string> repeated_headers;   // lower-cased names sent more than once (headers keeps the first)
  std::string body;

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// {"error": message} with the given status.
HttpReply error_reply(int status, const std::string& message);

}  // namespace credtrace::collector
