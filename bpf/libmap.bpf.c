/* Library-map probes: a watched process mapping executable a file that may hold OpenSSL (libssl.so*, node), so the
 * agent attaches that process's TLS uprobes to it before its first SSL_write (dlopen after start, `import ssl`), or a
 * TLS library the agent cannot probe (GnuTLS, NSS, wolfSSL, mbedTLS), so its coverage report names it.
 * mmap entry (fd, prot) finds the file; mmap exit reports it once the mapping exists. */
#include "include/helpers.h"

#define CT_PROT_EXEC 0x4
#define CT_MAX_ERRNO 4095

/* "libssl.so…", "node" or "nodejs": the files TLS uprobes go to (the main executable is attached at exec). */
static __always_inline bool ct_may_hold_openssl(const char *name) {
  if (name[0] == 'l' && name[1] == 'i' && name[2] == 'b' && name[3] == 's' && name[4] == 's' && name[5] == 'l' &&
      name[6] == '.' && name[7] == 's' && name[8] == 'o')
    return true;
  if (name[0] != 'n' || name[1] != 'o' || name[2] != 'd' || name[3] != 'e') return false;
  return name[4] == 0 || (name[4] == 'j' && name[5] == 's' && name[6] == 0);
}

static __always_inline bool ct_name_starts(const char *name, const char *prefix, int length) {
#pragma unroll
  for (int i = 0; i < 14; i++) {
    if (i >= length) return true;
    if (name[i] != prefix[i]) return false;
  }
  return true;
}

/* TLS libraries reported in the coverage but never probed (no hold: nothing is attached to them). */
static __always_inline bool ct_unprobed_tls_library(const char *name) {
  return ct_name_starts(name, "libgnutls.so", 12) || ct_name_starts(name, "libnss3.so", 10) ||
         ct_name_starts(name, "libssl3.so", 10) || ct_name_starts(name, "libwolfssl.so", 13) ||
         ct_name_starts(name, "libmbedtls.so", 13);
}

/* mmap(addr, len, prot, flags, fd, off) */
SEC("tracepoint/syscalls/sys_enter_mmap")
int ct_enter_mmap(struct trace_event_raw_sys_enter *ctx) {
  __u64 len = ctx->args[1], prot = ctx->args[2];
  __s32 fd = (__s32)ctx->args[4];
  if (fd < 0 || !(prot & CT_PROT_EXEC)) return 0;
  struct task_struct *task = bpf_get_current_task_btf();
  if (!ct_task_in_set(task, CT_SET_WATCHED)) return 0;
  struct file *file = ct_fd_file(task, (__u32)fd);
  if (!file) return 0;
  struct ct_lib_map_event pending = {};
  const unsigned char *dname = BPF_CORE_READ(file, f_path.dentry, d_name.name);
  if (bpf_probe_read_kernel_str(pending.name, sizeof(pending.name), dname) < 0) return 0;
  if (!ct_may_hold_openssl(pending.name) && !ct_unprobed_tls_library(pending.name)) return 0;
  pending.inode = BPF_CORE_READ(file, f_inode, i_ino);
  pending.dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev);
  pending.len = len;
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  if (bpf_map_update_elem(&lib_maps, &tid, &pending, BPF_ANY) != 0) ct_count_drop(CT_DROP_MAP_FULL);
  return 0;
}

SEC("tracepoint/syscalls/sys_exit_mmap")
int ct_exit_mmap(struct trace_event_raw_sys_exit *ctx) {
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  struct ct_lib_map_event *pending = bpf_map_lookup_elem(&lib_maps, &tid);
  if (!pending) return 0;
  long ret = ctx->ret;
  if (ret < 0 && ret >= -CT_MAX_ERRNO) {
    bpf_map_delete_elem(&lib_maps, &tid);
    return 0;
  }
  struct ct_lib_map_event *e = ct_reserve(CT_EVENT_LIB_MAP, sizeof(*e));
  if (e) {
    __builtin_memcpy(e, pending, sizeof(*e));
    __u32 flags = CT_FLAG_WATCHED;
    /* As at exec (process.bpf.c): stopped until the agent has attached, then continued. */
    if (ct_may_hold_openssl(pending->name) && ct_hold_current()) flags |= CT_FLAG_HELD;
    ct_fill_header(&e->hdr, CT_EVENT_LIB_MAP, flags);
    e->start = (__u64)ret;
    ct_submit(e, true); /* the process goes on to its first SSL_write: the agent must attach now */
  }
  bpf_map_delete_elem(&lib_maps, &tid);
  return 0;
}
