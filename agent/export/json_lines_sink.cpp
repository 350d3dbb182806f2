// JSON-lines sink: proto3 JSON mapping through protobuf's JSON printer, one flushed line per event.
#include "export/json_lines_sink.h"

#include <fcntl.h>
#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace credtrace::exporter {

std::string event_to_json_line(const credtrace::v1::Event& event) {
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
  if (path == "-") return std::unique_ptr<JsonLinesSink>(new JsonLinesSink(stdout, false));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (error) *error = "cannot open JSON output " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  FILE* file = fdopen(fd, "a");
  if (!file) {
    ::close(fd);
    if (error) *error = "cannot open JSON output " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  return std::unique_ptr<JsonLinesSink>(new JsonLinesSink(file, true));
}

JsonLinesSink::~JsonLinesSink() {
  if (!file_) return;
  std::fflush(file_);
  if (owned_) std::fclose(file_);
}

bool JsonLinesSink::write(const credtrace::v1::Event& event) {
  std::string line = event_to_json_line(event);
  if (line.empty()) {
    ++failures_;
    return false;
  }
  line.push_back('\n');
  bool ok = std::fwrite(line.data(), 1, line.size(), file_) == line.size() && std::fflush(file_) == 0;
  if (ok) {
    ++written_;
  } else {
    ++failures_;
    clearerr(file_);
  }
  return ok;
}

}  // namespace credtrace::exporter
