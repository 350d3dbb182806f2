/* Empty programs on the agent's hooks: the baseline the benchmark compares the agent's probes with. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tp_btf/sched_process_exec")
int BPF_PROG(empty_exec) { return 0; }
SEC("tp_btf/sched_process_fork")
int BPF_PROG(empty_fork) { return 0; }
SEC("tp_btf/sched_process_exit")
int BPF_PROG(empty_exit) { return 0; }
SEC("tracepoint/syscalls/sys_enter_openat")
int empty_openat(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_enter_openat2")
int empty_openat2(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_enter_open")
int empty_open(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_enter_read")
int empty_enter_read(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_exit_read")
int empty_exit_read(void *ctx) { return 0; }
SEC("uprobe")
int empty_uprobe(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_enter_connect")
int empty_enter_connect(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_exit_connect")
int empty_exit_connect(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_enter_write")
int empty_enter_write(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_enter_sendto")
int empty_enter_sendto(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_enter_close")
int empty_enter_close(void *ctx) { return 0; }
SEC("uretprobe")
int empty_uretprobe(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_enter_writev")
int empty_enter_writev(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_enter_sendmsg")
int empty_enter_sendmsg(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_enter_execve")
int empty_enter_execve(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_enter_execveat")
int empty_enter_execveat(void *ctx) { return 0; }
