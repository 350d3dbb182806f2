// Bounds on what one ingest batch may make the collector store: every string and repeated field (cut and flagged),
// each event's size, timestamps in a sane window with nanos in range, finite numbers (refused); one reflection walk.
#include "ingest/event_limits.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <cmath>
#include <string>
#include <vector>

namespace credtrace::collector {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

constexpr int64_t kTimestampMinSeconds = -62135596800;  // 0001-01-01: google.protobuf.Timestamp's valid range
constexpr int64_t kTimestampMaxSeconds = 253402300799;  // 9999-12-31T23:59:59Z

// One event's walk: the limits, the latest observation time allowed, and the cuts made so far.
struct Walk {
  const EventLimits& limits;
  int64_t latest_seconds;
  std::vector<std::string> cuts;
};

// Where a value is: `path` names it in errors (with entry indexes), `cut` in truncated_fields (without).
struct Place {
  std::string path, cut;
  bool observation;  // a time in it is an observation (not a token's claim)
};

Status broken(const std::string& path, const std::string& what) { return Status::error(path + ": " + what); }

std::string join(const std::string& path, const FieldDescriptor* field) {
  return path.empty() ? field->name() : path + "." + field->name();
}

size_t utf8_cut(const std::string& text, size_t limit) {
  size_t cut = limit;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
  return cut;
}

// A timestamp in range: an observation within earliest_seconds .. `latest` (the collector's now + max_ahead), any
// other time within google.protobuf.Timestamp's years 1 to 9999; nanos in 0..999,999,999 either way.
Status check_timestamp(const Message& ts, const std::string& path, bool observation, const EventLimits& limits,
                       int64_t latest_observation) {
  const auto* descriptor = ts.GetDescriptor();
  const auto* reflection = ts.GetReflection();
  const int64_t seconds = reflection->GetInt64(ts, descriptor->FindFieldByName("seconds"));
  const int32_t nanos = reflection->GetInt32(ts, descriptor->FindFieldByName("nanos"));
  if (nanos < 0 || nanos > 999999999) return broken(path, "nanos " + std::to_string(nanos) + " outside 0..999999999");
  const int64_t earliest = observation ? limits.earliest_seconds : kTimestampMinSeconds;
  const int64_t latest = observation ? latest_observation : kTimestampMaxSeconds;
  if (seconds < earliest || seconds > latest)
    return broken(path, "seconds " + std::to_string(seconds) +
                            (observation ? " outside 2000-01-01 .. the collector's now + " +
                                               std::to_string(limits.max_ahead_seconds) + " s"
                                         : " outside the years 1 .. 9999"));
  return {};
}

Status bound_message(Message& message, const Place& place, Walk& walk);

// One value of a field (entry `index` of a repeated one): a string cut, a number checked, a message walked.
Status bound_value(Message& message, const FieldDescriptor* field, int index, const Place& place, Walk& walk) {
  const auto* reflection = message.GetReflection();
  const bool repeated = field->is_repeated();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& text = repeated ? reflection->GetRepeatedStringReference(message, field, index, &scratch)
                                         : reflection->GetStringReference(message, field, &scratch);
      if (text.size() <= walk.limits.max_string_bytes) return {};
      std::string cut = text.substr(0, utf8_cut(text, walk.limits.max_string_bytes));
      if (repeated) reflection->SetRepeatedString(&message, field, index, std::move(cut));
      else reflection->SetString(&message, field, std::move(cut));
      walk.cuts.push_back(place.cut);
      return {};
    }
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: {
      const double value = field->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE
                               ? (repeated ? reflection->GetRepeatedDouble(message, field, index)
                                           : reflection->GetDouble(message, field))
                               : (repeated ? reflection->GetRepeatedFloat(message, field, index)
                                           : reflection->GetFloat(message, field));
      if (!std::isfinite(value)) return broken(place.path, "not a finite number");
      return {};
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      Message& nested = repeated ? *reflection->MutableRepeatedMessage(&message, field, index)
                                 : *reflection->MutableMessage(&message, field);
      const bool claims = message.GetDescriptor()->full_name() == "credtrace.v1.Jwt";
      return bound_message(nested, Place{place.path, place.cut, place.observation && !claims}, walk);
    }
    default:
      return {};
  }
}

Status bound_message(Message& message, const Place& place, Walk& walk) {
  if (message.GetDescriptor()->full_name() == "google.protobuf.Timestamp")
    return check_timestamp(message, place.path, place.observation, walk.limits, walk.latest_seconds);
  const auto* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);  // the fields present
  for (const FieldDescriptor* field : fields) {
    const std::string path = join(place.path, field), cut = join(place.cut, field);
    if (!field->is_repeated()) {
      if (Status s = bound_value(message, field, 0, Place{path, cut, place.observation}, walk); !s.ok()) return s;
      continue;
    }
    int size = reflection->FieldSize(message, field);
    if (static_cast<size_t>(size) > walk.limits.max_repeated_entries) {
      for (; static_cast<size_t>(size) > walk.limits.max_repeated_entries; --size) reflection->RemoveLast(&message, field);
      walk.cuts.push_back(cut + "[]");
    }
    for (int i = 0; i < size; ++i)
      if (Status s = bound_value(message, field, i, Place{path + "[" + std::to_string(i) + "]", cut, place.observation},
                                 walk);
          !s.ok())
        return s;
  }
  return {};
}

}  // namespace

Status bound_batch(v1::IngestBatch& batch, const EventLimits& limits, int64_t now_ns, BoundedBatch& out) {
  out = {};
  const int64_t latest = now_ns / 1000000000 + limits.max_ahead_seconds;
  if (batch.has_sent_at())
    if (Status s = check_timestamp(batch.sent_at(), "sent_at", true, limits, latest); !s.ok())
      return Status::error("batch: " + s.message());
  for (int i = 0; i < batch.events_size(); ++i) {
    v1::Event& event = *batch.mutable_events(i);
    const std::string where = "event " + std::to_string(i) + ": ";
    const bool forged = event.truncated_fields_size() > 0;
    event.clear_truncated_fields();  // only the collector says what it cut
    Walk walk{limits, latest, {}};
    if (Status s = bound_message(event, Place{"", "", true}, walk); !s.ok()) return Status::error(where + s.message());
    for (std::string& cut : walk.cuts) event.add_truncated_fields(std::move(cut));
    out.truncated += !walk.cuts.empty();
    out.changed += forged || !walk.cuts.empty();
    if (const size_t size = event.ByteSizeLong(); size > limits.max_event_bytes)
      return Status::error(where + std::to_string(size) + " bytes encoded, limit " +
                           std::to_string(limits.max_event_bytes));
  }
  return {};
}

}  // namespace credtrace::collector
