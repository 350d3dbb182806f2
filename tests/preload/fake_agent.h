// A small in-process preload agent for tests and benchmarks: PreloadServer on a temp socket, a decision and secret
// names for every registration, and a consumer thread draining every ring into a caller's record handler.
#pragma once

#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sensors/preload/preload_server.h"

namespace credtrace::testing {

inline uint64_t fake_agent_mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// What the consumer knows of one registered process (read by the caller after stop()).
struct FakeProcess {
  uint32_t pid = 0;
  uint32_t flags = 0;  // CT_HELLO_*
  std::string exe;
  std::unique_ptr<sensors::PreloadRing> ring;
  common::UniqueFd connection;
  size_t index = 0;  // order of registration
  uint32_t enabled = 0;  // the decision written in its header
};

class FakeAgent {
 public:
  // on_record runs on the consumer thread, for every record of every process, in ring order.
  using RecordHandler = std::function<void(FakeProcess&, sensors::PreloadRecord&)>;

  FakeAgent(std::string socket, uint32_t enabled, std::vector<std::string> secrets, RecordHandler on_record,
            std::chrono::microseconds interval = std::chrono::microseconds(500))
      : server_(std::move(socket), [](uint32_t pid, uint64_t start_ticks) { return identity(pid, start_ticks); }),
        enabled_(enabled),
        secrets_(std::move(secrets)),
        on_record_(std::move(on_record)),
        interval_(interval) {}
  ~FakeAgent() { stop(); }
  FakeAgent(const FakeAgent&) = delete;
  FakeAgent& operator=(const FakeAgent&) = delete;

  bool start(std::string* error) {
    if (!server_.listen(error)) return false;
    thread_ = std::thread([this] { run(); });
    return true;
  }
  // Drains a last time and joins the consumer; the processes stay for inspection.
  void stop() {
    if (!thread_.joinable()) return;
    stopping_.store(true);
    thread_.join();
  }
  size_t registrations() const { return registered_.load(std::memory_order_acquire); }
  // Heartbeats written this far ahead of the clock: what a hook preempted between its clock read and its load of the
  // beat sees every time (a beat newer than its "now"). Set before start().
  void set_heartbeat_lead(uint64_t ns) { heartbeat_lead_ns_ = ns; }
  // A new decision for every process, applied by the consumer on its next round (returns once applied).
  void decide(uint32_t enabled) {
    enabled_.store(enabled);
    flush();
  }
  // Blocks until every ring has been drained once after this call (records committed before it are handed over).
  void flush() {
    const uint64_t target = rounds_.load() + 2;
    while (rounds_.load() < target && thread_.joinable()) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  std::vector<FakeProcess>& processes() { return processes_; }  // after stop()
  const sensors::PreloadServerStats& server_stats() const { return server_.stats(); }

 private:
  // The peer's start time, unless it is gone already (a forked child that wrote and exited before its hello was
  // read): the pid itself comes from SO_PEERCRED, which is what these tests check.
  static sensors::PreloadServer::Identity identity(uint32_t pid, uint64_t start_ticks) {
    const uint64_t ticks = sensors::proc_start_ticks("/proc", pid);
    return ticks == 0 || ticks == start_ticks ? sensors::PreloadServer::Identity::confirmed
                                              : sensors::PreloadServer::Identity::refused;
  }

  void accept_new(uint64_t now) {
    for (auto& registration : server_.accept(4096, now)) {
      FakeProcess process;
      process.pid = registration.pid;
      process.flags = registration.flags;
      process.exe = registration.exe;
      process.ring = std::move(registration.ring);
      process.connection = std::move(registration.connection);
      process.index = processes_.size();
      for (const auto& name : secrets_) process.ring->add_name(name, false);  // names first, then the decision
      const uint32_t enabled = enabled_.load();
      if (enabled != kUndecided) process.ring->decide(enabled);
      process.enabled = enabled;
      processes_.push_back(std::move(process));
      registered_.fetch_add(1, std::memory_order_release);
    }
  }

  void drain_all(uint64_t now) {
    const uint32_t enabled = enabled_.load();
    for (auto& process : processes_) {
      if (process.enabled != enabled && enabled != kUndecided) process.ring->decide(enabled);
      process.enabled = enabled;
      process.ring->heartbeat(now + heartbeat_lead_ns_);
      process.ring->drain(UINT64_MAX, now, [&](sensors::PreloadRecord& record) { on_record_(process, record); });
    }
  }

  void run() {
    for (;;) {
      const bool last = stopping_.load();
      const uint64_t now = fake_agent_mono_ns();
      accept_new(now);
      drain_all(now);
      rounds_.fetch_add(1);
      if (last) return;
      std::this_thread::sleep_for(interval_);
    }
  }

 public:
  static constexpr uint32_t kUndecided = UINT32_MAX;  // enabled: leave every process undecided

 private:
  sensors::PreloadServer server_;
  std::atomic<uint32_t> enabled_;
  std::vector<std::string> secrets_;
  RecordHandler on_record_;
  std::chrono::microseconds interval_;
  uint64_t heartbeat_lead_ns_ = 0;
  std::vector<FakeProcess> processes_;  // the consumer thread's until stop()
  std::atomic<size_t> registered_{0};
  std::atomic<uint64_t> rounds_{0};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace credtrace::testing
