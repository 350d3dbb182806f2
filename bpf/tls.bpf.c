/* TLS probes (uprobes on OpenSSL: system libssl.so.3 and the copy linked into node): plaintext written and read,
 * SNI, SSL_new and SSL_free.
 * Attached by the agent per library file at offsets where the probed instruction is emulated (see agent/tls). */
#include "include/helpers.h"
#include "include/tls_capture.h"
#include <bpf/bpf_tracing.h>

#define CT_SSL_CTRL_SET_TLSEXT_HOSTNAME 55

/* Entry of a read: remember where the plaintext will land, for the return probe (watched processes only). */
static __always_inline int ct_stash_read(__u64 ssl, __u64 buf, __u64 readbytes) {
  if (!buf || !ct_current_watched()) return 0;
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  struct ct_ssl_read_args args = {.ssl = ssl, .buf = buf, .readbytes = readbytes};
  if (bpf_map_update_elem(&ssl_reads, &tid, &args, BPF_ANY) != 0) ct_count_drop(CT_DROP_MAP_FULL);
  return 0;
}

/* int SSL_write(SSL *s, const void *buf, int num) */
SEC("uprobe")
int BPF_KPROBE(ct_ssl_write, void *ssl, const void *buf, long num) {
  return ct_capture_write((__u64)ssl, (__u64)buf, (int)num);
}

/* int SSL_write_ex(SSL *s, const void *buf, size_t num, size_t *written) */
SEC("uprobe")
int BPF_KPROBE(ct_ssl_write_ex, void *ssl, const void *buf, __u64 num) {
  return ct_capture_write((__u64)ssl, (__u64)buf, (__s64)num);
}

/* int SSL_read(SSL *s, void *buf, int num): the byte count is the return value */
SEC("uprobe")
int BPF_KPROBE(ct_ssl_read, void *ssl, void *buf) {
  return ct_stash_read((__u64)ssl, (__u64)buf, 0);
}

/* int SSL_read_ex(SSL *s, void *buf, size_t num, size_t *readbytes), and libssl's internal ssl_read_internal with
 * the same signature (SSL_read's and SSL_read_ex's common callee, probed where their own entries would be
 * single-stepped): 1 on success with the count in *readbytes */
SEC("uprobe")
int BPF_KPROBE(ct_ssl_read_ex, void *ssl, void *buf, __u64 num, __u64 *readbytes) {
  if (!readbytes) return 0;
  return ct_stash_read((__u64)ssl, (__u64)buf, (__u64)readbytes);
}

/* Return of either read form: the plaintext now in the buffer. A process that was never in a set (every unwatched
 * one) has no task storage, which costs one load to see. */
SEC("uretprobe")
int BPF_KRETPROBE(ct_ssl_read_ret, long ret) {
  if (!ct_task_has_storage(bpf_get_current_task_btf())) return 0;
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  struct ct_ssl_read_args *args = bpf_map_lookup_elem(&ssl_reads, &tid);
  if (!args) return 0;
  __u64 ssl = args->ssl, buf = args->buf, readbytes = args->readbytes;
  bpf_map_delete_elem(&ssl_reads, &tid);
  if ((int)ret <= 0) return 0;
  __u64 count = (__u64)(int)ret;
  if (readbytes && bpf_probe_read_user(&count, sizeof(count), (void *)readbytes) != 0) {
    ct_count_drop(CT_DROP_READ_FAILED);
    return 0;
  }
  if (count) ct_emit_call_data(CT_EVENT_TLS_DATA, CT_TLS_READ, ssl, buf, count, bpf_ktime_get_boot_ns());
  return 0;
}

/* SSL *SSL_new(SSL_CTX *ctx) returned: a stream starts at this address (state kept for an earlier SSL there, whose
 * SSL_free was missed, must go) */
SEC("uretprobe")
int BPF_KRETPROBE(ct_ssl_new_ret, void *ssl) {
  if (!ssl || !ct_current_watched()) return 0;
  struct ct_tls_free_event *e = ct_reserve_in_budget(CT_EVENT_TLS_NEW, sizeof(*e));
  if (!e) return 0;
  ct_fill_header(&e->hdr, CT_EVENT_TLS_NEW, CT_FLAG_WATCHED);
  e->ssl = (__u64)ssl;
  ct_submit(e, false);
  return 0;
}

/* long SSL_ctrl(SSL *s, int cmd, long larg, void *parg): SSL_set_tlsext_host_name is cmd 55 */
SEC("uprobe")
int BPF_KPROBE(ct_ssl_ctrl, void *ssl, long cmd, long larg, const char *parg) {
  if ((int)cmd != CT_SSL_CTRL_SET_TLSEXT_HOSTNAME || !parg || !ct_current_watched()) return 0;
  struct ct_tls_sni_event *e = ct_reserve_in_budget(CT_EVENT_TLS_SNI, sizeof(*e));
  if (!e) return 0;
  ct_fill_header(&e->hdr, CT_EVENT_TLS_SNI, CT_FLAG_WATCHED);
  e->ssl = (__u64)ssl;
  if (bpf_probe_read_user_str(e->name, sizeof(e->name), parg) < 0) {
    e->name[0] = 0;
    ct_count_drop(CT_DROP_READ_FAILED);
  }
  ct_submit(e, false);
  return 0;
}

/* void SSL_free(SSL *s) */
SEC("uprobe")
int BPF_KPROBE(ct_ssl_free, void *ssl) {
  if (!ssl || !ct_current_watched()) return 0;
  /* A write of this SSL not flushed yet never will be: it must not pair a later SSL at the same address. */
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  struct ct_ssl_write_pending *pending = bpf_map_lookup_elem(&ssl_writes, &tid);
  if (pending && pending->ssl == (__u64)ssl) bpf_map_delete_elem(&ssl_writes, &tid);
  struct ct_tls_free_event *e = ct_reserve_in_budget(CT_EVENT_TLS_FREE, sizeof(*e));
  if (!e) return 0;
  ct_fill_header(&e->hdr, CT_EVENT_TLS_FREE, CT_FLAG_WATCHED);
  e->ssl = (__u64)ssl;
  ct_submit(e, false);
  return 0;
}
