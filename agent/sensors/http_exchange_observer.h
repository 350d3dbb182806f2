// The interface through which a sensor that reassembles HTTP/1.1 connections lets another follow their exchanges
// (MCP over HTTP rides on the credential-use sensor's streams): requests, answers' header blocks, bodies as they come.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

namespace credtrace::protocols {
struct HttpRequest;
struct HttpResponse;
}  // namespace credtrace::protocols

namespace credtrace::sensors {

// One connection's exchanges, in order. Everything it is handed is raw (bodies may hold secrets) and valid only during
// the call: it keeps nothing it does not wipe.
class HttpExchangeObserver {
 public:
  virtual ~HttpExchangeObserver() = default;
  virtual void on_request(const protocols::HttpRequest& request, std::string_view raw_query, uint64_t now_ns) = 0;
  // true: the answer's body is wanted, as it arrives.
  virtual bool on_response_head(const protocols::HttpResponse& head, uint64_t now_ns) = 0;
  virtual void on_response_body(std::string_view bytes, bool end, bool cut, uint64_t now_ns) = 0;
};

// Makes the observer of a connection when its first request is seen: written by the watched process (a client:
// destination is where it went, host[:port]) or read by it (served: the watched process is the server; destination
// is the Host the client named). nullptr when the connection is not to be observed.
using HttpObserverFactory = std::function<std::unique_ptr<HttpExchangeObserver>(uint32_t pid, bool served,
                                                                                std::string_view destination)>;

}  // namespace credtrace::sensors
