// Unit tests of bounded inflate: zlib/raw deflate/gzip, truncation, trailing bytes, corrupt data, bombs.
#include <gtest/gtest.h>
#include <zlib.h>

#include "ingest/inflate.h"

using namespace credtrace::collector;

namespace {

std::string compress(const std::string& data, int window_bits) {
  z_stream z{};
  deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, window_bits, 9, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

}  // namespace

TEST(Inflate, ZlibRawAndGzip) {
  std::string data(100000, 'x');
  for (int bits : {MAX_WBITS, -MAX_WBITS}) {
    std::string out;
    ASSERT_TRUE(inflate_bounded(compress(data, bits), Compression::kDeflate, 1 << 20, out).ok());
    EXPECT_EQ(out, data);
  }
  std::string out;
  ASSERT_TRUE(inflate_bounded(compress(data, 16 + MAX_WBITS), Compression::kGzip, 1 << 20, out).ok());
  EXPECT_EQ(out, data);
}

TEST(Inflate, BombIsCutWhileInflating) {
  std::string bomb = compress(std::string(64 << 20, '\0'), MAX_WBITS);  // ~64 KiB compressed
  std::string out;
  auto result = inflate_bounded(bomb, Compression::kDeflate, 1 << 20, out);
  EXPECT_EQ(result.error, InflateError::kTooLarge);
  EXPECT_LE(out.capacity(), 2u << 20);  // inflation stopped at the cap (string growth doubles)
}

TEST(Inflate, ExactlyAtTheCapIsAccepted) {
  std::string data(4096, 'a');
  std::string out;
  EXPECT_TRUE(inflate_bounded(compress(data, MAX_WBITS), Compression::kDeflate, 4096, out).ok());
  EXPECT_EQ(inflate_bounded(compress(data, MAX_WBITS), Compression::kDeflate, 4095, out).error, InflateError::kTooLarge);
}

TEST(Inflate, TruncatedTrailingAndGarbage) {
  std::string data;
  for (int i = 0; i < 5000; ++i) data += std::to_string(i * 7919);
  std::string z = compress(data, MAX_WBITS);
  std::string out;
  EXPECT_EQ(inflate_bounded(z.substr(0, z.size() / 2), Compression::kDeflate, 1 << 20, out).error,
            InflateError::kTruncated);
  EXPECT_EQ(inflate_bounded(z.substr(0, z.size() - 1), Compression::kDeflate, 1 << 20, out).error,
            InflateError::kTruncated);  // adler32 trailer cut
  EXPECT_EQ(inflate_bounded(z + "junk", Compression::kDeflate, 1 << 20, out).error, InflateError::kTrailingData);
  EXPECT_EQ(inflate_bounded("this is not compressed at all", Compression::kDeflate, 1 << 20, out).error,
            InflateError::kBadData);
  EXPECT_EQ(inflate_bounded("", Compression::kDeflate, 1 << 20, out).error, InflateError::kTruncated);
}
