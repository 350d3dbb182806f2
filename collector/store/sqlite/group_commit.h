// GroupCommit: one writer thread stores the batches that queued up meanwhile together, and wakes each submitter.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "store/store.h"

namespace credtrace::collector {

// One submitted batch, owned by the submitting thread until `done`.
struct IngestJob {
  const BatchRows* batch = nullptr;
  IngestOutcome outcome;
  Status status;
  bool done = false;
};

class GroupCommit {
 public:
  // Stores every job of a group (in submission order) and sets each job's status and outcome; a job's status may
  // be ok only once its batch is durably committed.
  using WriteGroup = std::function<void(std::vector<IngestJob*>& group)>;

  // A group holds at most `max_events` events (at least one batch), so a commit never waits for an unbounded group.
  GroupCommit(WriteGroup write, size_t max_events);
  ~GroupCommit();  // writes what is queued, then stops the thread
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Queues the batch and blocks until the group holding it was written.
  Status submit(const BatchRows& batch, IngestOutcome& out);

 private:
  void run();
  void write_safely(std::vector<IngestJob*>& group);  // exceptions become job errors
  std::vector<IngestJob*> take_group();  // with mutex_ held; empty when stopping with nothing queued

  WriteGroup write_;
  size_t max_events_;
  std::mutex mutex_;
  std::condition_variable queued_, written_;
  std::deque<IngestJob*> queue_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace credtrace::collector
