// Stamps new events with their type, time, host and agent, and the process and workload they concern.
#include "events/event_factory.h"

#include "common/timestamp.h"

namespace credtrace::events {

credtrace::v1::Event EventFactory::make(std::string_view type) const {
  credtrace::v1::Event event;
  event.set_type(std::string(type));
  *event.mutable_time() = common::now_timestamp();
  event.set_host(host_);
  event.set_agent_id(agent_id_);
  return event;
}

credtrace::v1::Event EventFactory::about(std::string_view type, const credtrace::v1::Process& process,
                                         const credtrace::v1::Workload& workload) const {
  credtrace::v1::Event event = make(type);
  *event.mutable_process() = process;
  *event.mutable_workload() = workload;
  return event;
}

}  // namespace credtrace::events
