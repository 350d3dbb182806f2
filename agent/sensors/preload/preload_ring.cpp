// The consumer side of a preloaded process's ring: validated mapping, ordered draining with copy-out and wipe,
// stalled records discarded, the secret-name table and the decision flags written for the process's hooks.
#include "sensors/preload/preload_ring.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <atomic>
#include <cstring>

namespace credtrace::sensors {
namespace {

bool power_of_two(uint32_t v) { return v && !(v & (v - 1)); }

size_t mapping_bytes(uint32_t ring_bytes, uint32_t table_slots) {
  return CT_PRELOAD_HEADER_BYTES + size_t{table_slots} * sizeof(ct_preload_name_slot) + ring_bytes;
}

std::atomic_ref<uint32_t> word_at(uint8_t* p) { return std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(p)); }

}  // namespace

std::unique_ptr<PreloadRing> PreloadRing::map(int fd, uint32_t ring_bytes, uint32_t table_slots, std::string* error) {
  if (!power_of_two(ring_bytes) || ring_bytes < (64u << 10) || ring_bytes > (64u << 20)) {
    *error = "ring size out of range";
    return nullptr;
  }
  if (!power_of_two(table_slots) || table_slots < 16 || table_slots > 4096) {
    *error = "table size out of range";
    return nullptr;
  }
  const int seals = ::fcntl(fd, F_GET_SEALS);
  if (seals < 0 || !(seals & F_SEAL_SHRINK)) {
    *error = "memory not sealed against shrinking";  // the process could cut it under the agent (SIGBUS)
    return nullptr;
  }
  struct stat st{};
  const size_t bytes = mapping_bytes(ring_bytes, table_slots);
  if (::fstat(fd, &st) != 0 || static_cast<size_t>(st.st_size) != bytes) {
    *error = "memory size does not match";
    return nullptr;
  }
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    *error = std::string("mmap: ") + std::strerror(errno);
    return nullptr;
  }
  auto* base = static_cast<uint8_t*>(p);
  const auto* header = reinterpret_cast<const ct_preload_header*>(base);
  if (header->magic != CT_PRELOAD_MAGIC || header->version != CT_PRELOAD_VERSION ||
      header->ring_bytes != ring_bytes || header->table_slots != table_slots) {
    ::munmap(p, bytes);
    *error = "header does not match the registration";
    return nullptr;
  }
  return std::unique_ptr<PreloadRing>(new PreloadRing(base, bytes, ring_bytes, table_slots));
}

PreloadRing::PreloadRing(uint8_t* base, size_t bytes, uint32_t ring_bytes, uint32_t table_slots)
    : base_(base), bytes_(bytes), ring_bytes_(ring_bytes), table_slots_(table_slots), names_(table_slots) {
  dropped_at_map_ = header()->dropped_records.load(std::memory_order_relaxed);  // a re-registration's old drops
}

PreloadRing::~PreloadRing() { ::munmap(base_, bytes_); }

ct_preload_name_slot* PreloadRing::slot(uint32_t i) const {
  return reinterpret_cast<ct_preload_name_slot*>(base_ + CT_PRELOAD_HEADER_BYTES) + (i & (table_slots_ - 1));
}

uint8_t* PreloadRing::ring() const {
  return base_ + CT_PRELOAD_HEADER_BYTES + size_t{table_slots_} * sizeof(ct_preload_name_slot);
}

size_t PreloadRing::drain(uint64_t before_ns, uint64_t now_mono_ns, const std::function<void(PreloadRecord&)>& fn) {
  if (broken_) return 0;
  if (!started_) {  // read at the first drain: an earlier mapping of the same memory (the image before, an agent
    started_ = true;  // that stopped) may have read on until then; a process registering again keeps its unread records
    tail_ = header()->tail.load(std::memory_order_acquire);
  }
  const uint64_t head = header()->head.load(std::memory_order_acquire);
  if (head - tail_ > ring_bytes_) {  // a writer cannot get this far ahead: the memory was scribbled on
    ++stats_.malformed;
    broken_ = true;
    close();
    return 0;
  }
  size_t handed = 0;
  PreloadRecord record;
  while (tail_ != head) {
    const uint64_t offset = tail_ & (ring_bytes_ - 1);
    const uint32_t word = word_at(ring() + offset).load(std::memory_order_acquire);
    const uint32_t len = word & CT_REC_LEN_MASK;
    if (word == 0) break;  // reserved, header not written yet
    if (len < 8 || (len & 7) || offset + len > ring_bytes_ || len > head - tail_) {
      ++stats_.malformed;
      broken_ = true;
      close();
      break;
    }
    if (word & CT_REC_BUSY) {
      if (stalled_at_ != tail_) {
        stalled_at_ = tail_;
        stalled_since_ns_ = now_mono_ns;
        break;
      }
      if (now_mono_ns - stalled_since_ns_ < kStallNs) break;
      uint32_t expected = word;  // its writer never finished: skipped (the writer counts it if it ever commits)
      if (!word_at(ring() + offset).compare_exchange_strong(expected, CT_REC_DISCARD | len)) continue;
      ++stats_.discarded;
      consume(offset, len);
      continue;
    }
    if (!(word & (CT_REC_PAD | CT_REC_DISCARD))) {
      if (!take_record(word, offset, before_ns, record)) break;
      if (broken_) break;
      ++stats_.records;
      ++handed;
      fn(record);
      OPENSSL_cleanse(record.body.data(), record.body.size());
      record.body.clear();
    }
    consume(offset, len);
  }
  header()->tail.store(tail_, std::memory_order_release);
  return handed;
}

