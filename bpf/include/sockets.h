/* Sockets as the probes that see socket calls or TLS writes know them: the key of a socket, the peer of one connected
 * before the watch, and plain capture (what a captured socket's bytes travel as, gathered buffers, and reads: noted at
 * entry, captured at exit when the byte count is known). */
#ifndef CREDTRACE_BPF_SOCKETS_H
#define CREDTRACE_BPF_SOCKETS_H

#include "helpers.h"
#include <bpf/bpf_endian.h>

#define CT_AF_INET 2
#define CT_AF_INET6 10

/* The key of a captured socket: the process (tgid, the upper half of pid_tgid) and the fd. */
static __always_inline __u64 ct_socket_key(__u64 fd) { return (bpf_get_current_pid_tgid() >> 32 << 32) | (__u32)fd; }

/* The peer of a TCP socket this process connected before it was watched (a server's keep-alive connection made at its
 * start, a Go server probed after its first call): reported as a connect event flagged CT_FLAG_PEER and listed as
 * connected, so its TLS stream gets a destination. false when fd is not an IPv4/IPv6 TCP socket with a peer, or one
 * accepted while watched. (One accepted before the watch cannot be told from a connected one: its peer, a client, is
 * reported as the destination of what the process writes on it.) */
static __always_inline bool ct_note_socket_peer(__u64 fd) {
  __u64 key = ct_socket_key(fd);
  __u8 *kind = bpf_map_lookup_elem(&plain_sockets, &key);
  if (kind && *kind == CT_SOCKET_ACCEPTED) return false;  /* its peer is a client, not a destination */
  struct file *file = ct_fd_file(bpf_get_current_task_btf(), (__u32)fd);
  if (!file || BPF_CORE_READ(file, f_inode, i_sb, s_magic) != CT_SOCKFS_MAGIC) return false;
  struct socket *sock = BPF_CORE_READ(file, private_data);
  struct sock *sk = sock ? BPF_CORE_READ(sock, sk) : NULL;
  if (!sk || BPF_CORE_READ(sock, type) != SOCK_STREAM) return false;
  __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
  __u16 port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
  if ((family != CT_AF_INET && family != CT_AF_INET6) || port == 0) return false;
  struct ct_connect_event *e = ct_reserve_in_budget(CT_EVENT_CONNECT, sizeof(*e));
  if (!e) return false;
  ct_fill_header(&e->hdr, CT_EVENT_CONNECT, CT_FLAG_WATCHED | CT_FLAG_PEER);
  e->fd = (__u32)fd;
  e->family = family;
  e->port = port;
  __builtin_memset(e->addr, 0, sizeof(e->addr));
  if (family == CT_AF_INET) {
    __u32 daddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
    __builtin_memcpy(e->addr, &daddr, 4);
  } else {
    BPF_CORE_READ_INTO(&e->addr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
  }
  ct_submit(e, false);
  __u8 one = 1;
  if (bpf_map_update_elem(&connected_sockets, &key, &one, BPF_ANY) != 0) ct_count_drop(CT_DROP_MAP_FULL);
  return true;
}

/* Whether fd is a socket this process connected: its connect() was seen, or it is a TCP socket connected before the
 * watch, whose peer is listed now (ct_note_socket_peer). */
static __always_inline bool ct_socket_connected(__u64 fd) {
  __u64 key = ct_socket_key(fd);
  return bpf_map_lookup_elem(&connected_sockets, &key) || ct_note_socket_peer(fd);
}

/* The record kind a captured socket's bytes travel as, or 0 when the socket is not captured. */
static __always_inline __u32 ct_captured_socket_type(__u64 fd) {
  __u64 key = ct_socket_key(fd);
  __u8 *kind = bpf_map_lookup_elem(&plain_sockets, &key);
  if (!kind) return 0;
  return *kind == CT_SOCKET_ACCEPTED ? CT_EVENT_SRV_SOCK_DATA : CT_EVENT_SOCK_DATA;
}

/* Iovecs beyond what is captured: one empty chunk that announces missing bytes, so the parser resynchronises (not
 * charged to the process's budget: it follows a capture, or a read of the call's arguments that failed). */
static __always_inline void ct_emit_socket_gap(__u32 type, __u32 direction, __u64 fd, __u64 now) {
  struct ct_tls_data_event *e = ct_reserve(type, __builtin_offsetof(struct ct_tls_data_event, data));
  if (!e) return;
  ct_fill_header_at(&e->hdr, type, CT_FLAG_WATCHED | CT_FLAG_TRUNCATED, now);
  e->ssl = fd;
  e->direction = direction;
  e->total_len = 1;
  e->offset = 0;
  e->len = 0;
  ct_submit(e, false);
  ct_count_truncation(type);
}

/* Each iovec of a gathered call is captured as a call of its own (chunks in order), up to `limit` bytes in all (what
 * a read returned; writes pass the maximum). */
static __always_inline void ct_capture_iovecs(__u32 type, __u32 direction, __u64 fd, __u64 iov, __u64 iovcnt,
                                              __u64 limit, __u64 now) {
  if (!iov || iovcnt == 0) return;
  /* one capture; a write's bytes are not known here (limit is the maximum): charged as one call's at most */
  if (!ct_within_budget(limit, CT_TLS_MAX_CHUNKS * CT_TLS_CHUNK_LEN, now)) {
    ct_count_event(type);
    return;
  }
  for (__u32 i = 0; i < CT_IOV_MAX_CAPTURED; i++) {
    if (i >= iovcnt || limit == 0) return;
    struct iovec v = {};
    if (bpf_probe_read_user(&v, sizeof(v), (void *)(iov + i * sizeof(struct iovec))) != 0) {
      ct_count_drop(CT_DROP_READ_FAILED);
      ct_emit_socket_gap(type, direction, fd, now);
      return;
    }
    __u64 len = v.iov_len < limit ? v.iov_len : limit;
    if (len) ct_emit_paid_call_data(type, direction, fd, (__u64)v.iov_base, len, now);
    limit -= len;
  }
  if (iovcnt > CT_IOV_MAX_CAPTURED && limit) ct_emit_socket_gap(type, direction, fd, now);
}

/* A watched thread starts reading a captured socket: remembered until the call returns. */
static __always_inline void ct_note_socket_read(__u64 fd, __u64 buf, __u64 iovcnt) {
  __u32 type = ct_captured_socket_type(fd);
  if (!type) return;
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  struct ct_socket_read read = {.fd = fd, .buf = buf, .iovcnt = iovcnt, .type = type};
  if (bpf_map_update_elem(&pending_socket_reads, &tid, &read, BPF_ANY) != 0) ct_count_drop(CT_DROP_MAP_FULL);
}

/* The read returned: the bytes it moved (ret > 0), as the socket's record kind in the read direction. */
static __always_inline void ct_finish_socket_read(__s64 ret) {
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  struct ct_socket_read *pending = bpf_map_lookup_elem(&pending_socket_reads, &tid);
  if (!pending) return;
  struct ct_socket_read read = *pending;
  bpf_map_delete_elem(&pending_socket_reads, &tid);
  if (ret <= 0) return;
  __u64 now = bpf_ktime_get_boot_ns();
  if (read.iovcnt == 0)
    ct_emit_call_data(read.type, CT_TLS_READ, read.fd, read.buf, (__u64)ret, now);
  else
    ct_capture_iovecs(read.type, CT_TLS_READ, read.fd, read.buf, read.iovcnt, (__u64)ret, now);
}

#endif
