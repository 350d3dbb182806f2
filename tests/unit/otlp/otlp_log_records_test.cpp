// Unit tests of the OTLP mapping: one log record per event with EventName, severity, time and the conventional
// attributes; resources grouped by host and pod; Host-header ports kept out of server.address; endpoint and headers
// file rules.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>
#include <nlohmann/json.hpp>

#include "otlp/otlp_exporter.h"
#include "otlp/otlp_log_records.h"

using credtrace::v1::Event;
using nlohmann::json;
namespace otlp = credtrace::otlp;

namespace {

Event use_event(const std::string& host_header, const std::string& pod) {
  Event e;
  e.set_type("credential_use");
  e.set_host("node-1");
  e.set_agent_id("agt_1");
  e.mutable_time()->set_seconds(1700000000);
  e.mutable_time()->set_nanos(5);
  e.mutable_workload()->set_id("wl_1");
  if (!pod.empty()) {
    e.mutable_workload()->mutable_kubernetes()->set_pod(pod);
    e.mutable_workload()->mutable_kubernetes()->set_namespace_("agents");
  }
  e.mutable_credential()->set_type("github_pat");
  e.mutable_credential()->set_fingerprint(std::string(64, 'a'));
  e.mutable_credential()->set_preview("ghp_…abcd");
  e.mutable_destination()->set_host(host_header);
  e.mutable_destination()->set_port(443);
  e.mutable_credential_use()->set_count(3);
  return e;
}

json attributes_of(const json& list) {
  json out = json::object();
  for (const auto& kv : list) {
    const auto& v = kv["value"];
    out[kv["key"].get<std::string>()] = v.contains("stringValue") ? v["stringValue"]
                                        : v.contains("intValue")  ? json(std::stoll(v["intValue"].get<std::string>()))
                                        : v.contains("boolValue") ? v["boolValue"]
                                                                  : v;
  }
  return out;
}

json request(const std::vector<Event>& events) {
  return json::parse(otlp::logs_request_json(events, {"credtrace-agent", "1.2.3", "agt_1"}));
}

}  // namespace

