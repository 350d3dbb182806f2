// The pod watch thread: libcurl GETs of /api/v1/pods (LIST, then WATCH as newline-delimited JSON events), the
// resourceVersion bookkeeping, 410 Gone → relist, capped backoff with jitter, token re-read per connection.
#include "identity/kube_api.h"

#include <curl/curl.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <functional>
#include <random>

#include "common/wipe_guard.h"
#include "logging/log.h"

namespace credtrace::identity {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// One GET's reply: the status and the body (LIST), or the status alone (WATCH, whose lines go to a handler).
struct Transfer {
  long status = 0;
  CURLcode code = CURLE_OK;
  std::string error;  // curl's text, for logs (never a header or a body)
};

struct CurlHandle {
  CURL* curl = curl_easy_init();
  ~CurlHandle() {
    if (curl) curl_easy_cleanup(curl);
  }
};

int stop_requested(void* flag, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<bool>*>(flag)->load() ? 1 : 0;
}

std::string escaped(CURL* curl, const std::string& text) {
  char* out = curl_easy_escape(curl, text.c_str(), static_cast<int>(text.size()));
  std::string result = out ? out : "";
  curl_free(out);
  return result;
}

// Common options of every request; the Authorization header list is owned by the caller (wiped after).
void set_common(CURL* curl, const std::string& url, curl_slist* headers, const PodWatchOptions& options,
                const std::atomic<bool>* stop) {
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");  // the token goes to the API server only, never through a proxy
  if (!options.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options.ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, stop_requested);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, stop);
}

struct ListBody {
  std::string text;
  size_t max = 0;
};

size_t collect_list(char* data, size_t size, size_t count, void* user) {
  auto* body = static_cast<ListBody*>(user);
  size_t n = size * count;
  if (body->text.size() + n > body->max) return 0;
  body->text.append(data, n);
  return n;
}

// The WATCH stream: lines split as they arrive, each handed to `on_line`; false from it ends the transfer.
struct WatchStream {
  CURL* curl = nullptr;
  std::string line;
  size_t max_line = 0;
  bool too_long = false;
  bool stopped_by_handler = false;
  std::function<bool(const std::string&)> on_line;
};

size_t split_watch_lines(char* data, size_t size, size_t count, void* user) {
  auto* stream = static_cast<WatchStream*>(user);
  size_t n = size * count;
  long status = 0;
  curl_easy_getinfo(stream->curl, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) return n;  // an error body: only its status matters
  for (size_t i = 0; i < n; ++i) {
    if (data[i] != '\n') {
      if (stream->line.size() >= stream->max_line) {
        stream->too_long = true;
        return 0;
      }
      stream->line.push_back(data[i]);
      continue;
    }
    bool go_on = stream->line.empty() || stream->on_line(stream->line);
    common::WipeGuard wipe(stream->line);  // a pod's spec may carry literal env values
    if (!go_on) {
      stream->stopped_by_handler = true;
      return 0;
    }
  }
  return n;
}

std::string resource_version_of(const json& object) {
  auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) return "";
  auto rv = metadata->find("resourceVersion");
  return rv != metadata->end() && rv->is_string() ? rv->get<std::string>() : "";
}

}  // namespace

const char* state_name(PodWatchState state) {
  switch (state) {
    case PodWatchState::off: return "off";
    case PodWatchState::listing: return "listing";
    case PodWatchState::watching: return "watching";
    case PodWatchState::backoff: return "backoff";
  }
  return "off";
}

PodWatcher::PodWatcher(PodWatchOptions options, PodCache& cache) : options_(std::move(options)), cache_(cache) {
  while (!options_.api_server.empty() && options_.api_server.back() == '/') options_.api_server.pop_back();
}

PodWatcher::~PodWatcher() { stop(); }

void PodWatcher::start() {
  static const bool curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  if (!curl_ready || thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { run(); });
}

