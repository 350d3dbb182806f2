// Fast proto3 JSON encoder: per-type field tables from the descriptors, protobuf 3.21's printer reproduced exactly.
//
// What protobuf 3.21 prints (MessageToJsonString = serialize, then ProtoStreamObjectSource → DefaultValueObjectWriter
// → JsonObjectWriter), all checked by tests/unit/export/proto_json_test.cpp:
//  - An object's keys: first every field in declaration order, except scalars inside a oneof (proto3 `optional`
//    included): singular scalars always (defaults too), repeated fields always ([] when empty), maps always ({}),
//    message fields when set; then, in field-number order, the set oneof/optional scalars and the set Timestamp
//    fields (the printer renders a Timestamp as a string, which does not fill its object placeholder and so is
//    appended after it).
//  - 64-bit integers quoted, 32-bit bare; doubles as "%.15g", or "%.17g" when 15 digits do not round-trip
//    (floats: 6 or 9 digits); NaN / Infinity / -Infinity quoted; bytes as padded standard base64; enums by name
//    (an unknown number bare).
//  - Maps in their iteration order (what non-deterministic serialization writes); keys as strings.
//  - Timestamps RFC 3339 with 0, 3, 6 or 9 fractional digits; out of range ([0001, 9999] years, nanos in
//    [0, 1e9)) is an error of the whole message.
//  - Strings escaped as JsonEscaping does: " \ < > as \" \\ \u003c \u003e, C0 and C1 controls and DEL as \b \t
//    \n \f \r or \u00XX, a few invisible code points (U+00AD, U+200B-U+200F, U+2028-U+202E, U+FEFF, ...) as \uXXXX
//    (surrogate pairs above U+FFFF); other UTF-8 copied. Invalid UTF-8 is dropped the way JsonEscaping drops it:
//    a bad lead byte alone, a bad sequence up to and including its first bad byte, a sequence cut by the end of the
//    string, a surrogate or a code point above U+10FFFF; overlong forms are decoded (C0 80 prints \u0000).
#include "export/proto_json.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace credtrace::exporter {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::FileDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr char kTimestamp[] = "google.protobuf.Timestamp";

struct Table;

// One field of a message type, with its ready-made `"name":` prefix.
struct Field {
  const FieldDescriptor* fd = nullptr;
  std::string key;
  const Table* sub = nullptr;  // message fields and map fields (the entry type)
};

// How one message type prints.
struct Table {
  bool own_ok = true;       // proto3 (or Timestamp), no other well-known type
  bool timestamp = false;   // google.protobuf.Timestamp: printed as a string
  bool map_entry = false;
  const FieldDescriptor* seconds = nullptr;  // Timestamp
  const FieldDescriptor* nanos = nullptr;
  std::vector<Field> placeholders;  // declaration order, without oneof scalars; set Timestamps skipped here
  std::vector<Field> appended;      // field-number order: oneof scalars and singular Timestamps, when set
  const Field* map_key = nullptr;   // map entries: into placeholders
  const Field* map_value = nullptr;
};

bool is_message(const FieldDescriptor* fd) { return fd->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE; }

class Registry {
 public:
  // The table of a root type, or nullptr when some reachable type is not covered.
  const Table* root(const Descriptor* d) {
    std::lock_guard<std::mutex> lock(mu_);
    auto found = roots_.find(d);
    if (found != roots_.end()) return found->second;
    const Table* t = build(d);
    std::unordered_map<const Table*, bool> seen;
    const Table* result = closure_ok(t, seen) ? t : nullptr;
    roots_.emplace(d, result);
    return result;
  }

