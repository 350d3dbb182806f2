// Fuzz target for credfiles::parse_mcp_config: every client's JSON/JSONC shape and Continue's YAML shape.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "credfiles/parsers.h"
#include "fuzz_credfiles_common.h"

namespace {

constexpr std::string_view kPaths[] = {
    "/home/u/.config/Claude/claude_desktop_config.json", "/home/u/.claude.json", "/p/.cursor/mcp.json",
    "/p/.vscode/mcp.json", "/home/u/.config/zed/settings.json", "/home/u/.continue/config.yaml",
    "/home/u/unknown.json"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  for (std::string_view path : kPaths) {
    credtrace::fuzz::check_credfiles_result(input, credtrace::credfiles::parse_mcp_config(path, input));
  }
  return 0;
}
