// The process tracker's state machine driven by synthetic kernel records, with a recording kernel control and
// sink (no BPF): servers by name and by protocol, descendants, re-execs, exits, provisional watches, pid reuse.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "config/agent_config.h"
#include "events/event_factory.h"
#include "export/event_sink.h"
#include "kernel/kernel_control.h"
#include "tracking/proc_records.h"
#include "tracking/process_tracker.h"

namespace credtrace {
namespace {

using process::Role;

struct RecordingKernel final : kernel::WatchControl {
  std::set<std::pair<ct_pid_set, uint32_t>> sets;
  std::vector<std::pair<ct_pid_set, uint32_t>> removed;
  std::set<std::string> names;
  void add_to_set(ct_pid_set set, uint32_t tgid) override { sets.insert({set, tgid}); }
  void remove_from_set(ct_pid_set set, uint32_t tgid) override {
    sets.erase({set, tgid});
    removed.emplace_back(set, tgid);
  }
  bool add_exec_name(const std::string& name, bool /*wrapper*/) override {
    if (name.size() > 31) return false;
    names.insert(name);
    return true;
  }
  void stop_socket_capture(uint32_t, uint32_t) override {}
  bool add_stdio_file(uint64_t, uint32_t) override { return true; }
  void remove_stdio_file(uint64_t) override {}
  std::vector<std::pair<uint64_t, uint32_t>> stdio_unlisted;
  void remove_stdio_file_listed_for(uint64_t inode, uint32_t tgid) override { stdio_unlisted.emplace_back(inode, tgid); }
  bool watched(uint32_t pid) const { return sets.count({CT_SET_WATCHED, pid}) > 0; }
};

struct RecordingSink final : exporter::EventSink {
  std::vector<credtrace::v1::Event> events;
  void write(const credtrace::v1::Event& event) override { events.push_back(event); }
  void report(credtrace::v1::AgentHealth&) const override {}
  std::vector<credtrace::v1::Event> of_type(const std::string& type) const {
    std::vector<credtrace::v1::Event> out;
    for (const auto& e : events)
      if (e.type() == type) out.push_back(e);
    return out;
  }
};

struct Notes final : tracking::ProcessObserver {
  std::vector<std::string> seen;
  void on_watch_set(uint32_t pid) override { seen.push_back("watch " + std::to_string(pid)); }
  void on_joining(const process::ProcessRecord& r) override { seen.push_back("joining " + std::to_string(r.pid)); }
  void on_attributed(const process::ProcessRecord& r, const tracking::TrackedServer& s) override {
    seen.push_back("attributed " + std::to_string(r.pid) + " to " + std::to_string(s.pid));
  }
  void on_exit(uint32_t pid) override { seen.push_back("exit " + std::to_string(pid)); }
  void on_server_forgotten(uint32_t pid) override { seen.push_back("forgotten " + std::to_string(pid)); }
};

ct_exec_event exec_of(uint32_t pid, uint32_t ppid, const std::vector<std::string>& argv, uint32_t flags = 0) {
  ct_exec_event e{};
  e.hdr.type = CT_EVENT_EXEC;
  e.hdr.tgid = e.hdr.pid = pid;
  e.hdr.flags = flags;
  e.ppid = ppid;
  std::string args;
  for (const auto& a : argv) args.append(a).push_back('\0');
  std::memcpy(e.args, args.data(), std::min(args.size(), sizeof(e.args)));
  e.args_len = static_cast<uint32_t>(std::min(args.size(), sizeof(e.args)));
  std::strncpy(e.filename, argv[0].c_str(), sizeof(e.filename) - 1);
  return e;
}

ct_fork_event fork_of(uint32_t parent, uint32_t child, uint32_t flags = 0) {
  ct_fork_event e{};
  e.hdr.type = CT_EVENT_FORK;
  e.hdr.tgid = parent;
  e.hdr.flags = flags;
  e.parent_tgid = parent;
  e.child_tgid = child;
  return e;
}

ct_exit_event exit_of(uint32_t pid, uint32_t status) {
  ct_exit_event e{};
  e.hdr.type = CT_EVENT_EXIT;
  e.hdr.tgid = pid;
  e.exit_code = status;
  return e;
}

class TrackerTest : public ::testing::Test {
 protected:
  TrackerTest() { tracker_.add_observer(&notes_); }
  ~TrackerTest() override { std::filesystem::remove_all(empty_proc_); }

  static config::AgentConfig config_with_proc(const std::filesystem::path& proc) {
    std::filesystem::create_directories(proc);
    auto config = config::default_config();
    config.proc_root = proc.string();  // an empty /proc: nothing found running, nothing recovered
    config.mcp.scan_user_homes = false;
    return config;
  }

