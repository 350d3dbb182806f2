// Tests for the JSON-lines sink: snake_case keys, one line per event, RFC 3339 time, append and flush.
#include "export/json_lines_sink.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace credtrace::exporter {
namespace {

credtrace::v1::Event sample_event() {
  credtrace::v1::Event e;
  e.set_type("secret_exposure");
  e.mutable_time()->set_seconds(1790000000);
  e.set_host("h1");
  e.set_agent_id("agt_1");
  e.mutable_process()->set_pid(42);
  e.mutable_process()->add_args("npx");
  e.mutable_workload()->set_id("wl_abc");
  e.mutable_workload()->mutable_mcp()->set_server_name("github");
  e.mutable_workload()->mutable_kubernetes()->set_namespace_("default");
  e.mutable_source()->set_kind("env");
  e.mutable_source()->set_name("GITHUB_TOKEN");
  e.mutable_credential()->set_type("github_pat");
  e.mutable_secret_exposure()->set_matched_name(true);
  return e;
}

TEST(JsonLines, SnakeCaseKeysAndRfc3339Time) {
  std::string line = event_to_json_line(sample_event());
  ASSERT_EQ(line.find('\n'), std::string::npos);
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["type"], "secret_exposure");
  EXPECT_EQ(j["time"], "2026-09-21T14:13:20Z");
  EXPECT_EQ(j["agent_id"], "agt_1");
  EXPECT_EQ(j["process"]["pid"], 42);
  EXPECT_EQ(j["workload"]["mcp"]["server_name"], "github");
  EXPECT_EQ(j["workload"]["kubernetes"]["namespace"], "default");
  EXPECT_EQ(j["source"]["kind"], "env");
  EXPECT_EQ(j["credential"]["type"], "github_pat");
  EXPECT_EQ(j["secret_exposure"]["matched_name"], true);
  EXPECT_EQ(j["secret_exposure"]["matched_value"], false);  // primitives always printed
  EXPECT_FALSE(j.contains("agentId"));
}

TEST(JsonLines, FileSinkAppendsFlushedLines) {
  char path[] = "/tmp/credtrace-sink-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::string error;
  auto sink = JsonLinesSink::open(path, &error);
  ASSERT_TRUE(sink) << error;
  ASSERT_TRUE(sink->append(sample_event()));
  // Flushed: readable before the sink is closed.
  std::ifstream in(path);
  std::string first;
  ASSERT_TRUE(std::getline(in, first));
  EXPECT_EQ(nlohmann::json::parse(first)["host"], "h1");
  ASSERT_TRUE(sink->append(sample_event()));
  EXPECT_EQ(sink->written(), 2u);
  unlink(path);
}

TEST(JsonLines, UnwritablePathIsAnError) {
  std::string error;
  auto sink = JsonLinesSink::open("/nonexistent-dir/x.jsonl", &error);
  EXPECT_FALSE(sink);
  EXPECT_NE(error.find("/nonexistent-dir/x.jsonl"), std::string::npos);
}

TEST(JsonLines, WriteFailuresAreCounted) {
  std::string error;
  auto sink = JsonLinesSink::open("/dev/full", &error);
  ASSERT_TRUE(sink) << error;
  EXPECT_FALSE(sink->append(sample_event()));
  EXPECT_EQ(sink->failures(), 1u);
}

}  // namespace
}  // namespace credtrace::exporter
