/* Go crypto/tls probes (uprobes on Go executables, found through their pclntab): (*Conn).Write's plaintext at an
 * instruction after its stack check, and (*Conn).Read's at its entry and at each of its RET instructions (never a
 * uretprobe: goroutine stacks move, and a return address patched on one would crash the program). Go's register ABI
 * (1.17+): the receiver in rax, b's pointer and length in rbx and rcx, n returned in rax, the goroutine's g in r14.
 * The *Conn is the stream, as the SSL* is for OpenSSL: the same records and parsers. A write is paired with its socket
 * by the fd read from the *Conn, not by thread: its goroutine may move to another thread before the write(2). */
#include "include/helpers.h"
#include "include/sockets.h"
#include "include/tls_capture.h"
#include <bpf/bpf_tracing.h>

/* The fd under a *tls.Conn whose net.Conn is a *net.TCPConn (or any conn whose first word points to a *netFD): Conn's
 * first field is that interface (itab, data); TCPConn is {conn{fd *netFD}}; netFD starts with a poll.FD, whose Sysfd
 * follows its 16-byte fdMutex (a layout unchanged since Go 1.9). -1 when unreadable. Another net.Conn yields a number
 * that is not this stream's socket: the pairing then also needs that socket to carry the write's first record. */
static __always_inline __s64 ct_go_conn_fd(__u64 conn) {
  struct {
    __u64 itab, data;
  } iface = {};
  __u64 netfd = 0;
  __s64 fd = -1;
  if (bpf_probe_read_user(&iface, sizeof(iface), (void *)conn) != 0 || !iface.itab || !iface.data) return -1;
  if (bpf_probe_read_user(&netfd, sizeof(netfd), (void *)iface.data) != 0 || !netfd) return -1;
  if (bpf_probe_read_user(&fd, sizeof(fd), (void *)(netfd + 16)) != 0) return -1;
  return fd >= 0 && fd <= CT_U32_MAX ? fd : -1;
}

/* This write's ciphertext is the next TLS record on the conn's socket, whichever thread writes it: noted under the
 * socket when the fd read from the *Conn is one the process connected, or a TCP socket it connected before the watch
 * (its peer is listed here, at the Write: the goroutine may resume on another thread before its write(2), as when the
 * Write runs the handshake). Else false: the thread's note pairs it, as for OpenSSL. */
static __always_inline bool ct_note_go_conn_write(__u64 conn, __u64 num, __u64 now) {
  __s64 fd = ct_go_conn_fd(conn);
  if (fd < 0) return false;
  if (!ct_socket_connected((__u64)fd)) return false;
  __u64 key = ct_socket_key((__u64)fd);
  struct ct_ssl_write_pending *earlier = bpf_map_lookup_elem(&go_conn_writes, &key);
  if (earlier && earlier->ssl == conn && now - earlier->time_boot_ns <= CT_TLS_PAIR_WINDOW_NS) return true;
  struct ct_ssl_write_pending pending = ct_pending_write(conn, num, CT_GO_FIRST_RECORD_MIN, now);
  if (bpf_map_update_elem(&go_conn_writes, &key, &pending, BPF_ANY) != 0) {
    ct_count_drop(CT_DROP_MAP_FULL);
    return false;
  }
  ct_thread_note_ambiguous_unless(conn, now);
  return true;
}

/* func (c *Conn) Write(b []byte) (int, error) */
SEC("uprobe")
int ct_go_tls_write(struct pt_regs *ctx) {
  __u64 conn = ctx->ax;
  __s64 num = (__s64)ctx->cx;
  if (num <= 0 || !ct_current_watched()) return 0;
  __u64 now = bpf_ktime_get_boot_ns();
  ct_emit_call_data(CT_EVENT_TLS_DATA, CT_TLS_WRITE, conn, ctx->bx, (__u64)num, now);
  if (!ct_note_go_conn_write(conn, (__u64)num, now)) ct_note_ssl_write(conn, (__u64)num, CT_GO_FIRST_RECORD_MIN, now);
  return 0;
}

/* func (c *Conn) Read(b []byte) (int, error): where the plaintext will land, until this goroutine's return */
SEC("uprobe")
int ct_go_tls_read(struct pt_regs *ctx) {
  if (!ctx->bx || !ct_current_watched()) return 0;
  struct ct_go_read_key key = {.tgid = (__u32)(bpf_get_current_pid_tgid() >> 32), .g = ctx->r14};
  struct ct_ssl_read_args args = {.ssl = ctx->ax, .buf = ctx->bx};
  if (bpf_map_update_elem(&go_reads, &key, &args, BPF_ANY) != 0) ct_count_drop(CT_DROP_MAP_FULL);
  return 0;
}

/* A RET of Read: n bytes of plaintext are in the buffer noted at the entry (a process never in a set has no task
 * storage: one load to see) */
SEC("uprobe")
int ct_go_tls_read_ret(struct pt_regs *ctx) {
  if (!ct_task_has_storage(bpf_get_current_task_btf())) return 0;
  struct ct_go_read_key key = {.tgid = (__u32)(bpf_get_current_pid_tgid() >> 32), .g = ctx->r14};
  struct ct_ssl_read_args *args = bpf_map_lookup_elem(&go_reads, &key);
  if (!args) {  /* evicted, or entered before the attach: plaintext that arrived is not captured */
    if ((__s64)ctx->ax > 0 && ct_current_watched()) ct_count_drop(CT_DROP_READ_UNMATCHED);
    return 0;
  }
  __u64 conn = args->ssl, buf = args->buf;
  bpf_map_delete_elem(&go_reads, &key);
  __s64 n = (__s64)ctx->ax;
  if (n > 0) ct_emit_call_data(CT_EVENT_TLS_DATA, CT_TLS_READ, conn, buf, (__u64)n, bpf_ktime_get_boot_ns());
  return 0;
}
