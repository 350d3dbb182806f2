// Consumer of a BPF ring buffer map that maps its data once (see ring_reader.h).
#include "loader/ring_reader.h"

#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace credtrace::loader {

namespace {

uint64_t round_up_record(uint32_t len) {
  const uint64_t total = static_cast<uint64_t>(len & ~(RingRecords::kBusyBit | RingRecords::kDiscardBit)) +
                         RingRecords::kHeaderBytes;
  return (total + 7) & ~uint64_t{7};
}

}  // namespace

size_t RingRecords::drain(uint64_t producer_pos, Handler handler, void* ctx) {
  uint64_t consumer = __atomic_load_n(consumer_pos_, __ATOMIC_ACQUIRE);
  size_t handed = 0;
  while (consumer < producer_pos) {
    const uint64_t offset = consumer & mask_;
    // Records are 8-byte aligned and the header is 8 bytes: a header never wraps.
    const uint32_t len = __atomic_load_n(reinterpret_cast<const uint32_t*>(data_ + offset), __ATOMIC_ACQUIRE);
    if (len & kBusyBit) break;  // still being written: the records after it wait for it
    consumer += round_up_record(len);
    if (!(len & kDiscardBit)) {
      const size_t sample_size = len;
      const uint64_t sample_offset = (offset + kHeaderBytes) & mask_;
      const uint64_t ring_size = mask_ + 1;
      if (sample_offset + sample_size <= ring_size) {
        handler(ctx, data_ + sample_offset, sample_size);
      } else {
        const size_t first = static_cast<size_t>(ring_size - sample_offset);
        wrapped_.resize(sample_size);
        std::memcpy(wrapped_.data(), data_ + sample_offset, first);
        std::memcpy(wrapped_.data() + first, data_, sample_size - first);
        handler(ctx, wrapped_.data(), sample_size);
      }
      ++handed;
    }
    __atomic_store_n(consumer_pos_, consumer, __ATOMIC_RELEASE);
  }
  return handed;
}

std::unique_ptr<RingReader> RingReader::open(int map_fd, size_t size, std::string* error) {
  auto reader = std::make_unique<RingReader>(OnlyOpen{});
  reader->page_size_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  reader->size_ = size;
  if (size == 0 || (size & (size - 1)) != 0 || size % reader->page_size_ != 0) {
    *error = "ring buffer size " + std::to_string(size) + " is not a power of two of whole pages";
    return nullptr;
  }
  void* consumer = mmap(nullptr, reader->page_size_, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
  if (consumer == MAP_FAILED) {
    *error = std::string("cannot map the ring buffer's consumer page: ") + std::strerror(errno);
    return nullptr;
  }
  reader->consumer_page_ = consumer;
  // The producer page and the data area once (the kernel lays out consumer page, producer page, data).
  void* producer = mmap(nullptr, reader->page_size_ + size, PROT_READ, MAP_SHARED, map_fd,
                        static_cast<off_t>(reader->page_size_));
  if (producer == MAP_FAILED) {
    *error = std::string("cannot map the ring buffer's data: ") + std::strerror(errno);
    return nullptr;
  }
  reader->producer_area_ = producer;
  reader->epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (reader->epoll_fd_ < 0) {
    *error = std::string("cannot create an epoll instance for the ring buffer: ") + std::strerror(errno);
    return nullptr;
  }
  epoll_event interest{};
  interest.events = EPOLLIN;
  if (epoll_ctl(reader->epoll_fd_, EPOLL_CTL_ADD, map_fd, &interest) != 0) {
    *error = std::string("cannot wait on the ring buffer: ") + std::strerror(errno);
    return nullptr;
  }
  reader->records_ = std::make_unique<RingRecords>(static_cast<const uint8_t*>(producer) + reader->page_size_, size,
                                                   static_cast<uint64_t*>(consumer));
  return reader;
}

RingReader::~RingReader() {
  if (epoll_fd_ >= 0) close(epoll_fd_);
  if (producer_area_) munmap(producer_area_, page_size_ + size_);
  if (consumer_page_) munmap(consumer_page_, page_size_);
}

// Drains until the ring is empty, as libbpf does (records keep arriving while the handler runs: under a storm, one
// call per record batch would leave the agent's loop turning, each turn's other work per few records), but at most
// one ring's worth per call, so that the loop (the hold lease, health) gets its turn.
int RingReader::consume(RingRecords::Handler handler, void* ctx) {
  const auto* producer = static_cast<const uint64_t*>(producer_area_);
  const auto* consumer = static_cast<const uint64_t*>(consumer_page_);
  const uint64_t first = __atomic_load_n(consumer, __ATOMIC_ACQUIRE);
  size_t handed = 0;
  for (;;) {
    const uint64_t produced = __atomic_load_n(producer, __ATOMIC_ACQUIRE);
    if (produced == __atomic_load_n(consumer, __ATOMIC_ACQUIRE)) break;
    handed += records_->drain(produced, handler, ctx);
    const uint64_t reached = __atomic_load_n(consumer, __ATOMIC_ACQUIRE);
    if (reached < produced || reached - first >= size_) break;  // a record still being written, or a lap done
  }
  return static_cast<int>(handed);
}

int RingReader::poll(int timeout_ms, RingRecords::Handler handler, void* ctx) {
  epoll_event ready{};
  if (epoll_wait(epoll_fd_, &ready, 1, timeout_ms) < 0 && errno != EINTR) return -errno;
  return consume(handler, ctx);
}

uint64_t RingReader::used_bytes() const {
  const uint64_t consumed = __atomic_load_n(static_cast<const uint64_t*>(consumer_page_), __ATOMIC_ACQUIRE);
  const uint64_t produced = __atomic_load_n(static_cast<const uint64_t*>(producer_area_), __ATOMIC_ACQUIRE);
  return produced > consumed ? produced - consumed : 0;
}

}  // namespace credtrace::loader
