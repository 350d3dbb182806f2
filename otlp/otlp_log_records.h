// credtrace events as OpenTelemetry log records: the OTLP/HTTP JSON body (ExportLogsServiceRequest) of a batch, with
// EventName, severity, time, resource attributes (host.name, service.*, k8s.*, container.id) and event attributes
// named by the OpenTelemetry semantic conventions where they exist (server.address, mcp.method.name, gen_ai.tool.name,
// ...), credtrace.* otherwise. Events carry no raw secret (previews and fingerprints only), and neither does this.
#pragma once

#include <string>
#include <vector>

#include "credtrace/v1/events.pb.h"

namespace credtrace::otlp {

struct OtlpResource {
  std::string service_name;         // credtrace-agent, credtrace-collector
  std::string service_version;
  std::string service_instance_id;  // the agent id, or the collector's host
};

// OTLP severity numbers used: INFO for observations, WARN for findings (a token passed through, an audience mismatch,
// a credential relayed or in tool I/O, a tool redefined), DEBUG for agent_health.
int severity_number(const std::string& event_type);
const char* severity_text(int severity_number);

// The JSON body of POST /v1/logs for these events: one ResourceLogs per distinct resource (an event's host and, when
// known, its Kubernetes pod and container), records in the order given.
std::string logs_request_json(const std::vector<credtrace::v1::Event>& events, const OtlpResource& resource);

}  // namespace credtrace::otlp
