// Builds process records from kernel exec records and from /proc, and names programs for reports.
#include "tracking/proc_records.h"

#include <cstring>
#include <regex>
#include <set>

#include "common/paths.h"
#include "discovery/exec_prefilter.h"
#include "identity/procfs.h"
#include "mcp/argv_unwrap.h"
#include "secrets/argv_redact.h"

namespace credtrace::tracking {

using process::ProcessRecord;

namespace {

std::string bounded_string(const char* data, size_t max) { return std::string(data, strnlen(data, max)); }

// Interpreters (node, python3.x, bun, …) and wrappers (sh, env, nohup, …): the program is what they run.
bool runs_another_program(const std::string& base) {
  static const std::set<std::string> wrappers = discovery::prefilter_wrappers();
  return mcp::detail::is_interpreter_kind(mcp::detail::program_kind(base)) || wrappers.count(base) > 0;
}

// A wrapper's numeric operand (timeout 30, nice -n 10, timeout 2.5m): not the program.
bool is_wrapper_operand(const std::string& arg) {
  static const std::regex duration(R"([0-9]+(\.[0-9]+)?[smhd]?)");
  return std::regex_match(arg, duration);
}

}  // namespace

ProcessRecord record_from_exec(const ct_exec_event& e) {
  ProcessRecord record;
  record.pid = e.hdr.tgid;
  record.ppid = e.ppid;
  record.uid = e.uid;
  record.start_boottime_ns = e.start_boottime_ns;
  record.exec_boot_ns = e.hdr.time_boot_ns;
  const size_t len = std::min<size_t>(e.args_len, sizeof(e.args));
  record.argv = identity::split_nul(std::string_view(e.args, len));
  record.args_truncated = e.hdr.flags & CT_FLAG_TRUNCATED;
  record.exe = bounded_string(e.filename, sizeof(e.filename));
  record.comm = bounded_string(e.comm, sizeof(e.comm));
  return record;
}

std::optional<ProcessRecord> record_from_proc(uint32_t pid, const std::string& proc_root) {
  const auto id = static_cast<int32_t>(pid);
  auto status = identity::read_status(id, proc_root);
  if (!status) return std::nullopt;  // gone: nothing to watch (and no uid to report as root by default)
  ProcessRecord record;
  record.pid = pid;
  record.ppid = static_cast<uint32_t>(status->ppid);
  record.uid = status->uid;
  record.comm = status->name;
  record.argv = identity::read_cmdline(id, proc_root).value_or(std::vector<std::string>{});
  record.exe = identity::read_exe(id, proc_root);
  record.start_boottime_ns = identity::read_start_time_ns(id, proc_root).value_or(0);
  return record;
}

std::string program_name(const std::vector<std::string>& argv, const std::string& exe) {
  static const std::set<std::string> inline_code_flags = {"-c", "-e", "-lc", "-ic", "--eval", "-p", "--print"};
  for (const auto& arg : secrets::redact_argv(argv)) {
    if (inline_code_flags.count(arg)) break;
    if (arg.empty() || arg[0] == '-') continue;
    if (arg.find_first_of("=;<> \t\n\"'`$|&") != std::string::npos) break;
    std::string base = common::file_name(arg);
    if (runs_another_program(base) || is_wrapper_operand(arg)) continue;
    return base;
  }
  return common::file_name(exe);
}

bool same_start(uint64_t a_boot_ns, uint64_t b_boot_ns) { return a_boot_ns / 10000000 == b_boot_ns / 10000000; }

}  // namespace credtrace::tracking
