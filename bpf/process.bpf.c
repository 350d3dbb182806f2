/* Process lifecycle probes: exec (every process), fork (set inheritance in the kernel), exit of the last thread. */
#include "include/helpers.h"
#include <bpf/bpf_tracing.h>

static __always_inline bool ct_is_agent(__u32 tgid) { return agent_tgid && tgid == agent_tgid; }

/* tp_btf arguments are BTF pointers: fields are read with direct (fault-safe) loads, not helper calls. */
static __always_inline void ct_read_args(struct ct_exec_event *e, struct task_struct *task) {
  struct mm_struct *mm = task->mm;
  if (!mm) return;
  unsigned long start = mm->arg_start;
  unsigned long end = mm->arg_end;
  __u64 len = end > start ? end - start : 0;
  if (len > CT_ARGS_LEN) {
    len = CT_ARGS_LEN;
    e->hdr.flags |= CT_FLAG_TRUNCATED;
    ct_count_truncation(CT_EVENT_EXEC);
  }
  e->args_len = 0;
  if (len == 0) return;
  asm volatile("if %0 <= %1 goto +1; %0 = %1" : "+r"(len) : "i"(CT_ARGS_LEN));
  if (bpf_probe_read_user(e->args, len, (void *)start) == 0)
    e->args_len = len;
  else
    ct_count_drop(CT_DROP_READ_FAILED);
}

/* ASCII lower-case "mcp" at i..i+2 of a name. */
static __always_inline bool ct_has_mcp_at(const char *n, int i) {
  return (n[i] | CT_ASCII_LOWER_BIT) == 'm' && (n[i + 1] | CT_ASCII_LOWER_BIT) == 'c' &&
         (n[i + 2] | CT_ASCII_LOWER_BIT) == 'p';
}

/* "mcp" anywhere in the first n bytes of a buffer (NULs included: an argument area is several strings). */
static __always_inline bool ct_mentions_mcp(const char *buf, int n) {
  for (int i = 0; i < CT_WRAPPER_ARGS_SCAN - 3; i++) {
    if (i >= n - 2) break;
    if (ct_has_mcp_at(buf, i)) return true;
  }
  return false;
}

/* Whether a wrapper's (sh, bash, env, …) arguments mention "mcp": a script or command it runs names a server. */
static __always_inline bool ct_wrapper_runs_mcp(struct task_struct *task) {
  struct mm_struct *mm = task->mm;
  if (!mm) return false;
  __u32 zero = 0;
  struct ct_wrapper_args *scratch = bpf_map_lookup_elem(&wrapper_args, &zero);
  if (!scratch) return true; /* cannot look: report rather than filter */
  unsigned long start = mm->arg_start;
  unsigned long end = mm->arg_end;
  __u64 len = end > start ? end - start : 0;
  if (len > CT_WRAPPER_ARGS_SCAN) len = CT_WRAPPER_ARGS_SCAN;
  if (len == 0) return false;
  asm volatile("if %0 <= %1 goto +1; %0 = %1" : "+r"(len) : "i"(CT_WRAPPER_ARGS_SCAN));
  if (bpf_probe_read_user(scratch->bytes, len, (void *)start) != 0) return true;
  return ct_mentions_mcp(scratch->bytes, (int)len);
}

enum ct_exec_verdict {
  CT_EXEC_SKIP = 0,     /* filtered and counted */
  CT_EXEC_REPORT = 1,   /* reported: a listed name (interpreter, launcher, client, config command) */
  CT_EXEC_MENTIONS = 2, /* reported and watched at once: the name, or a listed program's arguments, mention "mcp" */
};

static __always_inline bool ct_name_mentions_mcp(struct ct_exec_name *key) {
  for (int i = 0; i < CT_EXEC_NAME_LEN - 3; i++) {
    if (!key->name[i]) break;
    if (ct_has_mcp_at(key->name, i)) return true;
  }
  return false;
}

struct ct_slash_scan {
  long len;   /* bytes of the path in the scratch, NUL included */
  __u64 base; /* offset just after the last '/' seen */
};

/* bpf_loop callback over the path in the scratch: a loop the verifier checks once, not once per offset. */
static long ct_note_slash(__u64 index, void *ctx) {
  struct ct_slash_scan *scan = ctx;
  __u32 zero = 0;
  struct ct_wrapper_args *scratch = bpf_map_lookup_elem(&wrapper_args, &zero);
  if (!scratch || index >= CT_WRAPPER_ARGS_SCAN || (long)index >= scan->len) return 1;
  if (scratch->bytes[index] == '/') scan->base = index + 1;
  return 0;
}

/* The file name after the last '/' of the path the exec was asked for (a script's own path: for `#!` scripts
 * bprm->file is the interpreter), into key. The path is scanned in the per-CPU scratch (the stack is too small);
 * the name is then read from the kernel string itself. */
