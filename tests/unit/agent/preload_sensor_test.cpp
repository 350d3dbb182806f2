// Unit tests of the agent's preload end: the ring consumer against hand-written records (ordering, time cut,
// padding, stalled and malformed records, wiping), the mapping checks (seals, size, header), the registration's
// identity check (confirmed, refused, unknown until the kernel's records tell), the secret-name table
// the hooks read, and the per-server env secret usage (observability, statuses, launchers, shells).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "sensors/preload/env_usage.h"
#include "sensors/preload/preload_ring.h"
#include "sensors/preload/preload_server.h"

namespace credtrace::sensors {
namespace {

constexpr uint32_t kRing = 64u << 10;
constexpr uint32_t kSlots = 16;
constexpr size_t kBytes = CT_PRELOAD_HEADER_BYTES + kSlots * sizeof(ct_preload_name_slot) + kRing;

// A process's side of the memory, written by hand: the header as the preload initialises it, records at the head.
class FakeProcess {
 public:
  explicit FakeProcess(bool seal = true, size_t bytes = kBytes) {
    fd_.reset(memfd_create("preload-test", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    EXPECT_EQ(ftruncate(fd_.get(), static_cast<off_t>(bytes)), 0);
    if (seal) {
      EXPECT_EQ(fcntl(fd_.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
    }
    base_ = static_cast<uint8_t*>(mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(), 0));
    bytes_ = bytes;
    header()->magic = CT_PRELOAD_MAGIC;
    header()->version = CT_PRELOAD_VERSION;
    header()->ring_bytes = kRing;
    header()->table_slots = kSlots;
  }
  ~FakeProcess() { munmap(base_, bytes_); }
  ct_preload_header* header() { return reinterpret_cast<ct_preload_header*>(base_); }
  uint8_t* ring() { return base_ + CT_PRELOAD_HEADER_BYTES + kSlots * sizeof(ct_preload_name_slot); }
  int fd() const { return fd_.get(); }

  // Appends a record (committed unless busy) and returns its offset.
  uint64_t write(uint32_t type, const std::string& body, uint64_t time_ns, bool busy = false) {
    const uint32_t total = static_cast<uint32_t>((sizeof(ct_preload_record) + body.size() + 7) & ~size_t{7});
    uint64_t head = header()->head.load();
    const uint64_t offset = head & (kRing - 1);
    if (offset + total > kRing) {  // pad to the end
      *reinterpret_cast<uint32_t*>(ring() + offset) = CT_REC_PAD | static_cast<uint32_t>(kRing - offset);
      head += kRing - offset;
    }
    auto* record = reinterpret_cast<ct_preload_record*>(ring() + (head & (kRing - 1)));
    record->type = type;
    record->time_boot_ns = time_ns;
    record->tid = 7;
    record->body_len = static_cast<uint32_t>(body.size());
    std::memcpy(reinterpret_cast<uint8_t*>(record) + sizeof(ct_preload_record), body.data(), body.size());
    record->word.store(total | (busy ? CT_REC_BUSY : 0));
    header()->head.store(head + total);
    return head & (kRing - 1);
  }

 private:
  common::UniqueFd fd_;
  uint8_t* base_ = nullptr;
  size_t bytes_ = 0;
};

std::unique_ptr<PreloadRing> map_ring(FakeProcess& process) {
  std::string error;
  auto ring = PreloadRing::map(process.fd(), kRing, kSlots, &error);
  EXPECT_TRUE(ring) << error;
  return ring;
}

std::vector<std::string> drain_bodies(PreloadRing& ring, uint64_t before = UINT64_MAX, uint64_t now = 1) {
  std::vector<std::string> bodies;
  ring.drain(before, now, [&](PreloadRecord& r) { bodies.push_back(std::to_string(r.type) + ":" + r.body); });
  return bodies;
}

TEST(PreloadRing, HandsRecordsInOrderAndZeroesThem) {
  FakeProcess process;
  auto ring = map_ring(process);
  const uint64_t first = process.write(CT_PREC_ENV_READ, "secret-value", 10);
  process.write(CT_PREC_TLS_DATA, "GET / HTTP/1.1", 20);
  EXPECT_EQ(drain_bodies(*ring), (std::vector<std::string>{"1:secret-value", "4:GET / HTTP/1.1"}));
  EXPECT_EQ(process.header()->tail.load(), process.header()->head.load());
  const std::string left(reinterpret_cast<const char*>(process.ring() + first), 64);
  EXPECT_EQ(left, std::string(64, '\0'));  // no raw value stays in the ring
}

TEST(PreloadRing, LeavesRecordsAtOrAfterTheCutForTheNextDrain) {
  FakeProcess process;
  auto ring = map_ring(process);
  process.write(CT_PREC_ENV_READ, "a", 10);
  process.write(CT_PREC_ENV_READ, "b", 30);
  EXPECT_EQ(drain_bodies(*ring, 20), (std::vector<std::string>{"1:a"}));
  EXPECT_EQ(drain_bodies(*ring), (std::vector<std::string>{"1:b"}));
}

TEST(PreloadRing, SkipsPaddingAtTheEndOfTheRing) {
  FakeProcess process;
  auto ring = map_ring(process);
  const std::string big(20000, 'x');
  for (int i = 0; i < 10; ++i) {
    process.write(CT_PREC_TLS_DATA, big + std::to_string(i), 1);
    auto bodies = drain_bodies(*ring);
    ASSERT_EQ(bodies.size(), 1u);
    EXPECT_EQ(bodies[0], "4:" + big + std::to_string(i));
  }
}

TEST(PreloadRing, WaitsForABusyRecordThenDiscardsItWhenStalled) {
  FakeProcess process;
  auto ring = map_ring(process);
  process.write(CT_PREC_ENV_READ, "half-written", 1, /*busy=*/true);
  process.write(CT_PREC_ENV_READ, "after", 2);
  EXPECT_TRUE(drain_bodies(*ring, UINT64_MAX, 1'000).empty());  // its writer may still finish
  EXPECT_TRUE(drain_bodies(*ring, UINT64_MAX, 1'000 + PreloadRing::kStallNs / 2).empty());
  EXPECT_EQ(drain_bodies(*ring, UINT64_MAX, 1'000 + PreloadRing::kStallNs), (std::vector<std::string>{"1:after"}));
  EXPECT_EQ(ring->stats().discarded, 1u);
}

TEST(PreloadRing, AScribbledRingIsClosedNotFollowed) {
  FakeProcess process;
  auto ring = map_ring(process);
  const uint64_t offset = process.write(CT_PREC_ENV_READ, "x", 1);
  *reinterpret_cast<uint32_t*>(process.ring() + offset) = 0x00ffff00;  // a length past the head
  EXPECT_TRUE(drain_bodies(*ring).empty());
  EXPECT_TRUE(ring->broken());
  EXPECT_EQ(process.header()->agent_state.load(), CT_AGENT_CLOSED);
  EXPECT_EQ(ring->stats().malformed, 1u);
}

TEST(PreloadRing, AHeadFarAheadOfTheTailIsMalformed) {
  FakeProcess process;
  auto ring = map_ring(process);
  process.header()->head.store(uint64_t{kRing} * 4);
  EXPECT_TRUE(drain_bodies(*ring).empty());
  EXPECT_TRUE(ring->broken());
}

TEST(PreloadRing, ALyingBodyLengthIsCutToItsRecord) {
  FakeProcess process;
  auto ring = map_ring(process);
  const uint64_t offset = process.write(CT_PREC_ENV_READ, "abc", 1);
  reinterpret_cast<ct_preload_record*>(process.ring() + offset)->body_len = 100000;
  auto bodies = drain_bodies(*ring);
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_LE(bodies[0].size(), 2 + 8u);  // "1:" and the record's own room
}

TEST(PreloadRing, ASecondMappingOfTheSameMemoryGoesOnWhereTheFirstStopped) {
  FakeProcess process;
  auto old_image = map_ring(process);
  process.write(CT_PREC_ENV_READ, "old", 1);
  process.header()->dropped_records.store(5);
  auto again = map_ring(process);  // registered again (an exec, an agent back) before the old one was read
  process.write(CT_PREC_ENV_READ, "new", 2);
  EXPECT_EQ(drain_bodies(*old_image), (std::vector<std::string>{"1:old", "1:new"}));
  EXPECT_TRUE(drain_bodies(*again).empty());
  process.write(CT_PREC_ENV_READ, "later", 3);
  EXPECT_EQ(drain_bodies(*again), (std::vector<std::string>{"1:later"}));
  EXPECT_FALSE(again->broken());
  EXPECT_EQ(again->dropped_records(), 0u);  // the 5 belong to the first mapping
}

TEST(PreloadRing, RefusesMemoryThatCouldShrinkOrDoesNotMatch) {
  std::string error;
  FakeProcess unsealed(/*seal=*/false);
  EXPECT_FALSE(PreloadRing::map(unsealed.fd(), kRing, kSlots, &error));
  EXPECT_NE(error.find("sealed"), std::string::npos);
  FakeProcess sealed;
  EXPECT_FALSE(PreloadRing::map(sealed.fd(), kRing * 2, kSlots, &error));  // size differs
  EXPECT_FALSE(PreloadRing::map(sealed.fd(), 1000, kSlots, &error));       // not a power of two
  sealed.header()->magic = 0;
  EXPECT_FALSE(PreloadRing::map(sealed.fd(), kRing, kSlots, &error));
}

TEST(PreloadRing, SecretNamesAreFoundTheWayTheHooksLookThemUp) {
  FakeProcess process;
  auto ring = map_ring(process);
  EXPECT_TRUE(ring->add_name("GITHUB_TOKEN", false));
  EXPECT_TRUE(ring->add_name("GITHUB_TOKEN", false));  // once
  EXPECT_FALSE(ring->add_name(std::string(CT_PRELOAD_NAME_LEN, 'N'), false));
  const std::string name = "GITHUB_TOKEN";
  const uint32_t hash = ct_preload_name_hash(name.data(), static_cast<uint32_t>(name.size()));
  const uint64_t bloom = process.header()->name_bloom.load();
  EXPECT_TRUE((bloom >> ct_preload_name_quick(name.data(), static_cast<uint32_t>(name.size()))) & 1);
  auto* slots = reinterpret_cast<ct_preload_name_slot*>(reinterpret_cast<uint8_t*>(process.header()) +
                                                        CT_PRELOAD_HEADER_BYTES);
  ct_preload_name_slot& slot = slots[hash & (kSlots - 1)];
  EXPECT_EQ(slot.state.load(), 1u);
  EXPECT_STREQ(slot.name, "GITHUB_TOKEN");
  slot.reads.fetch_add(3);
  EXPECT_EQ(ring->reads_of("GITHUB_TOKEN"), 3u);
  EXPECT_EQ(ring->reads_of("OTHER"), 0u);
  for (int i = 0; i < 20; ++i) ring->add_name("NAME_" + std::to_string(i), false);  // at most half the table
  int filled = 0;
  for (uint32_t i = 0; i < kSlots; ++i) filled += slots[i].state.load() == 1;
  EXPECT_EQ(filled, static_cast<int>(kSlots / 2));
}

TEST(PreloadRing, DecisionAndCloseAreWhatTheHooksRead) {
  FakeProcess process;
  auto ring = map_ring(process);
  EXPECT_EQ(process.header()->agent_state.load(), CT_AGENT_UNDECIDED);
  ring->decide(CT_ENABLE_ENV);
  EXPECT_EQ(process.header()->agent_state.load(), CT_AGENT_ACTIVE);
  EXPECT_EQ(process.header()->enabled.load(), CT_ENABLE_ENV);
  ring->close();
  EXPECT_EQ(process.header()->agent_state.load(), CT_AGENT_CLOSED);
}

TEST(EnvUsage, RuntimesThatCopyTheEnvironmentAtStart) {
  EXPECT_TRUE(env_reads_unobservable("python3.11"));
  EXPECT_TRUE(env_reads_unobservable("python"));
  EXPECT_TRUE(env_reads_unobservable("bash"));
  EXPECT_TRUE(env_reads_unobservable("java"));
  EXPECT_FALSE(env_reads_unobservable("node"));
  EXPECT_FALSE(env_reads_unobservable("shasum"));
  EXPECT_FALSE(env_reads_unobservable("javac"));
  EXPECT_FALSE(env_reads_unobservable("curl"));
}

TEST(EnvUsage, LaunchersAndShellsThatNameNoVariable) {
  EXPECT_TRUE(passes_environment_on({"/usr/bin/env", "node", "/usr/bin/npx", "-y", "@x/server"}));
  EXPECT_TRUE(passes_environment_on({"npm", "exec", "@x/server"}));
  EXPECT_TRUE(passes_environment_on({"uvx", "mcp-server-git"}));
  EXPECT_FALSE(passes_environment_on({"node", "/srv/server.js"}));
  EXPECT_FALSE(passes_environment_on({"npm", "install"}));
  EXPECT_TRUE(shell_reads_nothing({"sh", "-c", "mcp-server-gitlab --stdio"}));
  EXPECT_FALSE(shell_reads_nothing({"sh", "-c", "curl -H \"Authorization: $TOKEN\" x"}));
  EXPECT_FALSE(shell_reads_nothing({"sh", "-c", "echo `id`"}));
  EXPECT_FALSE(shell_reads_nothing({"bash", "script.sh"}));
}

credtrace::v1::Credential credential(const std::string& fingerprint) {
  credtrace::v1::Credential c;
  c.set_fingerprint(fingerprint);
  return c;
}

TEST(EnvUsage, NeverReadOnlyWhenEveryProcessWasObserved) {
  EnvUsageBook book;
  book.expose(1, "USED", credential("f1"));
  book.expose(1, "UNUSED", credential("f2"));
  book.expose(1, "PASSED", credential("f3"));
  book.read(1, 2, "USED", credential("f1"), 3, false);
  book.read(1, 1, "USED", credential("f1"), 1, true);
  book.read(1, 1, "PASSED", credential("f3"), 5, true);
  book.observed(1, 1);
  book.observed(1, 2);
  auto usage = book.finish(1);
  ASSERT_TRUE(usage);
  EXPECT_EQ(usage->observability(), "observed");
  std::map<std::string, credtrace::v1::EnvSecretReads> by_name;
  for (const auto& s : usage->secrets()) by_name[s.name()] = s;
  EXPECT_EQ(by_name["USED"].status(), "read");
  EXPECT_EQ(by_name["USED"].reads(), 4u);
  EXPECT_EQ(by_name["UNUSED"].status(), "never_read");
  EXPECT_EQ(by_name["PASSED"].status(), "passed_on");
  EXPECT_FALSE(book.knows(1));
}

TEST(EnvUsage, AnUnobservableProcessMakesUnreadNamesNotObserved) {
  EnvUsageBook book;
  book.expose(1, "UNUSED", credential("f2"));
  book.read(1, 1, "PASSED", credential("f3"), 5, true);
  book.observed(1, 1);
  book.not_observable(1, 3, "3 python3: python copies the environment at start");
  auto usage = book.finish(1);
  ASSERT_TRUE(usage);
  EXPECT_EQ(usage->observability(), "partial");
  ASSERT_EQ(usage->not_observable_size(), 1);
  for (const auto& s : usage->secrets()) EXPECT_EQ(s.status(), "not_observed") << s.name();
  EnvUsageBook none;
  none.not_observable(5, 5, "5 node: no preload");
  none.expose(5, "KEY", credential("f"));
  EXPECT_EQ(none.finish(5)->observability(), "not_observable");
  EnvUsageBook empty;
  empty.observed(6, 6);
  EXPECT_FALSE(empty.finish(6));  // nothing exposed, nothing read: no summary
}


// A hello as the library sends it, with this process's memory, on a fresh connection to the server's socket.
common::UniqueFd send_hello(const std::string& socket_path, FakeProcess& process, uint64_t start_ticks) {
  common::UniqueFd sock(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket_path.c_str());
  EXPECT_EQ(::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ct_preload_hello hello{};
  hello.magic = CT_PRELOAD_MAGIC;
  hello.version = CT_PRELOAD_VERSION;
  hello.pid = static_cast<uint32_t>(::getpid());
  hello.start_time_ticks = start_ticks;
  hello.ring_bytes = kRing;
  hello.table_slots = kSlots;
  iovec iov{&hello, sizeof(hello)};
  char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  const int fd = process.fd();
  std::memcpy(CMSG_DATA(c), &fd, sizeof(fd));
  EXPECT_EQ(::sendmsg(sock.get(), &msg, 0), static_cast<ssize_t>(sizeof(hello)));
  return sock;
}

// A fresh directory for the server's socket, removed with everything in it at the end of the test.
struct ScratchSocket {
  std::string dir;
  ScratchSocket() {
    char name[] = "/tmp/credtrace-preload-server-XXXXXX";
    EXPECT_NE(::mkdtemp(name), nullptr);
    dir = name;
  }
  ~ScratchSocket() { std::filesystem::remove_all(dir); }
  std::string path() const { return dir + "/preload.sock"; }
};

// A process gone before its hello is read, whose exec record the agent has not read yet: the hello waits (its memory
// kept) until the kernel's record confirms it, then registers.
TEST(PreloadServer, AnUnknownIdentityWaitsForTheKernelsRecord) {
  using Identity = PreloadServer::Identity;
  Identity answer = Identity::unknown;
  std::vector<uint64_t> asked;
  ScratchSocket scratch;
  PreloadServer server(scratch.path(), [&](uint32_t pid, uint64_t ticks) {
    EXPECT_EQ(pid, static_cast<uint32_t>(::getpid()));
    asked.push_back(ticks);
    return answer;
  });
  std::string error;
  ASSERT_TRUE(server.listen(&error)) << error;
  FakeProcess process;
  auto connection = send_hello(server.path(), process, 4242);
  EXPECT_TRUE(server.accept(8, 1'000).empty());
  EXPECT_TRUE(server.accept(8, 2'000).empty());
  answer = Identity::confirmed;
  auto registrations = server.accept(8, 3'000);
  ASSERT_EQ(registrations.size(), 1u);
  EXPECT_EQ(registrations[0].start_ticks, 4242u);
  EXPECT_TRUE(registrations[0].ring);
  EXPECT_EQ(asked, (std::vector<uint64_t>{4242, 4242, 4242}));
  EXPECT_EQ(server.stats().accepted, 1u);
  EXPECT_EQ(server.stats().refused_identity, 0u);
}

// Unknown for longer than the hello wait, or refused outright: refused and counted, never registered.
TEST(PreloadServer, AnIdentityNeverConfirmedOrRefusedIsCounted) {
  using Identity = PreloadServer::Identity;
  Identity answer = Identity::unknown;
  ScratchSocket scratch;
  PreloadServer server(scratch.path(), [&](uint32_t, uint64_t) { return answer; });
  std::string error;
  ASSERT_TRUE(server.listen(&error)) << error;
  FakeProcess process;
  auto first = send_hello(server.path(), process, 1);
  EXPECT_TRUE(server.accept(8, 1'000).empty());
  EXPECT_TRUE(server.accept(8, 1'000 + PreloadServer::kHelloWaitNs).empty());
  EXPECT_EQ(server.stats().refused_identity, 1u);
  EXPECT_EQ(server.stats().hello_timeouts, 0u);
  ct_preload_welcome welcome{};
  ASSERT_EQ(::recv(first.get(), &welcome, sizeof(welcome), MSG_DONTWAIT), static_cast<ssize_t>(sizeof(welcome)));
  EXPECT_EQ(welcome.status, CT_REFUSED_IDENTITY);
  answer = Identity::refused;
  auto second = send_hello(server.path(), process, 2);
  EXPECT_TRUE(server.accept(8, 5'000'000'000).empty());
  EXPECT_EQ(server.stats().refused_identity, 2u);
  EXPECT_EQ(server.stats().accepted, 0u);
}

// At most kMaxUnconfirmed hellos wait for their process's record; they do not hold back new connections.
TEST(PreloadServer, UnconfirmedHellosAreBoundedAndLeaveRoomForOthers) {
  using Identity = PreloadServer::Identity;
  ScratchSocket scratch;
  PreloadServer server(scratch.path(), [&](uint32_t, uint64_t ticks) {
    return ticks == 7 ? Identity::confirmed : Identity::unknown;
  });
  std::string error;
  ASSERT_TRUE(server.listen(&error)) << error;
  FakeProcess process;
  std::vector<common::UniqueFd> connections;
  for (size_t i = 0; i <= PreloadServer::kMaxUnconfirmed; ++i) connections.push_back(send_hello(server.path(), process, 1));
  EXPECT_TRUE(server.accept(8, 1'000).empty());
  EXPECT_EQ(server.stats().refused_identity, 1u);  // the one beyond the bound
  connections.push_back(send_hello(server.path(), process, 7));
  EXPECT_EQ(server.accept(8, 2'000).size(), 1u);
}

}  // namespace
}  // namespace credtrace::sensors