 private:
  const Table* build(const Descriptor* d) {
    auto found = tables_.find(d);
    if (found != tables_.end()) return found->second.get();
    auto owned = std::make_unique<Table>();
    Table* t = owned.get();
    tables_.emplace(d, std::move(owned));
    t->timestamp = d->full_name() == kTimestamp;
    t->map_entry = d->options().map_entry();
    if (t->timestamp) {
      t->seconds = d->FindFieldByNumber(1);
      t->nanos = d->FindFieldByNumber(2);
      t->own_ok = t->seconds && t->nanos && t->seconds->cpp_type() == FieldDescriptor::CPPTYPE_INT64 &&
                  t->nanos->cpp_type() == FieldDescriptor::CPPTYPE_INT32;
      return t;
    }
    if (d->file()->syntax() != FileDescriptor::SYNTAX_PROTO3 && !t->map_entry) t->own_ok = false;
    if (d->full_name().rfind("google.protobuf.", 0) == 0) t->own_ok = false;  // other well-known types
    if (d->extension_range_count() > 0) t->own_ok = false;
    std::vector<Field> appended;
    t->placeholders.reserve(static_cast<size_t>(d->field_count()));
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* fd = d->field(i);
      Field f;
      f.fd = fd;
      f.key = "\"" + fd->name() + "\":";
      if (fd->type() == FieldDescriptor::TYPE_GROUP) t->own_ok = false;
      if (is_message(fd)) f.sub = build(fd->message_type());
      bool scalar = !is_message(fd) && !fd->is_repeated();
      bool in_oneof = fd->containing_oneof() != nullptr;
      bool singular_timestamp = !fd->is_repeated() && f.sub && f.sub->timestamp;
      if (in_oneof && scalar) {
        appended.push_back(f);
        continue;
      }
      if (singular_timestamp) appended.push_back(f);
      t->placeholders.push_back(std::move(f));
    }
    std::stable_sort(appended.begin(), appended.end(),
                     [](const Field& a, const Field& b) { return a.fd->number() < b.fd->number(); });
    t->appended = std::move(appended);
    if (t->map_entry) {
      for (const Field& f : t->placeholders) {
        if (f.fd->number() == 1) t->map_key = &f;
        if (f.fd->number() == 2) t->map_value = &f;
      }
      if (!t->map_key || !t->map_value) t->own_ok = false;
    }
    return t;
  }

  static bool closure_ok(const Table* t, std::unordered_map<const Table*, bool>& seen) {
    if (!seen.emplace(t, true).second) return true;
    if (!t->own_ok) return false;
    for (const auto* list : {&t->placeholders, &t->appended})
      for (const Field& f : *list)
        if (f.sub && !closure_ok(f.sub, seen)) return false;
    return true;
  }

  std::mutex mu_;
  std::unordered_map<const Descriptor*, std::unique_ptr<Table>> tables_;
  std::unordered_map<const Descriptor*, const Table*> roots_;
};

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: tables outlive every thread's cached pointer
  return *r;
}

// ---- scalars ----

