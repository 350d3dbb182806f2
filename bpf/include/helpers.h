/* Small inline helpers shared by the probe files: pid-set bitmaps, counters, ring-buffer submit. */
#ifndef CREDTRACE_BPF_HELPERS_H
#define CREDTRACE_BPF_HELPERS_H

#include "maps.h"
#include <bpf/bpf_core_read.h>

#define CT_U32_MAX 0xffffffffu
#define CT_ASCII_LOWER_BIT 0x20 /* ORed into an ASCII letter: its lower case */

static __always_inline struct ct_counters *ct_counters_get(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&counters, &zero);
}

/* The index checks below are kept on the register that indexes (barrier_var): a caller's earlier check of the same
 * value (in a global function, where it is not a constant) would otherwise let clang drop them. */
static __always_inline void ct_count_event(__u32 type) {
  struct ct_counters *c = ct_counters_get();
  barrier_var(type);
  if (c && type < CT_EVENT_TYPE_MAX) c->events[type]++;
}

static __always_inline void ct_count_drop(__u32 reason) {
  struct ct_counters *c = ct_counters_get();
  barrier_var(reason);
  if (c && reason < CT_DROP_REASON_MAX) c->drops[reason]++;
}

static __always_inline void ct_count_truncation(__u32 type) {
  struct ct_counters *c = ct_counters_get();
  barrier_var(type);
  if (c && type < CT_EVENT_TYPE_MAX) c->truncations[type]++;
}

/* Set bits of a process (any of its threads may be passed): 0 when it has no state. A task with no BPF local
 * storage at all (every unwatched process, unless another tool uses task storage) is answered from its own
 * task_struct without the storage helper: the common case costs one load. */
static __always_inline __u32 ct_task_sets(struct task_struct *task) {
  struct task_struct *leader = task->group_leader;
  if (!leader || !leader->bpf_storage) return 0;
  struct ct_task_state *state = bpf_task_storage_get(&task_states, leader, 0, 0);
  return state ? state->flags : 0;
}

/* Whether the process has any BPF task storage (was ever in a set): the cheap pre-check for bookkeeping maps. */
static __always_inline bool ct_task_has_storage(struct task_struct *task) {
  struct task_struct *leader = task->group_leader;
  return leader && leader->bpf_storage;
}

static __always_inline bool ct_task_in_set(struct task_struct *task, __u32 set) {
  return ct_task_sets(task) & (1u << set);
}

