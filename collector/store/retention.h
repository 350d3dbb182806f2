// Retention: a background thread that deletes data older than --retention-days, hourly and at start.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/metrics.h"
#include "store/store.h"

namespace credtrace::collector {

class Retention {
 public:
  Retention(Store& store, Metrics& metrics, int days);
  ~Retention();  // stops and joins the thread
  Retention(const Retention&) = delete;
  Retention& operator=(const Retention&) = delete;

 private:
  void run();
  void prune_once();

  Store& store_;
  Metrics& metrics_;
  int days_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace credtrace::collector
