// Credential-use sensor: follows TLS plaintext and plain socket writes as streams (streams::StreamTracker), parses
// them (HTTP/1.1, HTTP/2 requests, HTTP/1.1 responses) and returns the credentials requests carried with their
// observed destination, and those responses issued. Raw values stay inside; callers fingerprint and forget them.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "events.h"
#include "protocols/credentials.h"
#include "protocols/http1/request_parser.h"
#include "protocols/http1/response_parser.h"
#include "sensors/tls/token_exchange.h"
#include "sensors/http_exchange_observer.h"
#include "streams/stream_tracker.h"

namespace credtrace::sensors {

// How a destination's ip and port were learned: only observations are reported, never a default.
inline constexpr const char* kAddressFromConnect = "connect";  // the connect() of the socket the bytes went to
inline constexpr const char* kAddressFromSocket = "socket";  // the peer of a socket connected before the watch began
inline constexpr const char* kAddressUnknown = "unknown";       // not observed: ip empty, port 0

// Where a destination's host name came from.
inline constexpr const char* kHostFromHeader = "host_header";    // HTTP/1.1 Host (or absolute-form authority)
inline constexpr const char* kHostFromAuthority = "authority";   // HTTP/2 :authority (or its host header)
inline constexpr const char* kHostFromSni = "sni";               // no Host: the server name set on the SSL
inline constexpr const char* kHostFromIp = "ip";                 // neither: the connected address

struct CredentialUse {
  uint32_t pid = 0;
  uint64_t time_ns = 0;                     // boot-clock time of the request's bytes (a held use is emitted later)
  protocols::CarriedCredential credential;  // .value is raw: fingerprint it, then drop the use
  std::string protocol;                     // "http/1.1"
  std::string method, path, host, sni;
  std::string host_source;                  // kHostFrom*; empty when no name was seen at all
  uint32_t host_port = 0;                   // the port Host/:authority names: the client's claim (0: names none)
  uint32_t port = 0;                        // observed (address_source "connect"), else 0
  std::string ip;                           // observed, else empty
  std::string address_source = kAddressUnknown;
  bool tls = true;
  std::string sensor = "ebpf";              // what saw the plaintext: ebpf, or preload (CT_FLAG_PRELOAD records)
};

// A credential a server handed to a watched process in an HTTP response (token endpoints, key creation).
struct IssuedCredential {
  uint32_t pid = 0;
  protocols::CarriedCredential credential;  // .value is raw: fingerprint it, then drop it
  std::string protocol;                     // "http/1.1"
  std::string method, path, host;           // the request it answered (path without query values)
  uint32_t port = 0;                        // observed as for CredentialUse, else 0
  std::string ip;
  std::string address_source = kAddressUnknown;
  bool tls = true;
};

struct CredentialUseStats {
  uint64_t streams = 0;
  uint64_t requests = 0;
  uint64_t gaps = 0;           // plaintext not captured (writes beyond the per-call capture)
  uint64_t unsupported = 0;    // TLS streams that are neither HTTP/1.1 nor HTTP/2
  uint64_t h2_streams = 0;     // connections parsed as HTTP/2
  uint64_t h2_broken = 0;      // HTTP/2 connections given up (HPACK or framing error, gap): counted, not guessed
  uint64_t sockets_not_http = 0;  // connected sockets whose first write was not HTTP/1 (TLS records, …): capture stopped
  uint64_t streams_dropped = 0;  // streams evicted at the limit before they were freed
  uint64_t responses = 0;        // HTTP/1.1 responses parsed from SSL_read plaintext
  uint64_t read_gaps = 0;        // response plaintext not captured
  uint64_t reads_unparsed = 0;   // read chunks of streams whose responses are not parsed (HTTP/2, other protocols)
  uint64_t tls_streams_paired = 0;       // TLS streams whose ciphertext was seen going to a connected socket
  uint64_t client_hello_names = 0;  // server names read from a ClientHello a watched process wrote to its socket
  uint64_t tls_socket_not_connected = 0;  // …to a socket whose connect() the agent did not see: address unknown
  uint64_t tls_pairing_conflicts = 0;    // streams paired with two sockets: the address is unknown from then on
  uint64_t destinations_unknown = 0;     // uses reported with address_source "unknown"
  uint64_t write_retries = 0;            // a stream's first SSL_write repeated before it completed: skipped
  uint64_t streams_expired = 0;          // streams nothing was seen on for CredentialUseSensor::kIdleNs
  uint64_t truncated_calls = 0;          // SSL_write/SSL_read/socket writes longer than what the kernel captures
  uint64_t served_requests = 0;          // HTTP/1.1 requests a watched process read through SSL_read (it serves)
};

// A TLS stream's destination address is learned when its ciphertext is seen going to a socket the process connected
// (CT_EVENT_TLS_SOCKET, which follows the SSL_write's plaintext in the ring): until then its uses are held, and
// returned with the address once the pairing arrives, or as unknown when the stream ends, its process exits or the
// pairing window has passed (expire). Every call that can release held uses returns them.
class CredentialUseSensor {
 public:
  // Held uses wait this long (event time) for their pairing: the kernel pairs within CT_TLS_PAIR_WINDOW_NS, and the
  // agent expires only after draining the ring.
  static constexpr uint64_t kHoldNs = CT_TLS_PAIR_WINDOW_NS + 1'000'000'000ull;