template <typename T>
void append_int(std::string& out, T v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

template <typename T>
void append_quoted_int(std::string& out, T v) {
  out.push_back('"');
  append_int(out, v);
  out.push_back('"');
}

// protobuf's SimpleDtoa: 15 significant digits, 17 when 15 do not round-trip.
void append_double(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += std::isnan(v) ? "\"NaN\"" : (v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    return;
  }
  char buf[40];
  auto r = std::to_chars(buf, buf + sizeof buf - 1, v, std::chars_format::general, 15);
  double back = 0;
  auto p = std::from_chars(buf, r.ptr, back);
  if (p.ec != std::errc()) {
    *r.ptr = '\0';
    back = std::strtod(buf, nullptr);
  }
  if (back != v) r = std::to_chars(buf, buf + sizeof buf - 1, v, std::chars_format::general, 17);
  out.append(buf, r.ptr);
}

// protobuf's SimpleFtoa: 6 significant digits, 9 when 6 do not round-trip.
void append_float(std::string& out, float v) {
  if (!std::isfinite(v)) {
    out += std::isnan(v) ? "\"NaN\"" : (v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    return;
  }
  char buf[40];
  auto r = std::to_chars(buf, buf + sizeof buf - 1, v, std::chars_format::general, 6);
  float back = 0;
  auto p = std::from_chars(buf, r.ptr, back);
  if (p.ec != std::errc()) {
    *r.ptr = '\0';
    back = std::strtof(buf, nullptr);
  }
  if (back != v) r = std::to_chars(buf, buf + sizeof buf - 1, v, std::chars_format::general, 9);
  out.append(buf, r.ptr);
}

void append_base64(std::string& out, const std::string& in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  out.push_back('"');
  size_t i = 0;
  const auto* s = reinterpret_cast<const unsigned char*>(in.data());
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t n = (uint32_t{s[i]} << 16) | (uint32_t{s[i + 1]} << 8) | s[i + 2];
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(kAlphabet[(n >> 6) & 63]);
    out.push_back(kAlphabet[n & 63]);
  }
  if (size_t rest = in.size() - i) {
    uint32_t n = uint32_t{s[i]} << 16;
    if (rest == 2) n |= uint32_t{s[i + 1]} << 8;
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  out.push_back('"');
}

// ---- strings (JsonEscaping) ----

// Whether a byte below 0x80 needs escaping, and which escape.
const char* ascii_escape(unsigned char c) {
  switch (c) {
    case '\b': return "\\b";
    case '\t': return "\\t";
    case '\n': return "\\n";
    case '\f': return "\\f";
    case '\r': return "\\r";
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '<': return "\\u003c";
    case '>': return "\\u003e";
    default: return nullptr;
  }
}

constexpr char kHex[] = "0123456789abcdef";

void append_u16(std::string& out, uint32_t unit) {
  char buf[6] = {'\\', 'u', kHex[(unit >> 12) & 15], kHex[(unit >> 8) & 15], kHex[(unit >> 4) & 15], kHex[unit & 15]};
  out.append(buf, 6);
}

bool needs_escape_bmp(uint32_t cp) {
  if (cp < 0xa0) return cp >= 0x7f;  // DEL and C1 controls (C0 handled with ASCII)
  switch (cp) {
    case 0xfeff: case 0xfff9: case 0xfffa: case 0xfffb:
    case 0x00ad: case 0x06dd: case 0x070f: case 0x17b4: case 0x17b5:
      return true;
    default:
      return (cp >= 0x0600 && cp <= 0x0603) || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
             (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x206a && cp <= 0x206f);
  }
}

bool needs_escape_supplementary(uint32_t cp) {
  return cp == 0xe0001 || (cp >= 0x1d173 && cp <= 0x1d17a) || (cp >= 0xe0020 && cp <= 0xe007f);
}

void append_escaped_slow(std::string& out, const unsigned char* s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      size_t start = i;
      while (i < n && s[i] >= 0x20 && s[i] < 0x7f && !ascii_escape(s[i])) ++i;
      out.append(reinterpret_cast<const char*>(s + start), i - start);
      if (i == n || s[i] >= 0x80) continue;
      c = s[i++];
      if (const char* e = ascii_escape(c)) out += e;
      else append_u16(out, c);
      continue;
    }
    if (c <= 0xbf || c >= 0xf8) {  // stray continuation byte or invalid lead: dropped
      ++i;
      continue;
    }
    int need = c <= 0xdf ? 1 : c <= 0xef ? 2 : 3;
    uint32_t cp = c & (c <= 0xdf ? 0x1f : c <= 0xef ? 0x0f : 0x07);
    size_t j = i + 1;
    bool bad = false;
    while (need > 0 && j < n) {
      unsigned char ch = s[j++];
      --need;
      cp = (cp << 6) | (ch & 0x3f);
      if (ch < 0x80 || ch > 0xbf) {
        bad = true;
        break;
      }
    }
    if (bad) {  // dropped, through the bad byte
      i = j;
      continue;
    }
    if (need > 0) return;  // cut by the end of the string: dropped
    if ((cp & 0xfffff800) == 0xd800 || cp > 0x10ffff) {
      i = j;
      continue;
    }
    if (cp < 0x80) {  // overlong form of an ASCII character
      if (const char* e = ascii_escape(static_cast<unsigned char>(cp))) out += e;
      else if (cp < 0x20 || cp == 0x7f) append_u16(out, cp);
      else out.append(reinterpret_cast<const char*>(s + i), j - i);
    } else if (cp <= 0xffff ? needs_escape_bmp(cp) : needs_escape_supplementary(cp)) {
      if (cp <= 0xffff) {
        append_u16(out, cp);
      } else {
        uint32_t v = cp - 0x10000;
        append_u16(out, 0xd800 + (v >> 10));
        append_u16(out, 0xdc00 + (v & 0x3ff));
      }
    } else {
      out.append(reinterpret_cast<const char*>(s + i), j - i);
    }
    i = j;
  }
}

void append_string(std::string& out, const std::string& s) {
  out.push_back('"');
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>' || c == '\\') break;
    ++i;
  }
  out.append(s.data(), i);
  if (i < n) append_escaped_slow(out, p + i, n - i);
  out.push_back('"');
}

// ---- timestamps ----

