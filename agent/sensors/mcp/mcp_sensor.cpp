// MCP over stdio: a server's fd 0 and fd 1 pipes listed in the kernel when it starts; their bytes through the
// stream tracker and the JSON-RPC parser into one call tracker per server; each call an mcp_tool_call event.
#include "sensors/mcp/mcp_sensor.h"

#include <sys/stat.h>

#include "common/timestamp.h"
#include "protocols/jsonrpc/stream_parser.h"
#include "sensors/tls/credential_use.h"

namespace credtrace::sensors {

namespace {

constexpr streams::CaptureGeometry kCapture{CT_TLS_CHUNK_LEN, CT_STDIO_MAX_CHUNKS, /*keeps_tail=*/true};

// The inode of what a process's fd is, when it is a pipe or a socket (what MCP clients connect stdio with).
uint64_t stdio_inode(uint32_t pid, int fd, const std::string& proc_root) {
  struct stat st{};
  const std::string path = proc_root + "/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
  if (::stat(path.c_str(), &st) != 0 || !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) return 0;
  return st.st_ino;
}

}  // namespace

// Messages of one session's streams go to the call book: stdin (read) is the client's side, stdout the server's.
class McpSensor::CallSink final : public protocols::MessageSink {
 public:
  CallSink(McpCalls& calls, const McpSessionKey& key, protocols::Side side, uint64_t now_ns)
      : calls_(calls), key_(key), side_(side), now_ns_(now_ns) {}
  void on_jsonrpc(protocols::JsonRpcMessage& message) override { calls_.on_message(key_, side_, message, now_ns_); }

