// Tests of the chunked transfer-coding framer: a table of bodies decoded whole, split at every byte and byte by byte.
#include "protocols/http1/chunked_framer.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace credtrace::protocols::http1 {
namespace {

using Event = ChunkedFramer::Event;

constexpr size_t kMaxSizeLine = 32;
constexpr size_t kMaxTrailers = 64;

// What decoding a body produced.
struct Decoded {
  std::string body;
  size_t trailers = 0;
  bool ended = false;
  const char* error = nullptr;  // kError or kTooLarge
  bool too_large = false;
  size_t end = 0;               // bytes consumed when the body ended (or stopped on an error)
  bool operator==(const Decoded& other) const {
    return body == other.body && trailers == other.trailers && ended == other.ended &&
           (error == nullptr) == (other.error == nullptr) && too_large == other.too_large && end == other.end;
  }
};

// A caller as the parsers are: a buffer of unconsumed bytes, fed in pieces, stepped until it needs more.
class Caller {
 public:
  void feed(std::string_view piece) {
    buffer_.append(piece);
    while (!done_) {
      ChunkedFramer::Step step = framer_.step(std::string_view(buffer_).substr(pos_));
      if (step.event == Event::kNeedMore) return;
      take(step);
    }
  }
  const Decoded& decoded() const { return decoded_; }

 private:
  void take(const ChunkedFramer::Step& step) {
    if (step.event == Event::kData) decoded_.body.append(step.data);
    if (step.event == Event::kTrailer) ++decoded_.trailers;
    if (step.event == Event::kError || step.event == Event::kTooLarge) {
      decoded_.error = step.error;
      decoded_.too_large = step.event == Event::kTooLarge;
      done_ = true;
    }
    pos_ += step.consumed;
    if (step.event == Event::kEnd) {
      decoded_.ended = true;
      done_ = true;
    }
    decoded_.end = pos_;
  }

