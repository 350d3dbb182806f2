// Collector sink: events → batches (size/time) → durable spool → POST /v1/ingest, on two background threads so the
// agent's event loop never waits for the disk or the network. Delivery is at-least-once; the collector dedupes.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <google/protobuf/map.h>

#include "export/event_sink.h"
#include "config/agent_config.h"
#include "credtrace/v1/events.pb.h"
#include "export/collector_client.h"
#include "export/ingest_batch.h"
#include "export/spool.h"

namespace credtrace::exporter {

struct CollectorSinkOptions {
  CollectorEndpoint endpoint;
  std::string agent_id;
  std::string spool_dir;
  uint64_t spool_max_bytes = 256ull << 20;
  BatchLimits batch;
  std::chrono::milliseconds retry_initial{500};
  std::chrono::milliseconds retry_max{30000};
  std::chrono::milliseconds send_timeout{30000};         // one POST, connect to ack
  std::chrono::milliseconds final_send_deadline{3000};   // at shutdown, for whatever the spool holds
  size_t max_pending_bytes = 32u << 20;                  // events waiting to be spooled; beyond: dropped, counted
};

// Options from the agent config; reads the token file (trailing whitespace trimmed).
std::optional<CollectorSinkOptions> collector_sink_options(const config::AgentConfig& config,
                                                           const std::string& agent_id, std::string* error);

struct CollectorSinkStats {
  uint64_t batches_sent = 0;       // acknowledged (duplicates included)
  uint64_t batches_duplicate = 0;  // acknowledged as already stored
  uint64_t batches_dropped = 0;    // lost for good: spool overflow, rejected, corrupt, unwritable
  uint64_t batches_rejected = 0;   // 4xx from the collector (part of batches_dropped)
  uint64_t send_failures = 0;      // attempts that will be retried
  uint64_t spool_bytes = 0;
  uint64_t spool_batches = 0;
  uint64_t spool_corrupt = 0;      // part of batches_dropped
  uint64_t events_dropped = 0;     // in memory, when the spool writer could not keep up
};

class CollectorSink final : public EventSink {
 public:
  // Opens the spool (the batches it holds are sent first, in sequence order) and starts the threads.
  static std::unique_ptr<CollectorSink> start(CollectorSinkOptions options, std::string* error);
  ~CollectorSink();  // shutdown()
  CollectorSink(const CollectorSink&) = delete;
  CollectorSink& operator=(const CollectorSink&) = delete;

  // Queues a copy of the event; never blocks on I/O.
  void write(const credtrace::v1::Event& event) override;

  // Spools everything queued, makes one last delivery attempt bounded by final_send_deadline, stops the threads.
  // What is not acknowledged stays in the spool for the next start. Idempotent.
  void shutdown();
  // shutdown() without the final delivery attempt: for a reload, where the next sink takes the spool over at once and
  // the agent's loop must not wait on the network.
  void shutdown_for_handover();

  CollectorSinkStats stats() const;
  // Adds the counters as collector_* entries (for agent_health.sensors).
  void report(google::protobuf::Map<std::string, uint64_t>& counters) const;
  void report(credtrace::v1::AgentHealth& health) const override { report(*health.mutable_sensors()); }

 private:
  CollectorSink(CollectorSinkOptions options, std::unique_ptr<Spool> spool, std::unique_ptr<CollectorClient> client);
  void spool_loop();
  void send_loop();
  void seal_ready_batches(std::unique_lock<std::mutex>& lock, bool everything);
  // One delivery attempt of the oldest spooled batch; false when it must be retried later.
  bool send_oldest(std::chrono::milliseconds timeout);
  void refresh_spool_stats();

  CollectorSinkOptions options_;
  std::unique_ptr<Spool> spool_;
  std::unique_ptr<CollectorClient> client_;

  std::mutex queue_mutex_;  // batcher_ and stopping_
  std::condition_variable queue_cv_;
  EventBatcher batcher_;
  bool stopping_ = false;

  std::mutex send_mutex_;  // spooled_ and send_stopping_
  std::condition_variable send_cv_;
  uint64_t spooled_ = 0;   // bumped by the spool thread per new batch (pairs its notify with the sender's wait)
  bool send_stopping_ = false;
  std::atomic<bool> abort_send_{false};
  std::atomic<bool> handover_{false};  // shutdown_for_handover: no final delivery attempt
  bool failing_ = false;   // the last attempt failed (log once per outage)

  std::mutex stats_mutex_;  // refresh_spool_stats
  std::atomic<uint64_t> batches_sent_{0}, batches_duplicate_{0}, batches_rejected_{0}, send_failures_{0},
      events_dropped_{0}, spool_bytes_{0}, spool_batches_{0}, spool_lost_{0}, spool_corrupt_{0};

  std::once_flag shutdown_once_;
  std::thread spool_thread_;
  std::thread send_thread_;
};

}  // namespace credtrace::exporter
