// Collector sink: a spool thread seals batches into the on-disk spool; a send thread delivers them oldest first,
// deleting each on the collector's ack and retrying failures with exponential backoff and full jitter.
#include "export/collector_sink.h"

#include <fstream>
#include <sstream>

#include "export/backoff.h"
#include "logging/log.h"

namespace credtrace::exporter {
namespace {

bool read_token(const std::string& path, std::string& token, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (error) *error = "cannot read the collector token file " + path;
    return false;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  token = buffer.str();
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.front()))) token.erase(token.begin());
  if (token.empty() || token.find_first_of("\r\n") != std::string::npos) {
    if (error) *error = "the collector token file " + path + " must hold one non-empty line";
    return false;
  }
  return true;
}

}  // namespace

std::optional<CollectorSinkOptions> collector_sink_options(const config::AgentConfig& config,
                                                           const std::string& agent_id, std::string* error) {
  const config::CollectorConfig& c = config.collector;
  CollectorSinkOptions options;
  options.endpoint.url = c.url;
  options.endpoint.ca_file = c.ca_file;
  options.endpoint.cert_file = c.cert_file;
  options.endpoint.key_file = c.key_file;
  if (!c.token_file.empty() && !read_token(c.token_file, options.endpoint.token, error)) return std::nullopt;
  options.agent_id = agent_id;
  options.spool_dir = config::collector_spool_dir(config);
  options.spool_max_bytes = c.spool_max_bytes;
  options.batch.max_events = c.batch_max_events;
  options.batch.max_bytes = c.batch_max_bytes;
  options.batch.max_age = std::chrono::milliseconds(c.flush_interval_ms);
  options.retry_initial = std::chrono::milliseconds(c.retry_initial_ms);
  options.retry_max = std::chrono::milliseconds(c.retry_max_ms);
  return options;
}

std::unique_ptr<CollectorSink> CollectorSink::start(CollectorSinkOptions options, std::string* error) {
  if (options.agent_id.empty()) {
    if (error) *error = "collector sink needs an agent id";
    return nullptr;
  }
  auto client = CollectorClient::create(options.endpoint, error);
  if (!client) return nullptr;
  // A new spool starts its sequence at the current time in microseconds, not at 1: if the state dir is lost, the
  // agent's new batches must not reuse sequences the collector already holds (it would drop them as duplicates).
  const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::system_clock::now().time_since_epoch()).count();
  auto spool = Spool::open(options.spool_dir, options.spool_max_bytes, error, static_cast<uint64_t>(now_us));
  if (!spool) return nullptr;
  std::unique_ptr<CollectorSink> sink(new CollectorSink(std::move(options), std::move(spool), std::move(client)));
  SpoolStats held = sink->spool_->stats();
  log::info("collector sink: " + std::to_string(held.batches) + " spooled batches (" + std::to_string(held.bytes) +
            " bytes) to replay, next sequence " + std::to_string(sink->spool_->next_sequence()));
  sink->spool_thread_ = std::thread([s = sink.get()] { s->spool_loop(); });
  sink->send_thread_ = std::thread([s = sink.get()] { s->send_loop(); });
  return sink;
}

CollectorSink::CollectorSink(CollectorSinkOptions options, std::unique_ptr<Spool> spool,
                             std::unique_ptr<CollectorClient> client)
    : options_(std::move(options)), spool_(std::move(spool)), client_(std::move(client)), batcher_(options_.batch) {
  std::fill(options_.endpoint.token.begin(), options_.endpoint.token.end(), '\0');  // the client holds its copy
  options_.endpoint.token.clear();
  refresh_spool_stats();
}

CollectorSink::~CollectorSink() { shutdown(); }

void CollectorSink::write(const credtrace::v1::Event& event) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    if (stopping_ || batcher_.bytes() >= options_.max_pending_bytes) {
      events_dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    bool was_empty = batcher_.empty();
    batcher_.add(event);
    // The spool thread learns of a new deadline (first event) or a full batch; other adds need no wake-up.
    wake = was_empty || batcher_.ready();
  }
  if (wake) queue_cv_.notify_one();
}

void CollectorSink::refresh_spool_stats() {
  std::lock_guard<std::mutex> lock(stats_mutex_);  // both threads refresh: the newest snapshot must win
  SpoolStats s = spool_->stats();
  spool_bytes_ = s.bytes;
  spool_batches_ = s.batches;
  spool_lost_ = s.dropped_full + s.write_failures;
  spool_corrupt_ = s.corrupt;
}

// Seals what is ready (or everything) into the spool; the lock is released around encoding and disk writes.
void CollectorSink::seal_ready_batches(std::unique_lock<std::mutex>& lock, bool everything) {
  while (everything ? !batcher_.empty() : batcher_.ready()) {
    std::vector<credtrace::v1::Event> events = batcher_.take();
    lock.unlock();
    const size_t count = events.size();
    uint64_t sequence = spool_->next_sequence();
    std::string body = encode_batch(options_.agent_id, sequence, std::move(events));
    SpoolStats before = spool_->stats();
    bool kept = !body.empty() && spool_->put(sequence, body);
    SpoolStats after = spool_->stats();
    if (!kept)
      log::error("collector spool: batch " + std::to_string(sequence) + " of " + std::to_string(count) +
                 " events could not be kept in " + spool_->dir() + "; dropped");
    if (after.dropped_full > before.dropped_full)
      log::warn("collector spool full (its " + std::to_string(options_.spool_max_bytes) +
                "-byte limit, or the disk under " + spool_->dir() + "): dropped " +
                std::to_string(after.dropped_full - before.dropped_full) + " batches, oldest first");
    refresh_spool_stats();
    {
      std::lock_guard<std::mutex> send_lock(send_mutex_);
      ++spooled_;
    }
    send_cv_.notify_one();
    lock.lock();
  }
}

