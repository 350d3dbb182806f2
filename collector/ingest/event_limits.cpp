// Bounds on what one ingest batch may make the collector store: every string and repeated field, each event's size,
// timestamps in a sane window with nanos in range, finite numbers; checked field by field through reflection.
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

struct Walk {
  const EventLimits& limits;
  int64_t latest_seconds;
};

Status broken(const std::string& path, const std::string& what) { return Status::error(path + ": " + what); }

std::string join(const std::string& path, const FieldDescriptor* field) {
  return path.empty() ? field->name() : path + "." + field->name();
}

Status check_timestamp(const Message& ts, const std::string& path, bool observation, const Walk& walk) {
  const auto* descriptor = ts.GetDescriptor();
  const auto* reflection = ts.GetReflection();
  const int64_t seconds = reflection->GetInt64(ts, descriptor->FindFieldByName("seconds"));
  const int32_t nanos = reflection->GetInt32(ts, descriptor->FindFieldByName("nanos"));
  if (nanos < 0 || nanos > 999999999) return broken(path, "nanos " + std::to_string(nanos) + " outside 0..999999999");
  const int64_t earliest = observation ? walk.limits.earliest_seconds : kTimestampMinSeconds;
  const int64_t latest = observation ? walk.latest_seconds : kTimestampMaxSeconds;
  if (seconds < earliest || seconds > latest)
    return broken(path, "seconds " + std::to_string(seconds) +
                            (observation ? " outside 2000-01-01 .. the collector's now + " +
                                               std::to_string(walk.limits.max_ahead_seconds) + " s"
                                         : " outside the years 1 .. 9999"));
  return {};
}

Status check_message(const Message& message, const std::string& path, bool observation, const Walk& walk);

Status check_value(const Message& message, const FieldDescriptor* field, int index, const std::string& path,
                   bool observation, const Walk& walk) {
  const auto* reflection = message.GetReflection();
  const bool repeated = field->is_repeated();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& text = repeated ? reflection->GetRepeatedStringReference(message, field, index, &scratch)
                                         : reflection->GetStringReference(message, field, &scratch);
      if (text.size() > walk.limits.max_string_bytes)
        return broken(path, std::to_string(text.size()) + " bytes, limit " +
                                std::to_string(walk.limits.max_string_bytes));
      return {};
    }
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: {
      const double value = field->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE
                               ? (repeated ? reflection->GetRepeatedDouble(message, field, index)
                                           : reflection->GetDouble(message, field))
                               : (repeated ? reflection->GetRepeatedFloat(message, field, index)
                                           : reflection->GetFloat(message, field));
      if (!std::isfinite(value)) return broken(path, "not a finite number");
      return {};
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const Message& nested = repeated ? reflection->GetRepeatedMessage(message, field, index)
                                       : reflection->GetMessage(message, field);
      const bool claims = message.GetDescriptor()->full_name() == "credtrace.v1.Jwt";
      return check_message(nested, path, observation && !claims, walk);
    }
    default:
      return {};
  }
}

Status check_message(const Message& message, const std::string& path, bool observation, const Walk& walk) {
  if (message.GetDescriptor()->full_name() == "google.protobuf.Timestamp")
    return check_timestamp(message, path, observation, walk);
  std::vector<const FieldDescriptor*> fields;
  message.GetReflection()->ListFields(message, &fields);  // the fields present
  for (const FieldDescriptor* field : fields) {
    const std::string field_path = join(path, field);
    if (!field->is_repeated()) {
      if (Status s = check_value(message, field, 0, field_path, observation, walk); !s.ok()) return s;
      continue;
    }
    const int size = message.GetReflection()->FieldSize(message, field);
    if (static_cast<size_t>(size) > walk.limits.max_repeated_entries)
      return broken(field_path, std::to_string(size) + " entries, limit " +
                                    std::to_string(walk.limits.max_repeated_entries));
    for (int i = 0; i < size; ++i)
      if (Status s = check_value(message, field, i, field_path + "[" + std::to_string(i) + "]", observation, walk);
          !s.ok())
        return s;
  }
  return {};
}

size_t utf8_cut(const std::string& text, size_t limit) {
  size_t cut = limit;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
  return cut;
}

void truncate_message(Message& message, const std::string& path, const EventLimits& limits,
                      std::vector<std::string>& cuts) {
  const auto* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    const std::string field_path = join(path, field);
    if (field->is_repeated()) {
      int size = reflection->FieldSize(message, field);
      if (static_cast<size_t>(size) > limits.max_repeated_entries) {
        while (static_cast<size_t>(size) > limits.max_repeated_entries) reflection->RemoveLast(&message, field), --size;
        cuts.push_back(field_path + "[]");
      }
      for (int i = 0; i < size; ++i) {
        if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
          truncate_message(*reflection->MutableRepeatedMessage(&message, field, i), field_path, limits, cuts);
        } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
          std::string value = reflection->GetRepeatedString(message, field, i);
          if (value.size() <= limits.max_string_bytes) continue;
          value.resize(utf8_cut(value, limits.max_string_bytes));
          reflection->SetRepeatedString(&message, field, i, std::move(value));
          cuts.push_back(field_path);
        }
      }
      continue;
    }
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      truncate_message(*reflection->MutableMessage(&message, field), field_path, limits, cuts);
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
      std::string scratch;
      const std::string& value = reflection->GetStringReference(message, field, &scratch);
      if (value.size() <= limits.max_string_bytes) continue;
      std::string cut = value.substr(0, utf8_cut(value, limits.max_string_bytes));
      reflection->SetString(&message, field, std::move(cut));
      cuts.push_back(field_path);
    }
  }
}

}  // namespace

size_t truncate_oversized_fields(v1::IngestBatch& batch, const EventLimits& limits) {
  size_t changed = 0;
  for (v1::Event& event : *batch.mutable_events()) {
    std::vector<std::string> cuts;
    const bool forged = event.truncated_fields_size() > 0;
    event.clear_truncated_fields();  // only the collector says what it cut
    truncate_message(event, "", limits, cuts);
    if (cuts.empty() && !forged) continue;
    ++changed;
    for (std::string& cut : cuts) event.add_truncated_fields(std::move(cut));
  }
  return changed;
}

Status check_batch_limits(const v1::IngestBatch& batch, const EventLimits& limits, int64_t now_ns) {
  const Walk walk{limits, now_ns / 1000000000 + limits.max_ahead_seconds};
  if (batch.agent_id().size() > limits.max_string_bytes) return Status::error("batch: agent_id too long");
  if (batch.has_sent_at())
    if (Status s = check_timestamp(batch.sent_at(), "sent_at", true, walk); !s.ok())
      return Status::error("batch: " + s.message());
  for (int i = 0; i < batch.events_size(); ++i) {
    const v1::Event& event = batch.events(i);
    const std::string where = "event " + std::to_string(i) + ": ";
    if (Status s = check_message(event, "", true, walk); !s.ok()) return Status::error(where + s.message());
    if (const size_t size = event.ByteSizeLong(); size > limits.max_event_bytes)
      return Status::error(where + std::to_string(size) + " bytes encoded, limit " +
                           std::to_string(limits.max_event_bytes));
  }
  return {};
}

}  // namespace credtrace::collector
