// One HTTP(S) POST with libcurl, shared by the agent's collector client and the OTLP exporter: the endpoint URL rule
// (http(s) only, plain http only to loopback, a path appended), headers, TLS verification with an optional CA and
// client certificate, timeouts, an abort flag, no proxy for loopback, and a bounded reply body.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace credtrace::common {

// The URL to POST to for a configured endpoint: `path` appended unless the URL (trailing slashes dropped) ends with
// it; "" and *error ("<what> must start with ...", "<what> uses plain http to HOST ...") when it is not http(s), has no
// host, or is plain http to a host other than loopback (credentials and events would cross the network in clear).
std::string endpoint_url(const std::string& configured, const std::string& path, const std::string& what,
                         std::string* error);

struct HttpPost {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  const std::string* body = nullptr;
  std::string ca_file, cert_file, key_file;  // "" : system CAs, no client certificate
  std::chrono::milliseconds connect_timeout{5000}, timeout{10000};
  const std::atomic<bool>* abort = nullptr;  // true while the transfer runs: it ends early (a transfer error)
  size_t max_reply_bytes = 1u << 20;         // a longer reply fails the transfer
};

struct HttpPostResult {
  bool transferred = false;  // a reply arrived (any status)
  long status = 0;
  std::string reply;
  int64_t retry_after_seconds = 0;  // the reply's Retry-After (seconds form), 0 when none
  std::string error;  // when not transferred: libcurl's text
};

// POSTs on `curl` (a CURL*, reset first, kept by the caller so its connection is reused).
HttpPostResult http_post(void* curl, const HttpPost& request);

// curl_global_init once; false when libcurl cannot be initialised.
bool curl_ready();

}  // namespace credtrace::common
