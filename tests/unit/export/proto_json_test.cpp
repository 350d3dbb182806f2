// Differential tests of export/proto_json against protobuf's MessageToJsonString: randomized events of every type.
#include "export/proto_json.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "credtrace/v1/events.pb.h"
#include "export/json_lines_sink.h"

namespace credtrace::exporter {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// What protobuf prints, "ERR" when it fails.
std::string reference(const Message& m) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  options.add_whitespace = false;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(m, &out, options).ok()) return "ERR";
  return out;
}

std::string fast(const Message& m) {
  std::string out = "prefix";  // appends, and leaves out untouched on failure
  if (!append_json(m, out)) return out == "prefix" ? "ERR" : "ERR(out changed)";
  EXPECT_EQ(out.rfind("prefix", 0), 0u);
  return out.substr(6);
}

// Fills every field of a message through reflection with random values, edge cases included.
class Filler {
 public:
  Filler(uint64_t seed, bool invalid_utf8) : rng_(seed), invalid_utf8_(invalid_utf8) {}

  void fill(Message& m, int depth) {
    const Descriptor* d = m.GetDescriptor();
    const Reflection* r = m.GetReflection();
    if (d->full_name() == "google.protobuf.Timestamp") {
      fill_timestamp(m);
      return;
    }
    double density = pick(4) == 0 ? 0.15 : pick(2) == 0 ? 0.6 : 1.0;
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* fd = d->field(i);
      if (chance() > density) continue;
      if (fd->real_containing_oneof() && pick(3) != 0) continue;  // mostly one member (the last set wins anyway)
      if (fd->is_map()) {
        int n = pick_count();
        for (int k = 0; k < n; ++k) {
          Message* entry = r->AddMessage(&m, fd);
          fill_scalar(*entry, entry->GetDescriptor()->map_key());
          const FieldDescriptor* value = entry->GetDescriptor()->map_value();
          if (value->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
            fill(*entry->GetReflection()->MutableMessage(entry, value), depth + 1);
          } else {
            fill_scalar(*entry, value);
          }
        }
      } else if (fd->is_repeated()) {
        int n = pick_count();
        for (int k = 0; k < n; ++k) {
          if (fd->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
            if (depth < 6) fill(*r->AddMessage(&m, fd), depth + 1);
          } else {
            add_scalar(m, fd);
          }
        }
      } else if (fd->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        if (depth < 6) fill(*r->MutableMessage(&m, fd), depth + 1);
      } else {
        fill_scalar(m, fd);
      }
    }
  }

  std::string random_string() {
    static const std::vector<std::string> kPieces = {
        "", "a", "github", "/home/user/.aws/credentials", "x-api-key", "tools/call", "{\"path\":\"string\"}",
        "\"", "\\", "\\\"", "<", ">", "&", "'", "=", "/", "</script>", "\b", "\f", "\n", "\r", "\t",
        std::string("\0", 1), "\x01", "\x1b[31m", "\x1f", "\x7f", " ", "é", "ü", "日本語", "😀", "𝄞", "\xc2\x80",
        "\xc2\x9f", "\xc2\xa0", "\xc2\xad", "\xd8\x80", "\xdb\x9d", "\xdc\x8f", "\xe1\x9e\xb4", "\xe2\x80\x8b",
        "\xe2\x80\x8f", "\xe2\x80\xa8", "\xe2\x80\xa9", "\xe2\x80\xae", "\xe2\x81\xa0", "\xe2\x81\xaf",
        "\xef\xbb\xbf", "\xef\xbf\xb9", "\xef\xbf\xbd", "\xf0\x9d\x85\xb3", "\xf0\x9d\x85\xba", "\xf3\xa0\x80\x81",
        "\xf3\xa0\x80\xa0", "\xf3\xa0\x81\xbf", "\xf4\x8f\xbf\xbf", "ghp_0123456789abcdefABCDEF", "…"};
    static const std::vector<std::string> kInvalid = {
        "\x80", "\xbf", "\xc3", "\xc3" "A", "\xe2\x82", "\xe2\x82" "x", "\xed\xa0\x80", "\xed\xbf\xbf", "\xc0\x80",
        "\xc1\x81", "\xe0\x80\x80", "\xe0\x82\x80", "\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80", "\xfe", "\xff",
        "\xf0\x9f\x98", "\xf0\x80\x80\x80", "\xc1\xbf", "\xf7\xbf\xbf\xbf"};
    std::string s;
    int n = static_cast<int>(pick(6));
    for (int i = 0; i < n; ++i) {
      switch (pick(invalid_utf8_ ? 5 : 4)) {
        case 0: s += kPieces[pick(kPieces.size())]; break;
        case 1: s += random_ascii(); break;
        case 2: s.push_back(static_cast<char>(pick(0x80))); break;
        case 3: s += utf8(random_code_point()); break;
        default:
          if (pick(2)) s += kInvalid[pick(kInvalid.size())];
          else s.push_back(static_cast<char>(0x80 + pick(0x80)));
      }
    }
    return s;
  }

  double random_double() {
    static const std::vector<double> kValues = {0.0, -0.0, 0.1, 0.2, 0.3, 1.0, -1.0, 1.402641442, 1e300, -1e300,
                                                1e-300, 1e21, 1e22, 1e15, 1e16, 1e17, 123456789012345678.0,
                                                0.30000000000000004, 5e-324, 2.2250738585072014e-308,
                                                std::numeric_limits<double>::max(), std::numeric_limits<double>::lowest(),
                                                std::numeric_limits<double>::epsilon(), 1.0 / 3.0, 2.0 / 3.0,
                                                100.0, 1e-5, 1e-4, 0.001, 12345.678, 9007199254740993.0,
                                                std::numeric_limits<double>::quiet_NaN(),
                                                std::numeric_limits<double>::infinity(),
                                                -std::numeric_limits<double>::infinity()};
    switch (pick(4)) {
      case 0: return kValues[pick(kValues.size())];
      case 1: {
        uint64_t bits = rng_();
        double d;
        std::memcpy(&d, &bits, sizeof d);
        return d;
      }
      case 2: return std::uniform_real_distribution<double>(0, 10)(rng_);
      default: return static_cast<double>(pick(1000000)) / 1000.0;  // durations like 1.234
    }
  }

 private:
  uint64_t pick(uint64_t n) { return rng_() % n; }
  double chance() { return std::uniform_real_distribution<double>(0, 1)(rng_); }
  int pick_count() { return pick(3) == 0 ? 0 : static_cast<int>(1 + pick(pick(4) == 0 ? 12 : 3)); }

  std::string random_ascii() {
    std::string s;
    int n = static_cast<int>(1 + pick(12));
    for (int i = 0; i < n; ++i) s.push_back(static_cast<char>(0x20 + pick(0x5f)));
    return s;
  }

  uint32_t random_code_point() {
    for (;;) {
      uint32_t cp;
      switch (pick(4)) {
        case 0: cp = static_cast<uint32_t>(0x80 + pick(0x780)); break;
        case 1: cp = static_cast<uint32_t>(0x800 + pick(0xf800)); break;
        case 2: cp = static_cast<uint32_t>(0x10000 + pick(0x100000)); break;
        default: cp = static_cast<uint32_t>(0x2000 + pick(0x80)); break;
      }
      if (cp < 0xd800 || cp > 0xdfff) return cp;
    }
  }

  static std::string utf8(uint32_t cp) {
    std::string s;
    if (cp < 0x800) {
      s.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    } else if (cp < 0x10000) {
      s.push_back(static_cast<char>(0xe0 | (cp >> 12)));
      s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    } else {
      s.push_back(static_cast<char>(0xf0 | (cp >> 18)));
      s.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    }
    s.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    return s;
  }

  int64_t random_int64() {
    static const std::vector<int64_t> kValues = {0, 1, -1, 42, 3600, -3600, 9007199254740993LL,
                                                 std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min(),
                                                 std::numeric_limits<int32_t>::min(), -32602, 1790000000};
    return pick(2) ? kValues[pick(kValues.size())] : static_cast<int64_t>(rng_() >> pick(64));
  }

  void fill_timestamp(Message& ts) {
    const Reflection* r = ts.GetReflection();
    const Descriptor* d = ts.GetDescriptor();
    static const std::vector<int64_t> kSeconds = {0, 1, -1, 1790000000, 1700000000, -62135596800LL, 253402300799LL,
                                                  951782400 /* 2000-02-29 */, 4107542400 /* 2100-03-01 */, -86400};
    static const std::vector<int32_t> kNanos = {0, 0, 1000, 123456789, 120000000, 1, 999999999, 1000000, 500,
                                                10000, 100000000};
    int64_t seconds = pick(2) ? kSeconds[pick(kSeconds.size())]
                              : static_cast<int64_t>(pick(253402300799ULL + 62135596800ULL)) - 62135596800LL;
    int32_t nanos = pick(2) ? kNanos[pick(kNanos.size())] : static_cast<int32_t>(pick(1000000000));
    r->SetInt64(&ts, d->FindFieldByNumber(1), seconds);
    r->SetInt32(&ts, d->FindFieldByNumber(2), nanos);
  }

  void fill_scalar(Message& m, const FieldDescriptor* fd) {
    const Reflection* r = m.GetReflection();
    switch (fd->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32: r->SetInt32(&m, fd, static_cast<int32_t>(random_int64())); break;
      case FieldDescriptor::CPPTYPE_UINT32: r->SetUInt32(&m, fd, static_cast<uint32_t>(random_int64())); break;
      case FieldDescriptor::CPPTYPE_INT64: r->SetInt64(&m, fd, random_int64()); break;
      case FieldDescriptor::CPPTYPE_UINT64: r->SetUInt64(&m, fd, static_cast<uint64_t>(random_int64())); break;
      case FieldDescriptor::CPPTYPE_DOUBLE: r->SetDouble(&m, fd, random_double()); break;
      case FieldDescriptor::CPPTYPE_FLOAT: r->SetFloat(&m, fd, static_cast<float>(random_double())); break;
      case FieldDescriptor::CPPTYPE_BOOL: r->SetBool(&m, fd, pick(2)); break;
      case FieldDescriptor::CPPTYPE_ENUM: r->SetEnumValue(&m, fd, static_cast<int>(pick(4))); break;
      case FieldDescriptor::CPPTYPE_STRING: r->SetString(&m, fd, random_string()); break;
      case FieldDescriptor::CPPTYPE_MESSAGE: break;
    }
  }

  void add_scalar(Message& m, const FieldDescriptor* fd) {
    const Reflection* r = m.GetReflection();
    switch (fd->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32: r->AddInt32(&m, fd, static_cast<int32_t>(random_int64())); break;
      case FieldDescriptor::CPPTYPE_UINT32: r->AddUInt32(&m, fd, static_cast<uint32_t>(random_int64())); break;
      case FieldDescriptor::CPPTYPE_INT64: r->AddInt64(&m, fd, random_int64()); break;
      case FieldDescriptor::CPPTYPE_UINT64: r->AddUInt64(&m, fd, static_cast<uint64_t>(random_int64())); break;
      case FieldDescriptor::CPPTYPE_DOUBLE: r->AddDouble(&m, fd, random_double()); break;
      case FieldDescriptor::CPPTYPE_FLOAT: r->AddFloat(&m, fd, static_cast<float>(random_double())); break;
      case FieldDescriptor::CPPTYPE_BOOL: r->AddBool(&m, fd, pick(2)); break;
      case FieldDescriptor::CPPTYPE_ENUM: r->AddEnumValue(&m, fd, static_cast<int>(pick(4))); break;
      case FieldDescriptor::CPPTYPE_STRING: r->AddString(&m, fd, random_string()); break;
      case FieldDescriptor::CPPTYPE_MESSAGE: break;
    }
  }

  std::mt19937_64 rng_;
  bool invalid_utf8_;
};

