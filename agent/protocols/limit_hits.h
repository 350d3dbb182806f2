// How often the protocol parsers' size limits were hit, summed over every stream in the agent (for agent_health).
#pragma once

#include <atomic>
#include <cstdint>

namespace credtrace::protocols {

// Every counter only ever grows; each is also in the hitting parser's own stats.
struct LimitHits {
  std::atomic<uint64_t> http1_header_blocks{0};  // HTTP/1 request or response header blocks over kMaxHeaderBlock
  std::atomic<uint64_t> http2_header_blocks{0};  // HTTP/2 HEADERS + CONTINUATION payloads over kMaxHeaderBlock
  std::atomic<uint64_t> http2_header_lists{0};   // HTTP/2 decoded header lists over kMaxHeaderList
};

// The agent's one set of counters.
LimitHits& limit_hits();

// Counts one hit.
inline void count_hit(std::atomic<uint64_t>& counter) { counter.fetch_add(1, std::memory_order_relaxed); }

}  // namespace credtrace::protocols
