// The preload sensor: the agent's end of libcredtrace-preload.so. Registers preloaded processes (authenticated,
// their rings mapped), decides per process what it wants (env reads for watched ones, TLS where the preload captures
// it), drains the rings every turn, reports secret_env_read, hands TLS records to the TLS sensor, and at each
// server's end reports env_secret_usage: the env secrets its processes read and those never read.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "secrets/env_names.h"
#include "sensors/env/env_exposure.h"
#include "sensors/preload/env_usage.h"
#include "sensors/preload/preload_server.h"
#include "sensors/preload/preload_tls.h"
#include "sensors/sensor.h"

namespace credtrace::sensors {

struct PreloadSensorOptions {
  bool tls = false;  // TLS comes from the preload (the libssl uprobes are per process and skip preloaded ones)
  std::function<void()> drain_kernel;  // consumes the kernel ring now (connects before a preload record are known)
  std::function<void(uint32_t pid)> tls_preloaded;  // a process's TLS is now the preload's (detach its libssl probes)
  std::function<void(uint32_t pid)> tls_not_preloaded;  // an expected preload never came: probe its libssl after all
};

class PreloadSensor final : public Sensor {
 public:
  PreloadSensor(SensorContext context, kernel::RecordHandler& tls, PreloadSensorOptions options);
  ~PreloadSensor() override;

  std::string_view name() const override { return "preload"; }
  void start() override;
  void poll(Clock::time_point now) override;
  void stop() override;
  void on_attributed(const process::ProcessRecord& record, const tracking::TrackedServer& server) override;
  void on_exit(uint32_t pid) override;
  void on_server_forgotten(uint32_t server_pid) override;
  void report(credtrace::v1::AgentHealth& health) const override;
  void reload(const std::set<std::string>& changed_keys) override;
  void describe(credtrace::v1::AgentReady& ready) const override;

  // Whether pid's TLS is (or will be) captured by its preload, so the TLS sensor need not probe its libssl: it
  // registered and is not let go, or its environment's LD_PRELOAD names the library and it has not yet had the time
  // to register (a process that never does gets its uprobes through tls_not_preloaded).
  bool captures_tls(uint32_t pid);

 private:
  enum class Decision { undecided, watched, unwatched };
  // What the agent knows of a process of a server (kept past its exit, for a registration that arrives late).
  struct Member {
    uint32_t server_pid = 0;
    uint64_t start_boottime_ns = 0;
    std::shared_ptr<const credtrace::v1::Process> process;    // never null once remembered
    std::shared_ptr<const credtrace::v1::Workload> workload;  // its server's, shared with the tracker
    std::string comm;
    bool exited = false;
  };
  struct FirstRead {  // a secret read while the process was undecided: reported if it turns out watched
    std::string name;
    credtrace::v1::Credential credential;
    bool secure = false;
    bool set_by_process = false;
  };
  struct Preloaded {
    PreloadRegistration registration;
    Decision decision = Decision::undecided;
    uint64_t registered_mono_ns = 0;
    std::set<std::string> secret_names;     // in its table
    std::set<std::string> set_by_process;   // names it set itself (setenv/putenv)
    std::map<std::string, uint64_t> reads_not_in_table;  // reads sent one by one and not counted in the table
    std::map<std::string, credtrace::v1::Credential> reported;  // first reads reported, by name
    std::vector<FirstRead> pending_reads;
    std::vector<PreloadRecord> pending_tls;  // undecided: held (bounded), forwarded if watched, wiped otherwise
    size_t pending_tls_bytes = 0;
    bool libssl = false;
  };

  void accept_registrations(uint64_t now_mono_ns);
  void add(PreloadRegistration registration, uint64_t now_mono_ns);
  void decide(uint32_t pid, Preloaded& p);
  // The member record of pid: from on_attributed, else made now from the tracker (a forked child that never exec'd).
  Member* member_of(uint32_t pid);
  Member& remember(const process::ProcessRecord& record, const tracking::TrackedServer& server);
  void watch(uint32_t pid, Preloaded& p, const Member& member);
  void drain(uint32_t pid, Preloaded& p, uint64_t before_ns, uint64_t now_mono_ns);
  void on_record(uint32_t pid, Preloaded& p, PreloadRecord& record);
  void on_env(uint32_t pid, Preloaded& p, PreloadRecord& record);
  void on_env_read(uint32_t pid, Preloaded& p, FirstRead read);
  void on_tls(uint32_t pid, Preloaded& p, PreloadRecord& record);
  void report_read(uint32_t pid, const Member& member, const FirstRead& read, uint64_t count);
  void release(uint32_t pid);
  void check_connections();
  void settle_exits();
  void settle_member(uint32_t pid, Member& member);
  void note_exposures(const process::ProcessRecord& record, uint32_t server_pid);
  void emit_usage(uint32_t server_pid);
  PreloadServer::Identity identity_matches(uint32_t pid, uint64_t start_ticks) const;
  void count_error(const std::string& kind) { ++errors_[kind]; }

  SensorContext context_;
  PreloadSensorOptions options_;
  secrets::NamePatterns names_;
  EnvExposureSensor inspector_;
  PreloadServer server_;
  PreloadTlsForwarder tls_;
  std::string listen_error_;
  std::map<uint32_t, Preloaded> processes_;
  std::map<uint32_t, Member> members_;          // processes of servers, by pid
  // for their summaries: the server process's view and its workload (shared with its member and the tracker)
  std::map<uint32_t, std::pair<std::shared_ptr<const credtrace::v1::Process>, std::shared_ptr<const credtrace::v1::Workload>>>
      servers_;
  std::map<uint32_t, std::vector<std::string>> images_;  // executables the preload registered per pid, in order
  Clock::time_point last_liveness_{};
  std::map<uint32_t, uint64_t> expected_;  // pid → when its LD_PRELOAD was seen naming the library (mono ns)
  std::set<uint32_t> preload_failed_;      // expected, never registered: its libssl is probed
  void check_expected(uint64_t now_mono_ns);
  std::set<uint32_t> exits_to_settle_;          // members gone: observability decided after the next accept
  EnvUsageBook usage_;
  std::map<std::string, uint64_t> errors_;
  uint64_t env_reads_reported_ = 0;
  uint64_t env_reads_records_ = 0;
  uint64_t tls_records_ = 0;
  uint64_t records_malformed_ = 0;
  uint64_t dropped_records_ = 0;   // summed from rings at release
  uint64_t pending_tls_dropped_ = 0;
  size_t pending_tls_total_ = 0;  // bytes held for undecided processes, all together
  uint64_t unwatched_ = 0;
  uint64_t usage_reports_ = 0;
};

}  // namespace credtrace::sensors