// A filled message as the agent holds it: maps built through the map API (reflection's AddMessage leaves them in
// their repeated form, which both printers would walk in different orders: never the case for agent events).
std::unique_ptr<Message> settled(const Message& filled) {
  std::unique_ptr<Message> copy(filled.New());
  copy->CopyFrom(filled);
  return copy;
}

const google::protobuf::FileDescriptor* events_file() { return credtrace::v1::Event::descriptor()->file(); }

TEST(ProtoJson, EveryMessageOfTheSchemaIsCovered) {
  for (int i = 0; i < events_file()->message_type_count(); ++i) {
    EXPECT_TRUE(proto_json_supported(events_file()->message_type(i))) << events_file()->message_type(i)->full_name();
  }
}

TEST(ProtoJson, EmptyMessagesMatch) {
  for (int i = 0; i < events_file()->message_type_count(); ++i) {
    const Message* prototype =
        google::protobuf::MessageFactory::generated_factory()->GetPrototype(events_file()->message_type(i));
    EXPECT_EQ(fast(*prototype), reference(*prototype)) << prototype->GetDescriptor()->full_name();
  }
}

// Thousands of randomized events (each type of detail), fixed seed.
TEST(ProtoJson, RandomEventsMatchProtobuf) {
  Filler filler(20261204, false);
  // Each of these must show up in some outputs, or the generator misses a case.
  std::vector<std::pair<std::string, int>> seen = {
      {"\"exit_code\":", 0}, {"\"error_code\":\"", 0}, {"\"expires_in\":\"", 0}, {"\"events\":{\"", 0},
      {"\"sources\":[{", 0}, {"\"candidates\":[{", 0}, {"\\u2028", 0}, {"\\u003c", 0}, {"\\u0000", 0},
      {"\"NaN\"", 0}, {"\"-Infinity\"", 0}, {"e+", 0}, {"e-", 0}, {":-0,", 0}, {".123456789Z", 0},
      {".120Z", 0}, {".000001Z", 0}, {"0001-01-01T00:00:00Z", 0}, {"\"mcp_server_start\":{", 0},
      {"\"ttl_seconds\":\"-9223372036854775808\"", 0}, {"😀", 0}};
  // Runs until every needle has been drawn (at least 3,000 events, at most 60,000): a schema change moves the
  // generator, and a fixed count stopped short twice (-0 in a middle position).
  auto all_seen = [&seen] {
    return std::all_of(seen.begin(), seen.end(), [](const auto& needle) { return needle.second > 0; });
  };
  for (int i = 0; i < 60000 && (i < 3000 || !all_seen()); ++i) {
    credtrace::v1::Event event;
    filler.fill(event, 0);
    auto m = settled(event);
    std::string want = reference(*m);
    ASSERT_NE(want, "ERR") << i;
    ASSERT_EQ(fast(*m), want) << "event " << i;
    for (auto& [needle, count] : seen) count += want.find(needle) != std::string::npos;
  }
  for (auto& [needle, count] : seen) EXPECT_GT(count, 0) << needle;
}

