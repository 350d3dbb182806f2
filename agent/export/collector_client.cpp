// HTTP(S) client of POST /v1/ingest with libcurl: headers, TLS options, timeouts, reply classification.
#include "export/collector_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>

#include "common/url.h"
#include "credtrace/v1/ingest.pb.h"

namespace credtrace::exporter {
namespace {

using common::host_of;
using common::is_loopback_host;

constexpr const char* kIngestPath = "/v1/ingest";

size_t collect_body(char* data, size_t size, size_t count, void* user) {
  auto* out = static_cast<std::string*>(user);
  size_t n = size * count;
  if (out->size() + n > (1u << 20)) return 0;  // an ack is tiny: refuse anything large
  out->append(data, n);
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

SendOutcome classify_status(long http_status) {
  if (http_status >= 200 && http_status < 300) return SendOutcome::kAcked;
  if (http_status == 408 || http_status == 429 || http_status == 401 || http_status == 403) return SendOutcome::kRetry;
  if (http_status >= 400 && http_status < 500) return SendOutcome::kRejected;
  return SendOutcome::kRetry;  // 5xx, 1xx/3xx (no redirects are followed), no reply
}

std::string ingest_url(const std::string& configured, std::string* error) {
  std::string scheme = lower(configured.substr(0, configured.find("://")));
  if (configured.find("://") == std::string::npos || (scheme != "http" && scheme != "https")) {
    if (error) *error = "collector URL must start with http:// or https://";
    return {};
  }
  std::string host = lower(host_of(configured));
  if (host.empty()) {
    if (error) *error = "collector URL has no host";
    return {};
  }
  if (scheme == "http" && !is_loopback_host(host)) {
    if (error) *error = "collector URL uses plain http to " + host + "; use https (plain http only on loopback)";
    return {};
  }
  std::string url = configured;
  while (!url.empty() && url.back() == '/') url.pop_back();
  const std::string path = kIngestPath;
  if (url.size() < path.size() || url.compare(url.size() - path.size(), path.size(), path) != 0) url += path;
  return url;
}

std::unique_ptr<CollectorClient> CollectorClient::create(CollectorEndpoint endpoint, std::string* error) {
  std::string url = ingest_url(endpoint.url, error);
  if (url.empty()) return nullptr;
  endpoint.url = url;
  if (endpoint.cert_file.empty() != endpoint.key_file.empty()) {
    if (error) *error = "collector client certificate and key must be given together";
    return nullptr;
  }
  if (endpoint.token.empty() && endpoint.cert_file.empty()) {
    if (error) *error = "collector needs a token file or a client certificate";
    return nullptr;
  }
  static const bool initialised = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  if (!initialised) {
    if (error) *error = "cannot initialise libcurl";
    return nullptr;
  }
  std::unique_ptr<CollectorClient> client(new CollectorClient(std::move(endpoint)));
  if (!client->curl_) {
    if (error) *error = "cannot create a libcurl handle";
    return nullptr;
  }
  return client;
}

CollectorClient::CollectorClient(CollectorEndpoint endpoint) : endpoint_(std::move(endpoint)), curl_(curl_easy_init()) {}

CollectorClient::~CollectorClient() {
  if (curl_) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

SendResult CollectorClient::send(const std::string& agent_id, uint64_t sequence, const std::string& body,
                                 std::chrono::milliseconds timeout, const std::atomic<bool>* abort) {
  CURL* curl = static_cast<CURL*>(curl_);
  curl_easy_reset(curl);
  std::string reply;
  std::string authorization = "Authorization: Bearer " + endpoint_.token;
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/x-protobuf");
  headers = curl_slist_append(headers, "Content-Encoding: deflate");
  headers = curl_slist_append(headers, "Accept: application/x-protobuf");
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  if (!endpoint_.token.empty()) headers = curl_slist_append(headers, authorization.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, endpoint_.url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min(endpoint_.connect_timeout, timeout).count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<int64_t>(timeout.count(), 1)));
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, check_abort);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, abort);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  // Loopback (the only place plain http may go) never through a proxy from http_proxy/ALL_PROXY: it would carry
  // the bearer token in clear text off the host.
  if (is_loopback_host(host_of(endpoint_.url))) curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!endpoint_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, endpoint_.ca_file.c_str());
  if (!endpoint_.cert_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_SSLCERT, endpoint_.cert_file.c_str());
    curl_easy_setopt(curl, CURLOPT_SSLKEY, endpoint_.key_file.c_str());
  }
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  std::fill(authorization.begin(), authorization.end(), '\0');

  SendResult result;
  if (rc != CURLE_OK) {
    result.message = std::string("transfer failed: ") + curl_easy_strerror(rc);
    return result;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.http_status);
  result.outcome = classify_status(result.http_status);
  result.message = "HTTP " + std::to_string(result.http_status);
  if (result.outcome != SendOutcome::kAcked) return result;
  credtrace::v1::IngestAck ack;
  if (!ack.ParseFromString(reply) || ack.sequence() != sequence || ack.agent_id() != agent_id) {
    result.outcome = SendOutcome::kRetry;  // a proxy or a different server answered: the batch may not be stored
    result.message += " without a matching IngestAck";
    return result;
  }
  result.duplicate = ack.duplicate();
  return result;
}

}  // namespace credtrace::exporter
