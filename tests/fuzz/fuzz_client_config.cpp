// Fuzz target for mcp::parse_client_config: every client's JSON/JSONC shape and Continue's YAML shape.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_common.h"
#include "mcp/client_config.h"

namespace {

using credtrace::fuzz::check;
using namespace credtrace::mcp;

constexpr Client kClients[] = {Client::claude_desktop, Client::claude_code, Client::cursor,      Client::vscode,
                               Client::windsurf,       Client::cline,       Client::gemini_cli,  Client::zed,
                               Client::continue_dev,   Client::unknown};

void parse_and_check(std::string_view path, std::string_view content, Client client) {
  ConfigParseResult result = parse_client_config(path, content, client);
  for (const ServerEntry& entry : result.servers) {
    check(entry.client == client, "entry.client differs from the client parsed for");
    check(entry.config_path == path, "entry.config_path differs from the parsed path");
  }
  // Errors never quote the content (a long enough content cannot appear in the message).
  if (content.size() >= 32 && !result.error.empty()) {
    check(result.error.find(content) == std::string::npos, "error message quotes the config content");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view content(reinterpret_cast<const char*>(data), size);
  for (Client client : kClients) {
    std::string path = "/home/u/" + std::string(client_name(client)) + "/mcp.json";
    parse_and_check(path, content, client);
  }
  parse_and_check("/home/u/.continue/mcpServers/server.yaml", content, Client::continue_dev);
  parse_and_check("/home/u/.continue/config.yml", content, Client::continue_dev);
  return 0;
}
