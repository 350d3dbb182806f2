// Test helper: JSON-lines events (proto3 JSON mapping) on stdin → uncompressed protobuf IngestBatch on stdout.
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "credtrace/v1/ingest.pb.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s AGENT_ID SEQUENCE < events.jsonl > batch.pb\n", argv[0]);
    return 2;
  }
  credtrace::v1::IngestBatch batch;
  batch.set_agent_id(argv[1]);
  batch.set_sequence(std::strtoull(argv[2], nullptr, 10));
  *batch.mutable_sent_at() = google::protobuf::util::TimeUtil::GetCurrentTime();
  std::string line;
  for (int n = 1; std::getline(std::cin, line); ++n) {
    if (line.empty()) continue;
    auto status = google::protobuf::util::JsonStringToMessage(line, batch.add_events());
    if (!status.ok()) {
      std::fprintf(stderr, "line %d: %s\n", n, status.ToString().c_str());
      return 1;
    }
  }
  std::string out;
  batch.SerializeToString(&out);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}
