// `credtrace preload host-wide enable|disable|status`: the credtrace line of /etc/ld.so.preload.
#pragma once

#include <ostream>
#include <string>

namespace credtrace::cli {

struct HostPreloadOptions {
  std::string action;                     // enable, disable, status
  std::string file = "/etc/ld.so.preload";
  std::string preload;                    // --preload; else the run command's lookup
};

// Exit 0 on success (also "already enabled", "not enabled"), 2 on error. Prints what it did or found.
int run_host_preload(const HostPreloadOptions& options, std::ostream& out);

}  // namespace credtrace::cli