  std::filesystem::path empty_proc_ =
      std::filesystem::temp_directory_path() / ("ct-tracker-test-" + std::to_string(getpid()));
  config::AgentConfig config_ = config_with_proc(empty_proc_);
  RecordingKernel kernel_;
  RecordingSink sink_;
  events::EventFactory events_{"host-a", "agt_test"};
  tracking::ProcessTracker tracker_{config_, kernel_, sink_, events_};
  Notes notes_;
};

TEST_F(TrackerTest, ServerByNameIsWatchedReportedAndItsChildrenJoinItsWorkload) {
  tracker_.start();
  EXPECT_FALSE(kernel_.names.empty()) << "the exec prefilter is filled at start";
  tracker_.on_exec(exec_of(100, 1, {"npx", "-y", "@modelcontextprotocol/server-github"}));
  ASSERT_EQ(sink_.of_type("mcp_server_start").size(), 1u);
  const auto start = sink_.of_type("mcp_server_start")[0];
  EXPECT_EQ(start.host(), "host-a");
  EXPECT_EQ(start.agent_id(), "agt_test");
  EXPECT_EQ(start.workload().mcp().server_name(), "@modelcontextprotocol/server-github");
  EXPECT_TRUE(kernel_.watched(100));

  tracker_.on_fork(fork_of(100, 101, CT_FLAG_WATCHED));
  tracker_.on_exec(exec_of(101, 100, {"curl", "https://api.github.com"}, CT_FLAG_WATCHED));
  const auto* child = tracker_.table().find(101);
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(child->role, Role::descendant);
  EXPECT_EQ(child->server_pid, 100u);
  tracking::Attribution who = tracker_.attribute(101);
  ASSERT_NE(who.server, nullptr);
  EXPECT_EQ(who.server->workload->id(), start.workload().id());
  EXPECT_EQ(notes_.seen, (std::vector<std::string>{"watch 100", "joining 100", "attributed 100 to 100",
                                                   "joining 101", "attributed 101 to 100"}));
}

TEST_F(TrackerTest, ExitOutcomes) {
  struct Case {
    const char* name;
    uint32_t status;
    const char* outcome;
    int32_t code;
    int32_t signal;
  };
  const Case cases[] = {{"exit 0", 0, "exited", 0, 0}, {"exit 3", 3u << 8, "exited", 3, 0},
                        {"SIGKILL", 9, "killed", 0, 9}, {"SIGTERM", 15, "killed", 0, 15}};
  uint32_t pid = 200;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    tracker_.on_exec(exec_of(++pid, 1, {"uvx", "mcp-server-fetch"}));
    tracker_.on_exit(exit_of(pid, c.status));
    auto exits = sink_.of_type("mcp_server_exit");
    ASSERT_FALSE(exits.empty());
    const auto& exit = exits.back().mcp_server_exit();
    EXPECT_EQ(exit.outcome(), c.outcome);
    EXPECT_EQ(exit.exit_code(), c.code);
    EXPECT_EQ(exit.signal(), c.signal);
    EXPECT_EQ(tracker_.table().find(pid), nullptr);
  }
}

TEST_F(TrackerTest, ReusedPidReportsTheUnseenExitAsUnknown) {
  auto first = exec_of(300, 1, {"uvx", "mcp-server-fetch"});
  first.start_boottime_ns = 5'000'000'000ull;
  tracker_.on_exec(first);
  auto second = exec_of(300, 1, {"bash"});
  second.start_boottime_ns = 9'000'000'000ull;
  tracker_.on_exec(second);
  auto exits = sink_.of_type("mcp_server_exit");
  ASSERT_EQ(exits.size(), 1u);
  EXPECT_EQ(exits[0].mcp_server_exit().outcome(), "unknown");
  EXPECT_FALSE(exits[0].mcp_server_exit().has_exit_code());
  credtrace::v1::AgentHealth health;
  tracker_.report(health);
  EXPECT_EQ(health.agent_errors().at("missed_exit"), 1u);
}

TEST_F(TrackerTest, ChildOfAClientIsAServerByItsInitializeMessage) {
  tracker_.on_exec(exec_of(400, 1, {"/usr/bin/claude"}));
  ASSERT_NE(tracker_.table().find(400), nullptr);
  EXPECT_EQ(tracker_.table().find(400)->role, Role::client);
  EXPECT_TRUE(kernel_.sets.count({CT_SET_CLIENT, 400}));
  tracker_.on_fork(fork_of(400, 401));
  tracker_.on_exec(exec_of(401, 400, {"/opt/tools/weather-tool", "--stdio"}, CT_FLAG_CANDIDATE));
  EXPECT_EQ(tracker_.table().find(401)->role, Role::candidate);
  ct_stdin_event in{};
  in.hdr.type = CT_EVENT_STDIN;
  in.hdr.tgid = 401;
  const std::string message =
      R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},)"
      R"("clientInfo":{"name":"claude-code","version":"1.0"}}})";
  std::memcpy(in.data, message.data(), message.size());
  in.len = in.read_ret = static_cast<uint32_t>(message.size());
  tracker_.on_stdin(in);
  auto starts = sink_.of_type("mcp_server_start");
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_EQ(starts[0].workload().mcp().server_name(), "weather-tool");
  EXPECT_EQ(starts[0].workload().mcp().discovered_by(), "protocol");
  EXPECT_EQ(starts[0].workload().mcp().client(), "claude");
  EXPECT_TRUE(kernel_.watched(401));
  EXPECT_TRUE(kernel_.stdio_unlisted.empty());  // the pipes the kernel listed stay
}