void PodWatcher::stop() {
  {
    std::lock_guard lock(wake_mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  state_ = PodWatchState::off;
}

bool PodWatcher::wait_for_first_list(std::chrono::milliseconds timeout) {
  std::unique_lock lock(wake_mutex_);
  return wake_.wait_for(lock, timeout, [this] { return listed_ || stop_.load(); }) && listed_;
}

void PodWatcher::sleep_for(std::chrono::milliseconds delay) {
  std::unique_lock lock(wake_mutex_);
  wake_.wait_for(lock, delay, [this] { return stop_.load(); });
}

bool PodWatcher::read_token(std::string& token) {
  std::ifstream in(options_.token_file);
  if (!in) return false;
  std::getline(in, token);
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
  return !token.empty();
}

void PodWatcher::count_failure(long http_status, const std::string& what) {
  ++errors_;
  if (http_status == 401 || http_status == 403) ++unauthorized_;
  // Said once per kind of failure in a row (a down API server would otherwise log at every retry); all are counted.
  std::string message = what + (http_status ? " (HTTP " + std::to_string(http_status) + ")" : "");
  if (message == last_failure_) return;
  last_failure_ = message;
  log::warn("kubernetes pod watch: " + message + "; retrying with backoff (repeats are counted, not logged)");
}

void PodWatcher::run() {
  std::mt19937_64 rng{std::random_device{}()};
  uint32_t failures = 0;
  auto backoff = [&] {
    int64_t ceiling = options_.backoff_initial.count();
    for (uint32_t i = 0; i < failures && ceiling < options_.backoff_max.count(); ++i) ceiling *= 2;
    ceiling = std::min<int64_t>(ceiling, options_.backoff_max.count());
    ++failures;
    state_ = PodWatchState::backoff;
    sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int64_t>(ceiling / 2, ceiling)(rng)));
  };
  while (!stop_) {
    if (resource_version_.empty()) {
      state_ = PodWatchState::listing;
      if (!list()) {
        if (!stop_) backoff();
        continue;
      }
      failures = 0;
    }
    state_ = PodWatchState::watching;
    const auto began = Clock::now();
    const uint64_t events_before = events_ + bookmarks_;
    WatchEnd end = watch();
    if (stop_) break;
    if (end == WatchEnd::gone) {
      resource_version_.clear();  // relist at once: the watch cannot resume from this version
      continue;
    }
    bool quick_and_empty = Clock::now() - began < std::chrono::seconds(1) && events_ + bookmarks_ == events_before;
    if (end == WatchEnd::failed || quick_and_empty) {
      backoff();
    } else {
      failures = 0;
      last_failure_.clear();  // a watch ran its course: the next failure is news again
    }
  }
  state_ = PodWatchState::off;
}

