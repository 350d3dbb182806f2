// BPF driver tests of the stdio probe: the first message a candidate process reads from stdin.
#include "probe_fixture.h"

namespace credtrace::loader {
namespace {

TEST_F(ProbesTest, ChildOfClientReportsItsFirstStdinMessage) {
  probes_->add_to_set(CT_SET_CLIENT, getpid());
  int in[2];
  ASSERT_EQ(pipe2(in, O_CLOEXEC), 0);  // the child must not inherit the write end, or cat never sees EOF
  pid_t child = spawn({"/bin/cat"}, in[0]);
  close(in[0]);
  const std::string message = R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{}})" "\n";
  const Captured* exec = wait_for([&](const Captured& c) {
    return c.type == CT_EVENT_EXEC && c.as<ct_exec_event>().hdr.tgid == static_cast<uint32_t>(child);
  });
  ASSERT_TRUE(exec);
  EXPECT_TRUE(exec->as<ct_exec_event>().hdr.flags & CT_FLAG_CANDIDATE);
  ASSERT_EQ(write(in[1], message.data(), message.size()), static_cast<ssize_t>(message.size()));
  const Captured* stdin_event = wait_for([&](const Captured& c) {
    return c.type == CT_EVENT_STDIN && c.as<ct_stdin_event>().hdr.tgid == static_cast<uint32_t>(child);
  });
  ASSERT_TRUE(stdin_event);
  const auto& s = stdin_event->as<ct_stdin_event>();
  EXPECT_EQ(std::string(s.data, s.len), message);
  EXPECT_FALSE(probes_->in_set(CT_SET_CANDIDATE, child));  // only the first message decides
  EXPECT_TRUE(probes_->in_set(CT_SET_WATCHED, child));     // JSON-looking: watched at once, the agent may undo
  close(in[1]);
  int status = 0;
  waitpid(child, &status, 0);
  probes_->remove_from_set(CT_SET_CLIENT, getpid());
}


}  // namespace
}  // namespace credtrace::loader
