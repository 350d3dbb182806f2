// Credential-use sensor: captured plaintext through the stream tracker to the HTTP parsers, the credentials requests
// carry and responses issue, and where each stream's bytes were observed to go (TLS: the socket of its ciphertext).
#include "sensors/tls/credential_use.h"

#include "common/timestamp.h"
#include "protocols/response_credentials.h"
#include "protocols/stream_parser.h"
#include "protocols/tls/client_hello.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <functional>
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

// The method, path and destination names a request gives (a credential use's, a token endpoint's): Host or
// :authority with the port it names, else the SNI; neither leaves host empty for the connected address to fill.
template <class Target>
void name_request(const protocols::HttpRequest& request, const std::string& sni, bool h2, Target& target) {
  target.method = request.method;
  target.path = request.path;
  target.sni = sni;
  if (!request.host.empty()) {
    target.host = request.host;
    target.host_source = h2 ? kHostFromAuthority : kHostFromHeader;
    target.host_port = port_named_in(request.host);
  } else if (!sni.empty()) {
    target.host = sni;
    target.host_source = kHostFromSni;
  }
}

// Uses held at most this many per stream; later ones are reported at once, address unknown.
constexpr size_t kMaxHeldPerStream = 256;

// How the kernel captures a call's plaintext: CT_TLS_MAX_CHUNKS chunks of CT_TLS_CHUNK_LEN; the rest is a gap.
constexpr streams::CaptureGeometry kCapture{CT_TLS_CHUNK_LEN, CT_TLS_MAX_CHUNKS};

streams::Chunk chunk_of(const ct_tls_data_event& e) {
  return {e.total_len, e.offset, std::string_view(e.data, std::min<size_t>(e.len, sizeof(e.data)))};
}

// The parser of a request protocol's answers, read by the same process: HTTP/1.1 responses (HTTP/2 responses need
// the server's HPACK context and are not parsed).
std::unique_ptr<protocols::StreamParser> answer_parser_for(std::string_view protocol) {
  if (protocol == "http/1.1") return std::make_unique<protocols::Http1ResponseParser>();
  return nullptr;
}

// Socket streams share the table with SSL* streams: the fd is tagged so the two can never collide.
constexpr uint64_t kSocketStream = 1ull << 63;

using streams::CloseReason;
using streams::Direction;
using streams::StreamKey;

}  // namespace

// Requests a stream's write direction yields: the credentials they carry, as uses delivered at once.
class CredentialUseSensor::UseSink final : public protocols::MessageSink {
 public:
  UseSink(CredentialUseSensor& sensor, Tracker::Connection& connection, uint32_t pid, bool tls, uint64_t now_ns)
      : sensor_(sensor), connection_(connection), pid_(pid), tls_(tls), now_ns_(now_ns) {}
  void on_request(protocols::HttpRequest& request, std::string_view raw_query) override {
    sensor_.observe_request(connection_, request, raw_query, pid_, now_ns_);
    sensor_.add_uses(connection_, request, raw_query, pid_, tls_, now_ns_);
  }
  // A stream the watched process serves: the answers it writes.
  bool on_response_head(const protocols::HttpResponse& head) override {
    HttpExchangeObserver* observer = connection_.context.observer.get();
    return observer && observer->on_response_head(head, now_ns_);
  }
  void on_response_body(std::string_view bytes, bool end, bool cut) override {
    if (HttpExchangeObserver* observer = connection_.context.observer.get())
      observer->on_response_body(bytes, end, cut, now_ns_);
  }

 private:
  CredentialUseSensor& sensor_;
  Tracker::Connection& connection_;
  uint32_t pid_;
  bool tls_;
  uint64_t now_ns_;
};