bool PodWatcher::list() {
  CurlHandle handle;
  std::string token;
  common::WipeGuard wipe_token(token);
  if (!handle.curl) return count_failure(0, "cannot create a libcurl handle"), false;
  if (!read_token(token)) return count_failure(0, "cannot read the token file " + options_.token_file), false;
  std::string authorization = "Authorization: Bearer " + token;
  common::WipeGuard wipe_authorization(authorization);
  curl_slist* headers = curl_slist_append(nullptr, authorization.c_str());
  headers = curl_slist_append(headers, "Accept: application/json");
  const std::string url = options_.api_server + "/api/v1/pods?fieldSelector=" +
                          escaped(handle.curl, "spec.nodeName=" + options_.node_name);
  ListBody body{{}, options_.max_list_bytes};
  common::WipeGuard wipe_body(body.text);  // pod specs may carry literal env values
  set_common(handle.curl, url, headers, options_, &stop_);
  curl_easy_setopt(handle.curl, CURLOPT_WRITEFUNCTION, collect_list);
  curl_easy_setopt(handle.curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(handle.curl, CURLOPT_TIMEOUT_MS, 60000L);
  CURLcode code = curl_easy_perform(handle.curl);
  curl_slist_free_all(headers);
  long status = 0;
  curl_easy_getinfo(handle.curl, CURLINFO_RESPONSE_CODE, &status);
  if (stop_) return false;
  if (code != CURLE_OK) return count_failure(0, std::string("LIST failed: ") + curl_easy_strerror(code)), false;
  if (status != 200) return count_failure(status, "LIST refused"), false;
  json reply = json::parse(body.text, nullptr, false);
  if (!reply.is_object() || !reply.contains("items") || !reply["items"].is_array())
    return count_failure(0, "LIST reply is not a PodList"), false;
  std::vector<CachedPod> pods;
  uint64_t dropped = 0;
  for (const auto& item : reply["items"])
    if (auto pod = pod_from_json(item, options_.labels, &dropped)) pods.push_back(std::move(*pod));
  labels_dropped_ += dropped;
  const size_t count = pods.size();
  cache_.replace_all(std::move(pods), Clock::now());
  resource_version_ = resource_version_of(reply);
  if (resource_version_.empty()) resource_version_ = "0";
  if (lists_++ > 0) ++relists_;
  if (!last_failure_.empty()) log::info("kubernetes pod watch: listing works again");
  last_failure_.clear();
  {
    std::lock_guard lock(wake_mutex_);
    if (!listed_) log::info("kubernetes pod watch: " + std::to_string(count) + " pods on node " + options_.node_name);
    listed_ = true;
  }
  wake_.notify_all();
  return true;
}

PodWatcher::WatchEnd PodWatcher::watch() {
  CurlHandle handle;
  std::string token;
  common::WipeGuard wipe_token(token);
  if (!handle.curl) return count_failure(0, "cannot create a libcurl handle"), WatchEnd::failed;
  if (!read_token(token)) return count_failure(0, "cannot read the token file " + options_.token_file), WatchEnd::failed;
  std::string authorization = "Authorization: Bearer " + token;
  common::WipeGuard wipe_authorization(authorization);
  curl_slist* headers = curl_slist_append(nullptr, authorization.c_str());
  headers = curl_slist_append(headers, "Accept: application/json");
  const std::string url = options_.api_server + "/api/v1/pods?fieldSelector=" +
                          escaped(handle.curl, "spec.nodeName=" + options_.node_name) +
                          "&watch=true&allowWatchBookmarks=true&resourceVersion=" +
                          escaped(handle.curl, resource_version_) +
                          "&timeoutSeconds=" + std::to_string(options_.watch_timeout_seconds);
  bool gone = false;
  bool bad_event = false;
  WatchStream stream;
  stream.curl = handle.curl;
  stream.max_line = options_.max_event_bytes;
  stream.on_line = [&](const std::string& line) {
    json event = json::parse(line, nullptr, false);
    const std::string type = event.is_object() ? event.value("type", "") : "";
    const json object = event.is_object() && event.contains("object") ? event["object"] : json();
    if (type == "ADDED" || type == "MODIFIED") {
      uint64_t dropped = 0;
      if (auto pod = pod_from_json(object, options_.labels, &dropped)) cache_.upsert(std::move(*pod), Clock::now());
      labels_dropped_ += dropped;
      ++events_;
    } else if (type == "DELETED") {
      const std::string uid = object.is_object() && object.contains("metadata") && object["metadata"].is_object()
                                  ? object["metadata"].value("uid", "")
                                  : "";
      if (!uid.empty()) cache_.mark_deleted(uid, Clock::now());
      ++events_;
    } else if (type == "BOOKMARK") {
      ++bookmarks_;
    } else if (type == "ERROR") {
      const int code = object.is_object() && object.contains("code") && object["code"].is_number_integer()
                           ? object["code"].get<int>()
                           : 0;
      if (code == 410) gone = true;
      else bad_event = true;
      return false;
    } else {
      bad_event = true;
      return false;
    }
    if (std::string rv = resource_version_of(object); !rv.empty()) resource_version_ = rv;
    return true;
  };
  set_common(handle.curl, url, headers, options_, &stop_);
  curl_easy_setopt(handle.curl, CURLOPT_WRITEFUNCTION, split_watch_lines);
  curl_easy_setopt(handle.curl, CURLOPT_WRITEDATA, &stream);
  // The server ends the watch after timeoutSeconds; this bound only catches a server that does not.
  curl_easy_setopt(handle.curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.watch_timeout_seconds + 30) * 1000L);
  ++watches_;
  CURLcode code = curl_easy_perform(handle.curl);
  curl_slist_free_all(headers);
  common::WipeGuard wipe_line(stream.line);
  long status = 0;
  curl_easy_getinfo(handle.curl, CURLINFO_RESPONSE_CODE, &status);
  if (stop_) return WatchEnd::closed;
  if (status == 410 || gone) {
    ++gone_;
    log::info("kubernetes pod watch: resourceVersion expired (410 Gone); listing again");
    return WatchEnd::gone;
  }
  if (bad_event || stream.too_long) {
    count_failure(0, stream.too_long ? "WATCH event longer than the limit" : "WATCH sent an unreadable or error event");
    resource_version_.clear();  // the stream's state is unknown: start over from a LIST, after the backoff
    return WatchEnd::failed;
  }
  if (code == CURLE_OK && status != 200) return count_failure(status, "WATCH refused"), WatchEnd::failed;
  if (code != CURLE_OK) return count_failure(0, std::string("WATCH ended: ") + curl_easy_strerror(code)), WatchEnd::failed;
  return WatchEnd::closed;
}

std::vector<std::pair<std::string, uint64_t>> PodWatcher::counters() const {
  return {{"kube_api_lists", lists_},
          {"kube_api_relists", relists_},
          {"kube_api_watches", watches_},
          {"kube_api_events", events_},
          {"kube_api_bookmarks", bookmarks_},
          {"kube_api_gone", gone_},
          {"kube_api_errors", errors_},
          {"kube_api_unauthorized", unauthorized_},
          {"kube_api_labels_dropped", labels_dropped_},
          {"kube_api_pods_cached", cache_.size()},
          {"kube_api_evictions", cache_.evictions()}};
}

}  // namespace credtrace::identity
