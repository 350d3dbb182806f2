/* File probes: paths opened by watched processes (openat, openat2, open); unwatched ones pay one bit test. */
#include "include/helpers.h"

struct ct_syscall_enter_openat { __u64 unused; long id; __u64 dfd; __u64 filename; __u64 flags; __u64 mode; };
struct ct_syscall_enter_open { __u64 unused; long id; __u64 filename; __u64 flags; __u64 mode; };
struct ct_open_how_user { __u64 flags; __u64 mode; __u64 resolve; };
struct ct_syscall_enter_openat2 { __u64 unused; long id; __u64 dfd; __u64 filename; __u64 how; __u64 usize; };

static __always_inline void ct_emit_open(__u32 dirfd, __u64 filename, __u32 flags) {
  if (!capture_file_opens) return;
  struct ct_file_open_event *e = ct_reserve(CT_EVENT_FILE_OPEN, sizeof(*e));
  if (!e) return;
  ct_fill_header(&e->hdr, CT_EVENT_FILE_OPEN, CT_FLAG_WATCHED);
  e->dirfd = dirfd;
  e->open_flags = flags;
  long n = bpf_probe_read_user_str(e->path, sizeof(e->path), (void *)filename);
  if (n < 0) {
    ct_count_drop(CT_DROP_READ_FAILED);
    n = 0;
  } else if (n == sizeof(e->path)) {
    e->hdr.flags |= CT_FLAG_TRUNCATED;
    ct_count_truncation(CT_EVENT_FILE_OPEN);
  }
  e->path_len = n;
  ct_submit(e, false);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int ct_enter_openat(struct ct_syscall_enter_openat *ctx) {
  if (!ct_task_in_set(bpf_get_current_task_btf(), CT_SET_WATCHED)) return 0;
  ct_emit_open((__u32)ctx->dfd, ctx->filename, (__u32)ctx->flags);
  return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int ct_enter_openat2(struct ct_syscall_enter_openat2 *ctx) {
  if (!ct_task_in_set(bpf_get_current_task_btf(), CT_SET_WATCHED)) return 0;
  struct ct_open_how_user how = {};
  bpf_probe_read_user(&how, sizeof(how), (void *)ctx->how);
  ct_emit_open((__u32)ctx->dfd, ctx->filename, (__u32)how.flags);
  return 0;
}

SEC("tracepoint/syscalls/sys_enter_open")
int ct_enter_open(struct ct_syscall_enter_open *ctx) {
  if (!ct_task_in_set(bpf_get_current_task_btf(), CT_SET_WATCHED)) return 0;
  ct_emit_open((__u32)-100 /* AT_FDCWD */, ctx->filename, (__u32)ctx->flags);
  return 0;
}
