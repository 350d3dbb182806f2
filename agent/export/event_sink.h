// Where exported events go: the sink interface every destination implements, and the fan-out the agent writes to.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "credtrace/v1/events.pb.h"

namespace credtrace::exporter {

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Takes one event; a sink never blocks the agent for long and counts what it could not deliver.
  virtual void write(const credtrace::v1::Event& event) = 0;
  // Its delivery counters, into the agent_health event (failures as agent_errors, the rest as sensors).
  virtual void report(credtrace::v1::AgentHealth& health) const = 0;
};

// Every event to every sink, in the order they were added. Each sink has a role ("json", "collector") by which a
// reload replaces it.
class FanOutSink final : public EventSink {
 public:
  void add(std::unique_ptr<EventSink> sink, std::string role = "") {
    sinks_.push_back(std::move(sink));
    roles_.push_back(std::move(role));
  }
  // Destroys the sink of this role (it delivers or spools what it holds), then puts next in its place (or at the end;
  // nullptr: none).
  void replace(const std::string& role, std::unique_ptr<EventSink> next) {
    for (size_t i = 0; i < sinks_.size(); ++i) {
      if (roles_[i] != role) continue;
      sinks_[i].reset();
      if (next) {
        sinks_[i] = std::move(next);
      } else {
        sinks_.erase(sinks_.begin() + static_cast<std::ptrdiff_t>(i));
        roles_.erase(roles_.begin() + static_cast<std::ptrdiff_t>(i));
      }
      return;
    }
    if (next) add(std::move(next), role);
  }
  // The sink of this role, or nullptr.
  EventSink* find(const std::string& role) const {
    for (size_t i = 0; i < sinks_.size(); ++i)
      if (roles_[i] == role) return sinks_[i].get();
    return nullptr;
  }
  size_t size() const { return sinks_.size(); }
  void write(const credtrace::v1::Event& event) override {
    for (auto& sink : sinks_) sink->write(event);
  }
  void report(credtrace::v1::AgentHealth& health) const override {
    for (const auto& sink : sinks_) sink->report(health);
  }

 private:
  std::vector<std::unique_ptr<EventSink>> sinks_;
  std::vector<std::string> roles_;
};

}  // namespace credtrace::exporter
