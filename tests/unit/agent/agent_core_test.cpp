// Tests for the agent core's logic that needs no kernel: process table, discovery, prefilter names, workload ids.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "discovery/exec_prefilter.h"
#include "discovery/mcp_discovery.h"
#include "tracking/process_table.h"
#include "sensors/tls/use_aggregator.h"
#include "workload/workload_builder.h"

namespace credtrace {
namespace {

using process::ProcessRecord;
using process::ProcessTable;
using process::Role;

ProcessRecord record(uint32_t pid, uint32_t ppid, Role role) {
  ProcessRecord r;
  r.pid = pid;
  r.ppid = ppid;
  r.role = role;
  return r;
}

TEST(ProcessTable, AncestryWalksAndDescendants) {
  ProcessTable table;
  table.upsert(record(10, 1, Role::client));
  table.upsert(record(20, 10, Role::server));
  table.upsert(record(30, 20, Role::descendant));
  table.upsert(record(40, 30, Role::descendant));
  table.upsert(record(50, 1, Role::candidate));
  ASSERT_NE(table.nearest_with_role(40, Role::server), nullptr);
  EXPECT_EQ(table.nearest_with_role(40, Role::server)->pid, 20u);
  EXPECT_EQ(table.nearest_with_role(40, Role::client)->pid, 10u);
  EXPECT_EQ(table.nearest_with_role(50, Role::server), nullptr);
  auto d = table.descendants_of(20);
  std::sort(d.begin(), d.end());
  EXPECT_EQ(d, (std::vector<uint32_t>{30, 40}));
  EXPECT_EQ(table.count(Role::descendant), 2u);
  table.erase(30);
  EXPECT_EQ(table.descendants_of(20), std::vector<uint32_t>{});  // 40's chain is broken at 30
}

TEST(ProcessTable, PpidCyclesFromPidReuseTerminate) {
  ProcessTable table;
  table.upsert(record(7, 8, Role::descendant));
  table.upsert(record(8, 7, Role::descendant));
  EXPECT_EQ(table.nearest_with_role(7, Role::server), nullptr);
  EXPECT_TRUE(table.descendants_of(99).empty());
  table.upsert(record(5, 5, Role::none));
  EXPECT_EQ(table.nearest_with_role(5, Role::server), nullptr);
}

credtrace::v1::Workload server_workload(const std::string& name, uint32_t pid) {
  credtrace::v1::Workload w;
  w.set_host("h1");
  w.set_uid(1000);
  w.set_pid(pid);
  w.set_exe_sha256(std::string(64, pid % 2 ? 'a' : 'b'));
  w.mutable_mcp()->set_server_name(name);
  w.mutable_mcp()->set_client("cursor");
  w.mutable_mcp()->set_config_path("/home/u/.cursor/mcp.json");
  w.mutable_container()->set_id(std::string(64, pid % 2 ? '1' : '2'));
  return w;
}

TEST(WorkloadId, StableAcrossRestartsAndDistinctPerServer) {
  auto first = workload::WorkloadBuilder::derive_workload_id(server_workload("github", 100));
  auto restarted = workload::WorkloadBuilder::derive_workload_id(server_workload("github", 2001));
  auto other = workload::WorkloadBuilder::derive_workload_id(server_workload("gitlab", 100));
  EXPECT_EQ(first, restarted);  // pid, binary hash and container id do not enter the id
  EXPECT_NE(first, other);
  EXPECT_EQ(first.rfind("wl_", 0), 0u);
  EXPECT_EQ(first.size(), 3u + 20u);
  auto w = server_workload("github", 100);
  w.set_uid(0);
  EXPECT_NE(workload::WorkloadBuilder::derive_workload_id(w), first);
}

class DiscoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("credtrace-discovery-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_ / ".cursor");
    std::ofstream(dir_ / ".cursor" / "mcp.json")
        << R"({"mcpServers":{"team-notes":{"command":"/opt/tools/notes-server","args":["--stdio"]},)"
        << R"("everything":{"command":"npx","args":["-y","@modelcontextprotocol/server-everything"]}}})";
    config_ = config::default_config().mcp;
    config_.scan_user_homes = false;
    config_.config_paths = {dir_.string()};
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  config::McpConfig config_;
};

TEST_F(DiscoveryTest, ConfigEntryWinsOverPatternAndNamesTheServer) {
  discovery::ConfigIndex index(config_);
  index.load_initial();
  EXPECT_EQ(index.files_loaded(), 1u);
  ASSERT_EQ(index.entries().size(), 2u);
  discovery::Discovery discovery(config_, index);

  auto c = discovery.classify({"/usr/bin/node", "/usr/bin/npx", "-y", "@modelcontextprotocol/server-everything"},
                              "/usr/bin/node", {});
  ASSERT_EQ(c.verdict, discovery::Verdict::server);
  EXPECT_EQ(c.identity.server_name, "everything");
  EXPECT_EQ(c.identity.client, "cursor");
  EXPECT_EQ(c.identity.discovered_by, "config");
  EXPECT_EQ(c.identity.package, "@modelcontextprotocol/server-everything");

  c = discovery.classify({"/opt/tools/notes-server", "--stdio"}, "/opt/tools/notes-server", {});
  ASSERT_EQ(c.verdict, discovery::Verdict::server);
  EXPECT_EQ(c.identity.server_name, "team-notes");

  c = discovery.classify({"uvx", "mcp-server-fetch"}, "/usr/bin/uvx", {});
  ASSERT_EQ(c.verdict, discovery::Verdict::server);
  EXPECT_EQ(c.identity.discovered_by, "pattern");
  EXPECT_EQ(c.identity.server_name, "mcp-server-fetch");

  EXPECT_EQ(discovery.classify({"/usr/bin/cursor"}, "/usr/bin/cursor", {}).verdict, discovery::Verdict::client);
  EXPECT_EQ(discovery.classify({"ls", "-la"}, "/usr/bin/ls", {}).verdict, discovery::Verdict::none);
}

TEST_F(DiscoveryTest, PrefilterNamesCoverLaunchersClientsLiteralsAndConfigCommands) {
  config_.server_patterns.push_back("my-literal-server");
  config_.server_patterns.push_back("globbed-*");
  config_.extra_executables = {"acme-agent"};
  discovery::ConfigIndex index(config_);
  index.load_initial();
  auto names = discovery::prefilter_executables(config_, index);
  for (const char* expected : {"node", "python3.11", "uvx", "docker", "cursor", "code", "notes-server", "npx",
                               "my-literal-server", "acme-agent"})
    EXPECT_TRUE(names.count(expected)) << expected;
  EXPECT_FALSE(names.count("globbed-*"));
  EXPECT_FALSE(names.count("sh"));  // shells exec constantly; what they run is seen at its own exec
}

credtrace::v1::Event use_event(const std::string& host, uint32_t pid, const std::string& ip = "140.82.112.6",
                               const std::string& address_source = "connect") {
  credtrace::v1::Event e;
  e.set_type("credential_use");
  e.mutable_workload()->set_id("wl_1");
  e.mutable_credential()->set_fingerprint("fp1");
  e.mutable_destination()->set_host(host);
  e.mutable_destination()->set_ip(ip);
  e.mutable_destination()->set_port(ip.empty() ? 0 : 443);
  e.mutable_destination()->set_address_source(address_source);
  e.mutable_request()->set_carrier("header:authorization");
  e.mutable_process()->set_pid(pid);
  return e;
}

TEST(UseAggregator, FirstUseAtOnceRepeatsCountedWhenTheWindowCloses) {
  using namespace std::chrono_literals;
  sensors::UseAggregator agg(60s, 100);
  auto t0 = sensors::UseAggregator::Clock::time_point(1000s);
  auto out = agg.add(use_event("api.github.com", 1), t0);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].credential_use().count(), 1u);
  EXPECT_TRUE(agg.add(use_event("api.github.com", 2), t0 + 5s).empty());
  EXPECT_TRUE(agg.add(use_event("api.github.com", 3), t0 + 9s).empty());
  EXPECT_EQ(agg.add(use_event("other.host", 4), t0 + 9s).size(), 1u);  // another destination: its own window
  EXPECT_TRUE(agg.expire(t0 + 59s).empty());
  out = agg.expire(t0 + 60s);
  ASSERT_EQ(out.size(), 1u);  // other.host had no repeats: nothing more to say
  EXPECT_EQ(out[0].credential_use().count(), 2u);
  EXPECT_EQ(out[0].credential_use().first_seen().seconds(), 1005);
  EXPECT_EQ(out[0].credential_use().last_seen().seconds(), 1009);
  EXPECT_EQ(out[0].process().pid(), 3u);  // the latest repeat's process
  EXPECT_EQ(out[0].destination().host(), "api.github.com");  // the rest of that use, as it was kept
  EXPECT_EQ(out[0].destination().ip(), use_event("api.github.com", 3).destination().ip());
  EXPECT_EQ(out[0].request().carrier(), "header:authorization");
  EXPECT_EQ(out[0].workload().id(), use_event("api.github.com", 3).workload().id());
  EXPECT_EQ(agg.open_windows(), 1u);
}

