// Cached, thread-safe uid → user name lookups via getpwuid_r.
#include "identity/users.h"

#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace credtrace::identity {
namespace {

constexpr size_t kMaxCacheEntries = 4096;
constexpr size_t kMaxPwBuffer = 1 << 20;

std::string lookup_uncached(uint32_t uid) {
  long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
  size_t size = hint > 0 ? static_cast<size_t>(hint) : 1024;
  while (size <= kMaxPwBuffer) {
    std::vector<char> buf(size);
    struct passwd pw {};
    struct passwd* result = nullptr;
    int rc = getpwuid_r(static_cast<uid_t>(uid), &pw, buf.data(), buf.size(), &result);
    if (rc == ERANGE) {
      size *= 2;
      continue;
    }
    return (rc == 0 && result != nullptr && result->pw_name != nullptr) ? std::string(result->pw_name) : "";
  }
  return "";
}

struct UserCache {
  std::mutex mu;
  std::unordered_map<uint32_t, std::string> names;
};

UserCache& cache() {
  static UserCache instance;
  return instance;
}

}  // namespace

std::string user_name_for_uid(uint32_t uid) {
  UserCache& c = cache();
  {
    std::lock_guard lock(c.mu);
    if (auto it = c.names.find(uid); it != c.names.end()) return it->second;
  }
  std::string name = lookup_uncached(uid);  // NSS may be slow: never under the lock
  std::lock_guard lock(c.mu);
  if (c.names.size() >= kMaxCacheEntries) c.names.clear();
  c.names.emplace(uid, name);
  return name;
}

}  // namespace credtrace::identity
