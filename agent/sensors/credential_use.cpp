// Credential-use sensor: per-stream HTTP/1.1 parsing of captured TLS plaintext and the credentials requests carry.
#include "sensors/credential_use.h"

#include <openssl/crypto.h>

#include <cstring>

namespace credtrace::sensors {
namespace {

// "host:port" or "[v6]:port" → port; 443 when the Host header names none (the stream is TLS).
uint32_t port_of(const std::string& host) {
  size_t colon = host.rfind(':');
  if (!host.empty() && host[0] == '[') colon = host.find("]:") == std::string::npos ? std::string::npos : host.find("]:") + 1;
  if (colon == std::string::npos || colon + 1 >= host.size() || host.size() - colon > 6) return 443;
  uint32_t port = 0;
  for (char c : host.substr(colon + 1)) {
    if (c < '0' || c > '9') return 443;
    port = port * 10 + static_cast<uint32_t>(c - '0');
  }
  return port && port <= 65535 ? port : 443;
}

// Request copies hold header values and queries in plaintext: zero them before they are freed.
void wipe(std::vector<protocols::HttpRequest>& requests, std::vector<std::string>& raw_queries) {
  for (auto& query : raw_queries) OPENSSL_cleanse(query.data(), query.size());
  for (auto& request : requests) protocols::cleanse(request);
}

}  // namespace

CredentialUseSensor::Stream& CredentialUseSensor::stream(const Key& key) {
  auto it = streams_.find(key);
  if (it != streams_.end()) return *it->second;
  if (streams_.size() >= max_streams_) {
    streams_.erase(streams_.begin());  // oldest SSL* first is as good as any: counted, never silent
    ++stats_.streams_dropped;
  }
  ++stats_.streams;
  return *streams_.emplace(key, std::make_unique<Stream>()).first->second;
}

void CredentialUseSensor::on_sni(const ct_tls_sni_event& e) {
  stream({e.hdr.tgid, e.ssl}).sni.assign(e.name, strnlen(e.name, sizeof(e.name)));
}

void CredentialUseSensor::on_free(const ct_tls_free_event& e) { streams_.erase({e.hdr.tgid, e.ssl}); }

void CredentialUseSensor::forget_process(uint32_t pid) {
  for (auto it = streams_.lower_bound({pid, 0}); it != streams_.end() && it->first.first == pid;) it = streams_.erase(it);
}

std::vector<CredentialUse> CredentialUseSensor::on_data(const ct_tls_data_event& e) {
  std::vector<CredentialUse> uses;
  if (e.direction != CT_TLS_WRITE) return uses;
  Stream& s = stream({e.hdr.tgid, e.ssl});
  std::string_view bytes(e.data, std::min<size_t>(e.len, sizeof(e.data)));
  if (!s.classified) {
    if (bytes.empty()) return uses;
    s.classified = true;
    s.http1 = protocols::Http1RequestParser::looks_like_http1_request(bytes);
    if (!s.http1) ++stats_.unsupported;  // h2 ("PRI * HTTP/2.0" preface) and other protocols: not parsed yet
  }
  if (!s.http1) return uses;
  std::vector<protocols::HttpRequest> requests;
  std::vector<std::string> raw_queries;
  s.parser.feed(bytes, requests, raw_queries);
  // The last chunk of a call that was cut: what the kernel did not capture is a gap, never guessed over.
  uint64_t end_of_chunk = static_cast<uint64_t>(e.offset) + e.len;
  if (end_of_chunk < e.total_len && e.offset + sizeof(e.data) >= static_cast<uint64_t>(CT_TLS_CHUNK_LEN) * CT_TLS_MAX_CHUNKS) {
    s.parser.gap(e.total_len - end_of_chunk);
    ++stats_.gaps;
  }
  for (size_t i = 0; i < requests.size(); ++i) {
    protocols::HttpRequest& request = requests[i];
    ++stats_.requests;
    for (auto& credential : protocols::credentials_in_request(request, raw_queries[i])) {
      CredentialUse use;
      use.pid = e.hdr.tgid;
      use.protocol = "http/1.1";
      use.method = request.method;
      use.path = request.path;
      use.host = request.host.empty() ? s.sni : request.host;
      use.sni = s.sni;
      use.port = port_of(request.host);
      use.credential = std::move(credential);
      uses.push_back(std::move(use));
    }
  }
  wipe(requests, raw_queries);
  return uses;
}

}  // namespace credtrace::sensors
