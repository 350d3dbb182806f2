// OAuth token exchanges of watched processes: a token request seen on a stream, paired with its answer (or given up
// on), as the credential-use sensor hands it over, and the token_exchange event it becomes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "credtrace/v1/events.pb.h"
#include "protocols/http1/request_parser.h"
#include "protocols/oauth/token_request.h"
#include "secrets/fingerprint.h"

namespace credtrace::sensors {

// Owners of parsed raw values: wiped when freed.
struct TokenRequestWiper {
  void operator()(protocols::oauth::TokenRequest* request) const;
};
struct TokenResponseWiper {
  void operator()(protocols::oauth::TokenResponse* response) const;
};
using TokenRequestPtr = std::unique_ptr<protocols::oauth::TokenRequest, TokenRequestWiper>;
using TokenResponsePtr = std::unique_ptr<protocols::oauth::TokenResponse, TokenResponseWiper>;

// Where a token request went, named as a credential use names its destination.
struct TokenEndpoint {
  std::string protocol;  // http/1.1, h2
  std::string method, path, host, sni;
  std::string host_source;  // kHostFrom*
  uint32_t host_port = 0;
  std::string ip;           // observed, else empty
  uint32_t port = 0;        // observed, else 0
  std::string address_source;
  bool tls = true;
};

// One token request and, when it was read, its answer.
struct ObservedTokenExchange {
  uint32_t pid = 0;
  TokenEndpoint endpoint;
  TokenRequestPtr request;
  TokenResponsePtr response;  // null: no answer was seen (status 0)
  uint64_t sent_ns = 0;       // event time of the request
};

struct TokenExchangeStats {
  uint64_t requests = 0;            // token requests recognised
  uint64_t answered = 0;            // …paired with their answer
  uint64_t unanswered = 0;          // …reported without one (stream ended, timeout, HTTP/2, plain socket, evicted)
  uint64_t requests_unparsed = 0;   // bodies that mention grant_type but could not be read (cut JSON, …)
  uint64_t answers_unparsed = 0;    // answers whose body could not be read (encoded, cut, not JSON or form)
  uint64_t h2_form_bodies_unread = 0;  // HTTP/2 requests declaring a form body: the HTTP/2 parser keeps no bodies, so
                                       // a token request among them is not seen
};

// A token request is reported without its answer when none came within this long (event time).
inline constexpr uint64_t kTokenAnswerTimeoutNs = 30ull * 1'000'000'000ull;

// The token request `request` carries, or null (counted in stats when it mentions grant_type but is unreadable, or
// is an HTTP/2 request declaring a form body, whose body the HTTP/2 parser does not keep).
TokenRequestPtr token_request_in(const protocols::HttpRequest& request, bool h2, TokenExchangeStats& stats);

// Fills event's destination, request and token_exchange detail: every presented and issued value described
// (fingerprint, type, preview, JWT facts) and wiped. Returns the issued credentials' descriptions.
std::vector<credtrace::v1::Credential> describe_exchange(ObservedTokenExchange& exchange,
                                                         const secrets::Fingerprinter& fingerprinter,
                                                         credtrace::v1::Event& event);

// The source the issued tokens get: kind token_exchange, path the endpoint's host and path, key the grant type.
credtrace::v1::Source token_exchange_source(const credtrace::v1::Event& event);

}  // namespace credtrace::sensors