static __always_inline void ct_task_add_sets(struct task_struct *task, __u32 bits) {
  struct ct_task_state *state =
      bpf_task_storage_get(&task_states, task->group_leader, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
  if (!state) {
    ct_count_drop(CT_DROP_STATE_ALLOC);
    return;
  }
  __sync_fetch_and_or(&state->flags, (__u64)bits);
}

static __always_inline void ct_task_remove_sets(struct task_struct *task, __u32 bits) {
  struct ct_task_state *state = bpf_task_storage_get(&task_states, task->group_leader, 0, 0);
  if (state) __sync_fetch_and_and(&state->flags, ~(__u64)bits);
}

/* Event-header flags from set bits. */
static __always_inline __u32 ct_membership_flags(__u32 sets) {
  __u32 flags = 0;
  if (sets & (1u << CT_SET_WATCHED)) flags |= CT_FLAG_WATCHED;
  if (sets & (1u << CT_SET_CANDIDATE)) flags |= CT_FLAG_CANDIDATE;
  return flags;
}

#define CT_RATE_WINDOW_NS 100000000ull /* 100 ms */

/* Whether the current process may make one more capture in its budget's window: an open, a connect, an accept, a
 * stdin record, an SSL's bookkeeping, or one call's data (TLS, socket or stdio), whose `bytes` (at most `max_bytes`,
 * what the call's capture can copy) count against the window's byte budget too. Only what a process's own activity
 * can multiply asks; never exec, its environment, fork, exit or a library map, which keep the process table right and
 * the TLS attach going. A process with no task storage (never watched, a candidate or a client) has no budget: no
 * probe records its activity. The window restarts without a lock: two CPUs racing at its edge may both reset it,
 * which lets a few captures more through, never fewer. A global function: verified once, and the callers pass their
 * values untouched (a count clamped before the call split the verifier's states: writev's iovec loop went past the
 * limit). `now` is the caller's clock read (bpf_ktime_get_boot_ns): one read serves a whole capture, as each costs
 * 60-100 ns on a VM whose clock source is kvm-clock. */
__weak __noinline int ct_within_budget(__u64 bytes, __u64 max_bytes, __u64 now) {
  if (!max_captures_per_window && !max_capture_bytes_per_window) return 1;
  struct task_struct *task = bpf_get_current_task_btf();
  struct task_struct *leader = task->group_leader;
  if (!leader || !leader->bpf_storage) return 1;
  struct ct_task_state *state = bpf_task_storage_get(&task_states, leader, 0, 0);
  if (!state) return 1;
  if (now - state->window_start_ns >= CT_RATE_WINDOW_NS) {
    state->window_start_ns = now;
    state->window_captures = 0;
    state->window_bytes = 0;
  }
  const __u64 captures = __sync_fetch_and_add(&state->window_captures, 1);
  if ((!max_captures_per_window || captures < max_captures_per_window) &&
      (!max_capture_bytes_per_window || state->window_bytes < max_capture_bytes_per_window)) {
    __sync_fetch_and_add(&state->window_bytes, bytes < max_bytes ? bytes : max_bytes);
    return 1;
  }
  ct_count_drop(CT_DROP_RATE_LIMITED);
  return 0;
}

/* Reserve an event, counting it first and counting the drop when the ring is full. */
static __always_inline void *ct_reserve(__u32 type, __u64 size) {
  ct_count_event(type);
  void *e = bpf_ringbuf_reserve(&events, size, 0);
  if (!e) ct_count_drop(CT_DROP_RINGBUF_FULL);
  return e;
}

/* ct_reserve for a capture of one record, paid from the process's budget (ct_within_budget). */
static __always_inline void *ct_reserve_in_budget(__u32 type, __u64 size) {
  if (ct_within_budget(size, size, bpf_ktime_get_boot_ns())) return ct_reserve(type, size);
  ct_count_event(type);
  return NULL;
}

/* An event header stamped with `now` (the capture's one clock read, bpf_ktime_get_boot_ns). */
static __always_inline void ct_fill_header_at(struct ct_event_header *h, __u32 type, __u32 flags, __u64 now) {
  __u64 id = bpf_get_current_pid_tgid();
  h->type = type;
  h->pid = (__u32)id;
  h->tgid = id >> 32;
  h->flags = flags;
  h->time_boot_ns = now;
}

static __always_inline void ct_fill_header(struct ct_event_header *h, __u32 type, __u32 flags) {
  ct_fill_header_at(h, type, flags, bpf_ktime_get_boot_ns());
}

/* Submit without a wake-up unless the event is urgent or the ring is filling. While the ring stays above the
 * threshold (the agent is behind), a CPU forces at most one wake-up per CT_WAKEUP_INTERVAL_NS: a wake-up per event
 * would cost each watched call more than the capture itself, and the agent drains everything once awake. */
#define CT_WAKEUP_INTERVAL_NS 1000000ull
static __always_inline __u64 ct_wakeup_flags(bool urgent) {
  if (urgent) return BPF_RB_FORCE_WAKEUP;
  if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) < wakeup_threshold_bytes) return BPF_RB_NO_WAKEUP;
  __u32 zero = 0;
  __u64 *last = bpf_map_lookup_elem(&last_wakeup_ns, &zero);
  __u64 now = bpf_ktime_get_boot_ns();
  if (last && now - *last < CT_WAKEUP_INTERVAL_NS) return BPF_RB_NO_WAKEUP;
  if (last) *last = now;
  return BPF_RB_FORCE_WAKEUP;
}

static __always_inline void ct_submit(void *e, bool urgent) { bpf_ringbuf_submit(e, ct_wakeup_flags(urgent)); }

/* tls.hold_exec_until_attached: stops the current process (SIGSTOP, delivered on its way back to user space) while
 * the agent is there to continue it (its hold lease runs), unless it has a controlling terminal; true when it was stopped. It is listed in
 * held_processes first (no room: not stopped, counted), so an agent that dies before continuing it leaves a trace its
 * successor acts on. Call only with the record that reports it reserved. */
