// The one place exported events are started: type, time, host and agent id, and the process and workload they are
// about. Sensors fill only their own detail.
#pragma once

#include <string>
#include <string_view>

#include "credtrace/v1/events.pb.h"

namespace credtrace::events {

class EventFactory {
 public:
  EventFactory(std::string host, std::string agent_id) : host_(std::move(host)), agent_id_(std::move(agent_id)) {}

  // An event of `type` stamped now, from this host and agent.
  credtrace::v1::Event make(std::string_view type) const;
  // ... about a process of a workload.
  credtrace::v1::Event about(std::string_view type, const credtrace::v1::Process& process,
                             const credtrace::v1::Workload& workload) const;

  const std::string& host() const { return host_; }
  const std::string& agent_id() const { return agent_id_; }

 private:
  std::string host_;
  std::string agent_id_;
};

}  // namespace credtrace::events
