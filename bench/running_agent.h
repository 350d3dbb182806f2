// The real credtrace-agent as a child process of a benchmark: started with a temporary config, ready when its
// agent_ready line appears, stopped with SIGTERM when the object goes away.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

class RunningAgent {
 public:
  // extra_mcp_config: YAML lines appended under the mcp: section (indented by two spaces); extra_config: top-level
  // YAML sections after it ("tls:\n  uprobe_mode: global\n").
  bool start(const std::string& dir, const std::string& extra_mcp_config = "", const std::string& extra_config = "") {
    const std::string config = dir + "/bench.yaml", events = dir + "/events.jsonl", log = dir + "/agent.log";
    std::remove(events.c_str());
    std::ofstream(config) << "state_dir: " << dir << "\noutput:\n  json: " << events
                          << "\nmcp:\n  scan_user_homes: false\n" << extra_mcp_config << extra_config;
    pid_ = fork();
    if (pid_ == 0) {
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd >= 0) dup2(fd, 1), dup2(fd, 2);
      execl(CREDTRACE_AGENT_PATH, CREDTRACE_AGENT_PATH, "--config", config.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 300; ++i) {
      std::ifstream in(events);
      std::stringstream text;
      text << in.rdbuf();
      if (text.str().find("\"agent_ready\"") != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  ~RunningAgent() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }

 private:
  pid_t pid_ = -1;
};
