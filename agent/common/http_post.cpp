// One HTTP(S) POST with libcurl (collector client, OTLP exporter) and the endpoint URL rule.
#include "common/http_post.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>

#include "common/url.h"

namespace credtrace::common {
namespace {

struct ReplySink {
  std::string* body;
  size_t max;
};

size_t collect_reply(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<ReplySink*>(user);
  const size_t n = size * count;
  if (sink->body->size() + n > sink->max) return 0;  // refuse anything larger than a reply can be
  sink->body->append(data, n);
  return n;
}

int check_abort(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* abort = static_cast<const std::atomic<bool>*>(user);
  return abort && abort->load() ? 1 : 0;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

}  // namespace

std::string endpoint_url(const std::string& configured, const std::string& path, const std::string& what,
                         std::string* error) {
  const size_t separator = configured.find("://");
  const std::string scheme = lower(configured.substr(0, separator));
  if (separator == std::string::npos || (scheme != "http" && scheme != "https")) {
    if (error) *error = what + " must start with http:// or https://";
    return {};
  }
  const std::string host = lower(host_of(configured));
  if (host.empty()) {
    if (error) *error = what + " has no host";
    return {};
  }
  if (scheme == "http" && !is_loopback_host(host)) {
    if (error) *error = what + " uses plain http to " + host + "; use https (plain http only on loopback)";
    return {};
  }
  std::string url = configured;
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.size() < path.size() || url.compare(url.size() - path.size(), path.size(), path) != 0) url += path;
  return url;
}

bool curl_ready() {
  static const bool initialised = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  return initialised;
}

HttpPostResult http_post(void* handle, const HttpPost& request) {
  CURL* curl = static_cast<CURL*>(handle);
  curl_easy_reset(curl);
  HttpPostResult result;
  ReplySink sink{&result.reply, request.max_reply_bytes};
  curl_slist* headers = curl_slist_append(nullptr, "Expect:");  // no 100-continue round trip
  for (const auto& header : request.headers) headers = curl_slist_append(headers, header.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body ? request.body->data() : "");
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body ? request.body->size() : 0));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_reply);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::max<int64_t>(std::min(request.connect_timeout, request.timeout).count(), 1)));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<int64_t>(request.timeout.count(), 1)));
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, check_abort);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, request.abort);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  // Loopback (the only place plain http may go) never through a proxy from http_proxy/ALL_PROXY: it would carry
  // the headers (a bearer token, an API key) in clear text off the host.
  if (is_loopback_host(host_of(request.url))) curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!request.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, request.ca_file.c_str());
  if (!request.cert_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_SSLCERT, request.cert_file.c_str());
    curl_easy_setopt(curl, CURLOPT_SSLKEY, request.key_file.c_str());
  }
  const CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    result.error = curl_easy_strerror(rc);
    return result;
  }
  result.transferred = true;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  curl_off_t retry_after = 0;
  if (curl_easy_getinfo(curl, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK && retry_after > 0)
    result.retry_after_seconds = retry_after;
  return result;
}

}  // namespace credtrace::common