// Every message type of the schema as a root, not only inside events.
TEST(ProtoJson, RandomMessagesOfEveryTypeMatchProtobuf) {
  Filler filler(7, false);
  for (int t = 0; t < events_file()->message_type_count(); ++t) {
    const Message* prototype =
        google::protobuf::MessageFactory::generated_factory()->GetPrototype(events_file()->message_type(t));
    for (int i = 0; i < 300; ++i) {
      std::unique_ptr<Message> m(prototype->New());
      filler.fill(*m, 0);
      auto s = settled(*m);
      ASSERT_EQ(fast(*s), reference(*s)) << prototype->GetDescriptor()->full_name() << " #" << i;
    }
  }
}

// Strings protobuf serializes with a logged complaint: bytes that are not UTF-8 are dropped as JsonEscaping drops
// them.
TEST(ProtoJson, InvalidUtf8MatchesProtobuf) {
  google::protobuf::LogHandler* previous = google::protobuf::SetLogHandler(nullptr);
  Filler filler(99, true);
  for (int i = 0; i < 3000; ++i) {
    credtrace::v1::Source source;
    source.set_kind(filler.random_string());
    source.set_name(filler.random_string());
    std::string bytes;
    for (int k = 0; k < 8; ++k) bytes.push_back(static_cast<char>(i * 31 + k * 97));
    source.set_path(bytes);
    ASSERT_EQ(fast(source), reference(source)) << i;
  }
  for (int i = 0; i < 500; ++i) {
    credtrace::v1::Event event;
    filler.fill(event, 0);
    auto m = settled(event);
    ASSERT_EQ(fast(*m), reference(*m)) << i;
  }
  // Every 1- to 3-byte sequence starting with a byte above 0x7f, between ASCII letters.
  for (int a = 0x80; a < 0x100; ++a) {
    for (int b = 0; b < 0x100; b += (a < 0xc0 || a >= 0xf8) ? 0x100 : 1) {
      for (int c : {-1, 0x41, 0x80, 0x9f, 0xbf, 0xc0}) {
        std::string s = "x";
        s.push_back(static_cast<char>(a));
        if (b < 0x100 && (a >= 0xc0 && a < 0xf8)) s.push_back(static_cast<char>(b));
        if (c >= 0) s.push_back(static_cast<char>(c));
        s += "y";
        credtrace::v1::Source source;
        source.set_kind(s);
        ASSERT_EQ(fast(source), reference(source)) << a << " " << b << " " << c;
      }
    }
  }
  google::protobuf::SetLogHandler(previous);
}

