// The bounded pod cache: writes from the watch thread, lookups from the workload builder, deleted-pod grace and
// counted evictions.
#include "identity/pod_cache.h"

#include <algorithm>
#include <set>

namespace credtrace::identity {
namespace {

std::string dashed(std::string_view uid) {
  std::string out(uid);
  std::replace(out.begin(), out.end(), '_', '-');
  return out;
}

// The container's name when the pod says which one has this id, or when the pod has one container only.
std::string container_name_for(const CachedPod& pod, std::string_view container_id) {
  if (!container_id.empty()) {
    auto it = pod.containers.find(std::string(container_id));
    if (it != pod.containers.end()) return it->second;
  }
  return pod.container_names.size() == 1 ? pod.container_names.front() : "";
}

}  // namespace

std::string strip_runtime_prefix(std::string_view id) {
  size_t sep = id.find("://");
  if (sep == std::string_view::npos) return "";
  std::string_view bare = id.substr(sep + 3);
  bool hex = bare.size() == 64 && std::all_of(bare.begin(), bare.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
             });
  return hex ? std::string(bare) : "";
}

void PodCache::expire_locked(Clock::time_point now) {
  for (auto it = pods_.begin(); it != pods_.end();) {
    if (it->second.deleted && now - *it->second.deleted > limits_.deleted_grace) it = pods_.erase(it);
    else ++it;
  }
}

// Deleted pods go first, then the least recently written live pod.
void PodCache::make_room_locked() {
  while (pods_.size() >= limits_.max_pods && !pods_.empty()) {
    auto victim = pods_.begin();
    for (auto it = pods_.begin(); it != pods_.end(); ++it) {
      bool it_deleted = it->second.deleted.has_value(), victim_deleted = victim->second.deleted.has_value();
      if (it_deleted != victim_deleted ? it_deleted : it->second.written < victim->second.written) victim = it;
    }
    pods_.erase(victim);
    ++evictions_;
  }
}

void PodCache::insert_locked(CachedPod pod) {
  pod.uid = dashed(pod.uid);
  auto it = pods_.find(pod.uid);
  if (it == pods_.end()) {
    make_room_locked();
    it = pods_.emplace(pod.uid, Entry{}).first;
  }
  it->second.pod = std::move(pod);
  it->second.deleted.reset();
  it->second.written = ++writes_;
}

void PodCache::replace_all(std::vector<CachedPod> pods, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  std::set<std::string> listed;
  for (auto& pod : pods) listed.insert(dashed(pod.uid));
  for (auto& [uid, entry] : pods_)
    if (!listed.count(uid) && !entry.deleted) entry.deleted = now;
  expire_locked(now);
  for (auto& pod : pods) insert_locked(std::move(pod));
}

void PodCache::upsert(CachedPod pod, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  expire_locked(now);
  insert_locked(std::move(pod));
}

void PodCache::mark_deleted(const std::string& uid, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = pods_.find(dashed(uid));
  if (it != pods_.end() && !it->second.deleted) it->second.deleted = now;
  expire_locked(now);
}

std::optional<PodIdentity> PodCache::lookup(std::string_view pod_uid, std::string_view container_id,
                                            Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  auto usable = [&](const Entry& e) { return !e.deleted || now - *e.deleted <= limits_.deleted_grace; };
  const Entry* found = nullptr;
  if (!pod_uid.empty()) {
    auto it = pods_.find(dashed(pod_uid));
    if (it != pods_.end() && usable(it->second)) found = &it->second;
  } else if (!container_id.empty()) {
    for (const auto& [uid, entry] : pods_)
      if (entry.pod.containers.count(std::string(container_id)) && usable(entry)) found = &entry;
  }
  if (!found) return std::nullopt;
  return PodIdentity{found->pod, container_name_for(found->pod, container_id)};
}

size_t PodCache::size() const {
  std::lock_guard lock(mutex_);
  return static_cast<size_t>(std::count_if(pods_.begin(), pods_.end(), [](const auto& e) { return !e.second.deleted; }));
}

uint64_t PodCache::evictions() const {
  std::lock_guard lock(mutex_);
  return evictions_;
}

}  // namespace credtrace::identity
