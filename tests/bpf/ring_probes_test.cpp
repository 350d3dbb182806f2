// BPF driver tests of the ring: its fill gauge (agent_health.sensors.ring_used_bytes) and the agent's reader, which
// maps the data once and copies a record that wraps past the ring's end (every record delivered whole, in order).
#include "probe_fixture.h"

namespace credtrace::loader {
namespace {

TEST_F(ProbesTest, RingFillCountsUnconsumedRecordsAndEmptiesWhenConsumed) {
  for (int i = 0; i < 5; ++i) probes_->poll(20);  // whatever the host did so far
  EXPECT_EQ(probes_->ring_fill().size_bytes, 1u << 20);
  const std::string path = "/tmp/credtrace-bpf-ring-" + std::to_string(getpid());
  int go[2];
  ASSERT_EQ(pipe2(go, O_CLOEXEC), 0);
  pid_t child = fork();
  if (child == 0) {
    char c;
    if (read(go[0], &c, 1) != 1) _exit(1);
    for (int i = 0; i < 50; ++i) close(open(path.c_str(), O_RDONLY | O_CREAT, 0600));
    _exit(0);
  }
  probes_->add_to_set(CT_SET_WATCHED, child);
  ASSERT_EQ(write(go[1], "x", 1), 1);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  const uint64_t used = probes_->ring_fill().used_bytes;  // not polled since: 50 opens and an exit wait in the ring
  EXPECT_GE(used, 50 * sizeof(ct_file_open_event)) << used;
  EXPECT_TRUE(wait_for([&](const Captured& c) {
    return c.type == CT_EVENT_EXIT && c.as<ct_exit_event>().hdr.tgid == static_cast<uint32_t>(child);
  }));
  for (int i = 0; i < 5; ++i) probes_->poll(20);
  EXPECT_LT(probes_->ring_fill().used_bytes, used);
  unlink(path.c_str());
}

// Records of one size that does not divide the ring: ~30 laps of the 1 MiB ring in batches the test drains in
// between, so many records run past its end. Each open's path comes back whole and in order, nothing dropped.
TEST_F(ProbesTest, RecordsWrappingPastTheRingsEndArriveWholeAndInOrder) {
  for (int i = 0; i < 5; ++i) probes_->poll(20);
  const std::string dir = "/tmp/credtrace-bpf-ring-wrap-" + std::to_string(getpid());
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  constexpr int kFiles = 97, kBatch = 1000, kBatches = 100;
  for (int f = 0; f < kFiles; ++f) close(open((dir + "/f" + std::to_string(f)).c_str(), O_WRONLY | O_CREAT, 0600));
  const auto before = probes_->read_counters();
  int go[2], done[2];
  ASSERT_EQ(pipe2(go, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(done, O_CLOEXEC), 0);
  pid_t child = fork();
  if (child == 0) {
    for (int b = 0; b < kBatches; ++b) {
      char c;
      if (read(go[0], &c, 1) != 1) _exit(1);
      for (int i = 0; i < kBatch; ++i) {
        const std::string path = dir + "/f" + std::to_string((b * kBatch + i) % kFiles);
        close(open(path.c_str(), O_RDONLY));
      }
      if (write(done[1], "x", 1) != 1) _exit(1);
    }
    _exit(0);
  }
  probes_->add_to_set(CT_SET_WATCHED, child);
  std::vector<std::string> paths;
  const auto collect = [&] {
    for (const auto& e : events_) {
      if (e.type != CT_EVENT_FILE_OPEN) continue;
      const auto& open_event = e.as<ct_file_open_event>();
      if (open_event.hdr.tgid != static_cast<uint32_t>(child)) continue;
      paths.emplace_back(open_event.path, strnlen(open_event.path, sizeof(open_event.path)));
    }
    events_.clear();
  };
  uint64_t wrapped_bytes = 0;
  for (int b = 0; b < kBatches; ++b) {
    ASSERT_EQ(write(go[1], "x", 1), 1);
    char c;
    ASSERT_EQ(read(done[0], &c, 1), 1);
    wrapped_bytes += probes_->ring_fill().used_bytes;
    for (int i = 0; i < 3; ++i) probes_->poll(0);
    collect();
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  for (int i = 0; i < 5; ++i) probes_->poll(20);
  collect();
  EXPECT_GT(wrapped_bytes, 20u * probes_->ring_fill().size_bytes) << "the ring was not lapped enough times";
  ASSERT_EQ(paths.size(), static_cast<size_t>(kBatch) * kBatches);
  for (size_t i = 0; i < paths.size(); ++i)
    ASSERT_EQ(paths[i], dir + "/f" + std::to_string(i % kFiles)) << "record " << i;
  const auto after = probes_->read_counters();
  for (size_t d = 0; d < after.drops.size(); ++d) EXPECT_EQ(after.drops[d], before.drops[d]) << "drop reason " << d;
  std::string cmd = "rm -rf " + dir;
  EXPECT_EQ(system(cmd.c_str()), 0);
}

}  // namespace
}  // namespace credtrace::loader
