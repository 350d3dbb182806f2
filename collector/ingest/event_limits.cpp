// Bounds on what one ingest batch may make the collector store: every string and repeated field (cut and flagged),
// each event's size, timestamps in a sane window with nanos in range, finite numbers (refused); one reflection walk,
// of only the fields that can hold a timestamp or a number when the event is too small to hold anything to cut.
#include "ingest/event_limits.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_map>
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

// Where a value is, as a chain up to the event (names are rendered only for an error or a cut): the field of the
// message at `parent` (none: the event itself) and, in a repeated field, the entry.
struct Place {
  const Place* parent = nullptr;
  const FieldDescriptor* field = nullptr;
  int index = -1;
  bool observation = true;  // a time in it is an observation (not a token's claim)

  // The path errors name, with entry indexes ("sources[1].name"); `indexes` false: as truncated_fields names it.
  std::string name(bool indexes = true) const {
    if (field == nullptr) return "";
    std::string out = parent ? parent->name(indexes) : "";
    if (!out.empty()) out += '.';
    out += field->name();
    if (indexes && index >= 0) out.append("[").append(std::to_string(index)).append("]");
    return out;
  }
};

Status broken(const Place& place, const std::string& what) { return Status::error(place.name() + ": " + what); }

size_t utf8_cut(const std::string& text, size_t limit) {
  size_t cut = limit;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
  return cut;
}

// The message types the walk treats apart, by descriptor (compared as pointers).
struct KnownTypes {
  const google::protobuf::Descriptor* timestamp = google::protobuf::Timestamp::descriptor();
  const FieldDescriptor* seconds = timestamp->FindFieldByName("seconds");
  const FieldDescriptor* nanos = timestamp->FindFieldByName("nanos");
  const google::protobuf::Descriptor* jwt = v1::Jwt::descriptor();
};

const KnownTypes& known() {
  static const KnownTypes types;
  return types;
}

// A timestamp in range: an observation within earliest_seconds .. `latest` (the collector's now + max_ahead), any
// other time within google.protobuf.Timestamp's years 1 to 9999; nanos in 0..999,999,999 either way.
Status check_timestamp(const Message& ts, const Place& place, const EventLimits& limits, int64_t latest_observation) {
  const auto* reflection = ts.GetReflection();
  const int64_t seconds = reflection->GetInt64(ts, known().seconds);
  const int32_t nanos = reflection->GetInt32(ts, known().nanos);
  if (nanos < 0 || nanos > 999999999) return broken(place, "nanos " + std::to_string(nanos) + " outside 0..999999999");
  const bool observation = place.observation;
  const int64_t earliest = observation ? limits.earliest_seconds : kTimestampMinSeconds;
  const int64_t latest = observation ? latest_observation : kTimestampMaxSeconds;
  if (seconds < earliest || seconds > latest)
    return broken(place, "seconds " + std::to_string(seconds) +
                             (observation ? " outside 2000-01-01 .. the collector's now + " +
                                                std::to_string(limits.max_ahead_seconds) + " s"
                                          : " outside the years 1 .. 9999"));
  return {};
}

// A number no event may hold: NaN or an infinity.
Status check_number(const Message& message, const FieldDescriptor* field, const Place& place) {
  const auto* reflection = message.GetReflection();
  const bool repeated = field->is_repeated();
  const double value = field->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE
                           ? (repeated ? reflection->GetRepeatedDouble(message, field, place.index)
                                       : reflection->GetDouble(message, field))
                           : (repeated ? reflection->GetRepeatedFloat(message, field, place.index)
                                       : reflection->GetFloat(message, field));
  if (!std::isfinite(value)) return broken(place, "not a finite number");
  return {};
}

bool is_number(const FieldDescriptor* field) {
  return field->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE || field->cpp_type() == FieldDescriptor::CPPTYPE_FLOAT;
}

// Where the message walk of `parent`'s field `field` (entry `index`) continues: a Jwt's times are claims.
Place nested_place(const Place& parent, const Message& holder, const FieldDescriptor* field, int index) {
  return Place{&parent, field, index, parent.observation && holder.GetDescriptor() != known().jwt};
}

Status bound_message(Message& message, const Place& place, Walk& walk);