// Responses a stream's read direction yields: the credentials servers issued in them.
// Responses a stream's read direction yields: the credentials servers issued in them; the connection's observer
// follows their header blocks and bodies.
class CredentialUseSensor::IssuedSink final : public protocols::MessageSink {
 public:
  IssuedSink(CredentialUseSensor& sensor, Tracker::Connection& connection, uint32_t pid, bool tls, uint64_t now_ns)
      : sensor_(sensor), stream_(connection), connection_(connection.context), pid_(pid), tls_(tls), now_ns_(now_ns) {}
  void on_response(protocols::HttpResponse& response) override {
    sensor_.add_issued(connection_, response, pid_, tls_, issued);
  }
  // A stream the watched process serves (TLS servers): the requests it reads.
  void on_request(protocols::HttpRequest& request, std::string_view raw_query) override {
    sensor_.on_served_request(stream_, request, raw_query, pid_, now_ns_);
  }
  bool on_response_head(const protocols::HttpResponse& head) override {
    return connection_.observer && connection_.observer->on_response_head(head, now_ns_);
  }
  void on_response_body(std::string_view bytes, bool end, bool cut) override {
    if (connection_.observer) connection_.observer->on_response_body(bytes, end, cut, now_ns_);
  }
  std::vector<IssuedCredential> issued;

 private:
  CredentialUseSensor& sensor_;
  Tracker::Connection& stream_;
  Connection& connection_;
  uint32_t pid_;
  bool tls_;
  uint64_t now_ns_;
};

CredentialUseSensor::CredentialUseSensor(size_t max_streams)
    : tracker_(streams::TrackerLimits{max_streams, kIdleNs, kCapture},
               [](Direction direction, std::string_view first_bytes) {
                 // Clients' requests; what they read is parsed once their requests say what it answers. A stream
                 // read before anything was written on it is served: HTTP/1.1 requests read (TLS servers).
                 if (direction == Direction::kWrite) return protocols::detect_client_protocol(first_bytes);
                 protocols::Detection served = protocols::detect_client_protocol(first_bytes);
                 if (served.parser && served.parser->protocol() != "http/1.1") return protocols::Detection{};
                 return served;
               },
               [this](const StreamKey& key, Tracker::Connection& connection, CloseReason reason) {
                 on_close(key, connection, reason);
               }) {}

CredentialUseSensor::Connection::~Connection() {
  for (auto& use : held) protocols::cleanse(use.use.credential);
}

CredentialUseSensor::~CredentialUseSensor() {
  for (auto& use : released_) protocols::cleanse(use.credential);
  for (auto& issued : issued_at_close_) protocols::cleanse(issued.credential);
}

CredentialUseSensor::Tracker::Connection& CredentialUseSensor::open(const StreamKey& key, uint64_t time_ns) {
  Tracker::Connection& connection = tracker_.open(key, time_ns);
  sync_stream_stats();
  return connection;
}

// Every way a stream goes: one that ended is finished (a close-delimited response yields its credentials); uses
// still waiting for the address are released as unknown.
void CredentialUseSensor::on_close(const StreamKey& key, Tracker::Connection& connection, CloseReason reason) {
  if (reason == CloseReason::kEvicted) ++stats_.streams_dropped;
  if (reason == CloseReason::kClosed) {
    const bool tls = (key.connection & kSocketStream) == 0;
    UseSink uses(*this, connection, key.pid, tls, connection.last_seen_ns);
    connection.stream(Direction::kWrite).finish(uses);
    IssuedSink issued(*this, connection, key.pid, tls, connection.last_seen_ns);
    connection.stream(Direction::kRead).finish(issued);
    for (auto& found : issued.issued) issued_at_close_.push_back(std::move(found));
  }
  give_up_token_requests(connection.context, UINT64_MAX);  // answers that never came: reported without them
  settle_address(connection.context, Address::unknown);
}

void CredentialUseSensor::sync_stream_stats() {
  stats_.streams = tracker_.stats().opened;
  stats_.streams_expired = tracker_.stats().expired;
  stats_.truncated_calls =
      tracker_.counters(Direction::kWrite).truncated_calls + tracker_.counters(Direction::kRead).truncated_calls;
}

