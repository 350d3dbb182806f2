// OTLP/HTTP log export: bounded queue, one sender thread, JSON batches, retries with backoff, counters.
#include "otlp/otlp_exporter.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include "agent/common/http_post.h"
#include "agent/export/backoff.h"
#include "logging/log.h"

namespace credtrace::otlp {
namespace {

constexpr std::string_view kLogsPath = "/v1/logs";

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

std::string trim(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

// OTLP/HTTP: 429, 502, 503 and 504 are retryable; every other failure is not (the request will never be taken).
bool retryable_status(long status) { return status == 429 || status == 502 || status == 503 || status == 504; }

// The number of records a 2xx reply says it rejected (partialSuccess.rejectedLogRecords), 0 when none or unreadable.
uint64_t rejected_in_reply(const std::string& reply, std::string* message) {
  if (reply.empty()) return 0;
  auto parsed = nlohmann::json::parse(reply, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object() || !parsed.contains("partialSuccess")) return 0;
  const auto& partial = parsed["partialSuccess"];
  uint64_t rejected = 0;
  if (partial.contains("rejectedLogRecords")) {
    const auto& value = partial["rejectedLogRecords"];
    if (value.is_number_unsigned()) rejected = value.get<uint64_t>();
    else if (value.is_string()) rejected = std::strtoull(value.get<std::string>().c_str(), nullptr, 10);
  }
  if (rejected && message && partial.contains("errorMessage") && partial["errorMessage"].is_string())
    *message = partial["errorMessage"].get<std::string>();
  return rejected;
}

}  // namespace

std::string logs_url(const std::string& configured, std::string* error) {
  return common::endpoint_url(configured, std::string(kLogsPath), "OTLP endpoint", error);
}

bool read_headers_file(const std::string& path, std::vector<std::string>& out, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    if (error) *error = "cannot read OTLP headers file " + path;
    return false;
  }
  std::vector<std::string> headers;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    const size_t colon = line.find(':');
    const std::string name = colon == std::string::npos ? "" : trim(line.substr(0, colon));
    const bool token_name = !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
      return std::isalnum(c) || c == '-' || c == '_';
    });
    if (!token_name || lower(name) == "content-type" || lower(name) == "content-length") {
      if (error) *error = path + ":" + std::to_string(number) + ": expected 'Name: value' (its value is not shown)";
      return false;
    }
    headers.push_back(name + ": " + trim(line.substr(colon + 1)));
  }
  out = std::move(headers);
  return true;
}

std::optional<OtlpOptions> checked_options(OtlpOptions options, const std::string& headers_file, std::string* error) {
  if (logs_url(options.endpoint, error).empty()) return std::nullopt;
  if (!headers_file.empty() && !read_headers_file(headers_file, options.headers, error)) return std::nullopt;
  if (!options.ca_file.empty() && ::access(options.ca_file.c_str(), R_OK) != 0) {
    if (error) *error = "cannot read otlp.ca_file " + options.ca_file;
    return std::nullopt;
  }
  return options;
}

std::unique_ptr<OtlpExporter> OtlpExporter::start(OtlpOptions options, std::string* error) {
  std::string url = logs_url(options.endpoint, error);
  if (url.empty()) return nullptr;
  options.endpoint = url;
  if (options.batch_max_records == 0 || options.max_queue_records == 0) {
    if (error) *error = "OTLP batch and queue sizes must be at least 1";
    return nullptr;
  }
  if (!common::curl_ready()) {
    if (error) *error = "cannot initialise libcurl";
    return nullptr;
  }
  std::unique_ptr<OtlpExporter> exporter(new OtlpExporter(std::move(options)));
  if (!exporter->curl_) {
    if (error) *error = "cannot create a libcurl handle";
    return nullptr;
  }
  exporter->thread_ = std::thread([raw = exporter.get()] { raw->run(); });
  return exporter;
}

OtlpExporter::OtlpExporter(OtlpOptions options) : options_(std::move(options)), curl_(curl_easy_init()) {}

OtlpExporter::~OtlpExporter() {
  shutdown();
  if (curl_) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

void OtlpExporter::enqueue(const credtrace::v1::Event& event) { push(event.SerializeAsString()); }

void OtlpExporter::enqueue_encoded(std::string encoded_event) { push(std::move(encoded_event)); }

void OtlpExporter::push(std::string encoded) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= options_.max_queue_records) {
      records_dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    queue_.push_back(std::move(encoded));
    // The sender sleeps without a timer while the queue is empty: the first record starts its flush interval.
    if (queue_.size() != 1 && queue_.size() < options_.batch_max_records) return;
  }
  wake_.notify_one();
}

std::vector<std::string> OtlpExporter::next_batch() {
  std::unique_lock lock(mutex_);
  wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });  // idle: no timer runs
  // The oldest record waiting starts the flush interval: the batch fills until then, or until it is full.
  const auto deadline = std::chrono::steady_clock::now() + options_.flush_interval;
  wake_.wait_until(lock, deadline, [&] { return stopping_ || queue_.size() >= options_.batch_max_records; });
  const size_t n = std::min(queue_.size(), options_.batch_max_records);
  std::vector<std::string> batch(std::make_move_iterator(queue_.begin()),
                                 std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(n)));
  queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
  return batch;
}