void CollectorSink::spool_loop() {
  std::unique_lock<std::mutex> lock(queue_mutex_);
  while (!stopping_) {
    seal_ready_batches(lock, false);
    // Woken by a first event (new deadline), a full batch, or shutdown; the deadline is recomputed every round.
    if (auto deadline = batcher_.deadline()) queue_cv_.wait_until(lock, *deadline);
    else if (!stopping_) queue_cv_.wait(lock);
  }
  seal_ready_batches(lock, true);  // shutdown: whatever is queued goes to the spool
}

bool CollectorSink::send_oldest(std::chrono::milliseconds timeout) {
  auto sequence = spool_->oldest();
  if (!sequence) return true;
  const uint64_t corrupt_before = spool_->stats().corrupt;
  auto body = spool_->read(*sequence);
  if (!body) {  // dropped meanwhile, or damaged (then deleted and counted as corrupt)
    if (spool_->stats().corrupt > corrupt_before)
      log::error("collector spool: batch " + std::to_string(*sequence) + " is damaged; deleted");
    refresh_spool_stats();
    return true;
  }
  SendResult result = client_->send(options_.agent_id, *sequence, *body, timeout, &abort_send_);
  const std::string which = "batch " + std::to_string(*sequence);
  switch (result.outcome) {
    case SendOutcome::kAcked:
      spool_->remove(*sequence);
      ++batches_sent_;
      if (result.duplicate) ++batches_duplicate_;
      if (failing_) log::info("collector delivery resumed with " + which);
      failing_ = false;
      break;
    case SendOutcome::kRejected:
      spool_->remove(*sequence);
      ++batches_rejected_;
      log::error("collector rejected " + which + " for good (" + result.message + "); dropped");
      failing_ = false;
      break;
    case SendOutcome::kRetry:
      ++send_failures_;
      if (!failing_)
        log::warn("collector delivery failed (" + result.message + "); batches stay spooled and are retried");
      failing_ = true;
      break;
  }
  refresh_spool_stats();
  return result.outcome != SendOutcome::kRetry;
}

void CollectorSink::send_loop() {
  Backoff backoff(options_.retry_initial, options_.retry_max);
  auto retry_at = std::chrono::steady_clock::now();
  for (;;) {
    {
      // The spool thread bumps spooled_ under send_mutex_ after each put, so no new batch is missed here.
      std::unique_lock<std::mutex> lock(send_mutex_);
      for (;;) {
        if (send_stopping_) break;
        bool pending = spool_->oldest().has_value();
        if (pending && std::chrono::steady_clock::now() >= retry_at) break;
        if (pending) send_cv_.wait_until(lock, retry_at);
        else send_cv_.wait(lock);
      }
      if (send_stopping_) break;
    }
    while (spool_->oldest()) {
      if (!send_oldest(options_.send_timeout)) {
        retry_at = std::chrono::steady_clock::now() + backoff.next();
        break;
      }
      backoff.reset();
      std::lock_guard<std::mutex> lock(send_mutex_);
      if (send_stopping_) break;
    }
  }
  // Final attempt: the spool thread has stopped, so the spool holds everything. One pass within the deadline.
  abort_send_ = false;
  const auto deadline = std::chrono::steady_clock::now() +
                        (handover_ ? std::chrono::milliseconds(0) : options_.final_send_deadline);
  while (spool_->oldest()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !send_oldest(left)) break;
  }
}

void CollectorSink::shutdown() {
  std::call_once(shutdown_once_, [this] {
    {
      std::lock_guard<std::mutex> lock(queue_mutex_);
      stopping_ = true;
    }
    queue_cv_.notify_one();
    if (spool_thread_.joinable()) spool_thread_.join();
    {
      std::lock_guard<std::mutex> lock(send_mutex_);
      send_stopping_ = true;
      abort_send_ = true;  // a transfer stuck on a hung collector ends now; the final pass has its own deadline
    }
    send_cv_.notify_one();
    if (send_thread_.joinable()) send_thread_.join();
    refresh_spool_stats();
    CollectorSinkStats s = stats();
    log::info("collector sink stopped: " + std::to_string(s.batches_sent) + " batches sent, " +
              std::to_string(s.spool_batches) + " left in the spool, " + std::to_string(s.batches_dropped) +
              " dropped");
  });
}

void CollectorSink::shutdown_for_handover() {
  handover_ = true;
  shutdown();
}

CollectorSinkStats CollectorSink::stats() const {
  CollectorSinkStats s;
  s.batches_sent = batches_sent_;
  s.batches_duplicate = batches_duplicate_;
  s.batches_rejected = batches_rejected_;
  s.send_failures = send_failures_;
  s.spool_bytes = spool_bytes_;
  s.spool_batches = spool_batches_;
  s.spool_corrupt = spool_corrupt_;
  s.events_dropped = events_dropped_;
  s.batches_dropped = spool_lost_ + spool_corrupt_ + batches_rejected_;
  return s;
}

void CollectorSink::report(google::protobuf::Map<std::string, uint64_t>& counters) const {
  CollectorSinkStats s = stats();
  counters["collector_batches_sent"] = s.batches_sent;
  counters["collector_batches_duplicate"] = s.batches_duplicate;
  counters["collector_batches_dropped"] = s.batches_dropped;
  counters["collector_batches_rejected"] = s.batches_rejected;
  counters["collector_send_failures"] = s.send_failures;
  counters["collector_spool_bytes"] = s.spool_bytes;
  counters["collector_spool_batches"] = s.spool_batches;
  counters["collector_spool_corrupt"] = s.spool_corrupt;
  counters["collector_events_dropped"] = s.events_dropped;
}

}  // namespace credtrace::exporter
