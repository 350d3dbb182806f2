// The agent's kernel probes: skeleton lifecycle (open → rodata → load → attach), ring buffer, pid sets, counters.
#include "loader/probes.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "common/timestamp.h"
#include "ct_probes.skel.h"
#include "loader/filesystems.h"
#include "loader/held_processes.h"
#include "log.h"

namespace credtrace::loader {
namespace {

// libbpf's own messages go through the agent's logger (one format, JSON included), not straight to stderr:
// warnings as warn, its informational lines as info (both shown by default, as libbpf does), debug as debug.
int libbpf_to_log(enum libbpf_print_level level, const char* format, va_list args) {
  const log::Level ours = level == LIBBPF_WARN ? log::Level::warn
                          : level == LIBBPF_INFO ? log::Level::info
                                                 : log::Level::debug;
  if (!log::enabled(ours)) return 0;
  char buffer[1024];
  const int length = std::vsnprintf(buffer, sizeof buffer, format, args);
  if (length < 0) return length;
  std::string_view line(buffer, std::min(static_cast<size_t>(length), sizeof buffer - 1));
  while (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  log::write(ours, line);  // libbpf's lines start with "libbpf: " themselves
  return length;
}

}  // namespace

using kernel::is_return_probe;
using kernel::tls_probe_name;

std::unique_ptr<Probes> Probes::start(const ProbeOptions& options, EventHandler handler, std::string* error) {
  std::unique_ptr<Probes> probes(new Probes());
  probes->handler_ = std::move(handler);
  if (std::string err = ensure_tracefs(); !err.empty()) {
    *error = err;
    return nullptr;
  }
  libbpf_set_print(libbpf_to_log);
  probes->skel_.reset(ct_probes__open());
  if (!probes->skel_) {
    *error = std::string("cannot open BPF object: ") + std::strerror(errno);
    return nullptr;
  }
  probes->skel_->rodata->agent_tgid = options.agent_tgid;
  probes->skel_->rodata->wakeup_threshold_bytes = options.wakeup_threshold_bytes;
  probes->skel_->rodata->max_captures_per_window = (options.max_captures_per_process_per_second + 9) / 10;
  probes->skel_->rodata->max_capture_bytes_per_window = (options.max_capture_bytes_per_process_per_second + 9) / 10;
  probes->skel_->rodata->exec_prefilter = options.exec_prefilter;
  probes->skel_->rodata->capture_file_opens = options.capture_file_opens;
  probes->skel_->rodata->list_stdio_at_detection = options.list_stdio_at_detection;
  const bool hold = probes->prepare_hold(options);
  probes->skel_->rodata->hold_watched_execs = hold;
  if (int err = bpf_map__set_max_entries(probes->skel_->maps.events, options.ringbuf_bytes); err) {
    *error = "cannot size ring buffer: " + std::string(std::strerror(-err));
    return nullptr;
  }
  if (int err = ct_probes__load(probes->skel_.get()); err) {
    *error = "cannot load BPF programs (need CAP_BPF, CAP_PERFMON and BTF): " + std::string(std::strerror(-err));
    return nullptr;
  }
  if (std::string err = probes->attach_all(); !err.empty()) {
    *error = err;
    return nullptr;
  }
  if (hold) probes->pin_ledger();  // the hold itself starts with the agent's loop (set_hold_active)
  probes->ring_ = RingReader::open(bpf_map__fd(probes->skel_->maps.events), options.ringbuf_bytes, error);
  if (!probes->ring_) return nullptr;
  probes->ring_size_ = options.ringbuf_bytes;
  return probes;
}

Probes::RingFill Probes::ring_fill() const {
  RingFill fill;
  fill.size_bytes = ring_size_;
  fill.used_bytes = ring_->used_bytes();
  return fill;
}

std::string Probes::attach_all() {
  struct bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, skel_->obj) {
    if (bpf_program__type(prog) == BPF_PROG_TYPE_KPROBE) continue;  // TLS uprobes: attached per library file
    struct bpf_link* link = bpf_program__attach(prog);
    if (!link) {
      int err = errno;
      return std::string("cannot attach probe ") + bpf_program__section_name(prog) + ": " + std::strerror(err);
    }
    links_.emplace_back(link);
    attached_.push_back(bpf_program__section_name(prog));
  }
  return "";
}

namespace {

// The agent continues held processes of every user: kill(SIGCONT) to another user's process needs CAP_KILL.
bool has_cap_kill() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &header, data) != 0) return false;
  return (data[CAP_KILL / 32].effective & (1u << (CAP_KILL % 32))) != 0;
}

