// JSON-lines sink: proto3 JSON mapping (export/proto_json, protobuf's printer as fallback), one write(2) per line.
#include "export/json_lines_sink.h"

#include "export/proto_json.h"

#include <fcntl.h>
#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace credtrace::exporter {

std::string event_to_json_line(const credtrace::v1::Event& event) {
  std::string out;
  out.reserve(4096);  // a typical event is 1-3 KiB: one allocation
  if (append_json(event, out)) return out;
  return event_to_json_line_protobuf(event);
}

std::string event_to_json_line_protobuf(const credtrace::v1::Event& event) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  options.add_whitespace = false;
  std::string out;
  auto status = google::protobuf::util::MessageToJsonString(event, &out, options);
  if (!status.ok()) return {};
  return out;
}

std::unique_ptr<JsonLinesSink> JsonLinesSink::open(const std::string& path, std::string* error) {
  if (path == "-") return std::unique_ptr<JsonLinesSink>(new JsonLinesSink(STDOUT_FILENO, false));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (error) *error = "cannot open JSON output " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  return std::unique_ptr<JsonLinesSink>(new JsonLinesSink(fd, true));
}

JsonLinesSink::~JsonLinesSink() {
  if (owned_ && fd_ >= 0) ::close(fd_);
}

bool JsonLinesSink::append(const credtrace::v1::Event& event) {
  std::string line = event_to_json_line(event);
  if (line.empty()) {
    ++failures_;
    return false;
  }
  line.push_back('\n');
  std::string_view rest(line);
  while (!rest.empty()) {
    ssize_t n = ::write(fd_, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ++failures_;
      return false;
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  ++written_;
  return true;
}

void JsonLinesSink::report(credtrace::v1::AgentHealth& health) const {
  (*health.mutable_agent_errors())["output_write"] = failures_;
}

}  // namespace credtrace::exporter