TEST_F(TrackerTest, NonMcpStdinUndoesTheProvisionalWatch) {
  tracker_.on_exec(exec_of(500, 1, {"/usr/bin/claude"}));
  tracker_.on_fork(fork_of(500, 501));
  kernel_.add_to_set(CT_SET_WATCHED, 501);  // the kernel watched it: JSON-looking first message
  ct_stdin_event in{};
  in.hdr.type = CT_EVENT_STDIN;
  in.hdr.tgid = 501;
  in.stdin_inode = 9001;  // the kernel listed its pipes at that message
  in.stdout_inode = 9002;
  const std::string message = R"({"hello":"world"})";
  std::memcpy(in.data, message.data(), message.size());
  in.len = static_cast<uint32_t>(message.size());
  tracker_.on_stdin(in);
  EXPECT_FALSE(kernel_.watched(501));
  EXPECT_TRUE(sink_.of_type("mcp_server_start").empty());
  EXPECT_EQ(kernel_.stdio_unlisted,
            (std::vector<std::pair<uint64_t, uint32_t>>{{9001, 501}, {9002, 501}}));  // only while listed for 501
}

// Provisional watches need the process's start time from /proc: this test's own process stands in.
TEST(TrackerProvisional, ShellMentioningMcpThatIsNoServerIsUnwatchedWithItsForkedChild) {
  auto config = config::default_config();
  config.mcp.scan_user_homes = false;
  RecordingKernel kernel;
  RecordingSink sink;
  events::EventFactory events("host-a", "agt_test");
  tracking::ProcessTracker tracker(config, kernel, sink, events);
  const auto self = static_cast<uint32_t>(getpid());
  kernel.add_to_set(CT_SET_WATCHED, self);
  tracker.on_exec(exec_of(self, 1, {"sh", "-c", ": mcp-notes; sleep 1"}, CT_FLAG_PROVISIONAL));
  EXPECT_FALSE(kernel.watched(self));
  kernel.add_to_set(CT_SET_WATCHED, self);  // now as the child the shell forked before the verdict
  tracker.on_fork(fork_of(1, self, CT_FLAG_WATCHED));
  EXPECT_FALSE(kernel.watched(self));
  credtrace::v1::AgentHealth health;
  tracker.report(health);
  EXPECT_EQ(health.sensors().at("execs_watched_provisionally"), 1u);
  EXPECT_EQ(health.sensors().at("provisional_watches_undone"), 2u);
  EXPECT_TRUE(sink.of_type("mcp_server_start").empty());
}

TEST_F(TrackerTest, ServersNoLongerReferencedAreForgottenAtReconcile) {
  tracker_.on_exec(exec_of(600, 1, {"uvx", "mcp-server-fetch"}));
  // The exit was dropped: /proc (empty here) says the process is gone.
  tracker_.reconcile_with_proc();
  EXPECT_EQ(sink_.of_type("mcp_server_exit").size(), 1u);
  EXPECT_EQ(sink_.of_type("mcp_server_exit")[0].mcp_server_exit().outcome(), "unknown");
  EXPECT_EQ(tracker_.servers_running(), 0u);
  EXPECT_EQ(notes_.seen.back(), "forgotten 600");
}

TEST(ProgramName, TheProgramAnInterpreterOrWrapperRunsNeverInlineCodeOrSecrets) {
  struct Case {
    std::vector<std::string> argv;
    const char* exe;
    const char* name;
  };
  const Case cases[] = {
      {{"node", "/opt/notes/server.mjs"}, "/usr/bin/node", "server.mjs"},
      {{"python3.11", "-u", "/srv/weather.py"}, "/usr/bin/python3.11", "weather.py"},
      {{"nohup", "node", "x.js"}, "/usr/bin/nohup", "x.js"},
      {{"timeout", "30", "/opt/srv"}, "/usr/bin/timeout", "srv"},
      {{"nice", "-n", "10", "node", "x.js"}, "/usr/bin/nice", "x.js"},
      {{"ruby", "server.rb"}, "/usr/bin/ruby", "server.rb"},
      {{"sh", "-c", "node x.js"}, "/bin/dash", "dash"},
      {{"env", "TOKEN=ghp_abc", "node", "x.js"}, "/usr/bin/env", "env"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.argv[0] + " " + c.argv[1]);
    EXPECT_EQ(tracking::program_name(c.argv, c.exe), c.name);
  }
}

}  // namespace
}  // namespace credtrace
