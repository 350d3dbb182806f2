// The sensors wired as in the agent (tracker, registry, factory, a recording sink; no BPF): a credential a server's
// environment holds and its TLS request carries becomes a secret_exposure and a credential_use naming the
// environment as its source, both with the fingerprint only; raw values appear in no event.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>

#include "../protocols/fake_secrets.h"
#include "export/json_lines_sink.h"
#include "sensors/env/env_sensor.h"
#include "sensors/tls/tls_sensor.h"

namespace credtrace {
namespace {

namespace fake = protocols::testing;

struct NoKernel final : kernel::WatchControl, kernel::UprobeAttacher {
  void add_to_set(ct_pid_set, uint32_t) override {}
  void remove_from_set(ct_pid_set, uint32_t) override {}
  bool add_exec_name(const std::string&, bool) override { return true; }
  void stop_socket_capture(uint32_t, uint32_t) override {}
  bool add_stdio_file(uint64_t, uint32_t) override { return true; }
  void remove_stdio_file(uint64_t) override {}
  std::string attach_uprobe(kernel::TlsProbe, const std::string&, uint64_t) override { return "no kernel here"; }
  size_t uprobes_attached() const override { return 0; }
};

struct RecordingSink final : exporter::EventSink {
  std::vector<credtrace::v1::Event> events;
  void write(const credtrace::v1::Event& event) override { events.push_back(event); }
  void report(credtrace::v1::AgentHealth&) const override {}
  std::optional<credtrace::v1::Event> first(const std::string& type) const {
    for (const auto& e : events)
      if (e.type() == type) return e;
    return std::nullopt;
  }
};

// A fake /proc holding one process's environ (the server's: the kernel sent no block for it).
std::filesystem::path fake_proc_with_environ(uint32_t pid, const std::string& environ) {
  auto root = std::filesystem::temp_directory_path() / ("ct-sensors-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(root / std::to_string(pid));
  std::ofstream(root / std::to_string(pid) / "environ", std::ios::binary) << environ;
  return root;
}

ct_exec_event server_exec(uint32_t pid) {
  ct_exec_event e{};
  e.hdr.type = CT_EVENT_EXEC;
  e.hdr.tgid = e.hdr.pid = pid;
  e.ppid = 1;
  const std::string args = std::string("uvx\0mcp-server-fetch\0", 21);
  std::memcpy(e.args, args.data(), args.size());
  e.args_len = static_cast<uint32_t>(args.size());
  std::strcpy(e.filename, "/usr/bin/uvx");
  return e;
}

std::unique_ptr<ct_tls_data_event> tls_write(uint32_t pid, uint64_t ssl, const std::string& bytes) {
  auto e = std::make_unique<ct_tls_data_event>();
  std::memset(e.get(), 0, sizeof(*e));
  e->hdr.type = CT_EVENT_TLS_DATA;
  e->hdr.tgid = e->hdr.pid = pid;
  e->hdr.flags = CT_FLAG_WATCHED;
  e->hdr.time_boot_ns = 1'000'000'000ull;
  e->ssl = ssl;
  e->direction = CT_TLS_WRITE;
  e->total_len = e->len = static_cast<uint32_t>(bytes.size());
  std::memcpy(e->data, bytes.data(), bytes.size());
  return e;
}

TEST(Sensors, EnvironmentSecretIsTheSourceOfItsTlsUseAndNeverLeavesRaw) {
  constexpr uint32_t kServer = 7100;
  const std::string token = fake::github_pat();
  const auto proc = fake_proc_with_environ(kServer, "PATH=/usr/bin" + std::string(1, '\0') + "GITHUB_TOKEN=" + token +
                                                        std::string(1, '\0'));
  auto config = config::default_config();
  config.proc_root = proc.string();
  config.mcp.scan_user_homes = false;
  std::string error;
  auto fingerprinter = secrets::Fingerprinter::from_key("unit-test-fleet-key-0123456789abcdef", &error);
  ASSERT_TRUE(fingerprinter) << error;
  NoKernel kernel;
  RecordingSink sink;
  events::EventFactory events("host-a", "agt_test");
  events::CredentialRegistry registry;
  tracking::ProcessTracker tracker(config, kernel, sink, events);
  sensors::McpCalls mcp_calls({*fingerprinter, events, sink, registry}, sensors::McpCallsOptions{});
  sensors::SensorContext context{config, *fingerprinter, events, sink, registry, tracker, kernel, kernel, mcp_calls};
  sensors::EnvSensor env(context);
  sensors::TlsSensor tls(context);
  tracker.add_observer(&env);
  tracker.add_observer(&tls);

  tracker.on_exec(server_exec(kServer));
  const auto exposure = sink.first("secret_exposure");
  ASSERT_TRUE(exposure);
  EXPECT_EQ(exposure->source().kind(), "env");
  EXPECT_EQ(exposure->source().name(), "GITHUB_TOKEN");
  EXPECT_EQ(exposure->credential().type(), "github_pat");
  EXPECT_EQ(exposure->credential().fingerprint(), fingerprinter->fingerprint(token));

  const std::string request =
      "GET /user HTTP/1.1\r\nHost: api.github.com\r\nAuthorization: Bearer " + token + "\r\n\r\n";
  tls.on_record(tls_write(kServer, 0x7f0011, request).get(), sizeof(ct_tls_data_event));
  tls.stop();  // the use waited for its socket: released with the address unknown, then the window flushed
  const auto use = sink.first("credential_use");
  ASSERT_TRUE(use);
  EXPECT_EQ(use->credential().fingerprint(), fingerprinter->fingerprint(token));
  EXPECT_EQ(use->destination().host(), "api.github.com");
  EXPECT_EQ(use->destination().address_source(), "unknown");
  ASSERT_EQ(use->sources_size(), 1);
  EXPECT_EQ(use->sources(0).kind(), "env");
  EXPECT_EQ(use->workload().id(), exposure->workload().id());

  for (const auto& event : sink.events)
    EXPECT_EQ(exporter::event_to_json_line(event).find(token), std::string::npos) << event.type();
  std::filesystem::remove_all(proc);
}

}  // namespace
}  // namespace credtrace
