// The agent's kernel probes: RAII owner of the BPF skeleton (open, set rodata, load, attach, detach).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "events.h"
#include "kernel/kernel_control.h"
#include "loader/held_processes.h"
#include "loader/ring_reader.h"

struct ct_probes;  // bpftool skeleton of bpf/credtrace.bpf.c
namespace credtrace::loader { class LinkCloser; }
struct bpf_link;

namespace credtrace::loader {

struct ProbeOptions {
  uint32_t ringbuf_bytes = 8u << 20;
  uint32_t wakeup_threshold_bytes = 1u << 20;
  uint32_t max_captures_per_process_per_second = 0;
  uint32_t max_capture_bytes_per_process_per_second = 0;  // 0: no byte limit  // 0: no limit (the kernel counts 100 ms windows of a tenth)
  uint32_t agent_tgid = 0;
  bool capture_file_opens = false;  // off until the file sensor consumes them (driver tests turn it on)
  bool list_stdio_at_detection = false;  // mcp.tool_calls.enabled: see bpf/stdio.bpf.c
  bool exec_prefilter = true;  // report execs of unwatched processes only for names in the exec-name set or containing "mcp"
  bool hold_watched_execs = false;  // SIGSTOP watched processes at exec (CT_FLAG_HELD); the agent sends SIGCONT
  // Where the held-process ledger is pinned (hold_watched_execs; without a pin there is no hold).
  std::string held_ledger_path = kHeldLedgerPath;
};

using kernel::KernelCounters;
using kernel::TlsProbe;

class Probes final : public kernel::WatchControl, public kernel::UprobeAttacher {
 public:
  using EventHandler = std::function<void(const void* data, size_t size)>;

  // Opens, configures, loads and attaches every probe; nullptr and a message on any failure (nothing stays attached).
  static std::unique_ptr<Probes> start(const ProbeOptions& options, EventHandler handler, std::string* error);
  ~Probes();  // continues every process still held and removes the ledger's pin
  Probes(const Probes&) = delete;
  Probes& operator=(const Probes&) = delete;

  // Waits up to timeout_ms for a wake-up, then drains everything pending. Returns events handled or -errno.
  int poll(int timeout_ms);

  void add_to_set(ct_pid_set set, uint32_t tgid) override;
  void remove_from_set(ct_pid_set set, uint32_t tgid) override;
  bool in_set(ct_pid_set set, uint32_t tgid) const;
  // Adds an executable file name to the exec prefilter (names longer than 31 bytes cannot be keys: false). A wrapper's
  // exec (sh, env, …) is reported only when its arguments mention "mcp".
  bool add_exec_name(const std::string& name, bool wrapper = false) override;

  KernelCounters read_counters() const;
  // How full the ring is now: bytes the kernel reserved that the agent has not consumed yet, and its size.
  struct RingFill {
    uint64_t used_bytes = 0;
    uint64_t size_bytes = 0;
  };
  RingFill ring_fill() const;
  // Whether the kernel stops watched execs (with hold_watched_execs and the ledger pinned: holding()): switched on
  // by the agent when its loop starts, off before its last drain, so every held process is continued. On, it is a
  // lease: a boot-clock deadline kHoldLease ahead, renewed by poll() at most every kHoldLeaseRenewal. An agent that
  // stops polling (killed, stopped, stalled) lets it lapse: the kernel then stops no more processes (counted as
  // drops.hold_lapsed), so what a dead agent leaves held is bounded to the execs of its last seconds.
  void set_hold_active(bool active);
  static constexpr std::chrono::milliseconds kHoldLease{5000};
  static constexpr std::chrono::milliseconds kHoldLeaseRenewal{1000};
  // The agent continued a held process (or is about to): its ledger entry is removed first.
  void forget_held(uint32_t tgid);
  // "on (ledger PATH)", "off", or why it is off ("off: cannot mount bpffs …"); plus what an earlier agent left held.
  const std::string& hold_status() const { return hold_status_; }
  bool holding() const { return !ledger_path_.empty(); }
  const std::vector<std::string>& attached() const { return attached_; }

  // Attaches one TLS uprobe to a file at a file offset, for pid (−1: every process; the program checks the watch).
  // The link must not outlive this object.
  std::unique_ptr<kernel::UprobeLink> attach_uprobe(TlsProbe probe, const std::string& path, uint64_t file_offset,
                                                    int pid, std::string* error) override;
  size_t uprobes_attached() const override { return *uprobes_alive_; }
  // The socket is not plain HTTP: stop copying its writes.
  void stop_socket_capture(uint32_t tgid, uint32_t fd) override;
  bool add_stdio_file(uint64_t inode, uint32_t server_tgid) override;
  void remove_stdio_file(uint64_t inode) override;
  void remove_stdio_file_listed_for(uint64_t inode, uint32_t tgid) override;

 private:
  Probes() = default;
  std::string attach_all();
  bool prepare_hold(const ProbeOptions& options);
  bool pin_ledger();
  uint64_t task_sets(uint32_t tgid) const;
  bool update_task_sets(uint32_t tgid, uint64_t add, uint64_t remove);
  static void on_sample(void* ctx, const void* data, size_t size);

  struct SkeletonDeleter { void operator()(struct ::ct_probes* skel) const; };
  struct LinkDeleter { void operator()(struct ::bpf_link* link) const; };
  // Declared so that destruction runs ring, links, then skeleton.
  std::unique_ptr<struct ::ct_probes, SkeletonDeleter> skel_;
  std::vector<std::unique_ptr<struct ::bpf_link, LinkDeleter>> links_;
  std::unique_ptr<RingReader> ring_;
  uint64_t ring_size_ = 0;
  EventHandler handler_;
  std::vector<std::string> attached_;
  void renew_hold_lease();
  bool hold_lease_on_ = false;
  uint64_t hold_lease_renewed_ns_ = 0;  // boot clock
  std::string hold_status_ = "off";
  std::string pending_ledger_path_;  // where the ledger goes (the hold prepared)
  std::string ledger_path_;          // set while the ledger is pinned
  std::shared_ptr<size_t> uprobes_alive_ = std::make_shared<size_t>(0);  // decremented by each link's destructor
  // Closes released TLS links off the agent's thread (a uprobe's detach waits for an RCU grace period, ~0.1 s);
  // declared last: drained and joined first, while the skeleton still exists.
  std::shared_ptr<LinkCloser> closer_;
};

}  // namespace credtrace::loader
