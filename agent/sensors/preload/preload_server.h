// The preload channel's socket: listens where preload.socket says, accepts registrations (one hello and a sealed
// memfd each), authenticates the peer (SO_PEERCRED pid; its start time, checked by the caller) and maps its ring.
// Never blocks: a connection whose hello has not arrived yet waits for the next turn.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <sys/socket.h>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "sensors/preload/preload_ring.h"

namespace credtrace::sensors {

struct PreloadRegistration {
  uint32_t pid = 0;  // the peer's, as the kernel gave it (the agent's pid namespace)
  uint32_t uid = 0;
  uint32_t flags = 0;  // CT_HELLO_*
  uint64_t start_ticks = 0;
  std::string exe;  // the image's file name as the process claims it (a shell that exec'd at once is not misnamed)
  std::unique_ptr<PreloadRing> ring;
  common::UniqueFd connection;  // open while the process lives (unless it closed its end)
};

struct PreloadServerStats {
  uint64_t accepted = 0;
  uint64_t refused_identity = 0;  // pid or start time did not match the peer (or stayed unconfirmed kHelloWaitNs)
  uint64_t refused_memory = 0;    // memfd missing, unsealed, wrong size or header
  uint64_t refused_full = 0;      // preload.max_processes registered already
  uint64_t refused_version = 0;
  uint64_t malformed_hellos = 0;
  uint64_t hello_timeouts = 0;    // connected but sent no hello within kHelloWaitNs
};

class PreloadServer {
 public:
  static constexpr uint64_t kHelloWaitNs = 2'000'000'000ull;
  static constexpr size_t kMaxWaiting = 256;
  static constexpr size_t kMaxUnconfirmed = 64;  // hellos waiting for the kernel's record of their process
  // Whether pid (the peer) is the process that started at start_ticks (clock ticks since boot, /proc/PID/stat):
  // unknown while nothing can tell yet (gone from /proc before the kernel's record of it was read): asked again.
  enum class Identity { confirmed, refused, unknown };
  using IdentityCheck = std::function<Identity(uint32_t pid, uint64_t start_ticks)>;

  PreloadServer(std::string path, IdentityCheck identity) : path_(std::move(path)), identity_(std::move(identity)) {}
  ~PreloadServer();
  PreloadServer(const PreloadServer&) = delete;
  PreloadServer& operator=(const PreloadServer&) = delete;

  // Creates the directory (0755) and the socket (0666: any process may register; who it is comes from the kernel).
  bool listen(std::string* error);
  bool listening() const { return listener_.valid(); }
  const std::string& path() const { return path_; }

  // Registrations completed since the last call; room: how many more the caller will take (beyond: refused).
  std::vector<PreloadRegistration> accept(size_t room, uint64_t now_mono_ns);
  const PreloadServerStats& stats() const { return stats_; }

 private:
  struct Waiting {
    common::UniqueFd connection;
    uint64_t since_ns = 0;
    // A hello read whose identity was unknown: kept (with its memfd and the peer) to be checked again.
    std::optional<ct_preload_hello> hello;
    common::UniqueFd memfd;
    ucred peer{};
    bool unconfirmed = false;  // counted in unconfirmed_
  };
  enum class Hello { waiting, done, refused };
  Hello read_hello(Waiting& waiting, size_t room, std::vector<PreloadRegistration>& out);
  Hello receive_hello(Waiting& waiting);
  void refuse(int connection, uint32_t status, uint64_t& counter);

  std::string path_;
  IdentityCheck identity_;
  common::UniqueFd listener_;
  std::vector<Waiting> waiting_;
  size_t unconfirmed_ = 0;
  PreloadServerStats stats_;
};

// /proc/PID/stat field 22 (start time, clock ticks since boot) through proc_root; 0 when unreadable.
uint64_t proc_start_ticks(const std::string& proc_root, uint32_t pid);

}  // namespace credtrace::sensors
