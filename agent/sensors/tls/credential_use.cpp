// Credential-use sensor: per-stream HTTP parsing of captured plaintext, the credentials requests carry, and where each
// stream's bytes were observed to go (TLS streams: the socket their ciphertext was written to).
#include "sensors/tls/credential_use.h"

#include "protocols/response_credentials.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <ctime>

namespace credtrace::sensors {
namespace {

// "host:port" or "[v6]:port" → the port it names; 0 when it names none. A claim of the client (what it asked for),
// never the port its socket connected to, and never a scheme's default.
uint32_t port_named_in(const std::string& host) {
  size_t colon = host.rfind(':');
  if (!host.empty() && host[0] == '[') colon = host.find("]:") == std::string::npos ? std::string::npos : host.find("]:") + 1;
  if (colon == std::string::npos || colon + 1 >= host.size() || host.size() - colon > 6) return 0;
  uint32_t port = 0;
  for (char c : host.substr(colon + 1)) {
    if (c < '0' || c > '9') return 0;
    port = port * 10 + static_cast<uint32_t>(c - '0');
  }
  return port <= 65535 ? port : 0;
}

// Uses held at most this many per stream; later ones are reported at once, address unknown.
constexpr size_t kMaxHeldPerStream = 256;

// Request copies hold header values and queries in plaintext: zero them before they are freed.
void wipe(std::vector<protocols::HttpRequest>& requests, std::vector<std::string>& raw_queries) {
  for (auto& query : raw_queries) OPENSSL_cleanse(query.data(), query.size());
  for (auto& request : requests) protocols::cleanse(request);
}

// Chunks of one call arrive in order; bytes missing before a chunk (a dropped chunk) and after it (short read,
// or the part of the call beyond what the kernel captures) are gaps, never guessed over.
struct ChunkGaps {
  uint64_t before = 0;
  uint64_t after = 0;
};

ChunkGaps follow_chunk(uint64_t& next_offset, const ct_tls_data_event& e) {
  ChunkGaps gaps;
  const uint64_t expected_len = std::min<uint64_t>(CT_TLS_CHUNK_LEN, e.total_len > e.offset ? e.total_len - e.offset : 0);
  if (e.offset != next_offset) gaps.before = e.offset > next_offset ? e.offset - next_offset : 1;
  constexpr uint64_t kCaptured = static_cast<uint64_t>(CT_TLS_CHUNK_LEN) * CT_TLS_MAX_CHUNKS;
  const bool last_captured = e.offset + expected_len >= e.total_len || e.offset + CT_TLS_CHUNK_LEN >= kCaptured;
  next_offset = last_captured ? 0 : e.offset + expected_len;
  const uint64_t got = std::min<uint64_t>(e.len, sizeof(e.data));
  if (got < expected_len) gaps.after += expected_len - got;
  const uint64_t end_of_chunk = static_cast<uint64_t>(e.offset) + e.len;
  if (end_of_chunk < e.total_len && e.offset + sizeof(e.data) >= kCaptured) gaps.after += e.total_len - end_of_chunk;
  return gaps;
}

std::string_view chunk_bytes(const ct_tls_data_event& e) { return {e.data, std::min<size_t>(e.len, sizeof(e.data))}; }

// Socket streams share the table with SSL* streams: the fd is tagged so the two can never collide.
constexpr uint64_t kSocketStream = 1ull << 63;

}  // namespace

uint64_t boot_clock_ns() {
  timespec now{};
  clock_gettime(CLOCK_BOOTTIME, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(now.tv_nsec);
}

CredentialUseSensor::~CredentialUseSensor() {
  for (auto& [key, s] : streams_)
    for (auto& held : s->held) protocols::cleanse(held.use.credential);
  for (auto& use : released_) protocols::cleanse(use.credential);
}

CredentialUseSensor::Stream& CredentialUseSensor::stream(const Key& key) {
  auto it = streams_.find(key);
  if (it != streams_.end()) return *it->second;
  if (streams_.size() >= max_streams_) {
    erase_stream(streams_.begin());  // oldest SSL* first is as good as any: counted, never silent
    ++stats_.streams_dropped;
  }
  ++stats_.streams;
  return *streams_.emplace(key, std::make_unique<Stream>()).first->second;
}

// A stream that ends before its address is known releases its held uses as unknown.
void CredentialUseSensor::erase_stream(std::map<Key, std::unique_ptr<Stream>>::iterator it) {
  settle_address(*it->second, Address::unknown);
  streams_.erase(it);
}

void CredentialUseSensor::settle_address(Stream& s, Address address) {
  if (s.address != Address::waiting) return;
  s.address = address;
  release_held(s);
}

void CredentialUseSensor::release_held(Stream& s) {
  for (auto& held : s.held) {
    fill_address(s, held.use);
    released_.push_back(std::move(held.use));
  }
  s.held.clear();
}

// The observed address, or unknown: never a default that looks like an observation.
void CredentialUseSensor::fill_address(const Stream& s, CredentialUse& use) {
  if (s.address != Address::connected) {
    use.ip.clear();
    use.port = 0;
    use.address_source = kAddressUnknown;
    ++stats_.destinations_unknown;
    return;
  }
  use.ip = s.connected.ip;
  use.port = s.connected.port;
  use.address_source = kAddressFromConnect;
  if (use.host.empty()) {
    use.host = use.ip;
    use.host_source = kHostFromIp;
  }
}

void CredentialUseSensor::deliver(Stream& s, CredentialUse use, uint64_t time_ns) {
  if (s.address == Address::waiting && s.held.size() < kMaxHeldPerStream) {
    s.held.push_back({std::move(use), time_ns});
    return;
  }
  fill_address(s, use);
  released_.push_back(std::move(use));
}

void CredentialUseSensor::on_connect(const ct_connect_event& e) {
  char text[INET6_ADDRSTRLEN] = {};
  int family = e.family == AF_INET6 ? AF_INET6 : AF_INET;
  if (!inet_ntop(family, e.addr, text, sizeof(text))) return;
  if (socket_endpoints_.size() >= 65536) socket_endpoints_.clear();
  // The last attempt wins: a refused ::1 may be retried on the same fd number with 127.0.0.1.
  socket_endpoints_[{e.hdr.tgid, e.fd}] = Endpoint{text, e.port};
  if (auto it = streams_.find({e.hdr.tgid, static_cast<uint64_t>(e.fd) | kSocketStream}); it != streams_.end())
    erase_stream(it);  // the fd was reused: a new stream
}

void CredentialUseSensor::on_sni(const ct_tls_sni_event& e) {
  Stream& s = stream({e.hdr.tgid, e.ssl});
  s.sni.assign(e.name, strnlen(e.name, sizeof(e.name)));
}

std::vector<CredentialUse> CredentialUseSensor::on_tls_socket(const ct_tls_socket_event& e) {
  Stream& s = stream({e.hdr.tgid, e.ssl});
  auto endpoint = socket_endpoints_.find({e.hdr.tgid, e.fd});
  if (s.address == Address::waiting) {
    if (endpoint == socket_endpoints_.end()) {
      ++stats_.tls_socket_not_connected;  // inherited, accepted, or connected before the process was watched
      settle_address(s, Address::unknown);
    } else {
      ++stats_.tls_streams_paired;
      s.connected = endpoint->second;
      s.fd = e.fd;
      settle_address(s, Address::connected);
    }
  } else if (s.address == Address::connected &&
             (e.fd != s.fd || endpoint == socket_endpoints_.end() || !(endpoint->second == s.connected))) {
    ++stats_.tls_pairing_conflicts;  // one SSL, two sockets: which one is not known, so neither is reported
    s.address = Address::unknown;
  }
  return take_released();
}

std::vector<IssuedCredential> CredentialUseSensor::on_free(const ct_tls_free_event& e) {
  auto it = streams_.find({e.hdr.tgid, e.ssl});
  if (it == streams_.end()) return {};
  std::vector<IssuedCredential> issued;
  if (Stream& s = *it->second; s.responses) {  // a close-delimited response ends with the stream
    std::vector<protocols::HttpResponse> responses;
    s.responses->finish(responses);
    issued = issued_in(s, responses, e.hdr.tgid);
  }
  erase_stream(it);
  return issued;
}

void CredentialUseSensor::on_new(const ct_tls_free_event& e) {
  if (auto it = streams_.find({e.hdr.tgid, e.ssl}); it != streams_.end()) erase_stream(it);
}

std::vector<CredentialUse> CredentialUseSensor::forget_process(uint32_t pid) {
  for (auto it = streams_.lower_bound({pid, 0}); it != streams_.end() && it->first.first == pid;) erase_stream(it++);
  for (auto it = socket_endpoints_.lower_bound({pid, 0}); it != socket_endpoints_.end() && it->first.first == pid;)
    it = socket_endpoints_.erase(it);
  return take_released();
}

std::vector<CredentialUse> CredentialUseSensor::expire(uint64_t now_boot_ns) {
  for (auto& [key, s] : streams_) {
    auto overdue = [&](const HeldUse& held) { return held.since_ns + kHoldNs <= now_boot_ns; };
    auto first_kept = std::stable_partition(s->held.begin(), s->held.end(), overdue);
    for (auto it = s->held.begin(); it != first_kept; ++it) {
      fill_address(*s, it->use);  // still waiting: unknown
      released_.push_back(std::move(it->use));
    }
    s->held.erase(s->held.begin(), first_kept);
  }
  return take_released();
}

std::vector<CredentialUse> CredentialUseSensor::on_data(const ct_tls_data_event& e) {
  if (e.direction != CT_TLS_WRITE) return {};  // reads go to on_read_data
  Stream& s = stream({e.hdr.tgid, e.ssl});
  s.sent_data = true;
  for (auto& use : parse(s, e, true)) deliver(s, std::move(use), e.hdr.time_boot_ns);
  return take_released();
}

std::vector<CredentialUse> CredentialUseSensor::on_socket_data(const ct_tls_data_event& e, bool* stop_capture) {
  Key key{e.hdr.tgid, e.ssl | kSocketStream};
  Stream& s = stream(key);
  if (!s.sent_data) {
    s.sent_data = true;
    auto endpoint = socket_endpoints_.find({e.hdr.tgid, e.ssl});
    if (endpoint != socket_endpoints_.end()) s.connected = endpoint->second;
    s.address = endpoint != socket_endpoints_.end() ? Address::connected : Address::unknown;  // the fd is the socket
  }
  for (auto& use : parse(s, e, false)) deliver(s, std::move(use), e.hdr.time_boot_ns);
  *stop_capture = s.classified && !s.http1;
  if (*stop_capture) erase_stream(streams_.find(key));
  return take_released();
}

void CredentialUseSensor::gap(Stream& s, uint64_t missing) {
  ++stats_.gaps;
  if (!s.h2) return s.parser.gap(missing);
  bool was_broken = s.h2->broken();
  s.h2->gap(missing);  // HPACK state is lost with the bytes: the connection is given up, counted
  if (!was_broken && s.h2->broken()) ++stats_.h2_broken;
}

std::vector<CredentialUse> CredentialUseSensor::parse(Stream& s, const ct_tls_data_event& e, bool tls) {
  std::vector<CredentialUse> uses;
  std::string_view bytes = chunk_bytes(e);
  const ChunkGaps gaps = follow_chunk(s.next_offset, e);
  if (gaps.before) gap(s, gaps.before);
  if (!s.classified) {
    if (bytes.empty() || e.offset != 0) return uses;  // never decide a protocol from the middle of a call
    s.classified = true;
    s.http1 = protocols::Http1RequestParser::looks_like_http1_request(bytes);
    if (!s.http1 && protocols::Http2RequestParser::starts_with_preface(bytes)) {
      s.h2 = std::make_unique<protocols::Http2RequestParser>();
      ++stats_.h2_streams;
    }
    if (!s.http1 && !s.h2) ++(tls ? stats_.unsupported : stats_.sockets_not_http);  // TLS records, other protocols
  }
  if (!s.http1 && !s.h2) return uses;
  std::vector<protocols::HttpRequest> requests;
  std::vector<std::string> raw_queries;
  if (s.h2) {
    bool was_broken = s.h2->broken();
    s.h2->feed(bytes, requests, raw_queries);
    if (!was_broken && s.h2->broken()) ++stats_.h2_broken;
  } else {
    s.parser.feed(bytes, requests, raw_queries);
  }
  if (gaps.after) gap(s, gaps.after);
  for (size_t i = 0; i < requests.size(); ++i) {
    protocols::HttpRequest& request = requests[i];
    ++stats_.requests;
    if (s.http1) note_request(s, request);
    for (auto& credential : protocols::credentials_in_request(request, raw_queries[i])) {
      CredentialUse use;
      use.pid = e.hdr.tgid;
      use.protocol = s.h2 ? "h2" : "http/1.1";
      use.tls = tls;
      use.method = request.method;
      use.path = request.path;
      use.sni = s.sni;
      if (!request.host.empty()) {
        use.host = request.host;
        use.host_source = s.h2 ? kHostFromAuthority : kHostFromHeader;
        use.host_port = port_named_in(request.host);
      } else if (!s.sni.empty()) {
        use.host = s.sni;
        use.host_source = kHostFromSni;
      }  // else the address names it once known (fill_address)
      use.credential = std::move(credential);
      uses.push_back(std::move(use));
    }
  }
  wipe(requests, raw_queries);
  return uses;
}

void CredentialUseSensor::note_request(Stream& s, const protocols::HttpRequest& request) {
  constexpr size_t kMaxPending = 64;  // responses that never come (a killed connection) must not pile up
  if (!s.responses) s.responses = std::make_unique<protocols::Http1ResponseParser>();
  if (s.pending_requests.size() >= kMaxPending) s.pending_requests.pop_front();
  std::string host = request.host.empty() ? s.sni : request.host;
  s.pending_requests.push_back({request.method, std::move(host), request.path});
  s.responses->request_sent(request.method);
}

std::vector<IssuedCredential> CredentialUseSensor::on_read_data(const ct_tls_data_event& e) {
  auto it = streams_.find({e.hdr.tgid, e.ssl});
  if (it == streams_.end() || !it->second->responses) {
    ++stats_.reads_unparsed;  // HTTP/2 responses (server HPACK context) and other protocols are not parsed
    return {};
  }
  Stream& s = *it->second;
  const ChunkGaps gaps = follow_chunk(s.next_read_offset, e);
  if (gaps.before) {
    ++stats_.read_gaps;
    s.responses->gap(gaps.before);
  }
  std::vector<protocols::HttpResponse> responses;
  s.responses->feed(chunk_bytes(e), responses);
  if (gaps.after) {
    ++stats_.read_gaps;
    s.responses->gap(gaps.after);
  }
  return issued_in(s, responses, e.hdr.tgid);
}

std::vector<IssuedCredential> CredentialUseSensor::issued_in(Stream& s, std::vector<protocols::HttpResponse>& responses,
                                                             uint32_t pid) {
  std::vector<IssuedCredential> issued;
  for (auto& response : responses) {
    if (response.status < 200) continue;  // interim (1xx): the request is still pending
    ++stats_.responses;
    PendingRequest request;
    if (!s.pending_requests.empty()) {
      request = std::move(s.pending_requests.front());
      s.pending_requests.pop_front();
    }
    for (auto& credential : protocols::credentials_in_response(response)) {
      IssuedCredential found;
      found.pid = pid;
      found.protocol = "http/1.1";
      found.method = request.method;
      found.host = request.host;
      found.path = request.path;
      if (s.address == Address::connected) {  // by the time a response is read, its request's pairing is in
        found.ip = s.connected.ip;
        found.port = s.connected.port;
        found.address_source = kAddressFromConnect;
        if (found.host.empty()) found.host = found.ip;
      }
      found.tls = true;
      found.credential = std::move(credential);
      issued.push_back(std::move(found));
    }
    protocols::cleanse(response);
  }
  return issued;
}

}  // namespace credtrace::sensors
