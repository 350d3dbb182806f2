// Aggregation of repeated credential uses within a window (first use at once, repeats counted, flushed at close).
#include "sensors/tls/use_aggregator.h"

namespace credtrace::sensors {
namespace {

google::protobuf::Timestamp timestamp(UseAggregator::Clock::time_point t) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  google::protobuf::Timestamp ts;
  ts.set_seconds(ns / 1000000000);
  ts.set_nanos(static_cast<int32_t>(ns % 1000000000));
  return ts;
}

void stamp(credtrace::v1::Event& event, uint64_t count, UseAggregator::Clock::time_point first,
           UseAggregator::Clock::time_point last, std::chrono::seconds window) {
  auto* use = event.mutable_credential_use();
  use->set_count(count);
  *use->mutable_first_seen() = timestamp(first);
  *use->mutable_last_seen() = timestamp(last);
  use->set_window_seconds(static_cast<uint32_t>(window.count()));
}

}  // namespace

std::string UseAggregator::call_key_of(const credtrace::v1::ToolCallLink& link) {
  if (link.has_call()) return link.call().call_id();
  std::string key;
  for (const auto& candidate : link.candidates()) key += candidate.call_id() + ",";
  return key;
}

UseAggregator::Key UseAggregator::key_of(const credtrace::v1::Event& e) {
  const auto& to = e.destination();
  return {e.workload().id(), e.credential().fingerprint(), to.host(), to.ip(), to.port(), to.address_source(),
          e.request().carrier(), call_key_of(e.tool_call())};
}

bool UseAggregator::count_repeat(const UseKeyView& key, Clock::time_point now) {
  auto it = windows_.find(key);
  if (it == windows_.end() || now - it->second.opened >= window_) return false;
  Window& w = it->second;
  if (w.repeats++ == 0) w.first_repeat = now;
  w.last_repeat = now;
  return true;
}

std::vector<credtrace::v1::Event> UseAggregator::add(credtrace::v1::Event event, Clock::time_point now) {
  Key key = key_of(event);
  auto it = windows_.find(key);
  if (it != windows_.end() && now - it->second.opened < window_) {
    Window& w = it->second;
    if (w.repeats++ == 0) w.first_repeat = now;
    w.last_repeat = now;
    event.SerializeToString(&w.last);
    return {};
  }
  std::vector<credtrace::v1::Event> out;
  if (it != windows_.end()) {  // a stale window not yet expired: close it first
    if (it->second.repeats) out.push_back(repeats_event(it->second));
    windows_.erase(it);
  }
  stamp(event, 1, now, now, window_);
  if (windows_.size() >= max_keys_) {
    ++unaggregated_;
  } else {
    windows_.emplace(std::move(key), Window{now, event.SerializeAsString(), 0, now, now});
  }
  out.push_back(std::move(event));
  return out;
}

credtrace::v1::Event UseAggregator::repeats_event(Window& w) const {
  credtrace::v1::Event event;
  event.ParseFromString(w.last);  // written by this binary from an Event: parses
  stamp(event, w.repeats, w.first_repeat, w.last_repeat, window_);
  return event;
}

std::vector<credtrace::v1::Event> UseAggregator::expire(Clock::time_point now) {
  std::vector<credtrace::v1::Event> out;
  for (auto it = windows_.begin(); it != windows_.end();) {
    if (now - it->second.opened < window_) {
      ++it;
      continue;
    }
    if (it->second.repeats) out.push_back(repeats_event(it->second));
    it = windows_.erase(it);
  }
  return out;
}

std::vector<credtrace::v1::Event> UseAggregator::flush() {
  std::vector<credtrace::v1::Event> out;
  for (auto& [_, w] : windows_)
    if (w.repeats) out.push_back(repeats_event(w));
  windows_.clear();
  return out;
}

}  // namespace credtrace::sensors
