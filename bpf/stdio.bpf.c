/* MCP stdio probes: the first bytes a candidate process reads from fd 0 (protocol detection), and the bytes MCP
 * servers read from their stdin and write to their stdout (JSON-RPC over stdio), for the pipes the agent listed.
 * read() is hooked here once for every purpose: reads of captured sockets (include/sockets.h) are noted here too. */
#include "include/sockets.h"

/* A watched thread's read of fd 0 or write of fd 1: remembered until the syscall returns, when the bytes moved are
 * known. Whether the file is a listed MCP server's stdio is checked at the return: a read that blocked before the
 * agent listed the pipe (the server waiting for its next message) still counts once it returns. */
static __always_inline void ct_note_stdio_call(struct task_struct *task, __u32 fd, __u64 buf, __u32 direction) {
  __u64 inode = ct_pipe_or_socket_inode(ct_fd_file(task, fd));
  if (!inode) return;
  struct ct_stdio_call call = {.buf = buf, .inode = inode, .direction = direction};
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  if (bpf_map_update_elem(&pending_stdio_calls, &tid, &call, BPF_ANY) != 0) ct_count_drop(CT_DROP_MAP_FULL);
}

/* The bytes a stdio call moved (ret > 0) on a listed file, in chunks keyed by the file's inode. */
static __always_inline void ct_finish_stdio_call(__s64 ret) {
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  struct ct_stdio_call *pending = bpf_map_lookup_elem(&pending_stdio_calls, &tid);
  if (!pending) return;
  struct ct_stdio_call call = *pending;
  bpf_map_delete_elem(&pending_stdio_calls, &tid);
  if (ret <= 0 || !bpf_map_lookup_elem(&mcp_stdio_files, &call.inode)) return;
  ct_emit_call_data_with_tail(CT_EVENT_STDIO_DATA, call.direction, call.inode, call.buf, (__u64)ret,
                              bpf_ktime_get_boot_ns());
}

#define CT_E2BIG 7 /* a full hash map refuses an update so */

/* A would-be server's pipes, listed before the agent's verdict (its first calls follow the initialize at once). */
static __always_inline void ct_list_stdio_now(__u64 stdin_inode, __u64 stdout_inode) {
  __u32 tgid = (__u32)(bpf_get_current_pid_tgid() >> 32);
  if (stdin_inode && bpf_map_update_elem(&mcp_stdio_files, &stdin_inode, &tgid, BPF_NOEXIST) == -CT_E2BIG)
    ct_count_drop(CT_DROP_MAP_FULL);
  if (stdout_inode && bpf_map_update_elem(&mcp_stdio_files, &stdout_inode, &tgid, BPF_NOEXIST) == -CT_E2BIG)
    ct_count_drop(CT_DROP_MAP_FULL);
}

SEC("tracepoint/syscalls/sys_enter_read")
int ct_enter_read(struct trace_event_raw_sys_enter *ctx) {
  __u64 fd = ctx->args[0], buf = ctx->args[1]; /* read(fd, buf, count) */
  struct task_struct *task = bpf_get_current_task_btf();
  if (fd != 0) {
    if (ct_task_in_set(task, CT_SET_WATCHED)) ct_note_socket_read(fd, buf, 0);  /* every other process: one load */
    return 0;
  }
  __u32 sets = ct_task_sets(task);
  if (sets & (1u << CT_SET_WATCHED)) ct_note_stdio_call(task, 0, buf, CT_TLS_READ);
  if (!(sets & (1u << CT_SET_CANDIDATE))) return 0;
  __u64 id = bpf_get_current_pid_tgid();
  __u32 tid = (__u32)id;
  bpf_map_update_elem(&pending_stdin_reads, &tid, &buf, BPF_ANY);
  return 0;
}

