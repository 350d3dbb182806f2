/* Small inline helpers shared by the probe files: pid-set bitmaps, counters, ring-buffer submit. */
#ifndef CREDTRACE_BPF_HELPERS_H
#define CREDTRACE_BPF_HELPERS_H

#include "maps.h"
#include <bpf/bpf_core_read.h>

static __always_inline struct ct_counters *ct_counters_get(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&counters, &zero);
}

static __always_inline void ct_count_event(__u32 type) {
  struct ct_counters *c = ct_counters_get();
  if (c && type < CT_EVENT_TYPE_MAX) c->events[type]++;
}

static __always_inline void ct_count_drop(__u32 reason) {
  struct ct_counters *c = ct_counters_get();
  if (c && reason < CT_DROP_REASON_MAX) c->drops[reason]++;
}

static __always_inline void ct_count_truncation(__u32 type) {
  struct ct_counters *c = ct_counters_get();
  if (c && type < CT_EVENT_TYPE_MAX) c->truncations[type]++;
}

/* Word index of a pid in a bitmap. The mask is emitted as an instruction (clang would drop it as
 * redundant after the range check) so the verifier sees the bound. CT_PID_WORDS is 65536. */
static __always_inline __u32 ct_pid_word(__u32 tgid) {
  __u64 word = tgid >> 6;
  asm volatile("%0 &= 0xffff" : "+r"(word));
  return word;
}

static __always_inline bool ct_in_set(__u32 set, __u32 tgid) {
  if (set >= CT_SET_MAX || tgid >= CT_PID_MAX) return false;
  return (pid_sets[set][ct_pid_word(tgid)] >> (tgid & 63)) & 1;
}

static __always_inline void ct_set_add(__u32 set, __u32 tgid) {
  if (set >= CT_SET_MAX || tgid >= CT_PID_MAX) {
    ct_count_drop(CT_DROP_PID_RANGE);
    return;
  }
  __sync_fetch_and_or(&pid_sets[set][ct_pid_word(tgid)], 1ULL << (tgid & 63));
}

static __always_inline void ct_set_remove(__u32 set, __u32 tgid) {
  if (set >= CT_SET_MAX || tgid >= CT_PID_MAX) return;
  __sync_fetch_and_and(&pid_sets[set][ct_pid_word(tgid)], ~(1ULL << (tgid & 63)));
}

static __always_inline __u32 ct_membership_flags(__u32 tgid) {
  __u32 flags = 0;
  if (ct_in_set(CT_SET_WATCHED, tgid)) flags |= CT_FLAG_WATCHED;
  if (ct_in_set(CT_SET_CANDIDATE, tgid)) flags |= CT_FLAG_CANDIDATE;
  return flags;
}

/* Reserve an event, counting it first and counting the drop when the ring is full. */
static __always_inline void *ct_reserve(__u32 type, __u64 size) {
  ct_count_event(type);
  void *e = bpf_ringbuf_reserve(&events, size, 0);
  if (!e) ct_count_drop(CT_DROP_RINGBUF_FULL);
  return e;
}

static __always_inline void ct_fill_header(struct ct_event_header *h, __u32 type, __u32 flags) {
  __u64 id = bpf_get_current_pid_tgid();
  h->type = type;
  h->pid = (__u32)id;
  h->tgid = id >> 32;
  h->flags = flags;
  h->time_boot_ns = bpf_ktime_get_boot_ns();
}

/* Submit without a wake-up unless the event is urgent or the ring is filling: the agent polls in batches. */
static __always_inline void ct_submit(void *e, bool urgent) {
  __u64 flags = BPF_RB_NO_WAKEUP;
  if (urgent || bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_threshold_bytes)
    flags = BPF_RB_FORCE_WAKEUP;
  bpf_ringbuf_submit(e, flags);
}

#endif
