// GroupCommit: one writer thread stores the batches that queued up meanwhile together, and wakes each submitter.
#include "store/sqlite/group_commit.h"

#include <pthread.h>

#include "common/stop_thread.h"

namespace credtrace::collector {

void GroupCommit::write_safely(std::vector<IngestJob*>& group) {
  try {
    write_(group);
  } catch (const std::exception& e) {  // bad_alloc: the batches fail (503, the agents resend), the writer goes on
    for (IngestJob* job : group) job->status = Status::error(std::string("ingest failed: ") + e.what());
  }
}

GroupCommit::GroupCommit(WriteGroup write, size_t max_events)
    : write_(std::move(write)), max_events_(max_events), thread_([this] { run(); }) {}

GroupCommit::~GroupCommit() { stop_thread(mutex_, stopping_, queued_, thread_); }

Status GroupCommit::submit(const BatchRows& batch, IngestOutcome& out) {
  IngestJob job;
  job.batch = &batch;
  std::unique_lock lock(mutex_);
  if (stopping_) return Status::error("the store is closing");
  queue_.push_back(&job);
  queued_.notify_one();
  written_.wait(lock, [&] { return job.done; });
  out = job.outcome;
  return job.status;
}

std::vector<IngestJob*> GroupCommit::take_group() {
  std::vector<IngestJob*> group;
  size_t events = 0;
  while (!queue_.empty() && (group.empty() || events + queue_.front()->batch->events.size() <= max_events_)) {
    events += queue_.front()->batch->events.size();
    group.push_back(queue_.front());
    queue_.pop_front();
  }
  return group;
}

void GroupCommit::run() {
  pthread_setname_np(pthread_self(), "ingest-writer");
  std::unique_lock lock(mutex_);
  for (;;) {
    queued_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    std::vector<IngestJob*> group = take_group();
    if (group.empty()) return;  // stopping, nothing left
    lock.unlock();
    write_safely(group);
    lock.lock();
    for (IngestJob* job : group) job->done = true;
    written_.notify_all();
  }
}

}  // namespace credtrace::collector
