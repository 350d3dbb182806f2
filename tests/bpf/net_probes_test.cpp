// BPF driver tests of the network probes: plain writes, writev and sendmsg on connected sockets; accepted sockets
// (accept4) and the bytes read (read, recvfrom, readv, recvmsg: at exit, as many as returned) and written on them.
#include "probe_fixture.h"

namespace credtrace::loader {
namespace {

std::string joined_socket_data(const std::vector<Captured>& events, int fd, uint32_t type = CT_EVENT_SOCK_DATA,
                               uint32_t direction = CT_TLS_WRITE) {
  std::string out;
  for (const auto& c : events) {
    if (c.type != type) continue;
    const auto& e = c.as<ct_tls_data_event>();
    if (e.hdr.tgid == static_cast<uint32_t>(getpid()) && e.ssl == static_cast<uint64_t>(fd) &&
        e.direction == direction)
      out.append(e.data, e.len);
  }
  return out;
}

// A connection the watched process accepted is reported (fd, local port, peer) and every byte it reads (read,
// recvfrom, readv, recvmsg: only what the call returned) and writes on it is captured as server socket data; what the
// connecting side reads is captured as socket data of the read direction.
TEST_F(ProbesTest, AcceptedSocketReadsAndWritesAreCaptured) {
  probes_->add_to_set(CT_SET_WATCHED, getpid());
  LoopbackPair pair;
  ASSERT_TRUE(pair.open());
  sockaddr_in local{}, peer{};
  socklen_t len = sizeof(local);
  ASSERT_EQ(getsockname(pair.server, reinterpret_cast<sockaddr*>(&local), &len), 0);
  len = sizeof(peer);
  ASSERT_EQ(getsockname(pair.client, reinterpret_cast<sockaddr*>(&peer), &len), 0);
  const Captured* accepted = wait_for([&](const Captured& c) {
    return c.type == CT_EVENT_ACCEPT && c.as<ct_accept_event>().hdr.tgid == static_cast<uint32_t>(getpid());
  });
  ASSERT_NE(accepted, nullptr);
  const auto& a = accepted->as<ct_accept_event>();
  EXPECT_EQ(a.fd, static_cast<uint32_t>(pair.server));
  EXPECT_EQ(a.family, AF_INET);
  EXPECT_EQ(a.local_port, ntohs(local.sin_port));
  EXPECT_EQ(a.peer_port, ntohs(peer.sin_port));
  EXPECT_EQ(a.peer_addr[0], 127);
  EXPECT_EQ(a.peer_addr[3], 1);  // 127.0.0.1, every byte

  const std::string request = "POST /mcp HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}";
  const std::string parts[] = {request.substr(0, 10), request.substr(10, 10), request.substr(20, 10), request.substr(30)};
  char buf[256];
  ASSERT_EQ(write(pair.client, parts[0].data(), parts[0].size()), static_cast<ssize_t>(parts[0].size()));
  ASSERT_EQ(read(pair.server, buf, sizeof(buf)), static_cast<ssize_t>(parts[0].size()));
  ASSERT_EQ(write(pair.client, parts[1].data(), parts[1].size()), static_cast<ssize_t>(parts[1].size()));
  ASSERT_EQ(recvfrom(pair.server, buf, sizeof(buf), 0, nullptr, nullptr), static_cast<ssize_t>(parts[1].size()));
  ASSERT_EQ(write(pair.client, parts[2].data(), parts[2].size()), static_cast<ssize_t>(parts[2].size()));
  char v1[4], v2[64];
  iovec vec[] = {{v1, sizeof(v1)}, {v2, sizeof(v2)}};
  ASSERT_EQ(readv(pair.server, vec, 2), static_cast<ssize_t>(parts[2].size()));
  ASSERT_EQ(write(pair.client, parts[3].data(), parts[3].size()), static_cast<ssize_t>(parts[3].size()));
  msghdr msg{};
  msg.msg_iov = vec;
  msg.msg_iovlen = 2;
  ASSERT_EQ(recvmsg(pair.server, &msg, 0), static_cast<ssize_t>(parts[3].size()));
  const std::string answer = "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n";
  ASSERT_EQ(write(pair.server, answer.data(), answer.size()), static_cast<ssize_t>(answer.size()));
  ASSERT_EQ(read(pair.client, buf, sizeof(buf)), static_cast<ssize_t>(answer.size()));
  for (int i = 0; i < 20; ++i) probes_->poll(20);
  probes_->remove_from_set(CT_SET_WATCHED, getpid());
  EXPECT_EQ(joined_socket_data(events_, pair.server, CT_EVENT_SRV_SOCK_DATA, CT_TLS_READ), request);
  EXPECT_EQ(joined_socket_data(events_, pair.server, CT_EVENT_SRV_SOCK_DATA, CT_TLS_WRITE), answer);
  EXPECT_EQ(joined_socket_data(events_, pair.client, CT_EVENT_SOCK_DATA, CT_TLS_WRITE), request);
  EXPECT_EQ(joined_socket_data(events_, pair.client, CT_EVENT_SOCK_DATA, CT_TLS_READ), answer);
}

// An unwatched process's accepts and reads leave nothing.
TEST_F(ProbesTest, AcceptsAndReadsOfUnwatchedProcessesAreNotCaptured) {
  LoopbackPair pair;
  ASSERT_TRUE(pair.open());
  char buf[16];
  ASSERT_EQ(write(pair.client, "hello", 5), 5);
  ASSERT_EQ(read(pair.server, buf, sizeof(buf)), 5);
  EXPECT_FALSE(any([](const Captured& c) {
    return (c.type == CT_EVENT_ACCEPT || c.type == CT_EVENT_SRV_SOCK_DATA || c.type == CT_EVENT_SOCK_DATA) &&
           c.as<ct_event_header>().tgid == static_cast<uint32_t>(getpid());
  }));
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