bool append_timestamp(std::string& out, const Message& ts, const Table& t) {
  const Reflection* r = ts.GetReflection();
  int64_t seconds = r->GetInt64(ts, t.seconds);
  int32_t nanos = r->GetInt32(ts, t.nanos);
  if (seconds < -62135596800LL || seconds > 253402300799LL) return false;
  if (nanos < 0 || nanos > 999999999) return false;
  int64_t days = seconds / 86400;
  int64_t rem = seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  // civil_from_days (Howard Hinnant's algorithm).
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  char buf[40];
  auto two = [](char* p, int64_t v) {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
  };
  buf[0] = '"';
  buf[1] = static_cast<char>('0' + y / 1000);
  buf[2] = static_cast<char>('0' + (y / 100) % 10);
  two(buf + 3, y % 100);
  buf[5] = '-';
  two(buf + 6, m);
  buf[8] = '-';
  two(buf + 9, d);
  buf[11] = 'T';
  two(buf + 12, rem / 3600);
  buf[14] = ':';
  two(buf + 15, (rem / 60) % 60);
  buf[17] = ':';
  two(buf + 18, rem % 60);
  size_t len = 20;
  if (nanos != 0) {
    int digits = 9;
    int32_t frac = nanos;
    if (nanos % 1000000 == 0) {
      digits = 3;
      frac = nanos / 1000000;
    } else if (nanos % 1000 == 0) {
      digits = 6;
      frac = nanos / 1000;
    }
    buf[len++] = '.';
    for (int k = digits - 1; k >= 0; --k) {
      buf[len + static_cast<size_t>(k)] = static_cast<char>('0' + frac % 10);
      frac /= 10;
    }
    len += static_cast<size_t>(digits);
  }
  buf[len++] = 'Z';
  buf[len++] = '"';
  out.append(buf, len);
  return true;
}

// ---- messages ----

bool append_message(std::string& out, const Message& m, const Table& t);

void append_enum(std::string& out, const FieldDescriptor* fd, int value) {
  if (const auto* ev = fd->enum_type()->FindValueByNumber(value)) {
    append_string(out, ev->name());
  } else {
    append_int(out, value);
  }
}

// A singular field's value (present, or a scalar printed with its default).
bool append_singular(std::string& out, const Message& m, const Reflection* r, const Field& f) {
  const FieldDescriptor* fd = f.fd;
  switch (fd->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: append_int(out, r->GetInt32(m, fd)); break;
    case FieldDescriptor::CPPTYPE_UINT32: append_int(out, r->GetUInt32(m, fd)); break;
    case FieldDescriptor::CPPTYPE_INT64: append_quoted_int(out, r->GetInt64(m, fd)); break;
    case FieldDescriptor::CPPTYPE_UINT64: append_quoted_int(out, r->GetUInt64(m, fd)); break;
    case FieldDescriptor::CPPTYPE_DOUBLE: append_double(out, r->GetDouble(m, fd)); break;
    case FieldDescriptor::CPPTYPE_FLOAT: append_float(out, r->GetFloat(m, fd)); break;
    case FieldDescriptor::CPPTYPE_BOOL: out += r->GetBool(m, fd) ? "true" : "false"; break;
    case FieldDescriptor::CPPTYPE_ENUM: append_enum(out, fd, r->GetEnumValue(m, fd)); break;
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& s = r->GetStringReference(m, fd, &scratch);
      if (fd->type() == FieldDescriptor::TYPE_BYTES) append_base64(out, s);
      else append_string(out, s);
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const Message& sub = r->GetMessage(m, fd);
      return f.sub->timestamp ? append_timestamp(out, sub, *f.sub) : append_message(out, sub, *f.sub);
    }
  }
  return true;
}

bool append_element(std::string& out, const Message& m, const Reflection* r, const Field& f, int i) {
  const FieldDescriptor* fd = f.fd;
  switch (fd->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: append_int(out, r->GetRepeatedInt32(m, fd, i)); break;
    case FieldDescriptor::CPPTYPE_UINT32: append_int(out, r->GetRepeatedUInt32(m, fd, i)); break;
    case FieldDescriptor::CPPTYPE_INT64: append_quoted_int(out, r->GetRepeatedInt64(m, fd, i)); break;
    case FieldDescriptor::CPPTYPE_UINT64: append_quoted_int(out, r->GetRepeatedUInt64(m, fd, i)); break;
    case FieldDescriptor::CPPTYPE_DOUBLE: append_double(out, r->GetRepeatedDouble(m, fd, i)); break;
    case FieldDescriptor::CPPTYPE_FLOAT: append_float(out, r->GetRepeatedFloat(m, fd, i)); break;
    case FieldDescriptor::CPPTYPE_BOOL: out += r->GetRepeatedBool(m, fd, i) ? "true" : "false"; break;
    case FieldDescriptor::CPPTYPE_ENUM: append_enum(out, fd, r->GetRepeatedEnumValue(m, fd, i)); break;
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& s = r->GetRepeatedStringReference(m, fd, i, &scratch);
      if (fd->type() == FieldDescriptor::TYPE_BYTES) append_base64(out, s);
      else append_string(out, s);
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const Message& sub = r->GetRepeatedMessage(m, fd, i);
      return f.sub->timestamp ? append_timestamp(out, sub, *f.sub) : append_message(out, sub, *f.sub);
    }
  }
  return true;
}

