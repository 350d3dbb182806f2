/* TLS plaintext capture shared by the OpenSSL and Go probes: the watched-process check, a write's plaintext, and the
 * note that pairs the thread's next TLS record on a socket with the stream (net.bpf.c). */
#ifndef CREDTRACE_BPF_TLS_CAPTURE_H
#define CREDTRACE_BPF_TLS_CAPTURE_H

#include "helpers.h"

static __always_inline bool ct_current_watched(void) {
  return ct_task_in_set(bpf_get_current_task_btf(), CT_SET_WATCHED);
}

/* A write waiting for its ciphertext's socket: first_min as in ct_ssl_write_pending (0 for OpenSSL). */
static __always_inline struct ct_ssl_write_pending ct_pending_write(__u64 ssl, __u64 num, __u32 first_min, __u64 now) {
  struct ct_ssl_write_pending pending = {
      .ssl = ssl, .time_boot_ns = now, .len = num > CT_U32_MAX ? CT_U32_MAX : (__u32)num, .first_min = first_min};
  return pending;
}

/* The thread's note when another stream's write comes within its window: the thread's next TLS records could be
 * either's, so nothing is paired on this thread for a window (those destinations are reported unknown); counted.
 * true when `earlier` is a live note (made ambiguous now, or already ambiguous, or the same stream's). */
static __always_inline bool ct_thread_note_live(struct ct_ssl_write_pending *earlier, __u64 ssl, __u64 now) {
  if (!earlier || now - earlier->time_boot_ns > CT_TLS_PAIR_WINDOW_NS) return false;
  if (earlier->ssl == ssl || earlier->ssl == CT_SSL_AMBIGUOUS) return true;
  earlier->ssl = CT_SSL_AMBIGUOUS;
  earlier->time_boot_ns = now;
  ct_count_drop(CT_DROP_PAIRING_AMBIGUOUS);
  return true;
}

/* The thread's next TLS record to a connected socket is this call's ciphertext (paired in net.bpf.c); first_min as in
 * ct_ssl_write_pending (0 for OpenSSL); `now`: the capture's clock read. */
static __always_inline void ct_note_ssl_write(__u64 ssl, __u64 num, __u32 first_min, __u64 now) {
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  /* Writes of one SSL flushed together (a memory BIO drained once): the first record is the earliest write's; another
   * SSL's ciphertext not yet gone (asyncio under backpressure) makes the note ambiguous. */
  if (ct_thread_note_live(bpf_map_lookup_elem(&ssl_writes, &tid), ssl, now)) return;
  struct ct_ssl_write_pending pending = ct_pending_write(ssl, num, first_min, now);
  if (bpf_map_update_elem(&ssl_writes, &tid, &pending, BPF_ANY) != 0) ct_count_drop(CT_DROP_MAP_FULL);
}

/* A write noted under its socket while this thread holds another stream's note: this thread's next records could be
 * either's (a second record of the socket's write, once its note is taken). */
static __always_inline void ct_thread_note_ambiguous_unless(__u64 ssl, __u64 now) {
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  ct_thread_note_live(bpf_map_lookup_elem(&ssl_writes, &tid), ssl, now);
}

/* A write's plaintext and its note: one clock read serves the budget, the records' time and the note. */
static __always_inline int ct_capture_write(__u64 ssl, __u64 buf, __s64 num) {
  if (num <= 0 || !ct_current_watched()) return 0;
  __u64 now = bpf_ktime_get_boot_ns();
  ct_emit_call_data(CT_EVENT_TLS_DATA, CT_TLS_WRITE, ssl, buf, (__u64)num, now);
  ct_note_ssl_write(ssl, (__u64)num, 0, now);
  return 0;
}

#endif