bool in_init_mount_namespace() {
  struct stat self{}, init{};
  return ::stat("/proc/self/ns/mnt", &self) == 0 && ::stat("/proc/1/ns/mnt", &init) == 0 && self.st_ino == init.st_ino &&
         self.st_dev == init.st_dev;
}

}  // namespace

// What an agent before this one left stopped is continued now, whatever this agent's settings. The hold then needs
// CAP_KILL and its ledger in bpffs.
bool Probes::prepare_hold(const ProbeOptions& options) {
  const std::string& path = options.held_ledger_path;
  const std::string dir = path.substr(0, path.rfind('/'));
  const std::string mount_point = dir.substr(0, dir.rfind('/'));
  std::string error;
  const size_t continued = continue_pinned_ledger(path, &error);
  if (!error.empty()) log::warn(error);
  const std::string left = continued ? ", continued " + std::to_string(continued) + " left held" : "";
  if (continued)
    log::warn("continued " + std::to_string(continued) + " process(es) an earlier agent held and never continued");
  auto off = [&](const std::string& why) {
    hold_status_ = "off: " + why + left;
    log::warn("tls.hold_exec_until_attached is " + hold_status_);
    return false;
  };
  if (!options.hold_watched_execs) {
    hold_status_ = continued ? "off (" + left.substr(2) + ")" : "off";
    return false;
  }
  if (!has_cap_kill()) return off("no CAP_KILL (a held process of another user could not be continued)");
  bool mounted = false;
  if (std::string err = ensure_bpffs(mount_point, &mounted); !err.empty()) return off(err);
  if (mounted && !in_init_mount_namespace())
    log::warn("bpffs mounted at " + mount_point + " in the agent's own mount namespace: the held-process ledger " +
              "ends with it, so a process a killed agent left held is continued only by an agent that shares it " +
              "(mount the host's bpffs there)");
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return off("cannot create " + dir + ": " + std::strerror(errno));
  pending_ledger_path_ = path;
  hold_status_ = "on (ledger " + path + left + ")";
  return true;
}

bool Probes::pin_ledger() {
  if (int err = bpf_map__pin(skel_->maps.held_processes, pending_ledger_path_.c_str()); err) {
    hold_status_ = "off: cannot pin the held-process ledger at " + pending_ledger_path_ + ": " + std::strerror(-err);
    log::warn("tls.hold_exec_until_attached is " + hold_status_);
    return false;
  }
  ledger_path_ = pending_ledger_path_;
  return true;
}

Probes::~Probes() {
  if (!skel_ || ledger_path_.empty()) return;
  set_hold_active(false);
  const size_t continued = continue_held(bpf_map__fd(skel_->maps.held_processes));
  if (continued) log::info("continued " + std::to_string(continued) + " held process(es) at stop");
  bpf_map__unpin(skel_->maps.held_processes, ledger_path_.c_str());
}

void Probes::forget_held(uint32_t tgid) {
  bpf_map__delete_elem(skel_->maps.held_processes, &tgid, sizeof(tgid), 0);
}

void Probes::SkeletonDeleter::operator()(struct ::ct_probes* skel) const { ct_probes__destroy(skel); }
void Probes::LinkDeleter::operator()(struct ::bpf_link* link) const { bpf_link__destroy(link); }

void Probes::on_sample(void* ctx, const void* data, size_t size) {
  static_cast<Probes*>(ctx)->handler_(data, size);
}

int Probes::poll(int timeout_ms) {
  if (hold_lease_on_) renew_hold_lease();
  // Drains whether or not the kernel woke it: submits without wake-up are only seen that way.
  return ring_->poll(timeout_ms, &Probes::on_sample, this);
}

namespace {

// Task-storage maps are keyed by a pidfd from userspace; a process that is gone has no pidfd (nothing to do).
class PidFd {
 public:
  explicit PidFd(uint32_t pid) : fd_(static_cast<int>(syscall(SYS_pidfd_open, pid, 0))) {}
  ~PidFd() {
    if (fd_ >= 0) close(fd_);
  }
  PidFd(const PidFd&) = delete;
  PidFd& operator=(const PidFd&) = delete;
  bool valid() const { return fd_ >= 0; }
  const int* key() const { return &fd_; }

 private:
  int fd_;
};

}  // namespace

uint64_t Probes::task_sets(uint32_t tgid) const {
  PidFd pidfd(tgid);
  ct_task_state state{};
  if (!pidfd.valid() ||
      bpf_map__lookup_elem(skel_->maps.task_states, pidfd.key(), sizeof(int), &state, sizeof(state), 0) != 0)
    return 0;
  return state.flags;
}

