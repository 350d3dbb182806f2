/* Go crypto/tls probes (uprobes on Go executables, found through their pclntab): (*Conn).Write's plaintext at an
 * instruction after its stack check, and (*Conn).Read's at its entry and at each of its RET instructions (never a
 * uretprobe: goroutine stacks move, and a return address patched on one would crash the program). Go's register ABI
 * (1.17+): the receiver in rax, b's pointer and length in rbx and rcx, n returned in rax, the goroutine's g in r14.
 * The *Conn is the stream, as the SSL* is for OpenSSL: the same records, parsers and socket pairing. */
#include "include/helpers.h"
#include "include/tls_capture.h"
#include <bpf/bpf_tracing.h>

/* func (c *Conn) Write(b []byte) (int, error) */
SEC("uprobe")
int ct_go_tls_write(struct pt_regs *ctx) {
  return ct_capture_write(ctx->ax, ctx->bx, (__s64)ctx->cx);
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
  if (n > 0) ct_emit_call_data(CT_EVENT_TLS_DATA, CT_TLS_READ, conn, buf, (__u64)n);
  return 0;
}