// A string over max_string_bytes, cut at a character boundary and named in the walk's cuts.
void bound_string(Message& message, const FieldDescriptor* field, const Place& place, Walk& walk) {
  const auto* reflection = message.GetReflection();
  const bool repeated = field->is_repeated();
  std::string scratch;
  const std::string& text = repeated ? reflection->GetRepeatedStringReference(message, field, place.index, &scratch)
                                     : reflection->GetStringReference(message, field, &scratch);
  if (text.size() <= walk.limits.max_string_bytes) return;
  std::string cut = text.substr(0, utf8_cut(text, walk.limits.max_string_bytes));
  if (repeated) reflection->SetRepeatedString(&message, field, place.index, std::move(cut));
  else reflection->SetString(&message, field, std::move(cut));
  walk.cuts.push_back(place.name(false));
}

// One value of a field (`place.index`: the entry of a repeated one): a string cut, a number checked, a message walked.
Status bound_value(Message& message, const FieldDescriptor* field, const Place& place, Walk& walk) {
  const auto* reflection = message.GetReflection();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      bound_string(message, field, place, walk);
      return {};
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT:
      return check_number(message, field, place);
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      Message& nested = field->is_repeated() ? *reflection->MutableRepeatedMessage(&message, field, place.index)
                                             : *reflection->MutableMessage(&message, field);
      return bound_message(nested, nested_place(*place.parent, message, field, place.index), walk);
    }
    default:
      return {};
  }
}

// Drops the entries of a repeated field past max_repeated_entries (named in the cuts); the entries left.
int bound_entries(Message& message, const FieldDescriptor* field, const Place& place, Walk& walk) {
  const auto* reflection = message.GetReflection();
  int size = reflection->FieldSize(message, field);
  if (static_cast<size_t>(size) <= walk.limits.max_repeated_entries) return size;
  for (; static_cast<size_t>(size) > walk.limits.max_repeated_entries; --size) reflection->RemoveLast(&message, field);
  walk.cuts.push_back(place.name(false) + "[]");
  return size;
}

// Every field present, walked: the walk of an event that may hold a string or a repeated field over its limit.
Status bound_message(Message& message, const Place& place, Walk& walk) {
  if (message.GetDescriptor() == known().timestamp)
    return check_timestamp(message, place, walk.limits, walk.latest_seconds);
  const auto* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);  // the fields present
  for (const FieldDescriptor* field : fields) {
    if (!field->is_repeated()) {
      if (Status s = bound_value(message, field, Place{&place, field, -1, place.observation}, walk); !s.ok()) return s;
      continue;
    }
    const int size = bound_entries(message, field, Place{&place, field, -1, place.observation}, walk);
    for (int i = 0; i < size; ++i)
      if (Status s = bound_value(message, field, Place{&place, field, i, place.observation}, walk); !s.ok()) return s;
  }
  return {};
}

// For each message type an event can hold, its fields that can hold a timestamp or a floating-point number, directly
// or in a nested message: all an event too small to hold a string or a repeated field over its limit needs walked.
class CheckedFields {
 public:
  explicit CheckedFields(const google::protobuf::Descriptor* root) {
    collect(root);
    mark_holders();
    for (const auto& [type, unused] : holds_) fields_[type] = checked_fields(type);
  }
  const std::vector<const FieldDescriptor*>& of(const google::protobuf::Descriptor* type) const {
    static const std::vector<const FieldDescriptor*> none;
    auto it = fields_.find(type);
    return it == fields_.end() ? none : it->second;
  }

 private:
  void collect(const google::protobuf::Descriptor* type) {
    if (!holds_.emplace(type, type == known().timestamp).second) return;
    for (int i = 0; i < type->field_count(); ++i) {
      const FieldDescriptor* field = type->field(i);
      if (is_number(field)) holds_[type] = true;
      if (field->message_type() != nullptr) collect(field->message_type());
    }
  }
  void mark_holders() {  // to a fixed point: nesting may be recursive
    for (bool changed = true; changed;) {
      changed = false;
      for (auto& [type, holds] : holds_)
        if (!holds && !checked_fields(type).empty()) holds = changed = true;
    }
  }
  std::vector<const FieldDescriptor*> checked_fields(const google::protobuf::Descriptor* type) const {
    std::vector<const FieldDescriptor*> out;
    if (type == known().timestamp) return out;
    for (int i = 0; i < type->field_count(); ++i) {
      const FieldDescriptor* field = type->field(i);
      if (is_number(field) || (field->message_type() != nullptr && holds_.at(field->message_type())))
        out.push_back(field);
    }
    return out;
  }

