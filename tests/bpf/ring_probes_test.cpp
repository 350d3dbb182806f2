// BPF driver test of the ring's fill gauge (agent_health.sensors.ring_used_bytes): records a watched process made
// and the agent has not consumed show as used bytes, and consuming them empties it.
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

}  // namespace
}  // namespace credtrace::loader
