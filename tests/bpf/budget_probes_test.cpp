// BPF driver test of the per-process capture budgets (probes.max_captures_per_process_per_second and
// max_capture_bytes_per_process_per_second): a watched process flooding opens is cut at its budget and counted, while
// another watched process's capture and the flooder's own exit still arrive.
#include "probe_fixture.h"

namespace credtrace::loader {
namespace {

constexpr uint32_t kCapturesPerSecond = 1000;  // 100 per 100 ms window
constexpr int kFloodOpens = 20000;

class BudgetProbesTest : public ProbesTest {
 protected:
  void configure(ProbeOptions& options) override { options.max_captures_per_process_per_second = kCapturesPerSecond; }
};

// A child that waits for a byte on `go`, then opens `path` `opens` times and exits with 0.
pid_t opener(int go, const std::string& path, int opens) {
  pid_t pid = fork();
  if (pid == 0) {
    char c;
    if (read(go, &c, 1) != 1) _exit(1);
    for (int i = 0; i < opens; ++i) {
      int fd = open(path.c_str(), O_RDONLY | O_CREAT, 0600);
      if (fd >= 0) close(fd);
    }
    _exit(0);
  }
  return pid;
}

size_t opens_by(const std::vector<Captured>& events, uint32_t tgid) {
  size_t n = 0;
  for (const auto& e : events)
    if (e.type == CT_EVENT_FILE_OPEN && e.as<ct_file_open_event>().hdr.tgid == tgid) ++n;
  return n;
}

TEST_F(BudgetProbesTest, AFloodingProcessIsCutAtItsBudgetAndTheOthersAreStillSeen) {
  const std::string flood_path = "/tmp/credtrace-bpf-flood-" + std::to_string(getpid());
  const std::string quiet_path = "/tmp/credtrace-bpf-quiet-" + std::to_string(getpid());
  int go_flood[2], go_quiet[2];
  ASSERT_EQ(pipe2(go_flood, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(go_quiet, O_CLOEXEC), 0);
  const pid_t flooder = opener(go_flood[0], flood_path, kFloodOpens);
  const pid_t quiet = opener(go_quiet[0], quiet_path, 1);
  probes_->add_to_set(CT_SET_WATCHED, flooder);
  probes_->add_to_set(CT_SET_WATCHED, quiet);
  const uint64_t limited_before = probes_->read_counters().drops[CT_DROP_RATE_LIMITED];

  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(write(go_flood[1], "x", 1), 1);
  int status = 0;
  ASSERT_EQ(waitpid(flooder, &status, 0), flooder);
  const double flood_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(status, 0);  // the workload itself is never refused anything
  ASSERT_EQ(write(go_quiet[1], "x", 1), 1);  // right after the flood, in the same window or the next
  ASSERT_EQ(waitpid(quiet, &status, 0), quiet);

  EXPECT_TRUE(wait_for([&](const Captured& c) {
    return c.type == CT_EVENT_FILE_OPEN && c.as<ct_file_open_event>().hdr.tgid == static_cast<uint32_t>(quiet);
  })) << "the quiet process's open was lost to the flood";
  EXPECT_TRUE(wait_for([&](const Captured& c) {
    return c.type == CT_EVENT_EXIT && c.as<ct_exit_event>().hdr.tgid == static_cast<uint32_t>(flooder);
  })) << "the flooder's exit is never limited";
  const size_t captured = opens_by(events_, flooder);
  // Each 100 ms window the flood touched lets 100 through (a window's restart may race on another CPU: + 2 each).
  const size_t windows = static_cast<size_t>(flood_seconds / 0.1) + 2;
  const size_t allowed = windows * (kCapturesPerSecond / 10 + 2);
  std::printf("flood: %d opens in %.3f s, %zu captured (at most %zu allowed)\n", kFloodOpens, flood_seconds, captured,
              allowed);
  EXPECT_GE(captured, kCapturesPerSecond / 10);
  EXPECT_LE(captured, allowed);
  const uint64_t limited = probes_->read_counters().drops[CT_DROP_RATE_LIMITED] - limited_before;
  EXPECT_EQ(limited + captured, static_cast<uint64_t>(kFloodOpens)) << "every refused open is counted";
  unlink(flood_path.c_str());
  unlink(quiet_path.c_str());
}

class ByteBudgetProbesTest : public ProbesTest {
 protected:
  void configure(ProbeOptions& options) override { options.max_capture_bytes_per_process_per_second = 1u << 20; }
};

// The byte budget alone (no capture count): each open's record is charged its size, so a flood stops at about
// 100 KiB of records per 100 ms window; every refusal is counted.
TEST_F(ByteBudgetProbesTest, AFloodIsCutAtItsByteBudget) {
  const std::string path = "/tmp/credtrace-bpf-bytes-" + std::to_string(getpid());
  int go[2];
  ASSERT_EQ(pipe2(go, O_CLOEXEC), 0);
  const pid_t flooder = opener(go[0], path, kFloodOpens);
  probes_->add_to_set(CT_SET_WATCHED, flooder);
  const uint64_t limited_before = probes_->read_counters().drops[CT_DROP_RATE_LIMITED];
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(write(go[1], "x", 1), 1);
  int status = 0;
  ASSERT_EQ(waitpid(flooder, &status, 0), flooder);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(wait_for([&](const Captured& c) {
    return c.type == CT_EVENT_EXIT && c.as<ct_exit_event>().hdr.tgid == static_cast<uint32_t>(flooder);
  }));
  const size_t captured = opens_by(events_, flooder);
  const size_t per_window = (1u << 20) / 10 / sizeof(ct_file_open_event) + 1;  // the last one may start under it
  const size_t windows = static_cast<size_t>(seconds / 0.1) + 2;
  std::printf("byte budget: %d opens in %.3f s, %zu captured (%zu per window, at most %zu)\n", kFloodOpens, seconds,
              captured, per_window, windows * (per_window + 2));
  EXPECT_GE(captured, per_window - 1);
  EXPECT_LE(captured, windows * (per_window + 2));
  EXPECT_EQ(probes_->read_counters().drops[CT_DROP_RATE_LIMITED] - limited_before + captured,
            static_cast<uint64_t>(kFloodOpens));
  unlink(path.c_str());
}

}  // namespace
}  // namespace credtrace::loader