bool Probes::update_task_sets(uint32_t tgid, uint64_t add, uint64_t remove) {
  PidFd pidfd(tgid);
  if (!pidfd.valid()) return false;
  ct_task_state state{};
  if (bpf_map__lookup_elem(skel_->maps.task_states, pidfd.key(), sizeof(int), &state, sizeof(state), 0) != 0)
    state.flags = 0;
  state.flags = (state.flags | add) & ~remove;
  return bpf_map__update_elem(skel_->maps.task_states, pidfd.key(), sizeof(int), &state, sizeof(state), BPF_ANY) == 0;
}

void Probes::add_to_set(ct_pid_set set, uint32_t tgid) { update_task_sets(tgid, 1ull << set, 0); }

void Probes::remove_from_set(ct_pid_set set, uint32_t tgid) { update_task_sets(tgid, 0, 1ull << set); }

bool Probes::in_set(ct_pid_set set, uint32_t tgid) const { return task_sets(tgid) & (1ull << set); }

// Destroys bpf_links on a background thread, one at a time: closing a uprobe's perf event unregisters it and waits
// for an RCU grace period (~0.1 s on this VM) under the kernel's trace-event mutex, which an attach (a watched child
// just exec'd) needs too; closes are serialised there anyway, so parallel closing gains nothing. Between two closes
// the thread waits while attaches are happening (one within kQuiet), unless kForceBatch links are waiting: an
// attach then waits behind one close at most. The process a link served is gone (its breakpoints went with its
// memory): waiting costs only descriptors. The destructor closes whatever is still queued and joins.
class LinkCloser {
 public:
  LinkCloser() : thread_([this] { run(); }) {}
  ~LinkCloser() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  LinkCloser(const LinkCloser&) = delete;
  LinkCloser& operator=(const LinkCloser&) = delete;

  void close(struct ::bpf_link* link) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(link);
    }
    wake_.notify_one();
  }
  // An attach happened now: closing pauses for kQuiet after the last one.
  void note_attach() {
    std::lock_guard<std::mutex> lock(mutex_);
    last_attach_ = std::chrono::steady_clock::now();
  }

 private:
  static constexpr size_t kForceBatch = 1024;
  static constexpr auto kQuiet = std::chrono::milliseconds(500);

  void run() {
    for (;;) {
      struct ::bpf_link* link = nullptr;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        while (!stopping_ && queue_.size() < kForceBatch &&
               std::chrono::steady_clock::now() - last_attach_ < kQuiet)
          wake_.wait_until(lock, last_attach_ + kQuiet);
        if (queue_.empty()) return;  // stopping, nothing left
        link = queue_.front();
        queue_.pop_front();
      }
      bpf_link__destroy(link);
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<struct ::bpf_link*> queue_;
  std::chrono::steady_clock::time_point last_attach_{};
  bool stopping_ = false;
  std::thread thread_;
};

namespace {

// A TLS uprobe's bpf_link: handed to the closer (detached, fd closed soon after) with this object; keeps the
// attacher's count of live links.
class BpfUprobeLink final : public kernel::UprobeLink {
 public:
  BpfUprobeLink(struct ::bpf_link* link, std::shared_ptr<size_t> alive, std::shared_ptr<LinkCloser> closer)
      : link_(link), alive_(std::move(alive)), closer_(std::move(closer)) {
    ++*alive_;
  }
  ~BpfUprobeLink() override {
    closer_->close(link_);
    --*alive_;
  }
  BpfUprobeLink(const BpfUprobeLink&) = delete;
  BpfUprobeLink& operator=(const BpfUprobeLink&) = delete;

 private:
  struct ::bpf_link* link_;
  std::shared_ptr<size_t> alive_;
  std::shared_ptr<LinkCloser> closer_;
};

}  // namespace