void CredentialUseSensor::settle_address(Connection& s, Address address) {
  if (s.address != Address::waiting) return;
  s.address = address;
  release_held(s);
}

void CredentialUseSensor::recycle(std::vector<CredentialUse>&& reported) {
  constexpr size_t kKeptCapacity = 64;  // a burst's vector is freed, not kept
  reported.clear();
  if (released_.empty() && released_.capacity() < reported.capacity() && reported.capacity() <= kKeptCapacity)
    released_.swap(reported);
}

void CredentialUseSensor::release_held(Connection& s) {
  for (auto& held : s.held) {
    fill_address(s, held.use);
    released_.push_back(std::move(held.use));
  }
  s.held.clear();
}

// The observed address, or unknown: never a default that looks like an observation.
void CredentialUseSensor::fill_address(const Connection& s, CredentialUse& use) {
  if (s.address != Address::connected) {
    use.ip.clear();
    use.port = 0;
    use.address_source = kAddressUnknown;
    ++stats_.destinations_unknown;
    return;
  }
  use.ip = s.connected.ip;
  use.port = s.connected.port;
  use.address_source = s.connected.from_socket ? kAddressFromSocket : kAddressFromConnect;
  if (use.sni.empty() && !s.sni.empty()) {  // learned at pairing, from the socket's ClientHello (Go, Bun)
    use.sni = s.sni;
    if (use.host.empty()) {
      use.host = s.sni;
      use.host_source = kHostFromSni;
    }
  }
  if (use.host.empty()) {
    use.host = use.ip;
    use.host_source = kHostFromIp;
  }
}

void CredentialUseSensor::deliver(Connection& s, CredentialUse&& use, uint64_t time_ns) {
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
  const bool from_socket = (e.hdr.flags & CT_FLAG_PEER) != 0;
  if (!from_socket) hello_server_names_.erase({e.hdr.tgid, e.fd});  // a new connection on this fd
  // The last attempt wins: a refused ::1 may be retried on the same fd number with 127.0.0.1.
  socket_endpoints_[{e.hdr.tgid, e.fd}] = Endpoint{text, e.port, from_socket};
  if (from_socket) return;  // the same socket as before: nothing on it is replaced
  tracker_.close({e.hdr.tgid, static_cast<uint64_t>(e.fd) | kSocketStream}, CloseReason::kReplaced);  // fd reused
}

void CredentialUseSensor::on_sni(const ct_tls_sni_event& e) {
  Connection& s = open({e.hdr.tgid, e.ssl}, e.hdr.time_boot_ns).context;
  s.sni.assign(e.name, strnlen(e.name, sizeof(e.name)));
}

