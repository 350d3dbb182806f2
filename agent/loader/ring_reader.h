// Consumer of a BPF ring buffer map that maps its data once (libbpf maps it twice, so that a record wrapping past
// the end reads as contiguous: the kernel inserts every page of both mappings at mmap, 2x the ring in the agent's
// RSS). A wrapped record is copied into a scratch buffer instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace credtrace::loader {

// Walks the records between a consumer and a producer position of a ring's data area (the kernel's layout: an
// 8-byte header {u32 len with busy and discard bits, u32 page offset} then the sample, each record 8-byte aligned).
// Separate from the mappings so that its arithmetic can be tested on plain memory.
class RingRecords {
 public:
  using Handler = void (*)(void* ctx, const void* sample, size_t size);
  static constexpr uint32_t kBusyBit = 1u << 31;
  static constexpr uint32_t kDiscardBit = 1u << 30;
  static constexpr size_t kHeaderBytes = 8;

  // data: size bytes (a power of two); consumer_pos: the consumer page's counter (released after every record).
  RingRecords(const uint8_t* data, size_t size, uint64_t* consumer_pos) : data_(data), mask_(size - 1), consumer_pos_(consumer_pos) {}
  // Hands every committed record before producer_pos to handler (discarded ones skipped), stopping at the first
  // record still being written (busy). Returns the records handed over.
  size_t drain(uint64_t producer_pos, Handler handler, void* ctx);

 private:
  const uint8_t* data_;
  uint64_t mask_;
  uint64_t* consumer_pos_;
  std::vector<uint8_t> wrapped_;  // a record that runs past the end of the data area, made contiguous
};

class RingReader {
 public:
  // map_fd: a BPF_MAP_TYPE_RINGBUF of size bytes (a power of two, a multiple of the page size).
  static std::unique_ptr<RingReader> open(int map_fd, size_t size, std::string* error);
  struct OnlyOpen {};  // the constructor's pass key: a reader comes from open()
  explicit RingReader(OnlyOpen) {}
  ~RingReader();
  RingReader(const RingReader&) = delete;
  RingReader& operator=(const RingReader&) = delete;

  // Waits up to timeout_ms (0: not at all) for the kernel's wake-up, then drains what is committed. Returns the
  // records handed over, or -errno when the wait failed (EINTR is not a failure: 0).
  int poll(int timeout_ms, RingRecords::Handler handler, void* ctx);
  // Drains what is committed, and what is committed meanwhile, up to one ring's worth (submits without wake-up are
  // only seen this way).
  int consume(RingRecords::Handler handler, void* ctx);
  // Bytes reserved by the kernel and not consumed yet.
  uint64_t used_bytes() const;

 private:
  size_t page_size_ = 0;
  size_t size_ = 0;
  int epoll_fd_ = -1;
  void* consumer_page_ = nullptr;  // read-write: the consumer position
  void* producer_area_ = nullptr;  // read-only: the producer position page, then the data area (once)
  std::unique_ptr<RingRecords> records_;
};

}  // namespace credtrace::loader
