// Retention: a background thread that deletes data older than --retention-days, hourly and at start.
#include "store/retention.h"

#include <chrono>

#include "common/time_util.h"
#include "logging/log.h"

namespace credtrace::collector {

Retention::Retention(Store& store, Metrics& metrics, int days) : store_(store), metrics_(metrics), days_(days) {
  if (days_ > 0) thread_ = std::thread([this] { run(); });
}

Retention::~Retention() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Retention::prune_once() {
  int64_t cutoff = now_ns() - static_cast<int64_t>(days_) * 86400 * 1'000'000'000LL;
  PruneResult result;
  if (Status s = store_.prune(cutoff, result); !s.ok()) {
    log::error("retention: " + s.message());
    return;
  }
  metrics_.retention_deleted(result.events);
  if (result.events + result.credentials + result.workloads > 0)
    log::info("retention: deleted " + std::to_string(result.events) + " events, " +
             std::to_string(result.credentials) + " credentials, " + std::to_string(result.workloads) +
             " workloads older than " + std::to_string(days_) + " days");
}

void Retention::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    prune_once();
    lock.lock();
    wake_.wait_for(lock, std::chrono::hours(1), [this] { return stopping_; });
  }
}

}  // namespace credtrace::collector