TEST(ProtoJson, EveryCodePointMatchesProtobuf) {
  std::string all;
  for (uint32_t cp = 0; cp <= 0x10ffff; ++cp) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    if (cp < 0x80) {
      all.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      all.push_back(static_cast<char>(0xc0 | (cp >> 6)));
      all.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      all.push_back(static_cast<char>(0xe0 | (cp >> 12)));
      all.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      all.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      all.push_back(static_cast<char>(0xf0 | (cp >> 18)));
      all.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      all.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      all.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
    if (all.size() > 4000 || cp == 0x10ffff) {
      credtrace::v1::Source source;
      source.set_kind(all);
      ASSERT_EQ(fast(source), reference(source)) << "block ending at U+" << std::hex << cp;
      all.clear();
    }
  }
}

TEST(ProtoJson, DoublesMatchProtobuf) {
  Filler filler(3, false);
  credtrace::v1::AgentHealth health;
  for (int i = 0; i < 100000; ++i) {
    health.set_uptime_seconds(filler.random_double());
    ASSERT_EQ(fast(health), reference(health)) << health.uptime_seconds();
  }
}

TEST(ProtoJson, TimestampsMatchProtobuf) {
  credtrace::v1::Event event;
  std::mt19937_64 rng(5);
  for (int i = 0; i < 20000; ++i) {
    int64_t seconds = static_cast<int64_t>(rng() % (253402300799ULL + 62135596800ULL + 1)) - 62135596800LL;
    if (i % 4 == 0) seconds = static_cast<int64_t>(rng() % 4102444800ULL);  // 1970-2100
    int32_t nanos = static_cast<int32_t>(rng() % 1000000000);
    if (i % 3 == 0) nanos = nanos / 1000000 * 1000000;
    if (i % 3 == 1) nanos = nanos / 1000 * 1000;
    if (i % 7 == 0) nanos = 0;
    event.mutable_time()->set_seconds(seconds);
    event.mutable_time()->set_nanos(nanos);
    ASSERT_EQ(fast(event), reference(event)) << seconds << " " << nanos;
  }
}

