// FakeCollector: a loopback HTTP/1.1 server standing in for POST /v1/ingest in unit tests. It inflates and parses
// each IngestBatch, records it, and answers with a status chosen per request (200 carries an IngestAck).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "credtrace/v1/ingest.pb.h"
#include "export/ingest_batch.h"

namespace credtrace::exporter::testing {

struct ReceivedBatch {
  credtrace::v1::IngestBatch batch;
  std::string authorization, content_encoding;
  int status = 0;  // what the fake answered
};

class FakeCollector {
 public:
  // Chooses the reply status for a request (the n-th, from 0) carrying `batch`.
  using Policy = std::function<int(size_t n, const credtrace::v1::IngestBatch& batch)>;

  explicit FakeCollector(Policy policy = nullptr, uint16_t port = 0) : policy_(std::move(policy)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(listen_fd_, 16) != 0)
      return;
    socklen_t len = sizeof(addr);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeCollector() { stop(); }

  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (listen_fd_ >= 0) ::close(listen_fd_);
    listen_fd_ = -1;
  }

  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  std::vector<ReceivedBatch> received() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return received_;
  }
  // Events in acknowledged batches, counting each (agent_id, sequence) once, as the real collector stores them.
  size_t stored_events() const {
    std::lock_guard<std::mutex> lock(mutex_);
    size_t n = 0;
    std::vector<uint64_t> seen;
    for (const auto& r : received_) {
      if (r.status != 200 || std::find(seen.begin(), seen.end(), r.batch.sequence()) != seen.end()) continue;
      seen.push_back(r.batch.sequence());
      n += static_cast<size_t>(r.batch.events_size());
    }
    return n;
  }
  std::vector<uint64_t> stored_sequences() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<uint64_t> out;
    for (const auto& r : received_)
      if (r.status == 200 && std::find(out.begin(), out.end(), r.batch.sequence()) == out.end())
        out.push_back(r.batch.sequence());
    return out;
  }

 private:
  static std::string header(const std::string& head, const std::string& name) {
    std::string lower_head = head;
    for (auto& c : lower_head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    size_t at = lower_head.find("\r\n" + name + ":");
    if (at == std::string::npos) return {};
    size_t start = at + 2 + name.size() + 1;
    size_t end = head.find("\r\n", start);
    std::string value = head.substr(start, end - start);
    while (!value.empty() && value.front() == ' ') value.erase(value.begin());
    return value;
  }

  void serve() {
    while (!stop_) {
      pollfd pfd{listen_fd_, POLLIN, 0};
      if (::poll(&pfd, 1, 50) <= 0) continue;
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      handle(fd);
      ::close(fd);
    }
  }

  void handle(int fd) {
    std::string data;
    char buf[65536];
    size_t head_end = std::string::npos;
    while (head_end == std::string::npos) {
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) return;
      data.append(buf, static_cast<size_t>(n));
      head_end = data.find("\r\n\r\n");
    }
    const std::string head = data.substr(0, head_end);
    const size_t length = std::stoul(header(head, "content-length").empty() ? "0" : header(head, "content-length"));
    while (data.size() < head_end + 4 + length) {
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) return;
      data.append(buf, static_cast<size_t>(n));
    }
    ReceivedBatch r;
    r.authorization = header(head, "authorization");
    r.content_encoding = header(head, "content-encoding");
    bool parsed = decode_batch(data.substr(head_end + 4, length), r.batch);
    size_t n;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      n = requests_++;
    }
    r.status = !parsed ? 400 : policy_ ? policy_(n, r.batch) : 200;
    std::string body;
    if (r.status == 200) {
      credtrace::v1::IngestAck ack;
      ack.set_agent_id(r.batch.agent_id());
      ack.set_sequence(r.batch.sequence());
      ack.set_accepted(static_cast<uint32_t>(r.batch.events_size()));
      ack.SerializeToString(&body);
    } else {
      body = "{\"error\":\"fake\"}";
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      received_.push_back(r);
    }
    std::string reply = "HTTP/1.1 " + std::to_string(r.status) + " X\r\nContent-Type: application/x-protobuf\r\n"
                        "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    (void)!::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
  }

  Policy policy_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<ReceivedBatch> received_;
  size_t requests_ = 0;
};

}  // namespace credtrace::exporter::testing
