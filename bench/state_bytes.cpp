// Heap bytes per watched server of the agent's per-server env secret tables (issue 18's memory target): the env usage
// book and the credential registry's env sources, each filled as the agent fills it for a server with 10 env
// secrets (realistically shaped, random per server), measured with mallinfo2 (chunk overhead included).
// Usage: bench_state_bytes [SERVERS]
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "events/credential_facts.h"
#include "events/credential_registry.h"
#include "sensors/preload/env_usage.h"

namespace {

std::string random_from(std::mt19937& rng, const std::string& charset, size_t count) {
  std::uniform_int_distribution<size_t> pick(0, charset.size() - 1);
  std::string out;
  for (size_t i = 0; i < count; ++i) out.push_back(charset[pick(rng)]);
  return out;
}

struct EnvSecret {
  std::string name;
  credtrace::v1::Credential credential;
};

// The 10 secrets of one server's environment, described as the env sensor describes them.
std::vector<EnvSecret> server_secrets(std::mt19937& rng, const credtrace::secrets::Fingerprinter& fingerprinter) {
  const std::string alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  struct Shape {
    const char* name;
    const char* type;
    std::string value;
    size_t prefix;
  };
  const std::vector<Shape> shapes = {
      {"GITHUB_TOKEN", "github_pat", "ghp_" + random_from(rng, alnum, 36), 4},
      {"OPENAI_API_KEY", "openai", "sk-proj-" + random_from(rng, alnum, 48), 8},
      {"ANTHROPIC_API_KEY", "anthropic", "sk-ant-api03-" + random_from(rng, alnum, 93), 13},
      {"AWS_ACCESS_KEY_ID", "aws_access_key_id", "AKIA" + random_from(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16), 4},
      {"AWS_SECRET_ACCESS_KEY", "aws_secret_access_key", random_from(rng, alnum + "+/", 40), 0},
      {"SLACK_BOT_TOKEN", "slack_bot_token", "xoxb-" + random_from(rng, "0123456789", 12) + "-" +
                                                 random_from(rng, alnum, 24), 5},
      {"STRIPE_SECRET_KEY", "stripe_secret_key", "sk_test_" + random_from(rng, alnum, 99), 8},
      {"GITLAB_TOKEN", "gitlab_pat", "glpat-" + random_from(rng, alnum, 20), 6},
      {"DATABASE_PASSWORD", "password", random_from(rng, alnum, 24), 0},
      {"SERVICE_API_TOKEN", "generic_token", random_from(rng, alnum, 40), 0},
  };
  std::vector<EnvSecret> out;
  for (const Shape& s : shapes)
    out.push_back({s.name, credtrace::events::describe_credential(fingerprinter, s.value, s.type, s.prefix)});
  return out;
}

size_t heap_in_use() { return mallinfo2().uordblks; }

// Bytes per server that fill(server, secrets) leaves on the heap, over `servers` servers.
double per_server(size_t servers, const std::vector<std::vector<EnvSecret>>& secrets,
                  const std::function<void(uint32_t, const std::vector<EnvSecret>&)>& fill) {
  const size_t before = heap_in_use();
  for (uint32_t server = 0; server < servers; ++server) fill(1000 + server, secrets[server]);
  return static_cast<double>(heap_in_use() - before) / static_cast<double>(servers);
}

}  // namespace

int main(int argc, char** argv) {
  const size_t servers = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 1000;
  auto fingerprinter = credtrace::secrets::Fingerprinter::from_key("bench-fleet-key-0123456789abcdef", nullptr);
  if (!fingerprinter) return 1;
  std::mt19937 rng(18);
  std::vector<std::vector<EnvSecret>> secrets;
  for (size_t i = 0; i < servers; ++i) secrets.push_back(server_secrets(rng, *fingerprinter));

  credtrace::sensors::EnvUsageBook book;
  const double book_bytes = per_server(servers, secrets, [&](uint32_t server, const std::vector<EnvSecret>& found) {
    for (const EnvSecret& s : found) book.expose(server, s.name, s.credential);
    book.observed(server, server);
  });
  credtrace::events::CredentialRegistry registry;
  const double registry_bytes =
      per_server(servers, secrets, [&](uint32_t server, const std::vector<EnvSecret>& found) {
        for (const EnvSecret& s : found) {
          credtrace::v1::Source source;
          source.set_kind("env");
          source.set_name(s.name);
          registry.add_workload_source(server, s.credential.fingerprint(), source);
        }
      });
  std::printf("per watched server with 10 env secrets (%zu servers, heap in use incl. malloc's overhead): env usage "
              "book %.0f bytes, credential registry env sources %.0f bytes\n",
              servers, book_bytes, registry_bytes);
  return 0;
}