// Out of Timestamp's range protobuf fails the whole message; so does append_json (and the sink prints nothing).
TEST(ProtoJson, OutOfRangeTimestampsFailLikeProtobuf) {
  struct Case {
    int64_t seconds;
    int32_t nanos;
  };
  for (Case c : {Case{253402300800LL, 0}, Case{-62135596801LL, 0}, Case{0, -1}, Case{0, 1000000000},
                 Case{std::numeric_limits<int64_t>::max(), 0}}) {
    credtrace::v1::Event event;
    event.set_type("mcp_tool_call");
    event.mutable_mcp_tool_call()->add_downstream()->mutable_time()->set_seconds(c.seconds);
    event.mutable_mcp_tool_call()->mutable_downstream(0)->mutable_time()->set_nanos(c.nanos);
    EXPECT_EQ(reference(event), "ERR");
    EXPECT_EQ(fast(event), "ERR");
    EXPECT_EQ(event_to_json_line(event), "");
  }
}

// Where protobuf puts keys (checked above at random, spelled out here): declaration order, then the set
// oneof/optional scalars and Timestamps by field number.
TEST(ProtoJson, KeyOrderOfTheSchema) {
  credtrace::v1::Event event;
  event.set_type("mcp_server_exit");
  event.mutable_time()->set_seconds(1790000000);
  event.mutable_time()->set_nanos(123000000);
  event.mutable_mcp_server_exit()->set_outcome("exited");
  event.mutable_mcp_server_exit()->set_exit_code(0);
  event.mutable_mcp_server_exit()->set_duration_seconds(1.5);
  std::string want =
      "{\"type\":\"mcp_server_exit\",\"host\":\"\",\"agent_id\":\"\",\"sources\":[],\"truncated_fields\":[],"
      "\"mcp_server_exit\":{\"outcome\":\"exited\",\"exit_code\":0,\"duration_seconds\":1.5},"
      "\"time\":\"2026-09-21T14:13:20.123Z\"}";
  EXPECT_EQ(reference(event), want);
  EXPECT_EQ(fast(event), want);
  EXPECT_EQ(event_to_json_line(event), want);
}

TEST(ProtoJson, MapsInTheirIterationOrder) {
  credtrace::v1::AgentHealth health;
  for (int i = 0; i < 200; ++i) (*health.mutable_events())["k" + std::to_string(i * 7919 % 1000)] = i;
  (*health.mutable_events())[""] = 0;
  (*health.mutable_drops())["\"<odd>\"\n"] = ~0ULL;
  EXPECT_EQ(fast(health), reference(health));
  (*health.mutable_events())["later"] = 5;  // changed after a reflective read
  health.mutable_events()->erase("k7");
  EXPECT_EQ(fast(health), reference(health));
}

}  // namespace
}  // namespace credtrace::exporter