TEST(OtlpLogRecords, OneRecordPerEventWithNameSeverityTimeAndAttributes) {
  json r = request({use_event("api.github.com:8443", "")});
  ASSERT_EQ(r["resourceLogs"].size(), 1u);
  const json& resource = attributes_of(r["resourceLogs"][0]["resource"]["attributes"]);
  EXPECT_EQ(resource["service.name"], "credtrace-agent");
  EXPECT_EQ(resource["service.version"], "1.2.3");
  EXPECT_EQ(resource["service.instance.id"], "agt_1");
  EXPECT_EQ(resource["host.name"], "node-1");
  EXPECT_FALSE(resource.contains("k8s.pod.name"));  // unknown: left out, never an empty value
  const json& record = r["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0];
  EXPECT_EQ(record["eventName"], "credtrace.credential_use");
  EXPECT_EQ(record["severityNumber"], 9);
  EXPECT_EQ(record["severityText"], "INFO");
  EXPECT_EQ(record["timeUnixNano"], "1700000000000000005");
  const json a = attributes_of(record["attributes"]);
  EXPECT_EQ(a["server.address"], "api.github.com");
  EXPECT_EQ(a["server.port"], 443);
  EXPECT_EQ(a["credtrace.credential.preview"], "ghp_…abcd");
  EXPECT_EQ(a["credtrace.use.count"], 3);
  EXPECT_FALSE(a.contains("url.path"));
  EXPECT_NE(record["body"]["stringValue"].get<std::string>().find("\"credential_use\""), std::string::npos);
}

TEST(OtlpLogRecords, ServerAddressLeavesOutThePortAndIpv6Brackets) {
  for (const auto& [host, expected] : std::vector<std::pair<std::string, std::string>>{
           {"api.example.com", "api.example.com"}, {"api.example.com:443", "api.example.com"},
           {"[2001:db8::1]:8443", "2001:db8::1"}, {"[::1]", "::1"}, {"2001:db8::2", "2001:db8::2"},
           {"host:notaport", "host:notaport"}}) {
    json r = request({use_event(host, "")});
    EXPECT_EQ(attributes_of(r["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]["attributes"])["server.address"],
              expected)
        << host;
  }
}

TEST(OtlpLogRecords, EventsOfDifferentPodsGetTheirOwnResource) {
  json r = request({use_event("a", "pod-1"), use_event("b", "pod-2"), use_event("c", "pod-1"), use_event("d", "")});
  ASSERT_EQ(r["resourceLogs"].size(), 3u);
  EXPECT_EQ(r["resourceLogs"][0]["scopeLogs"][0]["logRecords"].size(), 2u);
  EXPECT_EQ(attributes_of(r["resourceLogs"][0]["resource"]["attributes"])["k8s.pod.name"], "pod-1");
  EXPECT_EQ(attributes_of(r["resourceLogs"][0]["resource"]["attributes"])["k8s.namespace.name"], "agents");
  EXPECT_EQ(attributes_of(r["resourceLogs"][1]["resource"]["attributes"])["k8s.pod.name"], "pod-2");
}

TEST(OtlpLogRecords, ToolCallsCarryTheMcpConventions) {
  Event e;
  e.set_type("mcp_tool_call");
  auto* c = e.mutable_mcp_tool_call();
  c->set_method("tools/call");
  c->set_tool("create_issue");
  c->set_session_id("s-9");
  c->set_transport("http");
  c->set_outcome("jsonrpc_error");
  c->set_error_code(-32602);
  c->set_jsonrpc_id("7");
  const json a = attributes_of(request({e})["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]["attributes"]);
  EXPECT_EQ(a["mcp.method.name"], "tools/call");
  EXPECT_EQ(a["gen_ai.tool.name"], "create_issue");
  EXPECT_EQ(a["mcp.session.id"], "s-9");
  EXPECT_EQ(a["network.transport"], "tcp");
  EXPECT_EQ(a["error.type"], "jsonrpc_error");
  EXPECT_EQ(a["rpc.jsonrpc.error_code"], -32602);
  EXPECT_EQ(a["jsonrpc.request.id"], "7");
}

TEST(OtlpLogRecords, FindingsAreWarningsAndHealthIsDebug) {
  EXPECT_EQ(otlp::severity_number("token_passthrough"), 13);
  EXPECT_EQ(otlp::severity_number("credential_relayed"), 13);
  EXPECT_EQ(otlp::severity_number("secret_in_tool_io"), 13);
  EXPECT_EQ(otlp::severity_number("agent_health"), 5);
  EXPECT_EQ(otlp::severity_number("secret_exposure"), 9);
  EXPECT_STREQ(otlp::severity_text(13), "WARN");
  EXPECT_STREQ(otlp::severity_text(5), "DEBUG");
}

TEST(OtlpEndpoint, LogsPathIsAppendedAndPlainHttpOnlyToLoopback) {
  std::string error;
  EXPECT_EQ(otlp::logs_url("https://otel.example:4318", &error), "https://otel.example:4318/v1/logs");
  EXPECT_EQ(otlp::logs_url("https://otel.example:4318/v1/logs/", &error), "https://otel.example:4318/v1/logs");
  EXPECT_EQ(otlp::logs_url("http://127.0.0.1:4318", &error), "http://127.0.0.1:4318/v1/logs");
  EXPECT_EQ(otlp::logs_url("http://otel.example:4318", &error), "");
  EXPECT_NE(error.find("plain http only on loopback"), std::string::npos);
  EXPECT_EQ(otlp::logs_url("grpc://otel:4317", &error), "");
  EXPECT_NE(error.find("http:// or https://"), std::string::npos);
}

TEST(OtlpEndpoint, HeadersFileLinesAreNameValuePairs) {
  const std::string path = ::testing::TempDir() + "/otlp-headers";
  std::ofstream(path) << "# key\n\nX-Api-Key:  s3cr3t-value \nAuthorization: Bearer abc\n";
  std::vector<std::string> headers;
  std::string error;
  ASSERT_TRUE(otlp::read_headers_file(path, headers, &error)) << error;
  EXPECT_EQ(headers, (std::vector<std::string>{"X-Api-Key: s3cr3t-value", "Authorization: Bearer abc"}));
  std::ofstream(path) << "just-a-token-value\n";
  EXPECT_FALSE(otlp::read_headers_file(path, headers, &error));
  EXPECT_NE(error.find(":1: expected 'Name: value'"), std::string::npos) << error;
  EXPECT_EQ(error.find("just-a-token-value"), std::string::npos);  // a value is never shown
  std::ofstream(path) << "Content-Type: text/plain\n";
  EXPECT_FALSE(otlp::read_headers_file(path, headers, &error));
  EXPECT_FALSE(otlp::read_headers_file(path + ".missing", headers, &error));
}

TEST(OtlpExporter, AStopEndsAtItsFinalDeadlineWhateverTheRetryDelay) {
  otlp::OtlpOptions options;
  options.endpoint = "http://127.0.0.1:9";  // nothing listens: every attempt fails at once
  options.flush_interval = std::chrono::milliseconds(10);
  options.retry_initial = std::chrono::milliseconds(20000);  // a long wait between attempts
  options.retry_max = std::chrono::milliseconds(20000);
  options.final_send_deadline = std::chrono::milliseconds(300);
  std::string error;
  auto exporter = otlp::OtlpExporter::start(options, &error);
  ASSERT_TRUE(exporter) << error;
  exporter->enqueue(use_event("api.example.com", ""));
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (exporter->stats().send_failures == 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(exporter->stats().send_failures, 1u);
  const auto started = std::chrono::steady_clock::now();
  exporter->shutdown();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(1500));
  const otlp::OtlpStats stats = exporter->stats();
  EXPECT_EQ(stats.records_dropped, 1u);  // never sent: counted, not lost silently
  EXPECT_EQ(stats.records_sent, 0u);
  EXPECT_EQ(stats.queue_records, 0u);
}
