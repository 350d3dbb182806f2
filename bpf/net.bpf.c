/* Network probes: the IPv4/IPv6 endpoints watched processes connect() to (destination IP:port of their streams). */
#include "include/helpers.h"
#include <bpf/bpf_endian.h>

struct ct_syscall_enter_connect { __u64 unused; long id; __u64 fd; __u64 uservaddr; __u64 addrlen; };

#define CT_AF_INET 2
#define CT_AF_INET6 10

SEC("tracepoint/syscalls/sys_enter_connect")
int ct_enter_connect(struct ct_syscall_enter_connect *ctx) {
  if (!ct_task_in_set(bpf_get_current_task_btf(), CT_SET_WATCHED)) return 0;
  struct sockaddr_in6 sa = {};
  if (bpf_probe_read_user(&sa, ctx->addrlen >= sizeof(sa) ? sizeof(sa) : sizeof(struct sockaddr_in),
                          (void *)ctx->uservaddr) != 0)
    return 0;
  if (sa.sin6_family != CT_AF_INET && sa.sin6_family != CT_AF_INET6) return 0;
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  __u64 fd = ctx->fd;
  if (bpf_map_update_elem(&pending_connects, &tid, &fd, BPF_ANY) != 0) ct_count_drop(CT_DROP_MAP_FULL);
  struct ct_connect_event *e = ct_reserve(CT_EVENT_CONNECT, sizeof(*e));
  if (!e) return 0;
  ct_fill_header(&e->hdr, CT_EVENT_CONNECT, CT_FLAG_WATCHED);
  e->fd = (__u32)ctx->fd;
  e->family = sa.sin6_family;
  e->port = bpf_ntohs(sa.sin6_port);
  __builtin_memset(e->addr, 0, sizeof(e->addr));
  if (sa.sin6_family == CT_AF_INET) {
    struct sockaddr_in *in4 = (struct sockaddr_in *)&sa;
    __builtin_memcpy(e->addr, &in4->sin_addr, 4);
  } else {
    __builtin_memcpy(e->addr, &sa.sin6_addr, 16);
  }
  ct_submit(e, false);
  return 0;
}

struct ct_syscall_enter_write { __u64 unused; long id; __u64 fd; __u64 buf; __u64 count; };
struct ct_syscall_enter_sendto { __u64 unused; long id; __u64 fd; __u64 buff; __u64 len; __u64 flags; __u64 addr; __u64 addr_len; };
struct ct_syscall_enter_close { __u64 unused; long id; __u64 fd; };

static __always_inline __u64 ct_socket_key(__u64 fd) { return (bpf_get_current_pid_tgid() & 0xffffffff00000000ull) | (__u32)fd; }

SEC("tracepoint/syscalls/sys_exit_connect")
int ct_exit_connect(struct ct_syscall_exit *ctx) {
  if (!ct_task_has_storage(bpf_get_current_task_btf())) return 0;
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  __u64 *pending = bpf_map_lookup_elem(&pending_connects, &tid);
  if (!pending) return 0;
  __u64 fd = *pending;
  bpf_map_delete_elem(&pending_connects, &tid); /* always: failed connects must not leave entries behind */
  /* Only a connect that started (0 or EINPROGRESS) leaves a socket worth capturing. */
  if (ctx->ret != 0 && ctx->ret != -115) return 0;
  __u64 key = ct_socket_key(fd);
  __u8 one = 1;
  if (bpf_map_update_elem(&plain_sockets, &key, &one, BPF_ANY) != 0) ct_count_drop(CT_DROP_MAP_FULL);
  return 0;
}

static __always_inline void ct_capture_socket_write(__u64 fd, __u64 buf, __u64 count) {
  if (count == 0) return;
  __u64 key = ct_socket_key(fd);
  if (!bpf_map_lookup_elem(&plain_sockets, &key)) return;
  __u32 total = count > 0x7fffffff ? 0x7fffffff : (__u32)count;
  for (__u32 i = 0; i < CT_TLS_MAX_CHUNKS; i++) {
    __u32 offset = i * CT_TLS_CHUNK_LEN;
    if (offset >= total) return;
    ct_emit_data_chunk(CT_EVENT_SOCK_DATA, fd, buf, total, offset);
  }
  if (total > CT_TLS_MAX_CHUNKS * CT_TLS_CHUNK_LEN) ct_count_truncation(CT_EVENT_SOCK_DATA);
}

SEC("tracepoint/syscalls/sys_enter_write")
int ct_enter_write(struct ct_syscall_enter_write *ctx) {
  if (!ct_task_in_set(bpf_get_current_task_btf(), CT_SET_WATCHED)) return 0;
  ct_capture_socket_write(ctx->fd, ctx->buf, ctx->count);
  return 0;
}

SEC("tracepoint/syscalls/sys_enter_sendto")
int ct_enter_sendto(struct ct_syscall_enter_sendto *ctx) {
  if (!ct_task_in_set(bpf_get_current_task_btf(), CT_SET_WATCHED)) return 0;
  ct_capture_socket_write(ctx->fd, ctx->buff, ctx->len);
  return 0;
}

SEC("tracepoint/syscalls/sys_enter_close")
int ct_enter_close(struct ct_syscall_enter_close *ctx) {
  if (!ct_task_in_set(bpf_get_current_task_btf(), CT_SET_WATCHED)) return 0;
  __u64 key = ct_socket_key(ctx->fd);
  bpf_map_delete_elem(&plain_sockets, &key);
  return 0;
}
