// Fuzz target for config::load_config_text (the agent's YAML configuration schema and validation).
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/agent_config.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using credtrace::fuzz::check;
  std::string text(reinterpret_cast<const char*>(data), size);
  credtrace::config::LoadResult result = credtrace::config::load_config_text(text, "fuzz.yaml");
  if (!result.config) {
    check(!result.error.empty(), "no config and no error");
    check(result.error.rfind("fuzz.yaml:", 0) == 0, "error does not start with FILE:");
    return 0;
  }
  const auto& cfg = *result.config;
  const uint32_t ringbuf = cfg.probes.ringbuf_bytes;
  check(ringbuf >= (64u << 10) && ringbuf <= (1u << 30) && (ringbuf & (ringbuf - 1)) == 0,
        "accepted ringbuf_bytes is not a power of two in [64 KiB, 1 GiB]");
  check(cfg.probes.poll_interval_ms >= 1 && cfg.probes.poll_interval_ms <= 1000, "poll_interval_ms out of range");
  check(cfg.health_interval_seconds >= 1 && cfg.health_interval_seconds <= 86400, "health_interval_seconds out of range");
  return 0;
}
