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
struct ct_syscall_enter_writev { __u64 unused; long id; __u64 fd; __u64 vec; __u64 vlen; };
struct ct_syscall_enter_sendmsg { __u64 unused; long id; __u64 fd; __u64 msg; __u64 flags; };
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

static __always_inline bool ct_is_captured_socket(__u64 fd) {
  __u64 key = ct_socket_key(fd);
  return bpf_map_lookup_elem(&plain_sockets, &key) != NULL;
}

static __always_inline void ct_capture_socket_write(__u64 fd, __u64 buf, __u64 count) {
  if (count == 0 || !ct_is_captured_socket(fd)) return;
  ct_emit_call_data(CT_EVENT_SOCK_DATA, CT_TLS_WRITE, fd, buf, count);
}

/* Iovecs beyond what is captured: one empty chunk that announces missing bytes, so the parser resynchronises. */
static __always_inline void ct_emit_socket_gap(__u64 fd) {
  struct ct_tls_data_event *e = ct_reserve(CT_EVENT_SOCK_DATA, __builtin_offsetof(struct ct_tls_data_event, data));
  if (!e) return;
  ct_fill_header(&e->hdr, CT_EVENT_SOCK_DATA, CT_FLAG_WATCHED | CT_FLAG_TRUNCATED);
  e->ssl = fd;
  e->direction = CT_TLS_WRITE;
  e->total_len = 1;
  e->offset = 0;
  e->len = 0;
  ct_submit(e, false);
  ct_count_truncation(CT_EVENT_SOCK_DATA);
}

/* Each iovec of a gathered write is captured as a call of its own (chunks in order). */
static __always_inline void ct_capture_socket_iovecs(__u64 fd, __u64 iov, __u64 iovcnt) {
  if (!iov || iovcnt == 0 || !ct_is_captured_socket(fd)) return;
  for (__u32 i = 0; i < CT_IOV_MAX_CAPTURED; i++) {
    if (i >= iovcnt) return;
    struct iovec v = {};
    if (bpf_probe_read_user(&v, sizeof(v), (void *)(iov + i * sizeof(struct iovec))) != 0) {
      ct_count_drop(CT_DROP_READ_FAILED);
      ct_emit_socket_gap(fd);
      return;
    }
    if (v.iov_len) ct_emit_call_data(CT_EVENT_SOCK_DATA, CT_TLS_WRITE, fd, (__u64)v.iov_base, v.iov_len);
  }
  if (iovcnt > CT_IOV_MAX_CAPTURED) ct_emit_socket_gap(fd);
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

SEC("tracepoint/syscalls/sys_enter_writev")
int ct_enter_writev(struct ct_syscall_enter_writev *ctx) {
  if (!ct_task_in_set(bpf_get_current_task_btf(), CT_SET_WATCHED)) return 0;
  ct_capture_socket_iovecs(ctx->fd, ctx->vec, ctx->vlen);
  return 0;
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int ct_enter_sendmsg(struct ct_syscall_enter_sendmsg *ctx) {
  if (!ct_task_in_set(bpf_get_current_task_btf(), CT_SET_WATCHED)) return 0;
  if (!ct_is_captured_socket(ctx->fd)) return 0;
  struct user_msghdr msg = {};
  if (bpf_probe_read_user(&msg, sizeof(msg), (void *)ctx->msg) != 0) {
    ct_count_drop(CT_DROP_READ_FAILED);
    ct_emit_socket_gap(ctx->fd);
    return 0;
  }
  ct_capture_socket_iovecs(ctx->fd, (__u64)msg.msg_iov, msg.msg_iovlen);
  return 0;
}

SEC("tracepoint/syscalls/sys_enter_close")
int ct_enter_close(struct ct_syscall_enter_close *ctx) {
  if (!ct_task_in_set(bpf_get_current_task_btf(), CT_SET_WATCHED)) return 0;
  __u64 key = ct_socket_key(ctx->fd);
  bpf_map_delete_elem(&plain_sockets, &key);
  return 0;
}
