// Where exported events go: the sink interface every destination implements, and the fan-out the agent writes to.
#pragma once

#include <memory>
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

// Every event to every sink, in the order they were added.
class FanOutSink final : public EventSink {
 public:
  void add(std::unique_ptr<EventSink> sink) { sinks_.push_back(std::move(sink)); }
  size_t size() const { return sinks_.size(); }
  void write(const credtrace::v1::Event& event) override {
    for (auto& sink : sinks_) sink->write(event);
  }
  void report(credtrace::v1::AgentHealth& health) const override {
    for (const auto& sink : sinks_) sink->report(health);
  }

 private:
  std::vector<std::unique_ptr<EventSink>> sinks_;
};

}  // namespace credtrace::exporter
