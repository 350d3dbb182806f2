/* Network probes: the IPv4/IPv6 endpoints watched processes connect() to (destination IP:port of their streams), the
 * TCP connections they accept, plain HTTP written to and read from those sockets, and which socket carries each SSL's
 * ciphertext. (read() itself is hooked once, in stdio.bpf.c, which calls the socket capture of include/sockets.h.) */
#include "include/sockets.h"

SEC("tracepoint/syscalls/sys_enter_connect")
int ct_enter_connect(struct trace_event_raw_sys_enter *ctx) {
  if (!ct_task_in_set(bpf_get_current_task_btf(), CT_SET_WATCHED)) return 0;
  __u64 fd = ctx->args[0], uservaddr = ctx->args[1], addrlen = ctx->args[2]; /* connect(fd, addr, addrlen) */
  struct sockaddr_in6 sa = {};
  if (bpf_probe_read_user(&sa, addrlen >= sizeof(sa) ? sizeof(sa) : sizeof(struct sockaddr_in), (void *)uservaddr) != 0)
    return 0;
  if (sa.sin6_family != CT_AF_INET && sa.sin6_family != CT_AF_INET6) return 0;
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  if (bpf_map_update_elem(&pending_connects, &tid, &fd, BPF_ANY) != 0) ct_count_drop(CT_DROP_MAP_FULL);
  struct ct_connect_event *e = ct_reserve_in_budget(CT_EVENT_CONNECT, sizeof(*e));
  if (!e) return 0;
  ct_fill_header(&e->hdr, CT_EVENT_CONNECT, CT_FLAG_WATCHED);
  e->fd = (__u32)fd;
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


SEC("tracepoint/syscalls/sys_exit_connect")
int ct_exit_connect(struct trace_event_raw_sys_exit *ctx) {
  if (!ct_task_has_storage(bpf_get_current_task_btf())) return 0;
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  __u64 *pending = bpf_map_lookup_elem(&pending_connects, &tid);
  if (!pending) return 0;
  __u64 fd = *pending;
  bpf_map_delete_elem(&pending_connects, &tid); /* always: failed connects must not leave entries behind */
  /* Only a connect that started (0 or EINPROGRESS) leaves a socket worth capturing. */
  if (ctx->ret != 0 && ctx->ret != -CT_EINPROGRESS) return 0;
  __u64 key = ct_socket_key(fd);
  __u8 one = 1, kind = CT_SOCKET_CONNECTED;
  if (bpf_map_update_elem(&plain_sockets, &key, &kind, BPF_ANY) != 0) ct_count_drop(CT_DROP_MAP_FULL);
  if (bpf_map_update_elem(&connected_sockets, &key, &one, BPF_ANY) != 0) ct_count_drop(CT_DROP_MAP_FULL);
  return 0;
}

#define CT_TLS_RECORD_HEADER_LEN 5
#define CT_TLS_MAX_FRAGMENT 16384  /* plaintext bytes per record */
#define CT_TLS_MAX_EXPANSION 2048  /* RFC 5246/8446: ciphertext adds at most this to a fragment */
#define CT_TLS_RECORDS_SCANNED 4   /* node flushes ChangeCipherSpec + Finished + the first request in one write */
/* TLS record header fields (RFC 8446 5.1): content types 20..23, legacy version 3.x with x in 1..4. */
#define CT_TLS_CONTENT_CHANGE_CIPHER_SPEC 0x14
#define CT_TLS_CONTENT_APPLICATION_DATA 0x17
#define CT_TLS_VERSION_MAJOR 0x03
#define CT_TLS_VERSION_MINOR_MIN 0x01
#define CT_TLS_VERSION_MINOR_MAX 0x04

static __always_inline __u32 ct_record_len(const __u8 *h) { return ((__u32)h[3] << 8) | h[4]; }

/* Whether a record header (type, version, length) is application data carrying the first fragment of a write of
 * plaintext_len bytes: TLS 1.3 sends every encrypted record as type 23 (0x17), version 0x0303. */
static __always_inline bool ct_is_first_record_of(const __u8 *h, __u32 plaintext_len, __u32 first_min) {
  if (h[0] != CT_TLS_CONTENT_APPLICATION_DATA || h[1] != CT_TLS_VERSION_MAJOR || h[2] < CT_TLS_VERSION_MINOR_MIN ||
      h[2] > CT_TLS_VERSION_MINOR_MAX)
    return false;
  __u32 record_len = ct_record_len(h);
  __u32 fragment = plaintext_len < CT_TLS_MAX_FRAGMENT ? plaintext_len : CT_TLS_MAX_FRAGMENT;
  __u32 fewest = first_min && first_min < fragment ? first_min : fragment;
  return record_len >= fewest && record_len <= fragment + CT_TLS_MAX_EXPANSION;
}

/* Walks the first records of a socket write (ChangeCipherSpec, alerts, handshake messages such as a TLS 1.3
 * Finished may precede the data) for the one that carries the write's first fragment: its length, or 0. */
static __always_inline __u32 ct_find_record_of(__u64 buf, __u64 count, __u32 plaintext_len, __u32 first_min) {
  __u64 offset = 0;
  for (int i = 0; i < CT_TLS_RECORDS_SCANNED; i++) {
    if (offset + CT_TLS_RECORD_HEADER_LEN > count) return 0;
    __u8 header[CT_TLS_RECORD_HEADER_LEN] = {};
    if (bpf_probe_read_user(header, sizeof(header), (void *)(buf + offset)) != 0) return 0;
    if (header[0] < CT_TLS_CONTENT_CHANGE_CIPHER_SPEC || header[0] > CT_TLS_CONTENT_APPLICATION_DATA ||
        header[1] != CT_TLS_VERSION_MAJOR)
      return 0;  /* not a stream of TLS records */
    if (ct_is_first_record_of(header, plaintext_len, first_min)) return ct_record_len(header);
    offset += CT_TLS_RECORD_HEADER_LEN + ct_record_len(header);
  }
  return 0;
}

static __always_inline void ct_emit_tls_socket(__u64 ssl, __u64 fd, __u32 record_len) {
  struct ct_tls_socket_event *e = ct_reserve_in_budget(CT_EVENT_TLS_SOCKET, sizeof(*e));
  if (!e) return;
  ct_fill_header(&e->hdr, CT_EVENT_TLS_SOCKET, CT_FLAG_WATCHED);
  e->ssl = ssl;
  e->fd = (__u32)fd;
  e->record_len = record_len;
  ct_submit(e, false);
}

/* The record of `pending`'s write when this socket write carries it to a socket the process connected (0: it does
 * not). */
static __always_inline __u32 ct_pending_record_on(struct ct_ssl_write_pending *pending, __u64 fd, __u64 buf,
                                                  __u64 count) {
  if (!buf || count < CT_TLS_RECORD_HEADER_LEN) return 0;
  __u32 record_len = ct_find_record_of(buf, count, pending->len, pending->first_min);
  if (!record_len) return 0;
  if (!ct_socket_connected(fd)) return 0;
  return record_len;
}

/* A socket write against one note (a thread's SSL_write, or a Go write noted under this socket): when its first
 * records include that write's first record and the socket is one the process connected, report the pair (the
 * destination of the stream) and take the note. true when paired. */
static __always_inline bool ct_pair_noted_write(void *notes, void *key, __u64 fd, __u64 buf, __u64 count) {
  struct ct_ssl_write_pending *pending = bpf_map_lookup_elem(notes, key);
  if (!pending) return false;
  if (bpf_ktime_get_boot_ns() - pending->time_boot_ns > CT_TLS_PAIR_WINDOW_NS) {
    bpf_map_delete_elem(notes, key);  /* too late to be sure: the agent reports the destination unknown */
    return false;
  }
  if (pending->ssl == CT_SSL_AMBIGUOUS) return false;  /* two SSLs' writes were pending: no record can be attributed */
  __u32 record_len = ct_pending_record_on(pending, fd, buf, count);
  if (!record_len) return false;
  __u64 ssl = pending->ssl;
  bpf_map_delete_elem(notes, key);
  ct_emit_tls_socket(ssl, fd, record_len);
  return true;
}

/* The socket's note first: it names this very socket, while a thread's note could be another stream's. */
static __always_inline void ct_pair_ssl_write(__u64 fd, __u64 buf, __u64 count) {
  __u64 socket = ct_socket_key(fd);
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  if (!ct_pair_noted_write(&go_conn_writes, &socket, fd, buf, count))
    ct_pair_noted_write(&ssl_writes, &tid, fd, buf, count);
}

/* A TLS write waits to be paired: on this thread, or (Go) on this socket. */
static __always_inline bool ct_write_pending(__u64 fd) {
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  __u64 key = ct_socket_key(fd);
  return bpf_map_lookup_elem(&ssl_writes, &tid) || bpf_map_lookup_elem(&go_conn_writes, &key);
}

/* The first buffer of a gathered write, for pairing. */
static __always_inline void ct_pair_ssl_write_iovecs(__u64 fd, __u64 iov, __u64 iovcnt) {
  if (!iov || iovcnt == 0 || !ct_write_pending(fd)) return;
  struct iovec v = {};
  if (bpf_probe_read_user(&v, sizeof(v), (void *)iov) != 0) return;
  ct_pair_ssl_write(fd, (__u64)v.iov_base, v.iov_len);
}

static __always_inline void ct_capture_socket_write(__u64 fd, __u64 buf, __u64 count) {
  if (count == 0) return;
  __u32 type = ct_captured_socket_type(fd);
  if (type) ct_emit_call_data(type, CT_TLS_WRITE, fd, buf, count, bpf_ktime_get_boot_ns());
}

static __always_inline void ct_capture_socket_iovecs(__u64 fd, __u64 iov, __u64 iovcnt) {
  __u32 type = ct_captured_socket_type(fd);
  if (type) ct_capture_iovecs(type, CT_TLS_WRITE, fd, iov, iovcnt, ~0ull, bpf_ktime_get_boot_ns());
}

SEC("tracepoint/syscalls/sys_enter_write")
int ct_enter_write(struct trace_event_raw_sys_enter *ctx) {
  if (!ct_task_in_set(bpf_get_current_task_btf(), CT_SET_WATCHED)) return 0;
  __u64 fd = ctx->args[0], buf = ctx->args[1], count = ctx->args[2]; /* write(fd, buf, count) */
  ct_pair_ssl_write(fd, buf, count);
  ct_capture_socket_write(fd, buf, count);
  return 0;
}

SEC("tracepoint/syscalls/sys_enter_sendto")
int ct_enter_sendto(struct trace_event_raw_sys_enter *ctx) {
  if (!ct_task_in_set(bpf_get_current_task_btf(), CT_SET_WATCHED)) return 0;
  __u64 fd = ctx->args[0], buf = ctx->args[1], len = ctx->args[2]; /* sendto(fd, buf, len, flags, addr, addrlen) */
  ct_pair_ssl_write(fd, buf, len);
  ct_capture_socket_write(fd, buf, len);
  return 0;
}

/* An MCP server's stdout written with writev (libuv gathers queued writes into one): each iovec a call of its own. */
static __always_inline void ct_capture_stdio_iovecs(__u64 fd, __u64 iov, __u64 iovcnt) {
  if (fd != 1) return;
  __u64 inode = ct_pipe_or_socket_inode(ct_fd_file(bpf_get_current_task_btf(), 1));
  if (!inode || !bpf_map_lookup_elem(&mcp_stdio_files, &inode)) return;
  ct_capture_iovecs(CT_EVENT_STDIO_DATA, CT_TLS_WRITE, inode, iov, iovcnt, ~0ull, bpf_ktime_get_boot_ns());
}

SEC("tracepoint/syscalls/sys_enter_writev")
int ct_enter_writev(struct trace_event_raw_sys_enter *ctx) {
  if (!ct_task_in_set(bpf_get_current_task_btf(), CT_SET_WATCHED)) return 0;
  __u64 fd = ctx->args[0], vec = ctx->args[1], vlen = ctx->args[2]; /* writev(fd, iov, iovcnt) */
  ct_pair_ssl_write_iovecs(fd, vec, vlen);
  ct_capture_socket_iovecs(fd, vec, vlen);
  ct_capture_stdio_iovecs(fd, vec, vlen);
  return 0;
}

/* sendmsg's first buffer, for pairing: the message header is read only while an SSL_write waits for its socket. */
static __always_inline void ct_pair_ssl_write_msg(__u64 fd, __u64 msg_addr) {
  if (!msg_addr || !ct_write_pending(fd)) return;
  struct user_msghdr msg = {};
  if (bpf_probe_read_user(&msg, sizeof(msg), (void *)msg_addr) != 0) return;
  ct_pair_ssl_write_iovecs(fd, (__u64)msg.msg_iov, msg.msg_iovlen);
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int ct_enter_sendmsg(struct trace_event_raw_sys_enter *ctx) {
  if (!ct_task_in_set(bpf_get_current_task_btf(), CT_SET_WATCHED)) return 0;
  __u64 fd = ctx->args[0], msg_addr = ctx->args[1]; /* sendmsg(fd, msg, flags) */
  ct_pair_ssl_write_msg(fd, msg_addr);
  __u32 type = ct_captured_socket_type(fd);
  if (!type) return 0;
  struct user_msghdr msg = {};
  __u64 now = bpf_ktime_get_boot_ns();
  if (bpf_probe_read_user(&msg, sizeof(msg), (void *)msg_addr) != 0) {
    ct_count_drop(CT_DROP_READ_FAILED);
    ct_emit_socket_gap(type, CT_TLS_WRITE, fd, now);
    return 0;
  }
  ct_capture_iovecs(type, CT_TLS_WRITE, fd, (__u64)msg.msg_iov, msg.msg_iovlen, ~0ull, now);
  return 0;
}

SEC("tracepoint/syscalls/sys_enter_close")
int ct_enter_close(struct trace_event_raw_sys_enter *ctx) {
  if (!ct_task_in_set(bpf_get_current_task_btf(), CT_SET_WATCHED)) return 0;
  __u64 key = ct_socket_key(ctx->args[0]); /* close(fd) */
  bpf_map_delete_elem(&plain_sockets, &key);
  bpf_map_delete_elem(&connected_sockets, &key);
  bpf_map_delete_elem(&go_conn_writes, &key);  /* a note left unpaired must not pair the fd's next connection */
  return 0;
}

/* A TCP connection a watched process accepted: its bytes are captured from now (requests it reads, answers it writes),
 * and the agent learns the local port and the peer. */
static __always_inline void ct_note_accept(__s64 ret) {
  if (ret < 0) return;
  struct task_struct *task = bpf_get_current_task_btf();
  if (!ct_task_in_set(task, CT_SET_WATCHED)) return;
  struct file *file = ct_fd_file(task, (__u32)ret);
  if (!file) return;
  struct socket *sock = (struct socket *)BPF_CORE_READ(file, private_data);
  struct sock *sk = sock ? BPF_CORE_READ(sock, sk) : NULL;
  if (!sk) return;
  __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
  if (family != CT_AF_INET && family != CT_AF_INET6) return;  /* unix sockets and others: not HTTP on TCP */
  __u64 key = ct_socket_key((__u64)ret);
  __u8 kind = CT_SOCKET_ACCEPTED;
  if (bpf_map_update_elem(&plain_sockets, &key, &kind, BPF_ANY) != 0) ct_count_drop(CT_DROP_MAP_FULL);
  struct ct_accept_event *e = ct_reserve_in_budget(CT_EVENT_ACCEPT, sizeof(*e));
  if (!e) return;
  ct_fill_header(&e->hdr, CT_EVENT_ACCEPT, CT_FLAG_WATCHED);
  e->fd = (__u32)ret;
  e->family = family;
  e->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
  e->peer_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
  e->_pad = 0;
  e->_pad2 = 0;
  __builtin_memset(e->peer_addr, 0, sizeof(e->peer_addr));
  if (family == CT_AF_INET) {
    __u32 daddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
    __builtin_memcpy(e->peer_addr, &daddr, sizeof(daddr));
  } else {
    bpf_core_read(e->peer_addr, sizeof(e->peer_addr), &sk->__sk_common.skc_v6_daddr);
  }
  ct_submit(e, false);
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int ct_exit_accept4(struct trace_event_raw_sys_exit *ctx) {
  ct_note_accept(ctx->ret);
  return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept")
int ct_exit_accept(struct trace_event_raw_sys_exit *ctx) {
  ct_note_accept(ctx->ret);
  return 0;
}

SEC("tracepoint/syscalls/sys_enter_recvfrom")
int ct_enter_recvfrom(struct trace_event_raw_sys_enter *ctx) {
  if (!ct_task_in_set(bpf_get_current_task_btf(), CT_SET_WATCHED)) return 0;
  /* recvfrom(fd, buf, len, flags, addr, addrlen): a peek is read again later, a MSG_TRUNC count is not in buf */
  if (ctx->args[3] & (CT_MSG_PEEK | CT_MSG_TRUNC)) return 0;
  ct_note_socket_read(ctx->args[0], ctx->args[1], 0);
  return 0;
}

SEC("tracepoint/syscalls/sys_enter_readv")
int ct_enter_readv(struct trace_event_raw_sys_enter *ctx) {
  if (!ct_task_in_set(bpf_get_current_task_btf(), CT_SET_WATCHED)) return 0;
  __u64 iovcnt = ctx->args[2]; /* readv(fd, iov, iovcnt) */
  if (iovcnt) ct_note_socket_read(ctx->args[0], ctx->args[1], iovcnt);
  return 0;
}

SEC("tracepoint/syscalls/sys_enter_recvmsg")
int ct_enter_recvmsg(struct trace_event_raw_sys_enter *ctx) {
  if (!ct_task_in_set(bpf_get_current_task_btf(), CT_SET_WATCHED)) return 0;
  __u64 fd = ctx->args[0], msg_addr = ctx->args[1]; /* recvmsg(fd, msg, flags) */
  if (ctx->args[2] & (CT_MSG_PEEK | CT_MSG_TRUNC)) return 0; /* read again later / a count not in the buffers */
  if (!ct_captured_socket_type(fd) || !msg_addr) return 0;
  struct user_msghdr msg = {};
  if (bpf_probe_read_user(&msg, sizeof(msg), (void *)msg_addr) != 0) return (void)ct_count_drop(CT_DROP_READ_FAILED), 0;
  if (msg.msg_iovlen) ct_note_socket_read(fd, (__u64)msg.msg_iov, msg.msg_iovlen);
  return 0;
}

/* Exits of the socket reads above (read's exit is in stdio.bpf.c): every other process pays one load. */
static __always_inline void ct_exit_socket_read(__s64 ret) {
  if (!ct_task_has_storage(bpf_get_current_task_btf())) return;
  ct_finish_socket_read(ret);
}

SEC("tracepoint/syscalls/sys_exit_recvfrom")
int ct_exit_recvfrom(struct trace_event_raw_sys_exit *ctx) {
  ct_exit_socket_read(ctx->ret);
  return 0;
}

SEC("tracepoint/syscalls/sys_exit_readv")
int ct_exit_readv(struct trace_event_raw_sys_exit *ctx) {
  ct_exit_socket_read(ctx->ret);
  return 0;
}

SEC("tracepoint/syscalls/sys_exit_recvmsg")
int ct_exit_recvmsg(struct trace_event_raw_sys_exit *ctx) {
  ct_exit_socket_read(ctx->ret);
  return 0;
}