TEST(UseAggregator, RepeatsCanBeCountedWithoutBuildingTheEvent) {
  using namespace std::chrono_literals;
  sensors::UseAggregator agg(60s, 100);
  auto t0 = sensors::UseAggregator::Clock::time_point(1000s);
  auto key = [](std::string_view host, std::string_view call) {
    return sensors::UseKeyView{.workload_id = "wl_1", .fingerprint = "fp1", .host = host, .ip = "140.82.112.6",
                               .port = 443, .address_source = "connect", .carrier = "header:authorization",
                               .call_key = call};
  };
  EXPECT_FALSE(agg.count_repeat(key("api.github.com", ""), t0));  // no window yet
  ASSERT_EQ(agg.add(use_event("api.github.com", 1), t0).size(), 1u);
  EXPECT_TRUE(agg.count_repeat(key("api.github.com", ""), t0 + 2s));
  EXPECT_TRUE(agg.count_repeat(key("api.github.com", ""), t0 + 3s));
  EXPECT_FALSE(agg.count_repeat(key("other", ""), t0 + 3s));
  // The same use made for an MCP call is not a repeat of one made outside any call.
  EXPECT_FALSE(agg.count_repeat(key("api.github.com", "call_1"), t0 + 3s));
  EXPECT_FALSE(agg.count_repeat(key("api.github.com", ""), t0 + 61s));  // closed
  auto out = agg.expire(t0 + 61s);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].credential_use().count(), 2u);
  EXPECT_EQ(out[0].credential_use().first_seen().seconds(), 1002);
  EXPECT_EQ(out[0].credential_use().last_seen().seconds(), 1003);
}

