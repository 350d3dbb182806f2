// uid → user name through the system's passwd database (NSS), cached.
#pragma once

#include <cstdint>
#include <string>

namespace credtrace::identity {

// getpwuid_r with a small thread-safe cache (unknown uids are cached as ""). "" when unknown.
std::string user_name_for_uid(uint32_t uid);

}  // namespace credtrace::identity
