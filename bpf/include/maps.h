/* Every BPF map and global of credtrace's probes, each with a one-line comment. */
#ifndef CREDTRACE_BPF_MAPS_H
#define CREDTRACE_BPF_MAPS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "../shared/events.h"

/* Ring buffer size in bytes; set by the agent before load (power of two, >= page size). */
struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4 * 1024 * 1024);
} events SEC(".maps");

/* Per-CPU event, drop and truncation counters (struct ct_counters). */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct ct_counters);
} counters SEC(".maps");

/* Thread id -> user buffer of an in-flight read(0, ...) by a candidate process. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, __u32);
  __type(value, __u64);
} pending_stdin_reads SEC(".maps");

/* Per-pid membership bitmaps (watched / candidate / client), shared with the agent through mmap. */
__u64 pid_sets[CT_SET_MAX][CT_PID_WORDS] SEC(".bss");

/* Agent's own tgid: never traced. */
const volatile __u32 agent_tgid = 0;
/* Ring-buffer fill level above which a submit forces a wake-up of the agent. */
const volatile __u64 wakeup_threshold_bytes = 256 * 1024;

#endif