  std::unordered_map<const google::protobuf::Descriptor*, bool> holds_;
  std::unordered_map<const google::protobuf::Descriptor*, std::vector<const FieldDescriptor*>> fields_;
};

const CheckedFields& checked_fields() {
  static const CheckedFields fields(v1::Event::descriptor());
  return fields;
}

Status check_message(const Message& message, const Place& place, const Walk& walk);

// One value of a checked field: a number, or a nested message walked for its checked fields.
Status check_value(const Message& message, const FieldDescriptor* field, const Place& place, const Walk& walk) {
  if (is_number(field)) return check_number(message, field, place);
  const auto* reflection = message.GetReflection();
  const Message& nested = field->is_repeated() ? reflection->GetRepeatedMessage(message, field, place.index)
                                               : reflection->GetMessage(message, field);
  return check_message(nested, nested_place(*place.parent, message, field, place.index), walk);
}

// The walk of an event that cannot hold anything to cut: its timestamps and numbers only, nothing changed.
Status check_message(const Message& message, const Place& place, const Walk& walk) {
  if (message.GetDescriptor() == known().timestamp)
    return check_timestamp(message, place, walk.limits, walk.latest_seconds);
  const auto* reflection = message.GetReflection();
  for (const FieldDescriptor* field : checked_fields().of(message.GetDescriptor())) {
    if (!field->is_repeated()) {
      if (field->message_type() != nullptr && !reflection->HasField(message, field)) continue;
      if (Status s = check_value(message, field, Place{&place, field, -1, place.observation}, walk); !s.ok()) return s;
      continue;
    }
    const int size = reflection->FieldSize(message, field);
    for (int i = 0; i < size; ++i)
      if (Status s = check_value(message, field, Place{&place, field, i, place.observation}, walk); !s.ok()) return s;
  }
  return {};
}

// An event of at most this many bytes encoded holds no string over max_string_bytes and no repeated field with more
// than max_repeated_entries entries (each takes a byte at least).
size_t nothing_to_cut_below(const EventLimits& limits) {
  return std::min(limits.max_string_bytes, limits.max_repeated_entries);
}

// One event bounded (its cuts named in its truncated_fields); `changed`: it must be stored re-encoded.
Status bound_event(v1::Event& event, const EventLimits& limits, int64_t latest, bool& changed, bool& truncated) {
  const bool forged = event.truncated_fields_size() > 0;
  event.clear_truncated_fields();  // only the collector says what it cut
  Walk walk{limits, latest, {}};
  size_t size = event.ByteSizeLong();
  if (size <= nothing_to_cut_below(limits)) {
    if (Status s = check_message(event, Place{}, walk); !s.ok()) return s;
  } else {
    if (Status s = bound_message(event, Place{}, walk); !s.ok()) return s;
    for (std::string& cut : walk.cuts) event.add_truncated_fields(std::move(cut));
    if (!walk.cuts.empty()) size = event.ByteSizeLong();
  }
  truncated = !walk.cuts.empty();
  changed = forged || truncated;
  if (size > limits.max_event_bytes)
    return Status::error(std::to_string(size) + " bytes encoded, limit " + std::to_string(limits.max_event_bytes));
  return {};
}

}  // namespace

Status bound_batch(v1::IngestBatch& batch, const EventLimits& limits, int64_t now_ns, BoundedBatch& out) {
  out = {};
  const int64_t latest = now_ns / 1000000000 + limits.max_ahead_seconds;
  if (batch.has_sent_at())
    if (Status s = check_timestamp(batch.sent_at(), Place{nullptr, batch.GetDescriptor()->FindFieldByName("sent_at")},
                                   limits, latest);
        !s.ok())
      return Status::error("batch: " + s.message());
  for (int i = 0; i < batch.events_size(); ++i) {
    bool changed = false, truncated = false;
    if (Status s = bound_event(*batch.mutable_events(i), limits, latest, changed, truncated); !s.ok())
      return Status::error("event " + std::to_string(i) + ": " + s.message());
    out.truncated += truncated;
    out.changed += changed;
  }
  return {};
}

}  // namespace credtrace::collector