  // Streams nothing was seen on for this long (event time) are let go: their held uses are released as unknown.
  static constexpr uint64_t kIdleNs = 3600ull * 1'000'000'000ull;

  explicit CredentialUseSensor(size_t max_streams = 16384);
  ~CredentialUseSensor();
  CredentialUseSensor(const CredentialUseSensor&) = delete;
  CredentialUseSensor& operator=(const CredentialUseSensor&) = delete;

  void on_connect(const ct_connect_event& e);
  void on_sni(const ct_tls_sni_event& e);
  // The socket an SSL's ciphertext went to: the stream's address, and its held uses.
  std::vector<CredentialUse> on_tls_socket(const ct_tls_socket_event& e);
  // SSL_free: the stream ends; a close-delimited response still open is finished (its issued credentials returned).
  // Uses still held are released as unknown: take them with take_released().
  std::vector<IssuedCredential> on_free(const ct_tls_free_event& e);
  // SSL_new returned this address: whatever an earlier stream left there is gone (held uses released).
  void on_new(const ct_tls_free_event& e);
  // Plaintext a watched process wrote (CT_TLS_WRITE): the credentials its requests carried, once the stream's
  // address is known (else they are held).
  std::vector<CredentialUse> on_data(const ct_tls_data_event& e);
  // Plaintext it read (CT_TLS_READ): credentials servers issued to it in HTTP/1.1 responses.
  std::vector<IssuedCredential> on_read_data(const ct_tls_data_event& e);
  // Plain bytes written to a connected socket (CT_EVENT_SOCK_DATA; e.ssl is the fd). *stop_capture is set when the
  // stream is not plain HTTP (TLS records, another protocol): the caller tells the kernel to stop copying it.
  std::vector<CredentialUse> on_socket_data(const ct_tls_data_event& e, bool* stop_capture);
  // Plain bytes read from a connected socket (CT_EVENT_SOCK_DATA, CT_TLS_READ): the answers to its HTTP/1.1 requests.
  std::vector<IssuedCredential> on_socket_read(const ct_tls_data_event& e);
  // Who else follows the HTTP/1.1 exchanges of the streams (MCP over HTTP): asked once per connection, at its first
  // request.
  void set_http_observers(HttpObserverFactory factory) { observers_ = std::move(factory); }
  // Streams of a process that exited: their held uses, as unknown.
  std::vector<CredentialUse> forget_process(uint32_t pid);
  // Uses held since before now_boot_ns - kHoldNs, as unknown, and those of streams idle for kIdleNs (call after
  // draining the ring; UINT64_MAX: all, at stop, without counting open streams as idle).
  std::vector<CredentialUse> expire(uint64_t now_boot_ns);
  // Uses released by calls that return something else (on_free, on_new, evictions).
  std::vector<CredentialUse> take_released() { return std::exchange(released_, {}); }
  // The vector take_released() handed out, its uses reported: its storage serves the next releases.
  void recycle(std::vector<CredentialUse>&& reported);
  // OAuth token requests paired with their answers, or given up on (stream ended, kTokenAnswerTimeoutNs, no answer
  // parser): any call may complete some (sensors/tls/token_exchange.h).
  std::vector<ObservedTokenExchange> take_token_exchanges() { return std::exchange(exchanges_, {}); }
  const CredentialUseStats& stats() const { return stats_; }
  const TokenExchangeStats& token_stats() const { return token_stats_; }