#define CT_SIGSTOP 19
static __always_inline bool ct_hold_current(void) {
  if (!hold_watched_execs) return false;
  __u32 zero = 0;
  __u64 *lease_until = bpf_map_lookup_elem(&hold_active, &zero);
  if (!lease_until || !*lease_until) return false;
  if (bpf_ktime_get_boot_ns() >= *lease_until) {  /* the agent stopped renewing it: dead or stalled */
    ct_count_drop(CT_DROP_HOLD_LAPSED);
    return false;
  }
  struct task_struct *task = bpf_get_current_task_btf();
  /* A process with a controlling terminal may be a job-control shell's child: that shell would see the stop as its
   * job's (a "Stopped" job, the terminal taken back). Such a process races its uprobes instead. */
  if (BPF_CORE_READ(task, signal, tty)) return false;
  __u32 tgid = task->tgid;
  __u64 start = BPF_CORE_READ(task, group_leader, start_boottime);
  if (bpf_map_update_elem(&held_processes, &tgid, &start, BPF_ANY) != 0) {
    ct_count_drop(CT_DROP_MAP_FULL);
    return false;
  }
  if (bpf_send_signal(CT_SIGSTOP) == 0) return true;
  bpf_map_delete_elem(&held_processes, &tgid);
  return false;
}

/* The file behind a process's fd, or NULL. */
static __always_inline struct file *ct_fd_file(struct task_struct *task, __u32 fd) {
  struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
  if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds)) return NULL;
  struct file **fds = BPF_CORE_READ(fdt, fd);
  struct file *file = NULL;
  if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) != 0) return NULL;
  return file;
}

#define CT_MSG_PEEK 0x2
#define CT_MSG_TRUNC 0x20
#define CT_PIPEFS_MAGIC 0x50495045
#define CT_SOCKFS_MAGIC 0x534F434B

/* The inode number of a pipe or socket file (what MCP clients connect a server's stdio with), else 0: inode numbers
 * are unique within pipefs and sockfs, so a regular file or a tty of the same number on another filesystem never
 * matches a listed pipe. */
static __always_inline __u64 ct_pipe_or_socket_inode(struct file *file) {
  if (!file) return 0;
  unsigned long magic = BPF_CORE_READ(file, f_inode, i_sb, s_magic);
  if (magic != CT_PIPEFS_MAGIC && magic != CT_SOCKFS_MAGIC) return 0;
  return BPF_CORE_READ(file, f_inode, i_ino);
}

/* Syscall tracepoint contexts are vmlinux's trace_event_raw_sys_enter (id, args[6]) and trace_event_raw_sys_exit
 * (id, ret); each probe names the arguments it reads. */
#define CT_EINPROGRESS 115

/* Fills a reserved data event (capacity bytes of data room) with one chunk of the user buffer and submits it. */
static __always_inline void ct_fill_data_chunk(struct ct_tls_data_event *e, __u64 capacity, __u32 type,
                                               __u32 direction, __u64 stream, __u64 buf, __u32 total, __u32 offset,
                                               __u64 now) {
  ct_fill_header_at(&e->hdr, type, CT_FLAG_WATCHED, now);
  e->ssl = stream;
  e->direction = direction;
  e->total_len = total;
  e->offset = offset;
  __u64 len = (__u64)total - offset;
  if (len > capacity) len = capacity;
  /* Keep the bound visible to the verifier (clang may otherwise fold the clamp into a signed 32-bit form). */
  asm volatile("if %0 <= %1 goto +1; %0 = %1" : "+r"(len) : "i"(capacity));
  e->len = 0;
  if (bpf_probe_read_user(e->data, len, (void *)(buf + offset)) == 0)
    e->len = len;
  else
    ct_count_drop(CT_DROP_READ_FAILED);
  ct_submit(e, false);
}

/* One chunk of plaintext a watched process wrote or read (TLS data keyed by SSL*, socket data keyed by fd). Chunks
 * that fit CT_TLS_SMALL_CHUNK_LEN go in a record of that room (typical API requests and responses), others in a
 * full CT_TLS_CHUNK_LEN record: the ring holds about as many bytes as the data. Reserved in place, never staged in
 * per-CPU scratch: uprobe programs can be preempted, and a shared buffer could mix two processes' data. */
static __always_inline void ct_emit_data_chunk(__u32 type, __u32 direction, __u64 stream, __u64 buf, __u32 total,
                                               __u32 offset, __u64 now) {
  const __u64 fixed = __builtin_offsetof(struct ct_tls_data_event, data);
  if ((__u64)total - offset <= CT_TLS_SMALL_CHUNK_LEN) {
    struct ct_tls_data_event *e = ct_reserve(type, fixed + CT_TLS_SMALL_CHUNK_LEN);
    if (e) ct_fill_data_chunk(e, CT_TLS_SMALL_CHUNK_LEN, type, direction, stream, buf, total, offset, now);
  } else {
    struct ct_tls_data_event *e = ct_reserve(type, sizeof(*e));
    if (e) ct_fill_data_chunk(e, CT_TLS_CHUNK_LEN, type, direction, stream, buf, total, offset, now);
  }
}

