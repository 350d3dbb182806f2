// Fast proto3 JSON encoder: byte-identical to protobuf 3.21's MessageToJsonString (snake_case, primitives always).
#pragma once

#include <google/protobuf/message.h>

#include <string>

namespace credtrace::exporter {

// Appends the proto3 JSON form of `message` to `out`, byte for byte what protobuf 3.21's
// util::MessageToJsonString prints with preserve_proto_field_names, always_print_primitive_fields and no
// whitespace, including that printer's quirks (see proto_json.cpp). Works from the descriptors (per-type field
// tables built once and cached), so fields added to the schema are printed without code changes.
// Returns false, leaving `out` as it was, where protobuf's printer fails (a Timestamp out of its range) or for a
// schema this encoder does not cover (proto2 messages, well-known types other than Timestamp): callers then fall
// back to MessageToJsonString. Tables are keyed by Descriptor address and live for the process: meant for
// generated types (a DynamicMessage's pool must outlive every call). Maps are walked through reflection's repeated
// view, which follows the map's iteration order unless the map was last modified through reflection.
bool append_json(const google::protobuf::Message& message, std::string& out);

// Whether append_json covers every message reachable from this type.
bool proto_json_supported(const google::protobuf::Descriptor* descriptor);

}  // namespace credtrace::exporter
