// The node's pods as the API server last described them: a bounded map pod uid → names, labels, owner and
// container ids, written by the pod watch thread and read (under a mutex) by the workload builder.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace credtrace::identity {

// One pod, as kept: only identity facts (no spec, no env, no annotations). Label values are already masked.
struct CachedPod {
  std::string uid;             // dashes form
  std::string namespace_name;
  std::string name;
  std::string service_account;
  std::string owner_kind;      // the controller ownerReference, "" when the pod has none
  std::string owner_name;
  std::string qos_class;       // status.qosClass lower-cased ("besteffort"), "" when not reported yet
  std::vector<std::pair<std::string, std::string>> labels;
  bool labels_truncated = false;
  std::map<std::string, std::string> containers;  // container id (64 hex, runtime prefix stripped) → container name
  std::vector<std::string> container_names;       // every container of the spec: init, regular and ephemeral
};

// What a lookup answers: the pod and, when known, the name of the container asked about.
struct PodIdentity {
  CachedPod pod;
  std::string container_name;  // "" when the id is not (yet) in the pod's status and the pod has several containers
};

struct PodCacheLimits {
  size_t max_pods = 4096;                                // beyond: the least recently written pod is evicted
  std::chrono::seconds deleted_grace{120};               // a deleted pod still answers this long
};

class PodCache {
 public:
  using Clock = std::chrono::steady_clock;
  explicit PodCache(PodCacheLimits limits = {}) : limits_(limits) {}

  // A full LIST: these pods are the node's pods now; any other cached pod counts as deleted from `now`.
  void replace_all(std::vector<CachedPod> pods, Clock::time_point now);
  // ADDED / MODIFIED.
  void upsert(CachedPod pod, Clock::time_point now);
  // DELETED: kept for the grace period (a process may outlive its pod's delete event briefly).
  void mark_deleted(const std::string& uid, Clock::time_point now);

  // By pod uid (dashes or underscores), or by container id alone when the uid is empty.
  std::optional<PodIdentity> lookup(std::string_view pod_uid, std::string_view container_id,
                                    Clock::time_point now = Clock::now()) const;

  size_t size() const;        // live pods (deleted ones in their grace period excluded)
  uint64_t evictions() const;  // pods pushed out by max_pods

 private:
  struct Entry {
    CachedPod pod;
    uint64_t written = 0;                      // order of the last write, for eviction
    std::optional<Clock::time_point> deleted;  // set by DELETED or a LIST that no longer has it
  };
  void expire_locked(Clock::time_point now);
  void make_room_locked();
  void insert_locked(CachedPod pod);

  PodCacheLimits limits_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> pods_;  // by uid
  uint64_t writes_ = 0;
  uint64_t evictions_ = 0;
};

// "containerd://<64hex>", "cri-o://…", "docker://…" → the id alone; "" when the form is not known.
std::string strip_runtime_prefix(std::string_view container_id);

}  // namespace credtrace::identity
