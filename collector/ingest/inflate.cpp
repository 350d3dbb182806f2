// Bounded decompression of request bodies (deflate = zlib stream or raw deflate, gzip): stops at the output cap.
#include "ingest/inflate.h"

#include <zlib.h>

#include <algorithm>
#include <limits>

namespace credtrace::collector {
namespace {

constexpr size_t kChunk = 64 * 1024;

// RAII for a zlib inflate stream.
class InflateStream {
 public:
  explicit InflateStream(int window_bits) { ok_ = inflateInit2(&stream_, window_bits) == Z_OK; }
  ~InflateStream() {
    if (ok_) inflateEnd(&stream_);
  }
  InflateStream(const InflateStream&) = delete;
  InflateStream& operator=(const InflateStream&) = delete;
  bool ok() const { return ok_; }
  z_stream& get() { return stream_; }

 private:
  z_stream stream_{};
  bool ok_ = false;
};

// RFC 1950 header: CM=8, CINFO<=7, and the 16-bit header is a multiple of 31.
bool looks_like_zlib(std::string_view input) {
  if (input.size() < 2) return false;
  auto b0 = static_cast<unsigned char>(input[0]), b1 = static_cast<unsigned char>(input[1]);
  return (b0 & 0x0f) == 8 && (b0 >> 4) <= 7 && ((b0 << 8) | b1) % 31 == 0;
}

int window_bits_for(std::string_view input, Compression compression) {
  if (compression == Compression::kGzip) return 16 + MAX_WBITS;
  return looks_like_zlib(input) ? MAX_WBITS : -MAX_WBITS;
}

InflateResult fail(InflateError error, std::string message) { return {error, std::move(message)}; }

InflateResult too_large(size_t max_output) {
  return fail(InflateError::kTooLarge,
              "decompressed body exceeds " + std::to_string(max_output) + " bytes (--max-decompressed-bytes)");
}

}  // namespace

InflateResult inflate_bounded(std::string_view input, Compression compression, size_t max_output, std::string& out) {
  out.clear();
  if (input.size() > std::numeric_limits<uInt>::max()) return fail(InflateError::kBadData, "compressed body too large");
  InflateStream stream(window_bits_for(input, compression));
  if (!stream.ok()) return fail(InflateError::kBadData, "cannot initialise zlib");
  z_stream& z = stream.get();
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  z.avail_in = static_cast<uInt>(input.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (out.size() > max_output) return too_large(max_output);
    size_t used = out.size();
    size_t room = std::min(kChunk, max_output + 1 - used);
    out.resize(used + room);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    z.avail_out = static_cast<uInt>(room);
    rc = inflate(&z, Z_NO_FLUSH);
    out.resize(used + room - z.avail_out);
    if (rc == Z_NEED_DICT || rc == Z_DATA_ERROR || rc == Z_MEM_ERROR || rc == Z_STREAM_ERROR)
      return fail(InflateError::kBadData, std::string("body is not valid compressed data: ") +
                                              (z.msg ? z.msg : "corrupt stream"));
    if (rc == Z_BUF_ERROR && z.avail_in == 0) return fail(InflateError::kTruncated, "compressed body is truncated");
  }
  if (out.size() > max_output) return too_large(max_output);
  if (z.avail_in != 0) return fail(InflateError::kTrailingData, "unexpected bytes after the end of the compressed body");
  return {};
}

}  // namespace credtrace::collector