void OtlpExporter::run() {
  while (true) {
    std::vector<std::string> batch = next_batch();
    if (!batch.empty()) deliver(batch);
    std::lock_guard lock(mutex_);
    if (stopping_ && (queue_.empty() || abort_.load() || std::chrono::steady_clock::now() >= final_deadline_)) break;
  }
  std::lock_guard lock(mutex_);
  records_dropped_.fetch_add(queue_.size(), std::memory_order_relaxed);  // past the final deadline: lost, counted
  queue_.clear();
  finished_ = true;
  wake_.notify_all();
}

void OtlpExporter::deliver(const std::vector<std::string>& encoded) {
  std::vector<credtrace::v1::Event> events;
  events.reserve(encoded.size());
  for (const auto& bytes : encoded) {
    credtrace::v1::Event event;
    if (event.ParseFromString(bytes)) events.push_back(std::move(event));
    else records_rejected_.fetch_add(1, std::memory_order_relaxed);  // never happens with our own encoder
  }
  if (events.empty()) return;
  const std::string body = logs_request_json(events, options_.resource);
  exporter::Backoff backoff(options_.retry_initial, options_.retry_max);
  while (true) {
    std::string message;
    std::optional<std::chrono::milliseconds> retry_after;
    auto timeout = options_.timeout;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(final_deadline_ - std::chrono::steady_clock::now());
        timeout = std::clamp(left, std::chrono::milliseconds(1), timeout);
      }
    }
    const Outcome outcome = post(body, events.size(), timeout, &message, &retry_after);
    if (outcome == Outcome::kSent) return;
    if (outcome == Outcome::kRejected) {
      records_rejected_.fetch_add(events.size(), std::memory_order_relaxed);
      log::warn("OTLP export: " + std::to_string(events.size()) + " records refused for good (" + message + ")");
      return;
    }
    send_failures_.fetch_add(1, std::memory_order_relaxed);
    const auto delay = retry_after.value_or(backoff.next());
    if (backoff.failures() == 1 || backoff.failures() % 10 == 0)
      log::warn("OTLP export failed (" + message + "); retrying (" + std::to_string(backoff.failures()) +
                " failures in a row)");
    std::unique_lock lock(mutex_);
    if (stopping_ && std::chrono::steady_clock::now() + delay > final_deadline_) {
      records_dropped_.fetch_add(events.size(), std::memory_order_relaxed);
      abort_.store(true);
      return;
    }
    // A stop's final deadline ends the wait (shutdown sets abort_ then): a retry delay never outlasts it.
    if (wake_.wait_for(lock, delay, [&] { return abort_.load(); })) {
      records_dropped_.fetch_add(events.size(), std::memory_order_relaxed);
      return;
    }
  }
}

OtlpExporter::Outcome OtlpExporter::post(const std::string& body, size_t records, std::chrono::milliseconds timeout,
                                         std::string* message, std::optional<std::chrono::milliseconds>* retry_after) {
  common::HttpPost request;
  request.url = options_.endpoint;
  request.headers = options_.headers;
  request.headers.insert(request.headers.begin(), "Content-Type: application/json");
  request.body = &body;
  request.ca_file = options_.ca_file;
  request.timeout = timeout;
  request.abort = &abort_;
  request.max_reply_bytes = 64u << 10;  // a reply is a small JSON object
  const common::HttpPostResult reply = common::http_post(curl_, request);
  if (!reply.transferred) {
    *message = "transfer failed: " + reply.error;
    return Outcome::kRetry;
  }
  *message = "HTTP " + std::to_string(reply.status);
  if (reply.status >= 200 && reply.status < 300) {
    std::string why;
    const uint64_t rejected = std::min<uint64_t>(rejected_in_reply(reply.reply, &why), records);
    if (rejected) {
      records_rejected_.fetch_add(rejected, std::memory_order_relaxed);
      log::warn("OTLP export: the endpoint rejected " + std::to_string(rejected) + " of " + std::to_string(records) +
                " records" + (why.empty() ? "" : ": " + why));
    }
    records_sent_.fetch_add(records - rejected, std::memory_order_relaxed);
    batches_sent_.fetch_add(1, std::memory_order_relaxed);
    return Outcome::kSent;
  }
  if (retryable_status(reply.status)) {
    // Retry-After (seconds; the HTTP-date form is not used by OTLP receivers), bounded by the largest retry delay.
    if (reply.retry_after_seconds > 0)
      *retry_after = std::min<std::chrono::milliseconds>(std::chrono::seconds(reply.retry_after_seconds), options_.retry_max);
    return Outcome::kRetry;
  }
  return Outcome::kRejected;
}

void OtlpExporter::shutdown() {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      stopping_ = true;
      final_deadline_ = std::chrono::steady_clock::now() + options_.final_send_deadline;
    }
  }
  wake_.notify_all();
  {
    // A transfer that began before the stop keeps its own timeout: past the final deadline it is aborted.
    std::unique_lock lock(mutex_);
    if (!wake_.wait_until(lock, final_deadline_, [&] { return finished_; })) abort_.store(true);
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

OtlpStats OtlpExporter::stats() const {
  OtlpStats s;
  s.records_sent = records_sent_.load();
  s.batches_sent = batches_sent_.load();
  s.send_failures = send_failures_.load();
  s.records_dropped = records_dropped_.load();
  s.records_rejected = records_rejected_.load();
  std::lock_guard lock(mutex_);
  s.queue_records = queue_.size();
  return s;
}

}  // namespace credtrace::otlp