/* Every chunk of one call's buffer (up to CT_TLS_MAX_CHUNKS; the rest is counted as truncated), paid for by the
 * caller (ct_within_budget), stamped with the caller's clock read `now`; kind is the record type, direction << 32
 * (a BPF function takes five arguments). A global function (weak: one copy after the objects are linked): the
 * verifier checks its body once per program, whatever the number of call sites; inlined, writev's 8 iovecs x 4
 * chunks at two call sites made the kernel spend ~0.45 s verifying that one program (issue 18: agent_ready). */
__weak __noinline int ct_emit_call_chunks(__u64 kind, __u64 stream, __u64 buf, __u64 count, __u64 now) {
  __u32 type = (__u32)kind, direction = (__u32)(kind >> 32);
  __u32 total = count > 0x7fffffff ? 0x7fffffff : (__u32)count;
  for (__u32 i = 0; i < CT_TLS_MAX_CHUNKS; i++) {
    __u32 offset = i * CT_TLS_CHUNK_LEN;
    if (offset >= total) return 0;
    ct_emit_data_chunk(type, direction, stream, buf, total, offset, now);
  }
  if (total > CT_TLS_MAX_CHUNKS * CT_TLS_CHUNK_LEN) ct_count_truncation(type);
  return 0;
}

static __always_inline void ct_emit_paid_call_data(__u32 type, __u32 direction, __u64 stream, __u64 buf,
                                                   __u64 count, __u64 now) {
  ct_emit_call_chunks((__u64)type | (__u64)direction << 32, stream, buf, count, now);
}

/* ct_emit_paid_call_data, a capture paid from the process's budget: all of the call or none of it (counted). */
static __always_inline void ct_emit_call_data(__u32 type, __u32 direction, __u64 stream, __u64 buf, __u64 count,
                                              __u64 now) {
  if (ct_within_budget(count, CT_TLS_MAX_CHUNKS * CT_TLS_CHUNK_LEN, now))
    ct_emit_paid_call_data(type, direction, stream, buf, count, now);
  else
    ct_count_event(type);
}

/* bpf_loop state of ct_emit_call_data_with_tail: one chunk per iteration. */
struct ct_chunk_loop {
  __u32 type, direction, total, chunks;
  __u64 stream, buf, now;
};

static long ct_emit_chunk_cb(__u32 index, void *data) {
  struct ct_chunk_loop *loop = data;
  __u32 offset = index * CT_TLS_CHUNK_LEN;
  if (index >= loop->chunks || offset >= loop->total) return 1;
  ct_emit_data_chunk(loop->type, loop->direction, loop->stream, loop->buf, loop->total, offset, loop->now);
  return 0;
}

/* Newline-delimited streams (MCP stdio): up to CT_STDIO_MAX_CHUNKS chunks of a call (bpf_loop: no unrolling); a
 * longer call keeps its first CT_STDIO_MAX_CHUNKS - 1 chunks and its last CT_TLS_CHUNK_LEN bytes, so the parser sees
 * where its last line ends and the next message is not lost with it (streams::CaptureGeometry::keeps_tail). */
static __always_inline void ct_emit_call_data_with_tail(__u32 type, __u32 direction, __u64 stream, __u64 buf,
                                                        __u64 count, __u64 now) {
  struct ct_chunk_loop loop = {.type = type, .direction = direction, .stream = stream, .buf = buf, .now = now};
  loop.total = count > 0x7fffffff ? 0x7fffffff : (__u32)count;
  const bool truncated = loop.total > CT_STDIO_MAX_CHUNKS * CT_TLS_CHUNK_LEN;
  loop.chunks = truncated ? CT_STDIO_MAX_CHUNKS - 1 : CT_STDIO_MAX_CHUNKS;
  if (!ct_within_budget(count, CT_STDIO_MAX_CHUNKS * CT_TLS_CHUNK_LEN, now)) {
    ct_count_event(type);
    return;
  }
  bpf_loop(loop.chunks, ct_emit_chunk_cb, &loop, 0);
  if (!truncated) return;
  ct_emit_data_chunk(type, direction, stream, buf, loop.total, loop.total - CT_TLS_CHUNK_LEN, now);
  ct_count_truncation(type);
}

#endif
