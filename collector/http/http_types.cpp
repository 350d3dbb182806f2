// HTTP request and reply values passed between the server (http_server) and the route handlers.
#include "http/http_types.h"

#include <nlohmann/json.hpp>

namespace credtrace::collector {

HttpReply error_reply(int status, const std::string& message) {
  HttpReply reply;
  reply.status = status;
  reply.body = nlohmann::json{{"error", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return reply;
}

}  // namespace credtrace::collector
