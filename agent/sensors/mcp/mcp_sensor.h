// The MCP tool-call sensor (stdio): each server's stdin and stdout pipes listed in the kernel, what it reads and
// writes there reassembled by the stream tracker, parsed as JSON-RPC, paired into calls, reported as mcp_tool_call.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "protocols/jsonrpc/stream_parser.h"
#include "sensors/sensor.h"
#include "streams/stream_tracker.h"

namespace credtrace::sensors {

class McpSensor final : public Sensor {
 public:
  explicit McpSensor(SensorContext context);
  ~McpSensor() override;

  std::string_view name() const override { return "mcp_tool_calls"; }
  std::vector<uint32_t> record_kinds() const override { return {CT_EVENT_STDIO_DATA}; }
  void on_record(const void* data, size_t size) override;
  void on_attributed(const process::ProcessRecord& record, const tracking::TrackedServer& server) override;
  void on_server_forgotten(uint32_t server_pid) override;
  void poll(Clock::time_point now) override;
  void stop() override;
  void report(credtrace::v1::AgentHealth& health) const override;

 private:
  // One server instance's stdio: its pipes, the calls in flight, what it is (for the events).
  struct Session {
    uint32_t server_pid = 0;
    uint64_t stdin_inode = 0;
    uint64_t stdout_inode = 0;
    McpSessionKey key;  // its session in the call book
    bool opened = false;  // in the call book: at its first message (most watched servers never speak MCP on stdio)
  };
  struct Context {};  // per stream: nothing beyond the session
  using Tracker = streams::StreamTracker<Context>;
  class CallSink;

  void list_stdio(const process::ProcessRecord& record, Session& session);
  void open_in_call_book(Session& session);
  static void add_parser_stats(const Tracker::Connection& connection, protocols::JsonRpcParserStats& total);
  void end(Session& session, uint64_t now_ns);

  SensorContext context_;
  std::map<uint32_t, Session> sessions_;        // server pid → its session
  std::map<uint64_t, uint32_t> inode_servers_;  // listed inode → server pid
  mutable Tracker streams_;  // mutable: report() reads the live parsers' counters through for_each
  protocols::JsonRpcParserStats closed_parsers_;  // counters of the parsers of closed streams
  Clock::time_point last_expiry_{};
  uint64_t pipes_listed_ = 0;
  uint64_t pipes_not_listed_ = 0;  // fd 0/1 not a pipe or socket (a terminal, a file), or the kernel map full
  uint64_t records_unattributed_ = 0;
};

}  // namespace credtrace::sensors