std::unique_ptr<kernel::UprobeLink> Probes::attach_uprobe(TlsProbe probe, const std::string& path,
                                                          uint64_t file_offset, int pid, std::string* error) {
  struct bpf_program* prog = nullptr;
  switch (probe) {
    case TlsProbe::ssl_write: prog = skel_->progs.ct_ssl_write; break;
    case TlsProbe::ssl_write_ex: prog = skel_->progs.ct_ssl_write_ex; break;
    case TlsProbe::ssl_ctrl: prog = skel_->progs.ct_ssl_ctrl; break;
    case TlsProbe::ssl_free: prog = skel_->progs.ct_ssl_free; break;
    case TlsProbe::ssl_read: prog = skel_->progs.ct_ssl_read; break;
    case TlsProbe::ssl_read_ex: prog = skel_->progs.ct_ssl_read_ex; break;
    case TlsProbe::ssl_read_ret: prog = skel_->progs.ct_ssl_read_ret; break;
    case TlsProbe::ssl_new_ret: prog = skel_->progs.ct_ssl_new_ret; break;
    case TlsProbe::go_write: prog = skel_->progs.ct_go_tls_write; break;
    case TlsProbe::go_read: prog = skel_->progs.ct_go_tls_read; break;
    case TlsProbe::go_read_ret: prog = skel_->progs.ct_go_tls_read_ret; break;
  }
  LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = is_return_probe(probe));
  struct bpf_link* link = bpf_program__attach_uprobe_opts(prog, pid < 0 ? -1 : pid, path.c_str(), file_offset, &opts);
  if (!link) {
    *error = std::string("cannot attach ") + tls_probe_name(probe) + " uprobe to " + path + " (pid " +
             std::to_string(pid) + "): " + std::strerror(errno);
    return nullptr;
  }
  if (!closer_) {
    try {
      closer_ = std::make_shared<LinkCloser>();
    } catch (const std::system_error& e) {
      bpf_link__destroy(link);
      *error = std::string("cannot start the uprobe link closer: ") + e.what();
      return nullptr;
    }
  }
  closer_->note_attach();
  return std::make_unique<BpfUprobeLink>(link, uprobes_alive_, closer_);
}

void Probes::set_hold_active(bool active) {
  hold_lease_on_ = active;
  hold_lease_renewed_ns_ = 0;
  if (active) {
    renew_hold_lease();
    return;
  }
  uint32_t zero = 0;
  uint64_t lease_until = 0;
  bpf_map__update_elem(skel_->maps.hold_active, &zero, sizeof(zero), &lease_until, sizeof(lease_until), BPF_ANY);
}

void Probes::renew_hold_lease() {
  const uint64_t now = common::boot_clock_ns();  // bpf_ktime_get_boot_ns's clock
  constexpr uint64_t kRenewalNs = std::chrono::nanoseconds(kHoldLeaseRenewal).count();
  if (hold_lease_renewed_ns_ && now - hold_lease_renewed_ns_ < kRenewalNs) return;
  uint32_t zero = 0;
  const uint64_t lease_until = now + static_cast<uint64_t>(std::chrono::nanoseconds(kHoldLease).count());
  if (bpf_map__update_elem(skel_->maps.hold_active, &zero, sizeof(zero), &lease_until, sizeof(lease_until), BPF_ANY) == 0)
    hold_lease_renewed_ns_ = now;
}

void Probes::stop_socket_capture(uint32_t tgid, uint32_t fd) {
  uint64_t key = (static_cast<uint64_t>(tgid) << 32) | fd;
  bpf_map__delete_elem(skel_->maps.plain_sockets, &key, sizeof(key), 0);
}

bool Probes::add_stdio_file(uint64_t inode, uint32_t server_tgid) {
  return bpf_map__update_elem(skel_->maps.mcp_stdio_files, &inode, sizeof(inode), &server_tgid, sizeof(server_tgid),
                              BPF_ANY) == 0;
}

void Probes::remove_stdio_file(uint64_t inode) {
  bpf_map__delete_elem(skel_->maps.mcp_stdio_files, &inode, sizeof(inode), 0);
}

void Probes::remove_stdio_file_listed_for(uint64_t inode, uint32_t tgid) {
  uint32_t listed_for = 0;
  if (bpf_map__lookup_elem(skel_->maps.mcp_stdio_files, &inode, sizeof(inode), &listed_for, sizeof(listed_for), 0) == 0 &&
      listed_for == tgid)
    remove_stdio_file(inode);
}

bool Probes::add_exec_name(const std::string& name, bool wrapper) {
  ct_exec_name key{};
  if (name.empty() || name.size() >= sizeof(key.name)) return false;
  std::memcpy(key.name, name.data(), name.size());
  uint8_t kind = wrapper ? CT_EXEC_NAME_WRAPPER : CT_EXEC_NAME_REPORT;
  return bpf_map__update_elem(skel_->maps.exec_names, &key, sizeof(key), &kind, sizeof(kind), BPF_ANY) == 0;
}

KernelCounters Probes::read_counters() const {
  KernelCounters total;
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return total;
  std::vector<ct_counters> per_cpu(ncpu);
  uint32_t zero = 0;
  if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.counters), &zero, per_cpu.data()) != 0) return total;
  for (const auto& c : per_cpu) {
    for (size_t i = 0; i < total.events.size(); ++i) total.events[i] += c.events[i];
    for (size_t i = 0; i < total.drops.size(); ++i) total.drops[i] += c.drops[i];
    for (size_t i = 0; i < total.truncations.size(); ++i) total.truncations[i] += c.truncations[i];
    total.filtered_execs += c.filtered[CT_FILTERED_EXEC];
  }
  return total;
}

}  // namespace credtrace::loader
