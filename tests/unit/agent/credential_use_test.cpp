// Tests of the credential-use sensor's destinations: a TLS stream's address comes from the socket its ciphertext was
// seen going to (synthetic ct_* events), or is reported unknown; a Host header's port is a claim, never the address.
#include "sensors/tls/credential_use.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../protocols/fake_secrets.h"

namespace credtrace::sensors {
namespace {

namespace fake = protocols::testing;

constexpr uint32_t kPid = 4242;
constexpr uint32_t kThread = 4243;
constexpr uint64_t kSsl = 0x7f00deadbe00;
constexpr uint32_t kFd = 9;
constexpr uint16_t kServerPort = 41234;
constexpr uint64_t kT0 = 5'000'000'000ull;

ct_event_header header(uint32_t type, uint64_t time_ns) {
  ct_event_header h{};
  h.type = type;
  h.pid = kThread;
  h.tgid = kPid;
  h.flags = CT_FLAG_WATCHED;
  h.time_boot_ns = time_ns;
  return h;
}

ct_connect_event connect_event(uint32_t fd, const char* ip, uint16_t port, uint64_t time_ns = kT0) {
  ct_connect_event e{};
  e.hdr = header(CT_EVENT_CONNECT, time_ns);
  e.fd = fd;
  e.family = AF_INET;
  e.port = port;
  inet_pton(AF_INET, ip, e.addr);
  return e;
}

ct_tls_sni_event sni_event(const char* name) {
  ct_tls_sni_event e{};
  e.hdr = header(CT_EVENT_TLS_SNI, kT0);
  e.ssl = kSsl;
  std::strncpy(e.name, name, sizeof(e.name) - 1);
  return e;
}

// One SSL_write (or socket write) call that fits a single chunk.
std::unique_ptr<ct_tls_data_event> data_event(uint32_t type, uint64_t stream, const std::string& bytes,
                                              uint64_t time_ns, uint32_t direction = CT_TLS_WRITE) {
  auto e = std::make_unique<ct_tls_data_event>();
  std::memset(e.get(), 0, sizeof(*e));
  e->hdr = header(type, time_ns);
  e->ssl = stream;
  e->direction = direction;
  e->total_len = static_cast<uint32_t>(bytes.size());
  e->len = static_cast<uint32_t>(bytes.size());
  std::memcpy(e->data, bytes.data(), bytes.size());
  return e;
}

// One chunk of a call of total_len bytes, starting at offset.
std::unique_ptr<ct_tls_data_event> chunk_event(uint64_t stream, const std::string& bytes, uint32_t total_len,
                                               uint32_t offset, uint64_t time_ns, uint32_t direction = CT_TLS_WRITE) {
  auto e = data_event(CT_EVENT_TLS_DATA, stream, bytes, time_ns, direction);
  e->total_len = total_len;
  e->offset = offset;
  return e;
}

ct_tls_socket_event socket_event(uint32_t fd, uint64_t time_ns) {
  ct_tls_socket_event e{};
  e.hdr = header(CT_EVENT_TLS_SOCKET, time_ns);
  e.ssl = kSsl;
  e.fd = fd;
  e.record_len = 200;
  return e;
}

ct_tls_free_event free_event(uint32_t type) {
  ct_tls_free_event e{};
  e.hdr = header(type, kT0);
  e.ssl = kSsl;
  return e;
}

std::string api_key_request(const std::string& host, const std::string& key) {
  return "POST /v1/messages HTTP/1.1\r\nHost: " + host + "\r\nx-api-key: " + key + "\r\nContent-Length: 0\r\n\r\n";
}

class CredentialUseDestination : public ::testing::Test {
 protected:
  // The plaintext of an SSL_write carrying an x-api-key, on the stream kSsl.
  std::vector<CredentialUse> write_request(const std::string& host, uint64_t time_ns = kT0 + 1000) {
    return sensor.on_data(*data_event(CT_EVENT_TLS_DATA, kSsl, api_key_request(host, key), time_ns));
  }