static __always_inline int ct_invoked_name(struct linux_binprm *bprm, struct ct_exec_name *key) {
  __u32 zero = 0;
  struct ct_wrapper_args *scratch = bpf_map_lookup_elem(&wrapper_args, &zero);
  if (!scratch) return -1;
  const char *filename = bprm->filename;
  struct ct_slash_scan scan = {};
  scan.len = bpf_probe_read_kernel_str(scratch->bytes, CT_WRAPPER_ARGS_SCAN, filename);
  if (scan.len <= 0) return -1;
  bpf_loop(CT_WRAPPER_ARGS_SCAN, ct_note_slash, &scan, 0);
  __builtin_memset(key->name, 0, sizeof(key->name));
  if (bpf_probe_read_kernel_str(key->name, sizeof(key->name), filename + scan.base) < 0) return -1;
  return 0;
}

/* Two NUL-padded names compared as words (no memcmp call in BPF). */
static __always_inline bool ct_same_name(const struct ct_exec_name *a, const struct ct_exec_name *b) {
  const __u64 *x = (const __u64 *)a->name, *y = (const __u64 *)b->name;
  return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3];
}

/* What to do with an exec of a process that is not watched, not a candidate and not a client's child, judged by
 * the executed file's name (the interpreter, for a `#!` script) and the name the exec asked for (the script, or
 * the symlink). A name with "mcp" in it is watched at once; a listed
 * program or wrapper whose first arguments mention "mcp" (`python3 mcp_server.py`, `sh ./mcp-server-x.sh`) too (the
 * arguments are scanned once); another listed program is reported; the rest is skipped. */
static __always_inline int ct_exec_verdict(struct task_struct *task, struct linux_binprm *bprm) {
  struct ct_exec_name key = {};
  struct dentry *dentry = bprm->file->f_path.dentry;
  __u32 len = dentry->d_name.len;
  if (len > CT_EXEC_NAME_LEN - 1) len = CT_EXEC_NAME_LEN - 1;
  if (bpf_probe_read_kernel(key.name, len & (CT_EXEC_NAME_LEN - 1), dentry->d_name.name) != 0) return CT_EXEC_REPORT;
  if (ct_name_mentions_mcp(&key)) return CT_EXEC_MENTIONS;
  __u8 *kind = bpf_map_lookup_elem(&exec_names, &key);
  __u8 listed = kind ? *kind : 0;
  /* The name the exec asked for: a `#!` script's own name, or a symlink's (/bin/sh -> dash). */
  struct ct_exec_name invoked = {};
  if (ct_invoked_name(bprm, &invoked) != 0) return CT_EXEC_REPORT;
  if (!ct_same_name(&invoked, &key)) {
    if (ct_name_mentions_mcp(&invoked)) return CT_EXEC_MENTIONS;
    __u8 *invoked_kind = bpf_map_lookup_elem(&exec_names, &invoked);
    if (invoked_kind && (!listed || *invoked_kind == CT_EXEC_NAME_REPORT)) listed = *invoked_kind;
  }
  if (!listed) return CT_EXEC_SKIP;
  if (ct_wrapper_runs_mcp(task)) return CT_EXEC_MENTIONS;
  return listed == CT_EXEC_NAME_REPORT ? CT_EXEC_REPORT : CT_EXEC_SKIP;
}

/* The environment block of the new image, in chunks, before its exec event (so the agent has it when it classifies
 * the exec). Only for watched and provisionally watched execs: candidates and unwatched processes send none. */
