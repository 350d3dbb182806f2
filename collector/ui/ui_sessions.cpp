// Web UI login sessions: random ids (SHA-256 kept), CSRF tokens, idle/absolute expiry, bounded with eviction.
#include "ui/ui_sessions.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <sys/random.h>

#include <algorithm>

namespace credtrace::collector {
namespace {

// 32 bytes from the kernel's random source as 64 lowercase hex digits; empty on failure.
std::string random_hex32() {
  std::array<uint8_t, 32> bytes{};
  size_t filled = 0;
  while (filled < bytes.size()) {
    ssize_t n = ::getrandom(bytes.data() + filled, bytes.size() - filled, 0);
    if (n <= 0) return {};
    filled += static_cast<size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (uint8_t b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return out;
}

}  // namespace

bool same_secret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

UiSessionBook::Hash UiSessionBook::hash(std::string_view session_id) {
  Hash out{};
  SHA256(reinterpret_cast<const unsigned char*>(session_id.data()), session_id.size(), out.data());
  return out;
}

bool UiSessionBook::is_expired(const Entry& entry, Clock::time_point now) const {
  return now - entry.last_used >= limits_.idle || now - entry.opened >= limits_.absolute;
}

void UiSessionBook::drop_expired(Clock::time_point now) {
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (is_expired(it->second, now)) {
      it = sessions_.erase(it);
      ++expired_;
    } else {
      ++it;
    }
  }
}

void UiSessionBook::evict_least_recently_used() {
  auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](const auto& a, const auto& b) {
    return a.second.last_used < b.second.last_used;
  });
  if (oldest == sessions_.end()) return;
  sessions_.erase(oldest);
  ++evicted_;
}

std::string UiSessionBook::open(Clock::time_point now) {
  std::string id = random_hex32(), csrf = random_hex32();
  if (id.empty() || csrf.empty()) return {};
  std::lock_guard lock(mutex_);
  drop_expired(now);
  while (limits_.max_sessions > 0 && sessions_.size() >= limits_.max_sessions) evict_least_recently_used();
  sessions_[hash(id)] = Entry{std::move(csrf), now, now};
  return id;
}

std::optional<UiSessionView> UiSessionBook::use(std::string_view session_id, Clock::time_point now) {
  if (session_id.size() != 64) return std::nullopt;
  const Hash key = hash(session_id);
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return std::nullopt;
  if (is_expired(it->second, now)) {
    sessions_.erase(it);
    ++expired_;
    return std::nullopt;
  }
  it->second.last_used = now;
  return UiSessionView{it->second.csrf_token};
}

bool UiSessionBook::close(std::string_view session_id) {
  const Hash key = hash(session_id);
  std::lock_guard lock(mutex_);
  return sessions_.erase(key) > 0;
}

size_t UiSessionBook::live() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

uint64_t UiSessionBook::evicted() const {
  std::lock_guard lock(mutex_);
  return evicted_;
}

uint64_t UiSessionBook::expired() const {
  std::lock_guard lock(mutex_);
  return expired_;
}

}  // namespace credtrace::collector
