// The allocator handed to nghttp2's HPACK inflater: every block is wiped before it is freed (or moved by realloc).
#pragma once

#include <nghttp2/nghttp2.h>

namespace credtrace::protocols::http2 {

// nghttp2 keeps decoded header names and values (credentials among them) in its dynamic table and scratch
// buffers, and frees them without clearing: through this allocator they are zeroed first, as our own copies are.
nghttp2_mem* wiping_allocator();

}  // namespace credtrace::protocols::http2