  ChunkedFramer framer_{kMaxSizeLine, kMaxTrailers};
  std::string buffer_;
  size_t pos_ = 0;
  bool done_ = false;
  Decoded decoded_;
};

Decoded decode_in_pieces(std::string_view input, size_t piece) {
  Caller caller;
  for (size_t at = 0; at < input.size(); at += piece) caller.feed(input.substr(at, piece));
  return caller.decoded();
}

Decoded decode_split_at(std::string_view input, size_t split) {
  Caller caller;
  caller.feed(input.substr(0, split));
  caller.feed(input.substr(split));
  return caller.decoded();
}

struct Case {
  const char* name;
  std::string input;
  std::string body;
  size_t trailers = 0;
  bool ended = true;
  bool error = false;
  bool too_large = false;
  size_t end = 0;  // 0: the whole input
};

const std::string kLongTrailer = "X-Long: " + std::string(kMaxTrailers, 'a') + "\r\n\r\n";

const std::vector<Case> kCases = {
    {"one chunk", "5\r\nhello\r\n0\r\n\r\n", "hello"},
    {"two chunks", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world"},
    {"empty body", "0\r\n\r\n", ""},
    {"extensions ignored", "5;name=value;other\r\nhello\r\n6 ; ext\r\n world\r\n0;last\r\n\r\n", "hello world"},
    {"upper-case hex and bare line feeds", "A\nabcdefghij\n0\n\n", "abcdefghij"},
    {"trailers consumed, not kept", "3\r\nabc\r\n0\r\nX-Checksum: 1\r\nX-Other: 2\r\n\r\n", "abc", 2},
    {"bytes after the body are not consumed", "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n", "abc", 0, true, false, false,
     13},
    {"incomplete: waits for more", "5\r\nhel", "hel", 0, false, false, false, 6},
    {"bad size", "xyz\r\nabc\r\n0\r\n\r\n", "", 0, false, true},
    {"empty size", "\r\nabc\r\n", "", 0, false, true},
    {"size over 15 hex digits", "1000000000000000\r\n", "", 0, false, true},
    {"size line over the limit", std::string(kMaxSizeLine + 1, '0') + "1\r\n", "", 0, false, true},
    {"data not followed by a line end", "3\r\nabcd\r\n", "abc", 0, false, true, false, 6},
    {"trailers over the limit", "1\r\na\r\n0\r\n" + kLongTrailer, "a", 0, false, true, true, 9 + kMaxTrailers},
};

class ChunkedFramerTable : public ::testing::TestWithParam<Case> {};

Decoded expected(const Case& c) {
  Decoded d;
  d.body = c.body;
  d.trailers = c.trailers;
  d.ended = c.ended;
  d.error = c.error ? "" : nullptr;
  d.too_large = c.too_large;
  d.end = c.end != 0 ? c.end : c.input.size();
  if (c.error && !c.too_large && c.end == 0) d.end = 0;
  return d;
}

TEST_P(ChunkedFramerTable, WholeFeed) {
  const Case& c = GetParam();
  Decoded got = decode_in_pieces(c.input, c.input.size() + 1);
  EXPECT_EQ(got.body, c.body);
  EXPECT_EQ(got.trailers, c.trailers);
  EXPECT_EQ(got.ended, c.ended);
  EXPECT_EQ(got.error != nullptr, c.error);
  EXPECT_EQ(got.too_large, c.too_large);
  EXPECT_EQ(got.end, expected(c).end);
}

TEST_P(ChunkedFramerTable, SplitAtEveryByteMatchesWholeFeed) {
  const Case& c = GetParam();
  const Decoded whole = decode_in_pieces(c.input, c.input.size() + 1);
  for (size_t split = 0; split <= c.input.size(); ++split)
    EXPECT_EQ(decode_split_at(c.input, split), whole) << "split at " << split;
  EXPECT_EQ(decode_in_pieces(c.input, 1), whole) << "byte by byte";
}

INSTANTIATE_TEST_SUITE_P(Bodies, ChunkedFramerTable, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string name;
                           for (char ch : std::string_view(info.param.name))
                             name += (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ? ch : '_';
                           return name;
                         });

TEST(ChunkedFramer, ErrorsNeverQuoteTheInput) {
  ChunkedFramer framer(kMaxSizeLine, kMaxTrailers);
  ChunkedFramer::Step step = framer.step("zz-secret-zz\r\n");
  ASSERT_EQ(step.event, Event::kError);
  EXPECT_EQ(std::string_view(step.error).find("secret"), std::string_view::npos);
  EXPECT_EQ(step.consumed, 0u);
}

TEST(ChunkedFramer, SkipDataContinuesTheFramingAfterAGapInsideAChunk) {
  ChunkedFramer framer(kMaxSizeLine, kMaxTrailers);
  ASSERT_EQ(framer.step("a\r\n").event, Event::kFraming);
  ASSERT_TRUE(framer.in_data());
  EXPECT_EQ(framer.data_remaining(), 10u);
  ChunkedFramer::Step data = framer.step("abc");
  EXPECT_EQ(data.data, "abc");
  framer.skip_data(4);  // never seen
  EXPECT_EQ(framer.data_remaining(), 3u);
  EXPECT_EQ(framer.step("hijkl").data, "hij");
  EXPECT_FALSE(framer.in_data());
  EXPECT_EQ(framer.step("\r\n").event, Event::kFraming);
  EXPECT_EQ(framer.step("0\r\n").event, Event::kFraming);
  EXPECT_EQ(framer.step("\r\n").event, Event::kEnd);
}

TEST(ChunkedFramer, ResetStartsANewBody) {
  ChunkedFramer framer(kMaxSizeLine, kMaxTrailers);
  ASSERT_EQ(framer.step("5\r\n").event, Event::kFraming);
  framer.reset();
  EXPECT_FALSE(framer.in_data());
  ChunkedFramer::Step step = framer.step("0\r\n");
  EXPECT_EQ(step.event, Event::kFraming);
  EXPECT_EQ(step.consumed, 3u);
  EXPECT_EQ(framer.step("\r\n").event, Event::kEnd);
}

TEST(ChunkedFramer, TrailerLimitCountsTheWholeSection) {
  // Lines each under the limit, together over it.
  std::string trailers;
  while (trailers.size() <= kMaxTrailers) trailers += "X-A: bbbbbbbbbb\r\n";
  Decoded got = decode_in_pieces("0\r\n" + trailers + "\r\n", 1);
  EXPECT_TRUE(got.too_large);
  EXPECT_FALSE(got.ended);
}

}  // namespace
}  // namespace credtrace::protocols::http1
