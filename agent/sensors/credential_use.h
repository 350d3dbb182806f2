// Credential-use sensor: reassembles TLS plaintext per stream (pid, SSL*), parses HTTP/1.1 requests, and returns the
// credentials each request carried with its destination. Raw values stay inside; callers fingerprint and forget them.
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

struct CredentialUse {
  uint32_t pid = 0;
  protocols::CarriedCredential credential;  // .value is raw: fingerprint it, then drop the use
  std::string protocol;                     // "http/1.1"
  std::string method, path, host, sni;
  uint32_t port = 0;
  std::string ip;  // from the connect() of the thread that set up the stream, when its port agrees
  bool tls = true;
};

// A credential a server handed to a watched process in an HTTP response (token endpoints, key creation).
struct IssuedCredential {
  uint32_t pid = 0;
  protocols::CarriedCredential credential;  // .value is raw: fingerprint it, then drop it
  std::string protocol;                     // "http/1.1"
  std::string method, path, host;           // the request it answered (path without query values)
  uint32_t port = 0;
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
};

class CredentialUseSensor {
 public:
  explicit CredentialUseSensor(size_t max_streams = 16384) : max_streams_(max_streams) {}
  void on_connect(const ct_connect_event& e);
  void on_sni(const ct_tls_sni_event& e);
  // SSL_free: the stream ends; a close-delimited response still open is finished (its issued credentials returned).
  std::vector<IssuedCredential> on_free(const ct_tls_free_event& e);
  // SSL_new returned this address: whatever an earlier stream left there is gone.
  void on_new(const ct_tls_free_event& e);
  // Plaintext a watched process wrote (CT_TLS_WRITE): the credentials its requests carried.
  std::vector<CredentialUse> on_data(const ct_tls_data_event& e);
  // Plaintext it read (CT_TLS_READ): credentials servers issued to it in HTTP/1.1 responses.
  std::vector<IssuedCredential> on_read_data(const ct_tls_data_event& e);
  // Plain bytes written to a connected socket (CT_EVENT_SOCK_DATA; e.ssl is the fd). *stop_capture is set when the
  // stream is not plain HTTP (TLS records, another protocol): the caller tells the kernel to stop copying it.
  std::vector<CredentialUse> on_socket_data(const ct_tls_data_event& e, bool* stop_capture);
  // Streams of a process that exited.
  void forget_process(uint32_t pid);
  const CredentialUseStats& stats() const { return stats_; }

 private:
  struct Endpoint {
    std::string ip;
    uint32_t port = 0;
    uint64_t time_boot_ns = 0;
  };
  // A request whose response has not been parsed yet (for naming what issued a credential).
  struct PendingRequest {
    std::string method, host, path;
    uint32_t port = 0;
  };
  struct Stream {
    std::string sni;
    Endpoint connected;  // the setting-up thread's connect() around SNI time (before its first data)
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
  std::vector<CredentialUse> parse(Stream& s, const ct_tls_data_event& e, bool tls);
  void gap(Stream& s, uint64_t missing);
  void note_request(Stream& s, const protocols::HttpRequest& request, uint32_t port);
  std::vector<IssuedCredential> issued_in(Stream& s, std::vector<protocols::HttpResponse>& responses, uint32_t pid);

  size_t max_streams_;
  std::map<Key, std::unique_ptr<Stream>> streams_;
  std::map<uint32_t, Endpoint> last_connect_by_thread_;
  std::map<uint32_t, Key> last_sni_stream_by_thread_;  // Node sets SNI before it connects
  std::map<Key, Endpoint> socket_endpoints_;             // (tgid, fd) → where it connected
  CredentialUseStats stats_;
};

}  // namespace credtrace::sensors
