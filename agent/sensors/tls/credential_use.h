// Credential-use sensor: reassembles TLS plaintext per stream (pid, SSL*), parses HTTP/1.1 and HTTP/2 requests, and
// returns the credentials each request carried with its observed destination. Raw values stay inside; callers
// fingerprint and forget them.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "events.h"
#include "protocols/credentials.h"
#include "protocols/http1/request_parser.h"
#include "protocols/http1/response_parser.h"
#include "protocols/http2/request_parser.h"

namespace credtrace::sensors {

// How a destination's ip and port were learned: only observations are reported, never a default.
inline constexpr const char* kAddressFromConnect = "connect";  // the connect() of the socket the bytes went to
inline constexpr const char* kAddressUnknown = "unknown";       // not observed: ip empty, port 0

// Where a destination's host name came from.
inline constexpr const char* kHostFromHeader = "host_header";    // HTTP/1.1 Host (or absolute-form authority)
inline constexpr const char* kHostFromAuthority = "authority";   // HTTP/2 :authority (or its host header)
inline constexpr const char* kHostFromSni = "sni";               // no Host: the server name set on the SSL
inline constexpr const char* kHostFromIp = "ip";                 // neither: the connected address

struct CredentialUse {
  uint32_t pid = 0;
  protocols::CarriedCredential credential;  // .value is raw: fingerprint it, then drop the use
  std::string protocol;                     // "http/1.1"
  std::string method, path, host, sni;
  std::string host_source;                  // kHostFrom*; empty when no name was seen at all
  uint32_t host_port = 0;                   // the port Host/:authority names: the client's claim (0: names none)
  uint32_t port = 0;                        // observed (address_source "connect"), else 0
  std::string ip;                           // observed, else empty
  std::string address_source = kAddressUnknown;
  bool tls = true;
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
  uint64_t tls_socket_not_connected = 0;  // …to a socket whose connect() the agent did not see: address unknown
  uint64_t tls_pairing_conflicts = 0;    // streams paired with two sockets: the address is unknown from then on
  uint64_t destinations_unknown = 0;     // uses reported with address_source "unknown"
};

// CLOCK_BOOTTIME in ns: the clock of kernel event times.
uint64_t boot_clock_ns();

// A TLS stream's destination address is learned when its ciphertext is seen going to a socket the process connected
// (CT_EVENT_TLS_SOCKET, which follows the SSL_write's plaintext in the ring): until then its uses are held, and
// returned with the address once the pairing arrives, or as unknown when the stream ends, its process exits or the
// pairing window has passed (expire). Every call that can release held uses returns them.
class CredentialUseSensor {
 public:
  // Held uses wait this long (event time) for their pairing: the kernel pairs within CT_TLS_PAIR_WINDOW_NS, and the
  // agent expires only after draining the ring.
  static constexpr uint64_t kHoldNs = CT_TLS_PAIR_WINDOW_NS + 1'000'000'000ull;

  explicit CredentialUseSensor(size_t max_streams = 16384) : max_streams_(max_streams) {}
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
  // Streams of a process that exited: their held uses, as unknown.
  std::vector<CredentialUse> forget_process(uint32_t pid);
  // Uses held since before now_boot_ns - kHoldNs, as unknown (call after draining the ring; UINT64_MAX: all).
  std::vector<CredentialUse> expire(uint64_t now_boot_ns);
  // Uses released by calls that return something else (on_free, on_new, evictions).
  std::vector<CredentialUse> take_released() { return std::exchange(released_, {}); }
  const CredentialUseStats& stats() const { return stats_; }

 private:
  struct Endpoint {
    std::string ip;
    uint32_t port = 0;
    bool operator==(const Endpoint&) const = default;
  };
  // A request whose response has not been parsed yet (for naming what issued a credential).
  struct PendingRequest {
    std::string method, host, path;
  };
  // Whether the stream's address is known: waiting for the ciphertext's socket (TLS), paired with it, or unknown
  // (the socket's connect() was not seen, two sockets were seen, or the stream ended first).
  enum class Address { waiting, connected, unknown };
  struct HeldUse {
    CredentialUse use;
    uint64_t since_ns = 0;  // time of the plaintext that carried it
  };
  struct Stream {
    std::string sni;
    Address address = Address::waiting;
    Endpoint connected;  // valid when address is connected
    uint32_t fd = 0;     // the socket it was paired with
    std::vector<HeldUse> held;
    bool sent_data = false;
    uint64_t next_offset = 0;  // where the next chunk of the current write call must start (0: a new call)
    bool classified = false;
    bool http1 = false;
    std::unique_ptr<protocols::Http2RequestParser> h2;  // set when the stream starts with the HTTP/2 preface
    protocols::Http1RequestParser parser;
    uint64_t next_read_offset = 0;  // as next_offset, for SSL_read calls
    std::unique_ptr<protocols::Http1ResponseParser> responses;  // HTTP/1.1 streams once a request was seen
    std::deque<PendingRequest> pending_requests;
  };
  using Key = std::pair<uint32_t, uint64_t>;
  Stream& stream(const Key& key);
  void erase_stream(std::map<Key, std::unique_ptr<Stream>>::iterator it);
  std::vector<CredentialUse> parse(Stream& s, const ct_tls_data_event& e, bool tls);
  void gap(Stream& s, uint64_t missing);
  void note_request(Stream& s, const protocols::HttpRequest& request);
  std::vector<IssuedCredential> issued_in(Stream& s, std::vector<protocols::HttpResponse>& responses, uint32_t pid);
  void settle_address(Stream& s, Address address);
  void release_held(Stream& s);
  void fill_address(const Stream& s, CredentialUse& use);
  void deliver(Stream& s, CredentialUse use, uint64_t time_ns);

  size_t max_streams_;
  std::map<Key, std::unique_ptr<Stream>> streams_;
  std::map<Key, Endpoint> socket_endpoints_;  // (tgid, fd) → where it connected
  std::vector<CredentialUse> released_;       // uses ready to be reported
  CredentialUseStats stats_;
};

}  // namespace credtrace::sensors
