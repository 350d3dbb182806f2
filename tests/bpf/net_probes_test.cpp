// BPF driver tests of the network probes: plain writes, writev and sendmsg on connected sockets.
#include "probe_fixture.h"

namespace credtrace::loader {
namespace {

std::string joined_socket_data(const std::vector<Captured>& events, int fd) {
  std::string out;
  for (const auto& c : events) {
    if (c.type != CT_EVENT_SOCK_DATA) continue;
    const auto& e = c.as<ct_tls_data_event>();
    if (e.hdr.tgid == static_cast<uint32_t>(getpid()) && e.ssl == static_cast<uint64_t>(fd)) out.append(e.data, e.len);
  }
  return out;
}

// Gathered writes on a connected socket (libuv's writev, sendmsg) are captured iovec by iovec, in order.
TEST_F(ProbesTest, WritevAndSendmsgOnAConnectedSocketAreCaptured) {
  probes_->add_to_set(CT_SET_WATCHED, getpid());
  LoopbackPair pair;
  ASSERT_TRUE(pair.open());
  std::string a = "POST /v1 HTTP/1.1\r\n", b = "Host: 127.0.0.1\r\n", c = "\r\n";
  iovec parts[] = {{a.data(), a.size()}, {b.data(), b.size()}, {c.data(), c.size()}};
  ASSERT_EQ(writev(pair.client, parts, 3), static_cast<ssize_t>(a.size() + b.size() + c.size()));
  msghdr msg{};
  msg.msg_iov = parts;
  msg.msg_iovlen = 2;
  ASSERT_EQ(sendmsg(pair.client, &msg, 0), static_cast<ssize_t>(a.size() + b.size()));
  for (int i = 0; i < 20; ++i) probes_->poll(20);
  probes_->remove_from_set(CT_SET_WATCHED, getpid());
  EXPECT_EQ(joined_socket_data(events_, pair.client), a + b + c + a + b);
}


}  // namespace
}  // namespace credtrace::loader
