// Aggregation of repeated credential uses: the first use of a (workload, credential, destination, carrier, MCP call) is
// emitted at once; repeats within the window are counted and emitted as one event when it closes. Nothing is dropped.
// The destination is its host and its observed address: a use whose address is unknown never counts as a repeat of
// one whose address was observed (nor one to another address), so the event that reports an address reports only
// uses made to it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "credtrace/v1/events.pb.h"

namespace credtrace::sensors {

// What a repeat must share with the window's first use (views: a repeat is counted without copying them).
struct UseKeyView {
  std::string_view workload_id, fingerprint, host, ip;
  uint32_t port = 0;
  std::string_view address_source, carrier, call_key;
};

class UseAggregator {
 public:
  using Clock = std::chrono::system_clock;

  UseAggregator(std::chrono::seconds window, size_t max_keys) : window_(window), max_keys_(max_keys) {}

  // One credential_use event (count 1). Returns what to emit now: the event itself when it opens a window, or when
  // the table is full (then unaggregated, counted), else nothing.
  std::vector<credtrace::v1::Event> add(credtrace::v1::Event event, Clock::time_point now);
  // A repeat inside an open window is only counted: true, and the caller need not build the event at all.
  // The event that closes the window then carries the first use's process and request.
  bool count_repeat(const UseKeyView& key, Clock::time_point now);
  // Uses made for different MCP calls are never one event: the call (or the ambiguous candidates) is in the key.
  static std::string call_key_of(const credtrace::v1::ToolCallLink& link);
  // Windows that closed by now: their repeats as one event each.
  std::vector<credtrace::v1::Event> expire(Clock::time_point now);
  // Every open window's repeats (at shutdown).
  std::vector<credtrace::v1::Event> flush();

  // A reload: windows opened from now on, and those open, close after this long.
  void set_window(std::chrono::seconds window) { window_ = window; }
  uint64_t unaggregated() const { return unaggregated_; }
  size_t open_windows() const { return windows_.size(); }

 private:
  // workload, fingerprint, host, ip, port, address source, carrier, call
  using Key = std::tuple<std::string, std::string, std::string, std::string, uint32_t, std::string, std::string,
                         std::string>;
  using KeyView = std::tuple<std::string_view, std::string_view, std::string_view, std::string_view, uint32_t,
                             std::string_view, std::string_view, std::string_view>;
  // Orders keys and looks them up by views: a repeat is counted without copying its strings.
  struct KeyLess {
    using is_transparent = void;
    static KeyView view(const KeyView& key) { return key; }
    static KeyView view(const UseKeyView& k) {
      return {k.workload_id, k.fingerprint, k.host, k.ip, k.port, k.address_source, k.carrier, k.call_key};
    }
    static KeyView view(const Key& key) { return std::apply([](const auto&... part) { return KeyView{part...}; }, key); }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const { return view(a) < view(b); }
  };
  // Kept for every open window (one per watched process that used a credential lately), so compactly: the event
  // serialized is one string of ~0.6 KB, where the Event held a heap object per field (~3.4 KB with its workload).
  struct Window {
    Clock::time_point opened;
    std::string last;  // the latest use (its process, request, time), serialized
    uint64_t repeats = 0;
    Clock::time_point first_repeat, last_repeat;
  };
  static Key key_of(const credtrace::v1::Event& event);
  credtrace::v1::Event repeats_event(Window& window) const;

  std::chrono::seconds window_;
  size_t max_keys_;
  std::map<Key, Window, KeyLess> windows_;
  uint64_t unaggregated_ = 0;
};

}  // namespace credtrace::sensors