std::vector<CredentialUse> CredentialUseSensor::on_tls_socket(const ct_tls_socket_event& e) {
  Connection& s = open({e.hdr.tgid, e.ssl}, e.hdr.time_boot_ns).context;
  if (s.first_write_pending) s.retries_over = true;  // the first write's ciphertext left: it completed
  auto endpoint = socket_endpoints_.find({e.hdr.tgid, e.fd});
  if (s.address == Address::waiting) {
    if (endpoint == socket_endpoints_.end()) {
      ++stats_.tls_socket_not_connected;  // inherited, accepted, or connected before the process was watched
      settle_address(s, Address::unknown);
    } else {
      ++stats_.tls_streams_paired;
      s.connected = endpoint->second;
      s.fd = e.fd;
      // No SSL_ctrl to read it from (Go, Bun): the name the ClientHello on this socket asked for.
      if (auto name = hello_server_names_.find({e.hdr.tgid, e.fd}); s.sni.empty() && name != hello_server_names_.end())
        s.sni = name->second;
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
  tracker_.close({e.hdr.tgid, e.ssl}, CloseReason::kClosed);  // a close-delimited response ends with the stream
  sync_stream_stats();
  return std::exchange(issued_at_close_, {});
}

void CredentialUseSensor::on_new(const ct_tls_free_event& e) {
  tracker_.close({e.hdr.tgid, e.ssl}, CloseReason::kReplaced);
  sync_stream_stats();
}

std::vector<CredentialUse> CredentialUseSensor::forget_process(uint32_t pid) {
  tracker_.close_process(pid);
  for (auto it = socket_endpoints_.lower_bound({pid, 0}); it != socket_endpoints_.end() && it->first.first == pid;)
    it = socket_endpoints_.erase(it);
  for (auto it = hello_server_names_.lower_bound({pid, 0});
       it != hello_server_names_.end() && it->first.first == pid;)
    it = hello_server_names_.erase(it);
  sync_stream_stats();
  return take_released();
}

std::vector<CredentialUse> CredentialUseSensor::expire(uint64_t now_boot_ns) {
  tracker_.for_each([&](const StreamKey&, Tracker::Connection& connection) {
    Connection& s = connection.context;
    auto overdue = [&](const HeldUse& held) { return held.since_ns + kHoldNs <= now_boot_ns; };
    auto first_kept = std::stable_partition(s.held.begin(), s.held.end(), overdue);
    for (auto it = s.held.begin(); it != first_kept; ++it) {
      fill_address(s, it->use);  // still waiting: unknown
      released_.push_back(std::move(it->use));
    }
    s.held.erase(s.held.begin(), first_kept);
    give_up_token_requests(s, now_boot_ns >= kTokenAnswerTimeoutNs ? now_boot_ns - kTokenAnswerTimeoutNs : 0);
  });
  // UINT64_MAX is the agent stopping, not time passing: the streams still open are not idle.
  if (now_boot_ns != UINT64_MAX) tracker_.expire_idle(now_boot_ns);
  sync_stream_stats();
  return take_released();
}

std::vector<CredentialUse> CredentialUseSensor::on_data(const ct_tls_data_event& e) {
  if (e.direction != CT_TLS_WRITE) return {};  // reads go to on_read_data
  Tracker::Connection& connection = open({e.hdr.tgid, e.ssl}, e.hdr.time_boot_ns);
  connection.context.sent_data = true;
  connection.context.from_preload = (e.hdr.flags & CT_FLAG_PRELOAD) != 0;
  if (!connection.context.from_preload && is_retry(connection.context, e)) return take_released();
  accept_write(connection, e, true);
  return take_released();
}

// A call that repeats a stream's first SSL_write (same length and first bytes, within kRetryWindowNs) before that
// write is known to have completed (no ciphertext of it seen leaving, nothing read, no other call in between) is the
// retry OpenSSL requires after SSL_ERROR_WANT_READ/WRITE, not a second request: node calls SSL_write three times for
// its first request while the handshake completes. Its chunks are skipped. Only a stream's first write is judged so:
// later identical requests (polling, pipelining) are never taken for retries.
bool CredentialUseSensor::is_retry(Connection& s, const ct_tls_data_event& e) {
  constexpr uint64_t kRetryWindowNs = 2'000'000'000ull;
  if (e.offset != 0) return s.skipping_retry;  // a later chunk of the call: as its first
  s.skipping_retry = false;
  if (s.retries_over) return false;
  const size_t hash = std::hash<std::string_view>{}(chunk_of(e).bytes);
  if (!s.first_write_pending) {
    s.first_write_pending = true;
    s.first_write_len = e.total_len;
    s.first_write_hash = hash;
    s.first_write_ns = e.hdr.time_boot_ns;
    return false;
  }
  s.skipping_retry = s.first_write_len == e.total_len && s.first_write_hash == hash &&
                     e.hdr.time_boot_ns >= s.first_write_ns && e.hdr.time_boot_ns - s.first_write_ns < kRetryWindowNs;
  if (!s.skipping_retry) s.retries_over = true;  // another call: the first one had completed
  if (s.skipping_retry) ++stats_.write_retries;
  return s.skipping_retry;
}

std::vector<CredentialUse> CredentialUseSensor::on_socket_data(const ct_tls_data_event& e, bool* stop_capture) {
  const StreamKey key{e.hdr.tgid, e.ssl | kSocketStream};
  Tracker::Connection& connection = open(key, e.hdr.time_boot_ns);
  Connection& s = connection.context;
  if (!s.sent_data && e.offset == 0) note_client_hello(e);
  if (!s.sent_data) {
    s.sent_data = true;
    auto endpoint = socket_endpoints_.find({e.hdr.tgid, e.ssl});
    if (endpoint != socket_endpoints_.end()) s.connected = endpoint->second;
    s.address = endpoint != socket_endpoints_.end() ? Address::connected : Address::unknown;  // the fd is the socket
  }
  accept_write(connection, e, false);
  const streams::Stream& writes = connection.stream(Direction::kWrite);
  *stop_capture = writes.decided() && (!writes.parser() || writes.parser()->protocol() != "http/1.1");
  if (*stop_capture) tracker_.close(key, CloseReason::kAbandoned);
  return take_released();
}

// The first bytes written to a connected socket: a TLS ClientHello's server name, for the TLS stream paired with it.
void CredentialUseSensor::note_client_hello(const ct_tls_data_event& e) {
  const size_t len = std::min<size_t>(e.len, sizeof(e.data));
  auto name = protocols::client_hello_server_name(std::string_view(e.data, len));
  if (!name) return;
  if (hello_server_names_.size() >= 65536) hello_server_names_.clear();
  hello_server_names_[{e.hdr.tgid, e.ssl}] = std::move(*name);
  ++stats_.client_hello_names;
}

// One chunk of what the process wrote, through the stream tracker: the uses its requests carried, each delivered (held
// for the stream's address or released) as its request is parsed.
void CredentialUseSensor::accept_write(Tracker::Connection& connection, const ct_tls_data_event& e, bool tls) {
  UseSink sink(*this, connection, e.hdr.tgid, tls, e.hdr.time_boot_ns);
  streams::Accepted accepted = tracker_.accept(connection, Direction::kWrite, chunk_of(e), e.hdr.time_boot_ns, sink);
  count(accepted, connection.stream(Direction::kWrite), tls);
}

void CredentialUseSensor::count(const streams::Accepted& accepted, const streams::Stream& stream, bool tls) {
  stats_.gaps += (accepted.holes.before ? 1 : 0) + (accepted.holes.after ? 1 : 0);
  const bool h2 = stream.parser() && stream.parser()->protocol() == "h2";
  if (accepted.decided && h2) ++stats_.h2_streams;
  if (accepted.decided && !stream.parser()) ++(tls ? stats_.unsupported : stats_.sockets_not_http);
  if (accepted.gave_up && h2) ++stats_.h2_broken;
  sync_stream_stats();
}

void CredentialUseSensor::add_uses(Tracker::Connection& connection, protocols::HttpRequest& request,
                                   std::string_view raw_query, uint32_t pid, bool tls, uint64_t now_ns) {
  Connection& s = connection.context;
  const bool h2 = connection.stream(Direction::kWrite).parser()->protocol() == "h2";
  ++stats_.requests;
  if (!h2) note_request(connection, request);
  note_token_request(connection, request, pid, tls, h2);
  for (auto& credential : protocols::credentials_in_request(request, raw_query)) {
    CredentialUse use;  // moved once, into what holds or releases it
    use.pid = pid;
    use.time_ns = connection.last_seen_ns;
    use.protocol = h2 ? "h2" : "http/1.1";
    use.tls = tls;
    use.sensor = s.from_preload ? "preload" : "ebpf";
    name_request(request, s.sni, h2, use);  // else the address names it once known (fill_address)
    use.credential = std::move(credential);
    deliver(s, std::move(use), now_ns);
  }
}

// An HTTP/1.1 request: its response, read later on the same connection, is parsed and paired with it.
void CredentialUseSensor::note_request(Tracker::Connection& connection, const protocols::HttpRequest& request) {
  constexpr size_t kMaxPending = 64;  // responses that never come (a killed connection) must not pile up
  Connection& s = connection.context;
  streams::Stream& reads = connection.stream(Direction::kRead);
  if (!reads.parser()) reads.set_parser(answer_parser_for("http/1.1"));
  if (s.pending_requests.size() >= kMaxPending) {
    if (s.pending_requests.front().token) complete_exchange(s, std::move(*s.pending_requests.front().token));
    s.pending_requests.erase(s.pending_requests.begin());
  }
  std::string host = request.host.empty() ? s.sni : request.host;
  s.pending_requests.push_back({request.method, std::move(host), request.path, nullptr});
  reads.parser()->on_peer_request(request.method);
}

std::vector<IssuedCredential> CredentialUseSensor::on_read_data(const ct_tls_data_event& e) {
  // A stream read before anything was written on it may be one the process serves (TLS servers read requests first).
  Tracker::Connection& connection = open({e.hdr.tgid, e.ssl}, e.hdr.time_boot_ns);
  if (e.len) connection.context.retries_over = true;  // the first write completed
  return accept_read(connection, e, true);
}

std::vector<IssuedCredential> CredentialUseSensor::on_socket_read(const ct_tls_data_event& e) {
  Tracker::Connection* connection = tracker_.find({e.hdr.tgid, e.ssl | kSocketStream});
  if (!connection) {
    ++stats_.reads_unparsed;  // nothing written on it yet (or not HTTP): answers of nothing
    return {};
  }
  return accept_read(*connection, e, false);
}

// One chunk of what the process read, through the stream tracker: credentials issued in the responses it completes.
std::vector<IssuedCredential> CredentialUseSensor::accept_read(Tracker::Connection& connection,
                                                               const ct_tls_data_event& e, bool tls) {
  const streams::Stream& reads = connection.stream(Direction::kRead);
  // A stream written first whose answers are not parsed (HTTP/2: server HPACK context; other protocols), or one read
  // first that is not HTTP/1.1 requests.
  if (!reads.parser() && (reads.decided() || connection.context.sent_data || !tls)) {
    ++stats_.reads_unparsed;
    return {};
  }
  IssuedSink sink(*this, connection, e.hdr.tgid, tls, e.hdr.time_boot_ns);
  streams::Accepted accepted = tracker_.accept(connection, Direction::kRead, chunk_of(e), e.hdr.time_boot_ns, sink);
  stats_.read_gaps += (accepted.holes.before ? 1 : 0) + (accepted.holes.after ? 1 : 0);
  sync_stream_stats();
  return std::move(sink.issued);
}

// An HTTP/1.1 request: the connection's observer (made at its first request) follows it and its answer.
void CredentialUseSensor::observe_request(Tracker::Connection& connection, const protocols::HttpRequest& request,
                                          std::string_view raw_query, uint32_t pid, uint64_t now_ns) {
  if (connection.stream(Direction::kWrite).parser()->protocol() != "http/1.1") return;
  if (HttpExchangeObserver* observer = observer_for(connection, request, pid, false))
    observer->on_request(request, raw_query, now_ns);
}

// A request the watched process read (it serves the stream, through SSL_read): its answers, written next, are parsed.
void CredentialUseSensor::on_served_request(Tracker::Connection& connection, const protocols::HttpRequest& request,
                                            std::string_view raw_query, uint32_t pid, uint64_t now_ns) {
  ++stats_.served_requests;
  streams::Stream& answers = connection.stream(Direction::kWrite);
  if (!answers.parser()) answers.set_parser(std::make_unique<protocols::Http1ResponseParser>());
  answers.parser()->on_peer_request(request.method);
  if (HttpExchangeObserver* observer = observer_for(connection, request, pid, true))
    observer->on_request(request, raw_query, now_ns);
}

// The connection's observer, asked for once (at its first request).
HttpExchangeObserver* CredentialUseSensor::observer_for(Tracker::Connection& connection,
                                                        const protocols::HttpRequest& request, uint32_t pid,
                                                        bool served) {
  Connection& s = connection.context;
  if (!observers_) return nullptr;
  if (!s.observer_asked) {
    s.observer_asked = true;
    std::string destination = !request.host.empty() ? request.host : s.sni;
    if (destination.empty() && s.address == Address::connected)
      destination = s.connected.ip + ":" + std::to_string(s.connected.port);
    s.observer = observers_(pid, served, destination);
  }
  return s.observer.get();
}

void CredentialUseSensor::add_issued(Connection& s, protocols::HttpResponse& response, uint32_t pid, bool tls,
                                     std::vector<IssuedCredential>& out) {
  if (response.status < 200) return;  // 101: the connection switched protocols; no request is answered by it
  ++stats_.responses;
  PendingRequest request;
  if (!s.pending_requests.empty()) {
    request = std::move(s.pending_requests.front());
    s.pending_requests.erase(s.pending_requests.begin());
  }
  if (request.token) answer_token_request(s, request, response);
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
    found.tls = tls;
    found.credential = std::move(credential);
    out.push_back(std::move(found));
  }
}

// An OAuth token request (sensors/tls/token_exchange.h): it waits for its answer on HTTP/1.1 over TLS; elsewhere no
// answer is parsed (plain sockets' reads are not captured; HTTP/2 responses need the server's HPACK context — and
// HTTP/2 request bodies are not kept today, so none is recognised there), so it is reported at once, unanswered.
void CredentialUseSensor::note_token_request(Tracker::Connection& connection, const protocols::HttpRequest& request,
                                             uint32_t pid, bool tls, bool h2) {
  TokenRequestPtr parsed = token_request_in(request, h2, token_stats_);
  if (!parsed) return;
  Connection& s = connection.context;
  auto exchange = std::make_unique<ObservedTokenExchange>();
  exchange->pid = pid;
  exchange->request = std::move(parsed);
  exchange->sent_ns = connection.last_seen_ns;
  TokenEndpoint& endpoint = exchange->endpoint;
  endpoint.protocol = h2 ? "h2" : "http/1.1";
  endpoint.tls = tls;
  name_request(request, s.sni, h2, endpoint);
  if (h2 || !tls || s.pending_requests.empty()) return complete_exchange(s, std::move(*exchange));
  s.pending_requests.back().token = std::move(exchange);
}

// Its destination's address as observed by now (or unknown), then ready to be reported.
void CredentialUseSensor::complete_exchange(const Connection& s, ObservedTokenExchange exchange) {
  TokenEndpoint& endpoint = exchange.endpoint;
  if (s.address == Address::connected) {
    endpoint.ip = s.connected.ip;
    endpoint.port = s.connected.port;
    endpoint.address_source = kAddressFromConnect;
    if (endpoint.host.empty()) {
      endpoint.host = endpoint.ip;
      endpoint.host_source = kHostFromIp;
    }
  } else {
    endpoint.address_source = kAddressUnknown;
  }
  ++(exchange.response ? token_stats_.answered : token_stats_.unanswered);
  exchanges_.push_back(std::move(exchange));
}

void CredentialUseSensor::answer_token_request(const Connection& s, PendingRequest& request,
                                               const protocols::HttpResponse& response) {
  TokenResponsePtr answer(new protocols::oauth::TokenResponse(protocols::oauth::parse_token_response(response)));
  if (answer->unparsed) ++token_stats_.answers_unparsed;
  request.token->response = std::move(answer);
  complete_exchange(s, std::move(*request.token));
  request.token.reset();
}

// Token requests sent at or before sent_before_ns whose answers have not come: reported without them. Their places
// stay queued, so later answers still pair with the right requests.
void CredentialUseSensor::give_up_token_requests(Connection& s, uint64_t sent_before_ns) {
  for (PendingRequest& pending : s.pending_requests) {
    if (!pending.token || pending.token->sent_ns > sent_before_ns) continue;
    complete_exchange(s, std::move(*pending.token));
    pending.token.reset();
  }
}

}  // namespace credtrace::sensors
