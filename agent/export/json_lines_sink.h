// JSON-lines sink: one event per line in the proto3 JSON mapping (snake_case keys), flushed per line.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "credtrace/v1/events.pb.h"
#include "export/event_sink.h"

namespace credtrace::exporter {

// The proto3 JSON form of one event on a single line (no trailing newline).
// export/proto_json's encoder; protobuf's printer where that declines (an out-of-range Timestamp: then "").
std::string event_to_json_line(const credtrace::v1::Event& event);
// The same through protobuf's MessageToJsonString (the reference the fast encoder is tested and measured against);
// "" when protobuf fails.
std::string event_to_json_line_protobuf(const credtrace::v1::Event& event);

class JsonLinesSink final : public EventSink {
 public:
  // path "-" writes to stdout; any other path is opened for append (created 0600).
  static std::unique_ptr<JsonLinesSink> open(const std::string& path, std::string* error);
  ~JsonLinesSink();
  JsonLinesSink(const JsonLinesSink&) = delete;
  JsonLinesSink& operator=(const JsonLinesSink&) = delete;

  // Writes one whole line with write(2) (no user-space buffer: a failed line never resurfaces later);
  // false (and counted) when the write fails.
  bool append(const credtrace::v1::Event& event);
  void write(const credtrace::v1::Event& event) override { append(event); }
  // Lines that could not be written, as agent_errors.output_write.
  void report(credtrace::v1::AgentHealth& health) const override;
  uint64_t written() const { return written_; }
  uint64_t failures() const { return failures_; }

 private:
  JsonLinesSink(int fd, bool owned) : fd_(fd), owned_(owned) {}
  int fd_;
  bool owned_;
  uint64_t written_ = 0;
  uint64_t failures_ = 0;
};

}  // namespace credtrace::exporter