// A map entry's key as the printer names it: strings as they are, numbers in decimal, bools as true/false.
void append_map_key(std::string& out, const Message& entry, const Field& key) {
  const Reflection* r = entry.GetReflection();
  const FieldDescriptor* fd = key.fd;
  switch (fd->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      append_string(out, r->GetStringReference(entry, fd, &scratch));
      return;
    }
    case FieldDescriptor::CPPTYPE_BOOL: out += r->GetBool(entry, fd) ? "\"true\"" : "\"false\""; return;
    case FieldDescriptor::CPPTYPE_INT32: append_quoted_int(out, r->GetInt32(entry, fd)); return;
    case FieldDescriptor::CPPTYPE_UINT32: append_quoted_int(out, r->GetUInt32(entry, fd)); return;
    case FieldDescriptor::CPPTYPE_INT64: append_quoted_int(out, r->GetInt64(entry, fd)); return;
    case FieldDescriptor::CPPTYPE_UINT64: append_quoted_int(out, r->GetUInt64(entry, fd)); return;
    default: out += "\"\""; return;
  }
}

bool append_message(std::string& out, const Message& m, const Table& t) {
  const Reflection* r = m.GetReflection();
  out.push_back('{');
  bool first = true;
  auto sep = [&] {
    if (!first) out.push_back(',');
    first = false;
  };
  for (const Field& f : t.placeholders) {
    const FieldDescriptor* fd = f.fd;
    if (fd->is_map()) {
      sep();
      out += f.key;
      out.push_back('{');
      int n = r->FieldSize(m, fd);
      const Table& entry = *f.sub;
      for (int i = 0; i < n; ++i) {
        if (i) out.push_back(',');
        const Message& e = r->GetRepeatedMessage(m, fd, i);
        append_map_key(out, e, *entry.map_key);
        out.push_back(':');
        if (!append_singular(out, e, e.GetReflection(), *entry.map_value)) return false;
      }
      out.push_back('}');
    } else if (fd->is_repeated()) {
      sep();
      out += f.key;
      out.push_back('[');
      int n = r->FieldSize(m, fd);
      for (int i = 0; i < n; ++i) {
        if (i) out.push_back(',');
        if (!append_element(out, m, r, f, i)) return false;
      }
      out.push_back(']');
    } else if (f.sub) {
      if (f.sub->timestamp || !r->HasField(m, fd)) continue;
      sep();
      out += f.key;
      if (!append_message(out, r->GetMessage(m, fd), *f.sub)) return false;
    } else {
      sep();
      out += f.key;
      append_singular(out, m, r, f);
    }
  }
  for (const Field& f : t.appended) {
    if (!r->HasField(m, f.fd)) continue;
    sep();
    out += f.key;
    if (!append_singular(out, m, r, f)) return false;
  }
  out.push_back('}');
  return true;
}

}  // namespace

bool proto_json_supported(const Descriptor* descriptor) { return registry().root(descriptor) != nullptr; }

bool append_json(const Message& message, std::string& out) {
  thread_local const Descriptor* last_descriptor = nullptr;
  thread_local const Table* last_table = nullptr;
  const Descriptor* d = message.GetDescriptor();
  if (d != last_descriptor) {
    last_table = registry().root(d);
    last_descriptor = d;
  }
  if (!last_table) return false;
  size_t mark = out.size();
  bool ok = last_table->timestamp ? append_timestamp(out, message, *last_table)
                                  : append_message(out, message, *last_table);
  if (!ok) out.resize(mark);
  return ok;
}

}  // namespace credtrace::exporter