 private:
  void note_client_hello(const ct_tls_data_event& e);
  struct Endpoint {
    std::string ip;
    uint32_t port = 0;
    bool from_socket = false;  // read from the kernel's socket (CT_FLAG_PEER), not seen in a connect() call
    bool operator==(const Endpoint&) const = default;
  };
  // A request whose response has not been parsed yet (for naming what issued a credential).
  struct PendingRequest {
    std::string method, host, path;
    std::unique_ptr<ObservedTokenExchange> token;  // an OAuth token request waiting for its answer
  };
  using Key = std::pair<uint32_t, uint64_t>;
  // Whether the stream's address is known: waiting for the ciphertext's socket (TLS), paired with it, or unknown
  // (the socket's connect() was not seen, two sockets were seen, or the stream ended first).
  enum class Address { waiting, connected, unknown };
  struct HeldUse {
    CredentialUse use;
    uint64_t since_ns = 0;  // time of the plaintext that carried it
  };
  // What the sensor keeps per connection beside its two streams (the tracker's context).
  struct Connection {
    Connection() = default;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection();  // wipes the raw values of uses still held
    std::string sni;
    Address address = Address::waiting;
    Endpoint connected;  // valid when address is connected
    uint32_t fd = 0;     // the socket it was paired with
    std::vector<HeldUse> held;
    bool sent_data = false;
    bool from_preload = false;  // its plaintext comes from the preload (after each call succeeded: no retries seen)
    // A stream's first SSL_write call (its length, a hash of its first captured bytes, when) while it is not known
    // to have completed (its ciphertext seen leaving, plaintext read, or another call made): OpenSSL requires a call
    // that could not complete (SSL_ERROR_WANT_READ/WRITE, e.g. during the handshake) to be repeated with the same
    // buffer, and every attempt is captured at entry.
    uint32_t first_write_len = 0;
    size_t first_write_hash = 0;
    uint64_t first_write_ns = 0;
    bool first_write_pending = false;  // seen, and retries of it are still possible
    bool retries_over = false;         // the first write completed or another call came: no more retries here
    bool skipping_retry = false;       // the chunks of the call being skipped as a retry
    // HTTP/1.1 requests whose responses have not been parsed yet, oldest first (a vector: an empty std::deque holds
    // ~580 bytes, and every stream has this list)
    std::vector<PendingRequest> pending_requests;
    std::unique_ptr<HttpExchangeObserver> observer;  // follows the exchanges (made at the first request)
    bool observer_asked = false;
  };
  using Tracker = streams::StreamTracker<Connection>;
  class UseSink;     // requests → uses
  class IssuedSink;  // responses → issued credentials

  Tracker::Connection& open(const streams::StreamKey& key, uint64_t time_ns);
  void on_close(const streams::StreamKey& key, Tracker::Connection& connection, streams::CloseReason reason);
  void accept_write(Tracker::Connection& connection, const ct_tls_data_event& e, bool tls);
  bool is_retry(Connection& connection, const ct_tls_data_event& e);
  void count(const streams::Accepted& accepted, const streams::Stream& stream, bool tls);
  void add_uses(Tracker::Connection& connection, protocols::HttpRequest& request, std::string_view raw_query,
                uint32_t pid, bool tls, uint64_t now_ns);
  void note_request(Tracker::Connection& connection, const protocols::HttpRequest& request);
  void observe_request(Tracker::Connection& connection, const protocols::HttpRequest& request,
                       std::string_view raw_query, uint32_t pid, uint64_t now_ns);
  void on_served_request(Tracker::Connection& connection, const protocols::HttpRequest& request,
                         std::string_view raw_query, uint32_t pid, uint64_t now_ns);
  HttpExchangeObserver* observer_for(Tracker::Connection& connection, const protocols::HttpRequest& request,
                                     uint32_t pid, bool served);
  std::vector<IssuedCredential> accept_read(Tracker::Connection& connection, const ct_tls_data_event& e, bool tls);
  void add_issued(Connection& connection, protocols::HttpResponse& response, uint32_t pid, bool tls,
                  std::vector<IssuedCredential>& out);
  void settle_address(Connection& c, Address address);
  void release_held(Connection& c);
  void fill_address(const Connection& c, CredentialUse& use);
  void deliver(Connection& c, CredentialUse&& use, uint64_t time_ns);
  void sync_stream_stats();
  // OAuth token requests (sensors/tls/token_exchange.h).
  void note_token_request(Tracker::Connection& connection, const protocols::HttpRequest& request, uint32_t pid,
                          bool tls, bool h2);
  void complete_exchange(const Connection& c, ObservedTokenExchange exchange);
  void answer_token_request(const Connection& c, PendingRequest& request, const protocols::HttpResponse& response);
  void give_up_token_requests(Connection& c, uint64_t sent_before_ns);

  Tracker tracker_;
  std::map<Key, Endpoint> socket_endpoints_;        // (tgid, fd) → where it connected
  std::map<Key, std::string> hello_server_names_;   // (tgid, fd) → the SNI of the ClientHello written to it
  std::vector<CredentialUse> released_;             // uses ready to be reported
  std::vector<IssuedCredential> issued_at_close_;  // credentials of responses the close of a stream delimited
  std::vector<ObservedTokenExchange> exchanges_;    // token exchanges ready to be reported
  TokenExchangeStats token_stats_;
  CredentialUseStats stats_;
  HttpObserverFactory observers_;
};

}  // namespace credtrace::sensors
