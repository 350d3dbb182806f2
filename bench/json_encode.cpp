// Benchmark (prints figures): per-event cost of the JSON-lines encoding, protobuf's printer vs export/proto_json.
#include <chrono>
#include <cstdio>
#include <string>

#include "credtrace/v1/events.pb.h"
#include "export/json_lines_sink.h"
#include "export/proto_json.h"

namespace {

// A typical mcp_tool_call event: full process and workload, one downstream credential use.
credtrace::v1::Event typical_event() {
  credtrace::v1::Event e;
  e.set_type("mcp_tool_call");
  e.mutable_time()->set_seconds(1790000000);
  e.mutable_time()->set_nanos(123456789);
  e.set_host("build-host-07");
  e.set_agent_id("agt_4f3c2a1b9e8d7c6b");
  auto* p = e.mutable_process();
  p->set_pid(48213);
  p->set_ppid(48190);
  p->set_uid(1000);
  p->set_user("dev");
  p->set_exe("/usr/bin/node");
  for (const char* a : {"node", "/home/dev/.npm/_npx/3b1f/node_modules/.bin/mcp-server-github", "--stdio"})
    p->add_args(a);
  p->mutable_start_time()->set_seconds(1789999000);
  p->mutable_start_time()->set_nanos(250000000);
  p->set_cwd("/home/dev/src/credtrace");
  auto* w = e.mutable_workload();
  w->set_id("wl_9c1e7a2f4b6d8e0a");
  w->set_host("build-host-07");
  w->set_uid(1000);
  w->set_user("dev");
  w->set_exe("/usr/bin/node");
  w->set_exe_sha256("4b2d0e6c7f1a9b3d5e8f0a2c4e6b8d0f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9e1b");
  for (const char* a : {"node", "/home/dev/.npm/_npx/3b1f/node_modules/.bin/mcp-server-github", "--stdio"})
    w->add_args(a);
  w->set_cwd("/home/dev/src/credtrace");
  w->set_cgroup("/user.slice/user-1000.slice/user@1000.service/app.slice/claude.scope");
  w->mutable_systemd()->set_slice("user-1000.slice");
  w->mutable_systemd()->set_user_unit("claude.scope");
  auto* mcp = w->mutable_mcp();
  mcp->set_server_name("github");
  mcp->set_client("claude_code");
  mcp->set_config_path("/home/dev/.claude.json");
  mcp->set_transport("stdio");
  mcp->set_discovered_by("config");
  mcp->set_package("@modelcontextprotocol/server-github");
  mcp->set_client_info("claude-code");
  w->set_pid(48213);
  auto* c = e.mutable_mcp_tool_call();
  c->set_transport("stdio");
  c->set_method("tools/call");
  c->set_tool("search_repositories");
  c->set_jsonrpc_id("17");
  c->set_requester("client");
  c->set_arguments_shape("{\"page\":\"number\",\"perPage\":\"number\",\"query\":\"string\"}");
  c->set_outcome("ok");
  c->set_duration_seconds(0.412345678);
  c->set_request_bytes(231);
  c->set_response_bytes(18734);
  c->set_client_name("claude-code");
  c->set_client_version("2.0.14");
  c->set_server_name("github-mcp-server");
  c->set_server_version("0.6.2");
  c->set_protocol_version("2025-06-18");
  c->set_call_id("c0a8012f00000011");
  c->set_session_id("s-48213-1");
  c->set_side("server");
  auto* d = c->add_downstream();
  d->mutable_credential()->set_type("github_pat");
  d->mutable_credential()->set_fingerprint("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
  d->mutable_credential()->set_preview("ghp_…a1B2");
  d->mutable_destination()->set_host("api.github.com");
  d->mutable_destination()->set_sni("api.github.com");
  d->mutable_destination()->set_ip("140.82.112.6");
  d->mutable_destination()->set_port(443);
  d->mutable_destination()->set_tls(true);
  d->mutable_destination()->set_address_source("connect");
  d->mutable_destination()->set_host_source("host_header");
  d->mutable_request()->set_protocol("http/1.1");
  d->mutable_request()->set_method("GET");
  d->mutable_request()->set_path("/search/repositories");
  d->mutable_request()->set_carrier("header:authorization");
  d->mutable_request()->set_scheme("Bearer");
  d->set_pid(48213);
  d->mutable_time()->set_seconds(1790000000);
  d->mutable_time()->set_nanos(98000000);
  return e;
}

template <typename F>
double ns_per_call(int iterations, F&& f) {
  double best = 1e300;
  for (int round = 0; round < 5; ++round) {
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < iterations; ++i) f();
    double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
    if (ns / iterations < best) best = ns / iterations;
  }
  return best;
}

}  // namespace

int main() {
  using namespace credtrace::exporter;
  const credtrace::v1::Event event = typical_event();
  std::string reference = event_to_json_line_protobuf(event);
  std::string line = event_to_json_line(event);
  if (line != reference) {
    std::fprintf(stderr, "outputs differ:\n%s\n%s\n", reference.c_str(), line.c_str());
    return 1;
  }
  size_t sink = 0;
  double before = ns_per_call(20000, [&] { sink += event_to_json_line_protobuf(event).size(); });
  double after = ns_per_call(200000, [&] { sink += event_to_json_line(event).size(); });
  std::string reused;
  double appended = ns_per_call(200000, [&] {
    reused.clear();
    append_json(event, reused);
    sink += reused.size();
  });
  std::printf("typical mcp_tool_call event, %zu bytes of JSON (best of 5 rounds)\n", line.size());
  std::printf("  MessageToJsonString:               %8.0f ns/event\n", before);
  std::printf("  event_to_json_line (proto_json):   %8.0f ns/event  (%.1fx)\n", after, before / after);
  std::printf("  append_json into a reused string:  %8.0f ns/event  (%.1fx)\n", appended, before / appended);
  return sink == 0;
}
