/* TLS probes (uprobes on OpenSSL: system libssl.so.3 and the copy linked into node): plaintext written, SNI, free.
 * Attached by the agent per library file at offsets where the probed instruction is emulated (see agent/tls). */
#include "include/helpers.h"
#include <bpf/bpf_tracing.h>

#define CT_SSL_CTRL_SET_TLSEXT_HOSTNAME 55

static __always_inline bool ct_current_watched(void) {
  return ct_task_in_set(bpf_get_current_task_btf(), CT_SET_WATCHED);
}

static __always_inline int ct_capture_write(__u64 ssl, __u64 buf, __s64 num) {
  if (num <= 0 || !ct_current_watched()) return 0;
  __u32 total = num > 0x7fffffff ? 0x7fffffff : (__u32)num;
  for (__u32 i = 0; i < CT_TLS_MAX_CHUNKS; i++) {
    __u32 offset = i * CT_TLS_CHUNK_LEN;
    if (offset >= total) return 0;
    ct_emit_data_chunk(CT_EVENT_TLS_DATA, ssl, buf, total, offset);
  }
  if (total > CT_TLS_MAX_CHUNKS * CT_TLS_CHUNK_LEN) ct_count_truncation(CT_EVENT_TLS_DATA);
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

/* long SSL_ctrl(SSL *s, int cmd, long larg, void *parg): SSL_set_tlsext_host_name is cmd 55 */
SEC("uprobe")
int BPF_KPROBE(ct_ssl_ctrl, void *ssl, long cmd, long larg, const char *parg) {
  if ((int)cmd != CT_SSL_CTRL_SET_TLSEXT_HOSTNAME || !parg || !ct_current_watched()) return 0;
  struct ct_tls_sni_event *e = ct_reserve(CT_EVENT_TLS_SNI, sizeof(*e));
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
  struct ct_tls_free_event *e = ct_reserve(CT_EVENT_TLS_FREE, sizeof(*e));
  if (!e) return 0;
  ct_fill_header(&e->hdr, CT_EVENT_TLS_FREE, CT_FLAG_WATCHED);
  e->ssl = (__u64)ssl;
  ct_submit(e, false);
  return 0;
}