// A use whose address was not observed is never counted into a window that reports an observed address (the event
// would show it at that address), nor is one to another address of the same host.
TEST(UseAggregator, AnUnknownAddressIsNotARepeatOfAnObservedOne) {
  using namespace std::chrono_literals;
  sensors::UseAggregator agg(60s, 100);
  auto t0 = sensors::UseAggregator::Clock::time_point(1000s);
  auto key = [](std::string_view ip, uint32_t port, std::string_view source) {
    return sensors::UseKeyView{.workload_id = "wl_1", .fingerprint = "fp1", .host = "api.github.com", .ip = ip,
                               .port = port, .address_source = source, .carrier = "header:authorization",
                               .call_key = ""};
  };
  ASSERT_EQ(agg.add(use_event("api.github.com", 1), t0).size(), 1u);
  EXPECT_FALSE(agg.count_repeat(key("", 0, "unknown"), t0 + 1s));
  EXPECT_FALSE(agg.count_repeat(key("140.82.112.9", 443, "connect"), t0 + 1s));
  EXPECT_TRUE(agg.count_repeat(key("140.82.112.6", 443, "connect"), t0 + 1s));
  ASSERT_EQ(agg.add(use_event("api.github.com", 2, "", "unknown"), t0 + 2s).size(), 1u);  // its own window
  EXPECT_TRUE(agg.count_repeat(key("", 0, "unknown"), t0 + 3s));
  auto out = agg.expire(t0 + 62s);
  ASSERT_EQ(out.size(), 2u);
  for (const auto& event : out) {
    EXPECT_EQ(event.credential_use().count(), 1u);
    EXPECT_EQ(event.destination().ip().empty(), event.destination().address_source() == "unknown");
  }
}

TEST(UseAggregator, FullTableEmitsEveryUseAndCountsIt) {
  using namespace std::chrono_literals;
  sensors::UseAggregator agg(60s, 1);
  auto t0 = sensors::UseAggregator::Clock::time_point(1000s);
  EXPECT_EQ(agg.add(use_event("a", 1), t0).size(), 1u);
  EXPECT_EQ(agg.add(use_event("b", 1), t0).size(), 1u);
  EXPECT_EQ(agg.add(use_event("b", 1), t0 + 1s).size(), 1u);
  EXPECT_EQ(agg.unaggregated(), 2u);
  EXPECT_TRUE(agg.add(use_event("a", 1), t0 + 1s).empty());
  auto flushed = agg.flush();
  ASSERT_EQ(flushed.size(), 1u);
  EXPECT_EQ(flushed[0].credential_use().count(), 1u);
}

}  // namespace
}  // namespace credtrace