SEC("tracepoint/syscalls/sys_enter_write")
int ct_enter_stdout_write(struct trace_event_raw_sys_enter *ctx) {
  __u64 fd = ctx->args[0], buf = ctx->args[1]; /* write(fd, buf, count) */
  if (fd != 1) return 0;
  struct task_struct *task = bpf_get_current_task_btf();
  if (ct_task_in_set(task, CT_SET_WATCHED)) ct_note_stdio_call(task, 1, buf, CT_TLS_WRITE);
  return 0;
}

SEC("tracepoint/syscalls/sys_exit_write")
int ct_exit_stdout_write(struct trace_event_raw_sys_exit *ctx) {
  if (!ct_task_has_storage(bpf_get_current_task_btf())) return 0; /* every other process: one load */
  ct_finish_stdio_call(ctx->ret);
  return 0;
}

SEC("tracepoint/syscalls/sys_exit_read")
int ct_exit_read(struct trace_event_raw_sys_exit *ctx) {
  struct task_struct *task = bpf_get_current_task_btf();
  if (!ct_task_has_storage(task)) return 0; /* every other process: one load */
  ct_finish_stdio_call(ctx->ret);
  ct_finish_socket_read(ctx->ret);
  __u64 id = bpf_get_current_pid_tgid();
  __u32 tid = (__u32)id;
  __u64 *buf = bpf_map_lookup_elem(&pending_stdin_reads, &tid);
  if (!buf) return 0;
  __u64 user_buf = *buf;
  bpf_map_delete_elem(&pending_stdin_reads, &tid); /* always, even if the candidacy ended meanwhile */
  if (!ct_task_in_set(task, CT_SET_CANDIDATE)) return 0;
  if (ctx->ret <= 0) return 0;
  /* Only the first message decides: the process is no longer a candidate. A message that looks like JSON-RPC
   * ('{' or LSP-style "Content-Length") watches the process at once, so nothing it does before the agent has
   * classified it is missed; the agent removes the watch again when it is not an MCP initialize. */
  ct_task_remove_sets(task, 1u << CT_SET_CANDIDATE);
  char first = 0;
  bpf_probe_read_user(&first, 1, (void *)user_buf);
  const bool json_rpc = first == '{' || first == 'C';
  if (json_rpc) ct_task_add_sets(task, 1u << CT_SET_WATCHED);
  __u64 stdin_inode = ct_pipe_or_socket_inode(ct_fd_file(task, 0));
  __u64 stdout_inode = ct_pipe_or_socket_inode(ct_fd_file(task, 1));

  struct ct_stdin_event *e = ct_reserve_in_budget(CT_EVENT_STDIN, sizeof(*e));
  if (!e) return 0;
  /* Only with the record reserved: the agent removes what it lists when the message is no MCP initialize. */
  if (json_rpc && list_stdio_at_detection) ct_list_stdio_now(stdin_inode, stdout_inode);
  ct_fill_header(&e->hdr, CT_EVENT_STDIN, CT_FLAG_CANDIDATE);
  /* As at a watched exec: a process that may be an MCP server is stopped until the agent has classified it and
   * attached its TLS uprobes, then continued (a native server answers and calls its API within milliseconds). */
  if (json_rpc && ct_hold_current()) e->hdr.flags |= CT_FLAG_HELD;
  e->stdin_inode = stdin_inode;
  e->stdout_inode = stdout_inode;
  __u64 len = ctx->ret;
  if (len > CT_STDIN_CAPTURE_LEN) {
    len = CT_STDIN_CAPTURE_LEN;
    e->hdr.flags |= CT_FLAG_TRUNCATED;
    ct_count_truncation(CT_EVENT_STDIN);
  }
  e->read_ret = ctx->ret;
  e->len = 0;
  asm volatile("if %0 <= %1 goto +1; %0 = %1" : "+r"(len) : "i"(CT_STDIN_CAPTURE_LEN));
  if (bpf_probe_read_user(e->data, len, (void *)user_buf) == 0)
    e->len = len;
  else
    ct_count_drop(CT_DROP_READ_FAILED);
  ct_submit(e, true);
  return 0;
}
