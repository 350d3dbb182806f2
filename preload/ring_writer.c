/* The producer side of a process's ring: lock-free reservation by any thread (or signal handler), commit, and the
 * env records. A full ring drops the record and counts it; nothing here blocks, allocates or takes a lock. */
#define _GNU_SOURCE
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "preload_internal.h"

static __thread uint32_t ct_thread_id __attribute__((tls_model("initial-exec")));

uint32_t ct_tid(void) {
  if (CT_UNLIKELY(ct_thread_id == 0)) ct_thread_id = (uint32_t)syscall(SYS_gettid);
  return ct_thread_id;
}

void ct_forget_tid(void) { ct_thread_id = 0; }

uint64_t ct_boot_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t ct_mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint8_t* ring_base(struct ct_preload_header* header) {
  return (uint8_t*)ct_table(header) + (size_t)header->table_slots * sizeof(struct ct_preload_name_slot);
}

static void count_drop(struct ct_preload_header* header, uint64_t bytes) {
  atomic_fetch_add_explicit(&header->dropped_records, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&header->dropped_bytes, bytes, memory_order_relaxed);
}

struct ct_preload_record* ct_ring_reserve(struct ct_preload_header* header, uint32_t type, uint32_t body_len) {
  const uint64_t size = header->ring_bytes; /* written once by this process before publishing the channel */
  const uint64_t total = (sizeof(struct ct_preload_record) + (uint64_t)body_len + 7) & ~7ull;
  if (CT_UNLIKELY(total > size / 2 || total > CT_REC_LEN_MASK)) {
    count_drop(header, total);
    return NULL;
  }
  uint64_t head = atomic_load_explicit(&header->head, memory_order_relaxed);
  uint64_t pad;
  for (;;) {
    const uint64_t tail = atomic_load_explicit(&header->tail, memory_order_acquire);
    const uint64_t offset = head & (size - 1);
    pad = offset + total > size ? size - offset : 0;
    if (head + pad + total - tail > size) {
      count_drop(header, total);
      ct_channel_ring_full(header);
      return NULL;
    }
    if (atomic_compare_exchange_weak_explicit(&header->head, &head, head + pad + total, memory_order_acq_rel,
                                              memory_order_relaxed))
      break;
  }
  uint8_t* ring = ring_base(header);
  if (pad) {
    struct ct_preload_record* filler = (struct ct_preload_record*)(ring + (head & (size - 1)));
    atomic_store_explicit(&filler->word, CT_REC_PAD | (uint32_t)pad, memory_order_release);
  }
  struct ct_preload_record* record = (struct ct_preload_record*)(ring + ((head + pad) & (size - 1)));
  atomic_store_explicit(&record->word, CT_REC_BUSY | (uint32_t)total, memory_order_relaxed);
  record->type = type;
  record->time_boot_ns = ct_boot_ns();
  record->tid = ct_tid();
  record->body_len = body_len;
  return record;
}

void ct_ring_commit(struct ct_preload_header* header, struct ct_preload_record* record) {
  /* Exactly the word reserve wrote: if the agent discarded the record (its writer stalled for seconds) and the
   * place was reused, the word there is another record's and must not be touched. */
  const uint32_t total = (uint32_t)((sizeof(struct ct_preload_record) + (uint64_t)record->body_len + 7) & ~7ull);
  uint32_t busy = CT_REC_BUSY | total;
  if (!atomic_compare_exchange_strong_explicit(&record->word, &busy, total, memory_order_release,
                                               memory_order_relaxed))
    atomic_fetch_add_explicit(&header->abandoned_records, 1, memory_order_relaxed);
}

void ct_send_env(struct ct_preload_header* header, uint32_t type, const char* name, size_t name_len,
                 const char* value, uint32_t flags) {
  if (name_len > 4096) return;
  const size_t value_total = value ? strlen(value) : 0;
  const size_t value_len = value_total > CT_PRELOAD_VALUE_MAX ? CT_PRELOAD_VALUE_MAX : value_total;
  const uint32_t body = (uint32_t)(sizeof(struct ct_prec_env) + name_len + value_len);
  struct ct_preload_record* record = ct_ring_reserve(header, type, body);
  if (!record) return;
  struct ct_prec_env* env = (struct ct_prec_env*)ct_record_body(record);
  env->name_len = (uint32_t)name_len;
  env->value_len = (uint32_t)value_len;
  env->value_total = value_total > UINT32_MAX ? UINT32_MAX : (uint32_t)value_total;
  env->flags = flags;
  memcpy(env + 1, name, name_len);
  if (value_len) memcpy((uint8_t*)(env + 1) + name_len, value, value_len);
  ct_ring_commit(header, record);
}