  CredentialUseSensor sensor;
  std::string key = fake::anthropic_key();
};

TEST_F(CredentialUseDestination, MemoryBioUseWaitsForItsSocketThenReportsTheConnectedPort) {
  sensor.on_connect(connect_event(kFd, "127.0.0.1", kServerPort));
  sensor.on_sni(sni_event("localhost"));
  EXPECT_TRUE(write_request("localhost").empty());  // held: the ciphertext has not been seen yet
  auto uses = sensor.on_tls_socket(socket_event(kFd, kT0 + 2000));
  ASSERT_EQ(uses.size(), 1u);
  EXPECT_EQ(uses[0].credential.value, key);
  EXPECT_EQ(uses[0].ip, "127.0.0.1");
  EXPECT_EQ(uses[0].port, kServerPort);
  EXPECT_EQ(uses[0].address_source, kAddressFromConnect);
  EXPECT_EQ(uses[0].host, "localhost");
  EXPECT_EQ(uses[0].host_source, kHostFromHeader);
  EXPECT_EQ(uses[0].host_port, 0u);  // Host named no port: none is made up
  EXPECT_EQ(uses[0].sni, "localhost");
  EXPECT_EQ(sensor.stats().tls_streams_paired, 1u);
}

TEST_F(CredentialUseDestination, HostHeaderPortIsTheClientsClaimNotTheAddress) {
  sensor.on_connect(connect_event(kFd, "127.0.0.1", kServerPort));
  write_request("api.example.test:8443");
  auto uses = sensor.on_tls_socket(socket_event(kFd, kT0 + 2000));
  ASSERT_EQ(uses.size(), 1u);
  EXPECT_EQ(uses[0].port, kServerPort);
  EXPECT_EQ(uses[0].host_port, 8443u);
}

TEST_F(CredentialUseDestination, LaterUsesOfAPairedStreamAreReportedAtOnce) {
  sensor.on_connect(connect_event(kFd, "127.0.0.1", kServerPort));
  write_request("localhost");
  ASSERT_EQ(sensor.on_tls_socket(socket_event(kFd, kT0 + 2000)).size(), 1u);
  auto uses = write_request("localhost", kT0 + 3000);
  ASSERT_EQ(uses.size(), 1u);
  EXPECT_EQ(uses[0].port, kServerPort);
  EXPECT_EQ(uses[0].address_source, kAddressFromConnect);
}

TEST_F(CredentialUseDestination, NeverPairedIsUnknownNeverPort443) {
  sensor.on_connect(connect_event(kFd, "127.0.0.1", kServerPort));
  sensor.on_sni(sni_event("localhost"));
  const uint64_t written = kT0 + 1000;
  write_request("localhost", written);
  EXPECT_TRUE(sensor.expire(written + CredentialUseSensor::kHoldNs - 1).empty());  // still within the window
  auto uses = sensor.expire(written + CredentialUseSensor::kHoldNs);
  ASSERT_EQ(uses.size(), 1u);
  EXPECT_EQ(uses[0].port, 0u);
  EXPECT_EQ(uses[0].ip, "");
  EXPECT_EQ(uses[0].address_source, kAddressUnknown);
  EXPECT_EQ(uses[0].host, "localhost");
  EXPECT_EQ(sensor.stats().destinations_unknown, 1u);
}

TEST_F(CredentialUseDestination, ReleasingEverythingAtStopDoesNotCallOpenStreamsIdle) {
  write_request("localhost");
  auto released = sensor.expire(UINT64_MAX);
  ASSERT_EQ(released.size(), 1u);
  EXPECT_EQ(released[0].address_source, kAddressUnknown);
  EXPECT_EQ(sensor.stats().streams_expired, 0u);
}

TEST_F(CredentialUseDestination, StreamEndOrProcessExitReleasesHeldUsesAsUnknown) {
  write_request("localhost");
  EXPECT_TRUE(sensor.on_free(free_event(CT_EVENT_TLS_FREE)).empty());
  auto freed = sensor.take_released();
  ASSERT_EQ(freed.size(), 1u);
  EXPECT_EQ(freed[0].address_source, kAddressUnknown);

  write_request("localhost");
  auto exited = sensor.forget_process(kPid);
  ASSERT_EQ(exited.size(), 1u);
  EXPECT_EQ(exited[0].port, 0u);
  EXPECT_EQ(exited[0].address_source, kAddressUnknown);
}

TEST_F(CredentialUseDestination, SocketWhoseConnectWasNotSeenLeavesTheAddressUnknown) {
  write_request("localhost");
  auto uses = sensor.on_tls_socket(socket_event(kFd, kT0 + 2000));  // no connect() of that fd was reported
  ASSERT_EQ(uses.size(), 1u);
  EXPECT_EQ(uses[0].address_source, kAddressUnknown);
  EXPECT_EQ(uses[0].port, 0u);
  EXPECT_EQ(sensor.stats().tls_socket_not_connected, 1u);
}

TEST_F(CredentialUseDestination, TwoSocketsForOneStreamMakeLaterUsesUnknown) {
  sensor.on_connect(connect_event(kFd, "127.0.0.1", kServerPort));
  sensor.on_connect(connect_event(kFd + 1, "10.0.0.7", 8443));
  write_request("localhost");
  ASSERT_EQ(sensor.on_tls_socket(socket_event(kFd, kT0 + 2000)).size(), 1u);
  EXPECT_TRUE(sensor.on_tls_socket(socket_event(kFd + 1, kT0 + 3000)).empty());
  EXPECT_EQ(sensor.stats().tls_pairing_conflicts, 1u);
  auto uses = write_request("localhost", kT0 + 4000);
  ASSERT_EQ(uses.size(), 1u);
  EXPECT_EQ(uses[0].address_source, kAddressUnknown);
}

TEST_F(CredentialUseDestination, NoHostNoSniIsNamedByTheConnectedAddress) {
  sensor.on_connect(connect_event(kFd, "127.0.0.1", kServerPort));
  std::string request = "GET /v1/models HTTP/1.1\r\nx-api-key: " + key + "\r\n\r\n";
  sensor.on_data(*data_event(CT_EVENT_TLS_DATA, kSsl, request, kT0 + 1000));
  auto uses = sensor.on_tls_socket(socket_event(kFd, kT0 + 2000));
  ASSERT_EQ(uses.size(), 1u);
  EXPECT_EQ(uses[0].host, "127.0.0.1");
  EXPECT_EQ(uses[0].host_source, kHostFromIp);
}

TEST_F(CredentialUseDestination, PlainSocketUsesCarryTheirOwnConnectOrUnknown) {
  sensor.on_connect(connect_event(kFd, "127.0.0.1", kServerPort));
  bool stop = false;
  auto connected = sensor.on_socket_data(*data_event(CT_EVENT_SOCK_DATA, kFd, api_key_request("localhost", key), kT0), &stop);
  ASSERT_EQ(connected.size(), 1u);
  EXPECT_FALSE(connected[0].tls);
  EXPECT_EQ(connected[0].port, kServerPort);
  EXPECT_EQ(connected[0].address_source, kAddressFromConnect);

  auto unseen = sensor.on_socket_data(*data_event(CT_EVENT_SOCK_DATA, kFd + 5, api_key_request("localhost", key), kT0), &stop);
  ASSERT_EQ(unseen.size(), 1u);
  EXPECT_EQ(unseen[0].port, 0u);
  EXPECT_EQ(unseen[0].address_source, kAddressUnknown);
}

TEST_F(CredentialUseDestination, IssuedCredentialCarriesTheObservedPortNotADefault) {
  sensor.on_connect(connect_event(kFd, "127.0.0.1", kServerPort));
  std::string form = "grant_type=client_credentials&client_secret=" + fake::generic_secret(40);
  std::string request = "POST /oauth/token HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
                        "application/x-www-form-urlencoded\r\nContent-Length: " + std::to_string(form.size()) +
                        "\r\n\r\n" + form;
  sensor.on_data(*data_event(CT_EVENT_TLS_DATA, kSsl, request, kT0 + 1000));
  ASSERT_EQ(sensor.on_tls_socket(socket_event(kFd, kT0 + 2000)).size(), 1u);
  std::string body = "{\"access_token\":\"gho_" + fake::random_from(fake::kAlnum, 36) + "\",\"token_type\":\"bearer\"}";
  std::string response = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\n\r\n" + body;
  auto issued = sensor.on_read_data(*data_event(CT_EVENT_TLS_DATA, kSsl, response, kT0 + 3000, CT_TLS_READ));
  ASSERT_EQ(issued.size(), 1u);
  EXPECT_EQ(issued[0].port, kServerPort);
  EXPECT_EQ(issued[0].ip, "127.0.0.1");
  EXPECT_EQ(issued[0].address_source, kAddressFromConnect);
  EXPECT_EQ(issued[0].host, "localhost");
}

// The sensor's streams: chunk order, gaps, truncation and lifetime come from the stream tracker.
class CredentialUseStreams : public CredentialUseDestination {
 protected:
  // The request split at `at` into two chunks of one call (as if CT_TLS_CHUNK_LEN were `at`).
  std::vector<CredentialUse> write_in_two_chunks(const std::string& request, size_t at, bool drop_first = false) {
    const auto total = static_cast<uint32_t>(request.size());
    std::vector<CredentialUse> uses;
    if (!drop_first) uses = sensor.on_data(*chunk_event(kSsl, request.substr(0, at), total, 0, kT0 + 1000));
    auto rest = sensor.on_data(*chunk_event(kSsl, request.substr(at), total, static_cast<uint32_t>(at), kT0 + 1000));
    uses.insert(uses.end(), std::make_move_iterator(rest.begin()), std::make_move_iterator(rest.end()));
    return uses;
  }
  void pair() {
    sensor.on_connect(connect_event(kFd, "127.0.0.1", kServerPort));
    sensor.on_tls_socket(socket_event(kFd, kT0 + 500));
  }
};

TEST_F(CredentialUseStreams, ARequestAcrossChunksOfOneCallIsParsedWhole) {
  pair();
  std::string padded = api_key_request("localhost", key) + std::string(CT_TLS_CHUNK_LEN, ' ');
  padded = padded.substr(0, CT_TLS_CHUNK_LEN + 10);  // the request, then spaces: two chunks
  auto uses = write_in_two_chunks(padded, CT_TLS_CHUNK_LEN);
  ASSERT_EQ(uses.size(), 1u);
  EXPECT_EQ(uses[0].credential.value, key);
  EXPECT_EQ(sensor.stats().gaps, 0u);
}

TEST_F(CredentialUseStreams, ADroppedChunkIsAGapNotAGuessAndTheNextRequestIsParsed) {
  pair();
  const std::string request = api_key_request("localhost", key);
  sensor.on_data(*chunk_event(kSsl, "POST /v1/messages HTTP/1.1\r\n", 8000, 0, kT0 + 1000));  // a call's start
  auto uses = sensor.on_data(*chunk_event(kSsl, request.substr(20), 8000, 2 * CT_TLS_CHUNK_LEN, kT0 + 1000));
  EXPECT_TRUE(uses.empty());  // the second chunk never came: the headers after it are not trusted
  EXPECT_GE(sensor.stats().gaps, 1u);
  ASSERT_EQ(write_request("localhost", kT0 + 2000).size(), 1u);
}

TEST_F(CredentialUseStreams, ATruncatedCallIsCounted) {
  pair();
  const uint32_t total = CT_TLS_CHUNK_LEN * CT_TLS_MAX_CHUNKS + 100;
  std::string request = api_key_request("localhost", key);
  sensor.on_data(*chunk_event(kSsl, request, total, 0, kT0 + 1000));
  for (uint32_t i = 1; i < CT_TLS_MAX_CHUNKS; ++i)
    sensor.on_data(*chunk_event(kSsl, std::string(CT_TLS_CHUNK_LEN, 'x'), total, i * CT_TLS_CHUNK_LEN, kT0 + 1000));
  EXPECT_EQ(sensor.stats().truncated_calls, 1u);
}

TEST_F(CredentialUseStreams, AFirstWriteTooShortToTellIsHeldForTheNext) {
  pair();
  EXPECT_TRUE(sensor.on_data(*data_event(CT_EVENT_TLS_DATA, kSsl, "PO", kT0 + 1000)).empty());
  auto uses = sensor.on_data(*data_event(CT_EVENT_TLS_DATA, kSsl, api_key_request("localhost", key).substr(2), kT0 + 1100));
  ASSERT_EQ(uses.size(), 1u);
  EXPECT_EQ(uses[0].method, "POST");
  EXPECT_EQ(sensor.stats().unsupported, 0u);
}

TEST_F(CredentialUseStreams, NotHttpIsCountedOnce) {
  sensor.on_data(*data_event(CT_EVENT_TLS_DATA, kSsl, "\x16\x03\x01 binary", kT0 + 1000));
  sensor.on_data(*data_event(CT_EVENT_TLS_DATA, kSsl, api_key_request("localhost", key), kT0 + 1100));
  EXPECT_EQ(sensor.stats().unsupported, 1u);
  EXPECT_EQ(sensor.stats().requests, 0u);
}

TEST_F(CredentialUseStreams, AStreamAtTheBoundEvictsTheLeastRecentlySeenAndReleasesItsUses) {
  CredentialUseSensor small(1);
  small.on_data(*data_event(CT_EVENT_TLS_DATA, kSsl, api_key_request("localhost", key), kT0 + 1000));  // held
  auto released = small.on_data(*data_event(CT_EVENT_TLS_DATA, kSsl + 1, "GET / HTTP/1.1\r\n\r\n", kT0 + 2000));
  ASSERT_EQ(released.size(), 1u);
  EXPECT_EQ(released[0].address_source, kAddressUnknown);
  EXPECT_EQ(small.stats().streams_dropped, 1u);
  EXPECT_EQ(small.stats().streams, 2u);
}

TEST_F(CredentialUseStreams, IdleStreamsAreLetGo) {
  pair();
  write_request("localhost", kT0 + 1000);
  EXPECT_TRUE(sensor.expire(kT0 + 1000 + CredentialUseSensor::kIdleNs - 1).empty());
  EXPECT_EQ(sensor.stats().streams_expired, 0u);
  sensor.expire(kT0 + 1000 + CredentialUseSensor::kIdleNs);
  EXPECT_EQ(sensor.stats().streams_expired, 1u);
  // The next write starts a new stream, parsed from its first byte.
  ASSERT_EQ(write_request("localhost", kT0 + CredentialUseSensor::kIdleNs + 5000).size(), 0u);  // held: not paired
  EXPECT_EQ(sensor.stats().requests, 2u);
}

TEST_F(CredentialUseStreams, ACloseDelimitedResponseIsIssuedWhenTheStreamIsFreed) {
  pair();
  sensor.on_data(*data_event(CT_EVENT_TLS_DATA, kSsl, "POST /oauth/token HTTP/1.1\r\nHost: localhost\r\n"
                                                      "Content-Length: 0\r\n\r\n", kT0 + 1000));
  std::string body = "{\"access_token\":\"gho_" + fake::random_from(fake::kAlnum, 36) + "\"}";
  std::string response = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + body;  // until close
  EXPECT_TRUE(sensor.on_read_data(*data_event(CT_EVENT_TLS_DATA, kSsl, response, kT0 + 2000, CT_TLS_READ)).empty());
  auto issued = sensor.on_free(free_event(CT_EVENT_TLS_FREE));
  ASSERT_EQ(issued.size(), 1u);
  EXPECT_EQ(issued[0].path, "/oauth/token");
  EXPECT_EQ(issued[0].port, kServerPort);
  EXPECT_EQ(sensor.stats().responses, 1u);
}

// OpenSSL's retry rule: a call that could not complete (SSL_ERROR_WANT_READ/WRITE) is repeated with the same buffer,
// and each attempt is captured; node calls SSL_write three times for its first request while the handshake ends.
class CredentialUseRetries : public CredentialUseStreams {
 protected:
  size_t uses_of_write_at(uint64_t time_ns) {
    return sensor.on_data(*data_event(CT_EVENT_TLS_DATA, kSsl, api_key_request("localhost", key), time_ns)).size();
  }
};

TEST_F(CredentialUseRetries, AWriteRepeatedWithNothingReadInBetweenIsOneRequest) {
  pair();
  EXPECT_EQ(uses_of_write_at(kT0 + 1000) + uses_of_write_at(kT0 + 3000) + uses_of_write_at(kT0 + 900'000), 1u);
  EXPECT_EQ(sensor.stats().write_retries, 2u);
  EXPECT_EQ(sensor.stats().requests, 1u);
}

TEST_F(CredentialUseRetries, TheSameRequestAfterItsResponseIsASecondRequest) {
  pair();
  EXPECT_EQ(uses_of_write_at(kT0 + 1000), 1u);
  sensor.on_read_data(*data_event(CT_EVENT_TLS_DATA, kSsl, "HTTP/1.1 204 No Content\r\n\r\n", kT0 + 2000, CT_TLS_READ));
  EXPECT_EQ(uses_of_write_at(kT0 + 3000), 1u);
  EXPECT_EQ(sensor.stats().write_retries, 0u);
}

TEST_F(CredentialUseRetries, TheSameRequestSecondsLaterIsASecondRequest) {
  pair();
  EXPECT_EQ(uses_of_write_at(kT0 + 1000), 1u);
  EXPECT_EQ(uses_of_write_at(kT0 + 1000 + 3'000'000'000ull), 1u);
  EXPECT_EQ(sensor.stats().write_retries, 0u);
}

TEST_F(CredentialUseRetries, OnlyAStreamsFirstWriteIsJudgedSoLaterRepeatsAreRequests) {
  pair();  // the stream's address is known, but no ciphertext of these writes is seen: nothing says they completed
  EXPECT_EQ(uses_of_write_at(kT0 + 1000), 1u);
  const std::string other = "GET /v1/models HTTP/1.1\r\nHost: localhost\r\nx-api-key: " + key + "\r\n\r\n";
  EXPECT_EQ(sensor.on_data(*data_event(CT_EVENT_TLS_DATA, kSsl, other, kT0 + 2000)).size(), 1u);
  EXPECT_EQ(sensor.on_data(*data_event(CT_EVENT_TLS_DATA, kSsl, other, kT0 + 3000)).size(), 1u);  // polling
  EXPECT_EQ(uses_of_write_at(kT0 + 4000), 1u);
  EXPECT_EQ(sensor.stats().write_retries, 0u);
}

}  // namespace
}  // namespace credtrace::sensors

namespace credtrace::sensors {
namespace {

// OAuth token requests paired with their answers (sensors/tls/token_exchange.h), or reported without one.
class CredentialUseTokenExchange : public CredentialUseStreams {
 protected:
  static std::string token_request(const std::string& form) {
    return "POST /oauth/token HTTP/1.1\r\nHost: auth.example.com:8443\r\nContent-Type: "
           "application/x-www-form-urlencoded\r\nContent-Length: " + std::to_string(form.size()) + "\r\n\r\n" + form;
  }
  static std::string json_answer(int status, const std::string& body) {
    return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }
  void send(const std::string& form, uint64_t time_ns = kT0 + 1000) {
    sensor.on_data(*data_event(CT_EVENT_TLS_DATA, kSsl, token_request(form), time_ns));
  }
  void read(const std::string& response, uint64_t time_ns = kT0 + 3000) {
    sensor.on_read_data(*data_event(CT_EVENT_TLS_DATA, kSsl, response, time_ns, CT_TLS_READ));
  }
  std::string secret = fake::generic_secret(40);
};

TEST_F(CredentialUseTokenExchange, ARequestIsPairedWithItsAnswer) {
  pair();
  send("grant_type=client_credentials&client_id=app&client_secret=" + secret);
  EXPECT_TRUE(sensor.take_token_exchanges().empty());  // waiting for the answer
  const std::string access = fake::jwt();
  read(json_answer(200, "{\"access_token\":\"" + access + "\",\"token_type\":\"Bearer\",\"expires_in\":60}"));
  auto exchanges = sensor.take_token_exchanges();
  ASSERT_EQ(exchanges.size(), 1u);
  ObservedTokenExchange& exchange = exchanges[0];
  EXPECT_EQ(exchange.pid, kPid);
  EXPECT_EQ(exchange.request->grant_type, "client_credentials");
  ASSERT_EQ(exchange.request->presented.size(), 1u);
  EXPECT_EQ(exchange.request->presented[0].value, secret);
  ASSERT_TRUE(exchange.response);
  EXPECT_EQ(exchange.response->status, 200);
  ASSERT_EQ(exchange.response->issued.size(), 1u);
  EXPECT_EQ(exchange.response->issued[0].value, access);
  EXPECT_EQ(exchange.response->issued[0].expires_in, 60);
  EXPECT_EQ(exchange.endpoint.host, "auth.example.com:8443");
  EXPECT_EQ(exchange.endpoint.host_port, 8443u);
  EXPECT_EQ(exchange.endpoint.path, "/oauth/token");
  EXPECT_EQ(exchange.endpoint.port, kServerPort);
  EXPECT_EQ(exchange.endpoint.address_source, kAddressFromConnect);
  EXPECT_EQ(sensor.token_stats().requests, 1u);
  EXPECT_EQ(sensor.token_stats().answered, 1u);
}

TEST_F(CredentialUseTokenExchange, AnErrorAnswer) {
  pair();
  send("grant_type=refresh_token&refresh_token=" + secret);
  read(json_answer(400, R"({"error":"invalid_grant"})"));
  auto exchanges = sensor.take_token_exchanges();
  ASSERT_EQ(exchanges.size(), 1u);
  EXPECT_EQ(exchanges[0].response->status, 400);
  EXPECT_EQ(exchanges[0].response->error, "invalid_grant");
}

TEST_F(CredentialUseTokenExchange, OnlyTheTokenRequestOfAPipelineGetsTheTokenAnswer) {
  pair();
  sensor.on_data(*data_event(CT_EVENT_TLS_DATA, kSsl, api_key_request("auth.example.com", key), kT0 + 900));
  send("grant_type=client_credentials&client_secret=" + secret);
  read(json_answer(200, R"({"ok":true})") + json_answer(201, R"({"access_token":"abcdefghijklmnopqrstuvwxyz0123"})"));
  auto exchanges = sensor.take_token_exchanges();
  ASSERT_EQ(exchanges.size(), 1u);
  EXPECT_EQ(exchanges[0].response->status, 201);
}

TEST_F(CredentialUseTokenExchange, NoAnswerBeforeTheStreamEndsIsReportedWithoutOne) {
  pair();
  send("grant_type=client_credentials&client_secret=" + secret);
  sensor.on_free(free_event(CT_EVENT_TLS_FREE));
  auto exchanges = sensor.take_token_exchanges();
  ASSERT_EQ(exchanges.size(), 1u);
  EXPECT_FALSE(exchanges[0].response);
  EXPECT_EQ(sensor.token_stats().unanswered, 1u);
}

TEST_F(CredentialUseTokenExchange, NoAnswerWithinTheTimeoutIsReportedAndALateAnswerStillPairsInOrder) {
  pair();
  send("grant_type=client_credentials&client_secret=" + secret, kT0 + 1000);
  sensor.expire(kT0 + 1000 + kTokenAnswerTimeoutNs - 1);
  EXPECT_TRUE(sensor.take_token_exchanges().empty());
  sensor.expire(kT0 + 1000 + kTokenAnswerTimeoutNs);
  auto exchanges = sensor.take_token_exchanges();
  ASSERT_EQ(exchanges.size(), 1u);
  EXPECT_FALSE(exchanges[0].response);
  send("grant_type=refresh_token&refresh_token=" + secret, kT0 + kTokenAnswerTimeoutNs + 2000);
  read(json_answer(200, "{}"), kT0 + kTokenAnswerTimeoutNs + 3000);  // the late answer of the first
  EXPECT_TRUE(sensor.take_token_exchanges().empty());
  read(json_answer(200, "{}"), kT0 + kTokenAnswerTimeoutNs + 4000);
  exchanges = sensor.take_token_exchanges();
  ASSERT_EQ(exchanges.size(), 1u);
  EXPECT_EQ(exchanges[0].request->grant_type, "refresh_token");
}

TEST_F(CredentialUseTokenExchange, PlainSocketRequestsAreReportedAtOnce) {
  sensor.on_connect(connect_event(kFd, "127.0.0.1", kServerPort));
  bool stop = false;
  sensor.on_socket_data(*data_event(CT_EVENT_SOCK_DATA, kFd, token_request("grant_type=password&password=" + secret),
                                    kT0 + 1000),
                        &stop);
  auto exchanges = sensor.take_token_exchanges();
  ASSERT_EQ(exchanges.size(), 1u);
  EXPECT_FALSE(exchanges[0].endpoint.tls);
  EXPECT_EQ(exchanges[0].endpoint.port, kServerPort);
  EXPECT_FALSE(exchanges[0].response);
}

TEST(TokenRequestIn, Http2FormRequestsWhoseBodiesAreNotKeptAreCounted) {
  TokenExchangeStats stats;
  protocols::HttpRequest request;
  request.method = "POST";
  request.headers = {{"content-type", "application/x-www-form-urlencoded"}};
  EXPECT_FALSE(token_request_in(request, true, stats));
  EXPECT_EQ(stats.h2_form_bodies_unread, 1u);
  EXPECT_FALSE(token_request_in(request, false, stats));  // HTTP/1.1 with an empty body: nothing unread
  request.headers = {{"content-type", "application/json"}};
  EXPECT_FALSE(token_request_in(request, true, stats));
  EXPECT_EQ(stats.h2_form_bodies_unread, 1u);
  request.headers = {{"content-type", "application/x-www-form-urlencoded"}};
  request.body_prefix = "grant_type=client_credentials";
  EXPECT_TRUE(token_request_in(request, false, stats));
  EXPECT_EQ(stats.requests, 1u);
}

TEST_F(CredentialUseTokenExchange, AnUnreadableBodyIsCounted) {
  pair();
  std::string body = R"({"grant_type":"client_credentials","client_secret":")" + secret;  // cut JSON
  sensor.on_data(*data_event(CT_EVENT_TLS_DATA, kSsl,
                             "POST /token HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: " +
                                 std::to_string(body.size()) + "\r\n\r\n" + body,
                             kT0 + 1000));
  EXPECT_TRUE(sensor.take_token_exchanges().empty());
  EXPECT_EQ(sensor.token_stats().requests_unparsed, 1u);
}

}  // namespace
}  // namespace credtrace::sensors