// Copies a committed record out; false (nothing consumed) when it is at or after before_ns.
bool PreloadRing::take_record(uint32_t word, uint64_t offset, uint64_t before_ns, PreloadRecord& out) {
  const uint32_t len = word & CT_REC_LEN_MASK;
  if (len < sizeof(ct_preload_record)) {
    ++stats_.malformed;
    broken_ = true;
    close();
    return true;
  }
  ct_preload_record fixed;
  std::memcpy(static_cast<void*>(&fixed), ring() + offset, sizeof(fixed));
  if (fixed.time_boot_ns >= before_ns) return false;
  const uint32_t room = len - static_cast<uint32_t>(sizeof(ct_preload_record));
  const uint32_t body = fixed.body_len <= room ? fixed.body_len : room;  // a lying body_len is cut to the record
  out.type = fixed.type;
  out.time_boot_ns = fixed.time_boot_ns;
  out.tid = fixed.tid;
  out.body.assign(reinterpret_cast<const char*>(ring() + offset + sizeof(ct_preload_record)), body);
  return true;
}

// The record's bytes are zeroed (a raw value must not stay in the ring; 0 is also "not written yet" for the next lap).
void PreloadRing::consume(uint64_t offset, uint32_t len) {
  std::memset(ring() + offset + sizeof(uint32_t), 0, len - sizeof(uint32_t));
  word_at(ring() + offset).store(0, std::memory_order_relaxed);
  tail_ += len;
  stalled_at_ = UINT64_MAX;
}

void PreloadRing::decide(uint32_t enabled) {
  header()->enabled.store(enabled, std::memory_order_relaxed);
  header()->agent_state.store(CT_AGENT_ACTIVE, std::memory_order_release);
}

void PreloadRing::close() { header()->agent_state.store(CT_AGENT_CLOSED, std::memory_order_release); }

void PreloadRing::heartbeat(uint64_t now_mono_ns) { header()->heartbeat_ns.store(now_mono_ns, std::memory_order_relaxed); }

int PreloadRing::find_slot(std::string_view name) const {
  for (uint32_t i = 0; i < table_slots_; ++i)
    if (names_[i] == name) return static_cast<int>(i);
  return -1;
}

bool PreloadRing::add_name(std::string_view name, bool already_read) {
  if (name.empty() || name.size() >= CT_PRELOAD_NAME_LEN) return false;
  if (find_slot(name) >= 0) return true;
  if (names_filled_ >= table_slots_ / 2) return false;  // at most half full: a miss ends at an empty slot soon
  const uint32_t len = static_cast<uint32_t>(name.size());
  const uint32_t hash = ct_preload_name_hash(name.data(), len);
  for (uint32_t i = 0; i < table_slots_; ++i) {
    ct_preload_name_slot* s = slot(hash + i);
    const uint32_t index = (hash + i) & (table_slots_ - 1);
    if (!names_[index].empty()) continue;
    s->hash = hash;
    std::memset(s->name, 0, sizeof(s->name));
    std::memcpy(s->name, name.data(), name.size());
    s->reads.store(already_read ? 1 : 0, std::memory_order_relaxed);
    s->sent.store(already_read ? 1 : 0, std::memory_order_relaxed);
    s->state.store(1, std::memory_order_release);
    header()->name_bloom.fetch_or(uint64_t{1} << ct_preload_name_quick(name.data(), len), std::memory_order_release);
    names_[index] = std::string(name);
    ++names_filled_;
    return true;
  }
  return false;
}

uint64_t PreloadRing::reads_of(std::string_view name) const {
  const int i = find_slot(name);
  return i < 0 ? 0 : slot(static_cast<uint32_t>(i))->reads.load(std::memory_order_relaxed);
}

uint64_t PreloadRing::dropped_records() const {
  return header()->dropped_records.load(std::memory_order_relaxed) - dropped_at_map_;
}
uint64_t PreloadRing::abandoned_records() const { return header()->abandoned_records.load(std::memory_order_relaxed); }

}  // namespace credtrace::sensors
