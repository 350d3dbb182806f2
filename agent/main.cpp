// credtrace-agent command line: flags, config loading and validation, signal handling.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <optional>
#include <sstream>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "agent.h"
#include "config/agent_config.h"
#include "config/config_reload.h"
#include "log.h"
#include "logging/cli_flags.h"

namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};

void on_signal(int) { g_stop.store(true); }
void on_hangup(int) { g_reload.store(true); }

// The logger from the config's log section, with the --log-* flags (or $CREDTRACE_LOG_*) over it.
void configure_log(const credtrace::config::LogConfig& config, const credtrace::log::Flags& flags) {
  credtrace::log::Options options;
  options.component = "credtrace-agent";
  options.level = config.level;
  options.format = config.format;
  options.syslog_prefix = config.syslog_prefix;
  credtrace::log::configure(flags.applied_to(std::move(options)));
}

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Command-line values win over the file's, at start and at every reload.
struct FlagOverrides {
  std::string json_out;
  credtrace::config::CollectorConfig collector;

  void apply_to(credtrace::config::AgentConfig& config) const {
    if (!json_out.empty()) config.output.json_path = json_out;
    for (auto [flag, field] : {std::pair{&collector.url, &config.collector.url},
                               {&collector.token_file, &config.collector.token_file},
                               {&collector.ca_file, &config.collector.ca_file},
                               {&collector.cert_file, &config.collector.cert_file},
                               {&collector.key_file, &config.collector.key_file}})
      if (!flag->empty()) *field = *flag;
  }
};

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocked poll returns EINTR and the loop sees the flag
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sa.sa_handler = on_hangup;  // reload (systemctl reload): the loop re-reads the config file
  sigaction(SIGHUP, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

}  // namespace

int main(int argc, char** argv) {
  // First: a SIGHUP or SIGTERM that arrives while the agent starts is handled by the loop, not fatal.
  install_signal_handlers();
  CLI::App app{"credtrace-agent: which workload used which credential, where it came from and where it went"};
  std::string config_path;
  FlagOverrides overrides;
  bool check_config = false;
  bool show_version = false;
  app.add_option("--config", config_path, "YAML config file (default: built-in defaults)")->check(CLI::ExistingFile);
  app.add_option("--json-out", overrides.json_out, "write JSON lines to PATH, or - for stdout (overrides output.json)");
  credtrace::config::CollectorConfig& collector_flags = overrides.collector;
  app.add_option("--collector", collector_flags.url, "send events to this collector URL (overrides collector.url)");
  app.add_option("--collector-token-file", collector_flags.token_file, "file holding the collector bearer token")
      ->check(CLI::ExistingFile);
  app.add_option("--collector-ca", collector_flags.ca_file, "CA bundle for the collector's certificate")->check(CLI::ExistingFile);
  app.add_option("--collector-cert", collector_flags.cert_file, "client certificate (mTLS)")->check(CLI::ExistingFile);
  app.add_option("--collector-key", collector_flags.key_file, "client private key (mTLS)")->check(CLI::ExistingFile);
  credtrace::log::Flags log_flags;
  credtrace::log::add_flags(app, log_flags, true, "log");
  app.add_flag("--check-config", check_config, "validate the config and exit (0 valid, 2 invalid)");
  app.add_flag("--version", show_version, "print the version and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (show_version) {
    std::printf("credtrace-agent %s\n", CREDTRACE_VERSION);
    return 0;
  }
  configure_log(credtrace::config::LogConfig{}, log_flags);
  // The text is read once: what is parsed now is what a reload compares with.
  std::string running_text;
  if (!config_path.empty()) {
    std::optional<std::string> text = read_text(config_path);
    if (!text) {
      credtrace::log::error("cannot read " + config_path);
      return 2;
    }
    running_text = std::move(*text);
  }
  credtrace::config::LoadResult loaded = config_path.empty()
                                             ? credtrace::config::LoadResult{credtrace::config::default_config(), ""}
                                             : credtrace::config::load_config_text(running_text, config_path);
  if (!loaded.config) {
    credtrace::log::error(loaded.error);
    return 2;
  }
  credtrace::config::AgentConfig config = *loaded.config;
  configure_log(config.log, log_flags);
  overrides.apply_to(config);
  if (check_config) {
    if (std::string problem = credtrace::config_files_problem(config); !problem.empty()) {
      credtrace::log::error((config_path.empty() ? std::string("built-in defaults") : config_path) + ": " + problem);
      return 2;
    }
    std::printf("%s: ok\n", config_path.empty() ? "built-in defaults" : config_path.c_str());
    return 0;
  }
  std::string error;
  auto agent = credtrace::Agent::create(config, &error);
  if (!agent) {
    credtrace::log::error(error);
    return 1;
  }
  credtrace::config::LogConfig running_log = config.log;
  auto reload = [&] {
    agent->reopen_json_output_file();  // after logrotate moved it away, even when the config is not re-read
    if (config_path.empty()) return credtrace::log::warn("reload: no --config file; nothing to re-read");
    const std::optional<std::string> text = read_text(config_path);
    if (!text) return credtrace::log::error("reload refused, the running config is kept: cannot read " + config_path);
    credtrace::config::ReloadPlan plan = credtrace::config::plan_reload(running_text, *text, config_path);
    if (!plan.config) return credtrace::log::error("reload refused, the running config is kept: " + plan.error);
    overrides.apply_to(*plan.config);
    for (const auto& key : plan.needs_restart)
      credtrace::log::warn("reload: " + key + " changed in " + config_path +
                           ": it needs a restart; the running value is kept");
    const std::vector<std::string> refused = agent->apply_reload(*plan.config, plan.applied);
    for (const auto& key : plan.applied) {
      if (std::find(refused.begin(), refused.end(), key) != refused.end()) {
        credtrace::log::warn("reload: " + key + " refused; the running value is kept (fix it and reload again)");
        continue;
      }
      if (key == "log.level") {  // only the level: format and prefix need a restart; a --log-level flag still wins
        running_log.level = plan.config->log.level;
        configure_log(running_log, log_flags);
        if (!log_flags.level.empty()) {
          credtrace::log::info("reload: log.level changed in " + config_path + ", but --log-level " + log_flags.level +
                               " on the command line wins");
          continue;
        }
      }
      credtrace::log::info("reload: " + key + " applied");
    }
    // Compared with this file from now on (a key that needs a restart is said once), unless a key was refused: then
    // the next reload tries it again.
    if (refused.empty()) running_text = *text;
  };
  return agent->run(g_stop, &g_reload, reload);
}
