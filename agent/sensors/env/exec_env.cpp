// Kernel-read exec environments: chunk reassembly per pid, parsing into NAME/VALUE pairs, wiping what is not used.
#include "sensors/env/exec_env.h"

#include <openssl/crypto.h>

#include <algorithm>

namespace credtrace::sensors {

std::vector<std::pair<std::string, std::string>> parse_env_block(std::string_view block, bool complete) {
  std::vector<std::pair<std::string, std::string>> vars;
  size_t at = 0;
  while (at < block.size()) {
    size_t end = block.find('\0', at);
    if (end == std::string_view::npos) {
      if (!complete) break;  // cut by the chunk limit: the value may be partial
      end = block.size();
    }
    std::string_view entry = block.substr(at, end - at);
    size_t eq = entry.find('=');
    if (eq != std::string_view::npos && eq > 0) vars.emplace_back(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
    at = end + 1;
  }
  return vars;
}

ExecEnvironments::~ExecEnvironments() {
  for (auto& [_, block] : blocks_) wipe(block);
}

void ExecEnvironments::wipe(Block& block) {
  OPENSSL_cleanse(block.bytes.data(), block.bytes.size());
  block.bytes.clear();
}

void ExecEnvironments::on_chunk(const ct_exec_env_event& e) {
  const uint32_t pid = e.hdr.tgid;
  const size_t len = std::min<size_t>(e.len, sizeof(e.data));
  auto it = blocks_.find(pid);
  if (e.offset == 0) {
    if (it != blocks_.end()) wipe(it->second);  // an earlier exec's block whose exec event never came
    if (it == blocks_.end() && blocks_.size() >= max_held_) evict_oldest();
    Block& block = blocks_[pid];
    block = Block{};
    block.total_len = e.total_len;
    block.bytes.reserve(std::min<size_t>(e.total_len, size_t{CT_ENV_CHUNK_LEN} * CT_ENV_MAX_CHUNKS));
    block.time_boot_ns = e.hdr.time_boot_ns;
    block.arrival = ++arrivals_;
    ++stats_.blocks;
    it = blocks_.find(pid);
  }
  if (it == blocks_.end()) return;  // the first chunk was lost: nothing to add this to
  Block& block = it->second;
  if (e.offset != block.bytes.size() || len == 0) {
    if (!block.broken) ++stats_.gaps;
    block.broken = true;
    return;
  }
  if (block.bytes.size() + len > block.bytes.capacity()) {  // never reallocate a buffer holding values
    if (!block.broken) ++stats_.gaps;
    block.broken = true;
    return;
  }
  block.bytes.append(e.data, len);
  if (e.hdr.flags & CT_FLAG_TRUNCATED) {
    block.broken = true;
    ++stats_.truncated;
  }
}

void ExecEnvironments::evict_oldest() {
  auto oldest = std::min_element(blocks_.begin(), blocks_.end(),
                                 [](const auto& a, const auto& b) { return a.second.arrival < b.second.arrival; });
  wipe(oldest->second);
  blocks_.erase(oldest);
  ++stats_.evicted;
}

std::optional<ExecEnvironments::Env> ExecEnvironments::take(uint32_t pid, uint64_t process_start_boottime_ns) {
  auto it = blocks_.find(pid);
  if (it == blocks_.end()) return std::nullopt;
  Block& block = it->second;
  // /proc start times have clock-tick (10 ms) resolution: a block older than that is an earlier process's.
  constexpr uint64_t kTick = 10'000'000;
  if (process_start_boottime_ns && block.time_boot_ns + kTick < process_start_boottime_ns) {
    drop(pid);
    return std::nullopt;
  }
  Env env;
  env.complete = !block.broken && block.bytes.size() == block.total_len;
  env.vars = parse_env_block(block.bytes, env.complete);
  wipe(block);
  blocks_.erase(it);
  ++stats_.used;
  return env;
}

void ExecEnvironments::drop(uint32_t pid) {
  auto it = blocks_.find(pid);
  if (it == blocks_.end()) return;
  wipe(it->second);
  blocks_.erase(it);
}

}  // namespace credtrace::sensors
