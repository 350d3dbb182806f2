// The Kubernetes pod watch: LIST then WATCH of the node's pods on the API server (HTTPS, service-account token),
// on its own thread, into a PodCache. Relists on 410 Gone, reconnects with capped backoff, counts everything.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "identity/pod_cache.h"
#include "identity/pod_json.h"

namespace credtrace::identity {

struct PodWatchOptions {
  std::string api_server;  // https://HOST:PORT (no trailing path)
  std::string node_name;   // the fieldSelector spec.nodeName=<node_name>
  std::string token_file;  // bearer token, re-read at every connection (it rotates); never logged
  std::string ca_file;     // CA of the API server's certificate ("" = system CAs)
  uint32_t watch_timeout_seconds = 300;  // timeoutSeconds of each WATCH: the server ends it, the agent reconnects
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{30000};
  size_t max_list_bytes = 64u << 20;   // a larger LIST reply is an error
  size_t max_event_bytes = 4u << 20;   // a longer WATCH line is an error (and a relist)
  PodLabelLimits labels;
};

enum class PodWatchState { off, listing, watching, backoff };
const char* state_name(PodWatchState state);

class PodWatcher {
 public:
  PodWatcher(PodWatchOptions options, PodCache& cache);
  ~PodWatcher();  // stops the thread
  PodWatcher(const PodWatcher&) = delete;
  PodWatcher& operator=(const PodWatcher&) = delete;

  void start();
  void stop();
  // True once a LIST has filled the cache (false when `timeout` passed first).
  bool wait_for_first_list(std::chrono::milliseconds timeout);

  PodWatchState state() const { return state_.load(); }
  // The counters by name (kube_api_lists, kube_api_relists, kube_api_watches, kube_api_events, kube_api_bookmarks,
  // kube_api_gone, kube_api_errors, kube_api_unauthorized, kube_api_labels_dropped, kube_api_pods_cached,
  // kube_api_evictions).
  std::vector<std::pair<std::string, uint64_t>> counters() const;

 private:
  enum class WatchEnd { closed, gone, failed };
  void run();
  bool list();
  WatchEnd watch();
  void sleep_for(std::chrono::milliseconds delay);
  bool read_token(std::string& token);
  void count_failure(long http_status, const std::string& what);

  PodWatchOptions options_;
  PodCache& cache_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<PodWatchState> state_{PodWatchState::off};
  std::mutex wake_mutex_;
  std::condition_variable wake_;
  bool listed_ = false;  // under wake_mutex_
  std::string resource_version_;  // watch thread only
  std::string last_failure_;      // watch thread only: the failure last logged, "" after a successful LIST

  std::atomic<uint64_t> lists_{0}, relists_{0}, watches_{0}, events_{0}, bookmarks_{0}, gone_{0}, errors_{0},
      unauthorized_{0}, labels_dropped_{0};
};

}  // namespace credtrace::identity