static __always_inline void ct_emit_exec_env(struct task_struct *task) {
  struct mm_struct *mm = task->mm;
  if (!mm) return;
  unsigned long start = mm->env_start;
  unsigned long end = mm->env_end;
  __u64 total = end > start ? end - start : 0;
  if (total == 0) return;
  for (__u32 i = 0; i < CT_ENV_MAX_CHUNKS; i++) {
    __u64 offset = (__u64)i * CT_ENV_CHUNK_LEN;
    if (offset >= total) break;
    struct ct_exec_env_event *e = ct_reserve(CT_EVENT_EXEC_ENV, sizeof(*e));
    if (!e) return;
    __u32 last = i == CT_ENV_MAX_CHUNKS - 1 && total > offset + CT_ENV_CHUNK_LEN;
    ct_fill_header(&e->hdr, CT_EVENT_EXEC_ENV, CT_FLAG_WATCHED | (last ? CT_FLAG_TRUNCATED : 0));
    if (last) ct_count_truncation(CT_EVENT_EXEC_ENV);
    __u64 len = total - offset;
    if (len > CT_ENV_CHUNK_LEN) len = CT_ENV_CHUNK_LEN;
    asm volatile("if %0 <= %1 goto +1; %0 = %1" : "+r"(len) : "i"(CT_ENV_CHUNK_LEN));
    e->offset = offset;
    e->total_len = total > CT_U32_MAX ? CT_U32_MAX : (__u32)total;
    e->len = 0;
    if (len > 0 && bpf_probe_read_user(e->data, len, (void *)(start + offset)) == 0)
      e->len = len;
    else
      ct_count_drop(CT_DROP_READ_FAILED);
    ct_submit(e, false);
  }
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(ct_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm) {
  __u32 tgid = task->tgid;
  if (ct_is_agent(tgid)) return 0;
  __u32 ppid = task->real_parent->tgid;
  /* Children of MCP clients were made candidates at fork; their first stdin message decides. */
  __u32 flags = ct_membership_flags(ct_task_sets(task));
  if (!flags) {
    int verdict = ct_exec_verdict(task, bprm);
    if (verdict == CT_EXEC_SKIP && exec_prefilter) {
      struct ct_counters *c = ct_counters_get();
      if (c) c->filtered[CT_FILTERED_EXEC]++;
      return 0;
    }
    if (verdict == CT_EXEC_MENTIONS) { /* its first opens and connects must not wait for the agent's verdict */
      ct_task_add_sets(task, 1u << CT_SET_WATCHED);
      flags = CT_FLAG_PROVISIONAL;
    }
  }

  if (flags & (CT_FLAG_WATCHED | CT_FLAG_PROVISIONAL)) ct_emit_exec_env(task);
  struct ct_exec_event *e = ct_reserve(CT_EVENT_EXEC, sizeof(*e));
  if (!e) return 0;
  /* Only with a record reserved: the agent continues every held process whose exec record it reads. A candidate (an
   * MCP client's child) too: the agent may know it for a server by its name at this exec, and a native server
   * answers and calls its API within milliseconds of it. */
  if ((flags & (CT_FLAG_WATCHED | CT_FLAG_CANDIDATE)) && ct_hold_current()) flags |= CT_FLAG_HELD;
  ct_fill_header(&e->hdr, CT_EVENT_EXEC, flags);
  e->ppid = ppid;
  const struct cred *cred = task->cred;
  e->uid = cred->uid.val;
  e->gid = cred->gid.val;
  e->start_boottime_ns = task->start_boottime;
  e->cgroup_id = bpf_get_current_cgroup_id();
  bpf_get_current_comm(e->comm, sizeof(e->comm));
  const char *filename = bprm->filename;
  if (bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), filename) < 0) e->filename[0] = 0;
  ct_read_args(e, task);
  ct_submit(e, flags != 0);
  return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(ct_fork, struct task_struct *parent, struct task_struct *child) {
  __u32 child_pid = child->pid;
  __u32 child_tgid = child->tgid;
  if (child_pid != child_tgid) return 0; /* a new thread, not a new process */
  __u32 parent_sets = ct_task_sets(parent);
  if (!parent_sets) return 0;
  __u32 inherited = parent_sets & ((1u << CT_SET_WATCHED) | (1u << CT_SET_CANDIDATE));
  /* A child of an MCP client is a candidate server until its first stdin message. */
  if ((parent_sets & (1u << CT_SET_CLIENT)) && !(inherited & (1u << CT_SET_WATCHED)))
    inherited |= 1u << CT_SET_CANDIDATE;
  if (!inherited) return 0;
  __u32 parent_tgid = parent->tgid;
  ct_task_add_sets(child, inherited);

  struct ct_fork_event *e = ct_reserve(CT_EVENT_FORK, sizeof(*e));
  if (!e) return 0;
  ct_fill_header(&e->hdr, CT_EVENT_FORK, ct_membership_flags(inherited));
  e->parent_tgid = parent_tgid;
  e->child_tgid = child_tgid;
  e->child_start_boottime_ns = child->start_boottime;
  ct_submit(e, false);
  return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(ct_exit, struct task_struct *task) {
  /* The process ends with its last thread, whichever it is (a leader that called pthread_exit leaves the others
   * running): by this tracepoint the exiting thread has already left signal->live. */
  if (task->signal->live.counter != 0) return 0;
  __u32 sets = ct_task_sets(task);
  if (!sets) return 0;
  __u32 flags = ct_membership_flags(sets);
  /* The storage itself is freed with the task. */

  struct ct_exit_event *e = ct_reserve(CT_EVENT_EXIT, sizeof(*e));
  if (!e) return 0;
  ct_fill_header(&e->hdr, CT_EVENT_EXIT, flags);
  e->exit_code = task->signal->group_exit_code ? task->signal->group_exit_code : task->exit_code;
  e->start_boottime_ns = task->group_leader->start_boottime; /* the process's start, not this thread's */
  ct_submit(e, true);
  return 0;
}

/* execve by a thread other than the leader: the kernel makes that thread the leader and frees the old one with its
 * task storage, so the sets are copied onto the exec'ing thread first (reads always go through the leader). */
static __always_inline int ct_keep_sets_across_exec(void) {
  struct task_struct *task = bpf_get_current_task_btf();
  if (task->pid == task->tgid) return 0;
  __u32 sets = ct_task_sets(task);
  if (!sets) return 0;
  struct ct_task_state *state = bpf_task_storage_get(&task_states, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
  if (!state) {
    ct_count_drop(CT_DROP_STATE_ALLOC);
    return 0;
  }
  state->flags = sets;
  return 0;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int ct_enter_execve(void *ctx) { return ct_keep_sets_across_exec(); }

SEC("tracepoint/syscalls/sys_enter_execveat")
int ct_enter_execveat(void *ctx) { return ct_keep_sets_across_exec(); }
