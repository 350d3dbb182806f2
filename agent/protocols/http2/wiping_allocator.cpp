// The allocator handed to nghttp2's HPACK inflater: every block is wiped before it is freed (or moved by realloc).
#include "protocols/http2/wiping_allocator.h"

#include <malloc.h>
#include <string.h>

#include <algorithm>
#include <cstdlib>

namespace credtrace::protocols::http2 {
namespace {

void* allocate(size_t size, void*) { return std::malloc(size); }

void* allocate_zeroed(size_t count, size_t size, void*) { return std::calloc(count, size); }

void wipe_and_free(void* block, void*) {
  if (block == nullptr) return;
  ::explicit_bzero(block, ::malloc_usable_size(block));
  std::free(block);
}

// Never std::realloc: it may move the block and free the old copy unwiped.
void* reallocate(void* block, size_t size, void* user_data) {
  if (block == nullptr) return allocate(size, user_data);
  if (size == 0) {
    wipe_and_free(block, user_data);
    return nullptr;
  }
  void* moved = std::malloc(size);
  if (moved == nullptr) return nullptr;  // the old block stays valid, as realloc's contract says
  ::memcpy(moved, block, std::min(size, ::malloc_usable_size(block)));
  wipe_and_free(block, user_data);
  return moved;
}

nghttp2_mem wiping = {nullptr, allocate, wipe_and_free, allocate_zeroed, reallocate};

}  // namespace

nghttp2_mem* wiping_allocator() { return &wiping; }

}  // namespace credtrace::protocols::http2