 private:
  McpCalls& calls_;
  const McpSessionKey& key_;
  protocols::Side side_;
  uint64_t now_ns_;
};

McpSensor::McpSensor(SensorContext context)
    : context_(context),
      streams_({16384, 3600ull * 1'000'000'000ull, kCapture},
               // Both pipes carried JSON-RPC (initialize and its answer): parsed from the first captured byte, which
               // may fall inside a line when the server read or wrote before its pipes were listed.
               [max_line = context.config.mcp.tool_calls.max_message_bytes](streams::Direction, std::string_view) {
                 protocols::Detection detection;
                 detection.verdict = protocols::Detection::Verdict::kParser;
                 protocols::JsonRpcParserOptions options;
                 options.start_mid_stream = true;
                 options.max_line = max_line;
                 detection.parser = std::make_unique<protocols::JsonRpcStreamParser>(options);
                 return detection;
               },
               [this](const streams::StreamKey&, Tracker::Connection& connection, streams::CloseReason) {
                 add_parser_stats(connection, closed_parsers_);
               }) {}

void McpSensor::add_parser_stats(const Tracker::Connection& connection, protocols::JsonRpcParserStats& total) {
  for (const auto& stream : connection.streams) {
    const auto* parser = dynamic_cast<const protocols::JsonRpcStreamParser*>(stream.parser());
    if (!parser) continue;
    const auto& s = parser->stats();
    total.lines += s.lines;
    total.messages += s.messages;
    total.invalid_messages += s.invalid_messages;
    total.batches += s.batches;
    total.not_json += s.not_json;
    total.too_deep += s.too_deep;
    total.not_messages += s.not_messages;
    total.invalid_utf8 += s.invalid_utf8;
    total.oversize_lines += s.oversize_lines;
    total.bytes_skipped += s.bytes_skipped;
    total.gaps += s.gaps;
    total.bytes_missing += s.bytes_missing;
    total.partial_lines_dropped += s.partial_lines_dropped;
    total.values_truncated += s.values_truncated;
    total.batch_dropped += s.batch_dropped;
    total.unaligned_starts += s.unaligned_starts;
  }
}

McpSensor::~McpSensor() = default;

void McpSensor::on_attributed(const process::ProcessRecord& record, const tracking::TrackedServer& server) {
  if (record.pid != server.pid || sessions_.count(server.pid)) return;  // the server itself, once
  Session& session = sessions_[server.pid];
  session.server_pid = server.pid;
  list_stdio(record, session);
  session.key = "stdio:" + std::to_string(server.pid) + ":" + std::to_string(session.stdin_inode);
}

// The session joins the call book at its first message, not at the server's start: a session there holds its
// server's process, call tracker and id (~1.1 KB), and most watched servers never speak MCP on their stdio.
void McpSensor::open_in_call_book(Session& session) {
  session.opened = true;
  McpSessionOrigin origin;
  origin.transport = "stdio";
  origin.side = "server";
  origin.server_pid = session.server_pid;
  if (const tracking::TrackedServer* server = context_.tracker.server(session.server_pid)) {
    origin.process = server->process;  // as seen at its start, as the session had it when opened at the start
    origin.workload = server->workload;
  }
  context_.mcp_calls.open_session(session.key, std::move(origin));
}

// From /proc, or (the server gone already) as the kernel saw them at its first stdin message.
void McpSensor::list_stdio(const process::ProcessRecord& record, Session& session) {
  const uint32_t pid = record.pid;
  session.stdin_inode = stdio_inode(pid, 0, context_.config.proc_root);
  session.stdout_inode = stdio_inode(pid, 1, context_.config.proc_root);
  if (!session.stdin_inode) session.stdin_inode = record.stdin_inode;
  if (!session.stdout_inode) session.stdout_inode = record.stdout_inode;
  for (uint64_t inode : {session.stdin_inode, session.stdout_inode}) {
    if (inode && context_.kernel.add_stdio_file(inode, pid)) {
      inode_servers_[inode] = pid;
      ++pipes_listed_;
    } else {
      ++pipes_not_listed_;
    }
  }
}

void McpSensor::on_record(const void* data, size_t /*size: checked by kernel::check_record*/) {
  const auto& e = *static_cast<const ct_tls_data_event*>(data);
  auto owner = inode_servers_.find(e.ssl);
  auto session = owner == inode_servers_.end() ? sessions_.end() : sessions_.find(owner->second);
  if (session == sessions_.end()) return void(++records_unattributed_);
  Session& s = session->second;
  if (!s.opened) open_in_call_book(s);
  const bool from_client = e.ssl == s.stdin_inode && e.direction == CT_TLS_READ;
  const auto direction = from_client ? streams::Direction::kRead : streams::Direction::kWrite;
  Tracker::Connection& connection = streams_.open({s.server_pid, s.stdin_inode}, e.hdr.time_boot_ns);
  CallSink sink(context_.mcp_calls, s.key, from_client ? protocols::Side::kClient : protocols::Side::kServer, e.hdr.time_boot_ns);
  streams::Chunk chunk{e.total_len, e.offset, std::string_view(e.data, std::min<size_t>(e.len, sizeof(e.data)))};
  const streams::Accepted accepted = streams_.accept(connection, direction, chunk, e.hdr.time_boot_ns, sink);
  if (accepted.holes.before || accepted.holes.after)
    context_.mcp_calls.capture_gap(s.key, from_client ? protocols::Side::kClient : protocols::Side::kServer);
}

void McpSensor::end(Session& session, uint64_t now_ns) {
  streams_.close({session.server_pid, session.stdin_inode}, streams::CloseReason::kProcessExit);
  if (session.opened) context_.mcp_calls.end_session(session.key, now_ns);
  for (uint64_t inode : {session.stdin_inode, session.stdout_inode}) {
    if (!inode) continue;
    context_.kernel.remove_stdio_file(inode);
    inode_servers_.erase(inode);
  }
}

void McpSensor::on_server_forgotten(uint32_t server_pid) {
  auto it = sessions_.find(server_pid);
  if (it == sessions_.end()) return;
  end(it->second, common::boot_clock_ns());
  sessions_.erase(it);
}

void McpSensor::poll(Clock::time_point now) {
  if (now - last_expiry_ < std::chrono::seconds(1)) return;
  const uint64_t now_ns = common::boot_clock_ns();
  context_.mcp_calls.expire(now_ns);
  last_expiry_ = now;
}

void McpSensor::stop() {
  const uint64_t now_ns = common::boot_clock_ns();
  for (auto& [_, session] : sessions_) end(session, now_ns);
}

void McpSensor::report(credtrace::v1::AgentHealth& health) const {
  auto& sensors = *health.mutable_sensors();
  sensors["mcp_stdio_pipes_listed"] = pipes_listed_;
  sensors["mcp_stdio_pipes_not_listed"] = pipes_not_listed_;
  sensors["mcp_stdio_records_unattributed"] = records_unattributed_;
  sensors["mcp_stdio_sessions"] = sessions_.size();
  protocols::JsonRpcParserStats parsers = closed_parsers_;
  streams_.for_each([&](const streams::StreamKey&, Tracker::Connection& connection) {
    add_parser_stats(connection, parsers);
  });
  sensors["mcp_stdio_lines"] = parsers.lines;
  sensors["mcp_stdio_messages"] = parsers.messages;
  sensors["mcp_stdio_invalid_messages"] = parsers.invalid_messages;
  sensors["mcp_stdio_batches"] = parsers.batches;
  sensors["mcp_stdio_not_json"] = parsers.not_json;
  sensors["mcp_stdio_too_deep"] = parsers.too_deep;
  sensors["mcp_stdio_not_messages"] = parsers.not_messages;
  sensors["mcp_stdio_invalid_utf8"] = parsers.invalid_utf8;
  sensors["mcp_stdio_oversize_lines"] = parsers.oversize_lines;
  sensors["mcp_stdio_bytes_skipped"] = parsers.bytes_skipped;
  sensors["mcp_stdio_partial_lines_dropped"] = parsers.partial_lines_dropped;
  sensors["mcp_stdio_batch_dropped"] = parsers.batch_dropped;
  sensors["mcp_stdio_unaligned_starts"] = parsers.unaligned_starts;
  for (auto direction : {streams::Direction::kRead, streams::Direction::kWrite}) {
    const auto& counters = streams_.counters(direction);
    const std::string prefix = direction == streams::Direction::kRead ? "mcp_stdio_in_" : "mcp_stdio_out_";
    sensors[prefix + "bytes"] = counters.bytes;
    sensors[prefix + "gaps"] = counters.gaps;
    sensors[prefix + "bytes_missing"] = counters.bytes_missing;
    sensors[prefix + "truncated_calls"] = counters.truncated_calls;
  }
}

}  // namespace credtrace::sensors
