// HTTP(S) client of POST /v1/ingest (common/http_post): headers, reply classification, the IngestAck check.
#include "export/collector_client.h"

#include <curl/curl.h>

#include <algorithm>

#include "common/http_post.h"
#include "credtrace/v1/ingest.pb.h"

namespace credtrace::exporter {
namespace {

constexpr const char* kIngestPath = "/v1/ingest";

}  // namespace

SendOutcome classify_status(long http_status) {
  if (http_status >= 200 && http_status < 300) return SendOutcome::kAcked;
  if (http_status == 408 || http_status == 429 || http_status == 401 || http_status == 403) return SendOutcome::kRetry;
  if (http_status >= 400 && http_status < 500) return SendOutcome::kRejected;
  return SendOutcome::kRetry;  // 5xx, 1xx/3xx (no redirects are followed), no reply
}

std::string ingest_url(const std::string& configured, std::string* error) {
  return common::endpoint_url(configured, kIngestPath, "collector URL", error);
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
  if (!common::curl_ready()) {
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
  common::HttpPost post;
  post.url = endpoint_.url;
  post.headers = {"Content-Type: application/x-protobuf", "Content-Encoding: deflate", "Accept: application/x-protobuf"};
  if (!endpoint_.token.empty()) post.headers.push_back("Authorization: Bearer " + endpoint_.token);
  post.body = &body;
  post.ca_file = endpoint_.ca_file;
  post.cert_file = endpoint_.cert_file;
  post.key_file = endpoint_.key_file;
  post.connect_timeout = endpoint_.connect_timeout;
  post.timeout = timeout;
  post.abort = abort;
  post.max_reply_bytes = 1u << 20;  // an ack is tiny: refuse anything large
  common::HttpPostResult reply = common::http_post(curl_, post);
  for (auto& header : post.headers) std::fill(header.begin(), header.end(), '\0');

  SendResult result;
  if (!reply.transferred) {
    result.message = "transfer failed: " + reply.error;
    return result;
  }
  result.http_status = reply.status;
  result.outcome = classify_status(result.http_status);
  result.message = "HTTP " + std::to_string(result.http_status);
  if (result.outcome != SendOutcome::kAcked) return result;
  credtrace::v1::IngestAck ack;
  if (!ack.ParseFromString(reply.reply) || ack.sequence() != sequence || ack.agent_id() != agent_id) {
    result.outcome = SendOutcome::kRetry;  // a proxy or a different server answered: the batch may not be stored
    result.message += " without a matching IngestAck";
    return result;
  }
  result.duplicate = ack.duplicate();
  return result;
}

}  // namespace credtrace::exporter
