/* Every BPF map and global of credtrace's probes, each with a one-line comment. Every probe file includes this
 * header and compiles to an object of its own; the definitions are weak, so the linked object (bpftool gen object)
 * holds each map and global once, shared by every probe. */
#ifndef CREDTRACE_BPF_MAPS_H
#define CREDTRACE_BPF_MAPS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "../shared/events.h"

char LICENSE[] SEC("license") __weak = "Dual BSD/GPL";

/* Ring buffer size in bytes; set by the agent before load (power of two, >= page size). */
struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4 * 1024 * 1024);
} events SEC(".maps") __weak;

/* (tgid << 32 | fd) of sockets watched processes connected or accepted (value CT_SOCKET_CONNECTED / _ACCEPTED): their
 * writes and reads are captured (plain HTTP). The agent deletes an entry once the stream turns out not to be plain
 * HTTP (TLS records, other protocols). */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 16384);
  __type(key, __u64);
  __type(value, __u8);
} plain_sockets SEC(".maps") __weak;

/* (tgid << 32 | fd) of sockets watched processes connected, until closed: the sockets an SSL's ciphertext may be
 * paired with (unlike plain_sockets, kept when the stream turns out to be TLS). */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 16384);
  __type(key, __u64);
  __type(value, __u8);
} connected_sockets SEC(".maps") __weak;

/* Thread id -> the last SSL_write of that thread of a watched process not yet paired with the socket its ciphertext
 * went to (set by the SSL_write probes, taken by the socket write that carries the record; LRU, as ssl_reads). */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 8192);
  __type(key, __u32);
  __type(value, struct ct_ssl_write_pending);
} ssl_writes SEC(".maps") __weak;

/* Thread id -> fd of an in-flight connect() by a watched process (LRU: a thread that dies mid-call cannot leak). */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 4096);
  __type(key, __u32);
  __type(value, __u64);
} pending_connects SEC(".maps") __weak;

/* Thread id -> a read of a captured socket in flight (entry → exit, when the bytes are known; LRU: a thread that dies
 * mid-call, or blocks in read on an idle keep-alive connection forever, cannot leak). */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 8192);
  __type(key, __u32);
  __type(value, struct ct_socket_read);
} pending_socket_reads SEC(".maps") __weak;

/* Per-CPU time (boot ns) of the last wake-up forced because the ring was above the threshold. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} last_wakeup_ns SEC(".maps") __weak;

/* [0]: the hold lease, a boot-clock deadline (ns) until which the agent is there to continue held processes
 * (hold_watched_execs). The agent renews it while its loop runs and writes 0 before its last drain at stop; an agent
 * that dies or stalls lets it lapse, so the kernel stops no process for long that no agent would continue. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} hold_active SEC(".maps") __weak;

/* The processes the kernel stopped for the agent (tgid → start time since boot, ns), pinned in bpffs by the agent:
 * one it never continued (it died between the stop and the SIGCONT) is continued by the next agent at its start. A
 * process is stopped only once it is listed here. */
#define CT_MAX_HELD 4096
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, CT_MAX_HELD);
  __type(key, __u32);
  __type(value, __u64);
} held_processes SEC(".maps") __weak;

/* Per-CPU event, drop and truncation counters (struct ct_counters). */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct ct_counters);
} counters SEC(".maps") __weak;

/* Thread id -> user buffer of an in-flight read(0, ...) by a candidate process (LRU, as above). */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 4096);
  __type(key, __u32);
  __type(value, __u64);
} pending_stdin_reads SEC(".maps") __weak;

/* Inodes of the pipes (or sockets) an MCP server's stdin and stdout are: the agent adds them when it finds the
 * server; reads of fd 0 and writes of fd 1 on these files by watched processes are captured (MCP over stdio). */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, __u64);   /* inode number (pipefs and sockfs share one inode counter) */
  __type(value, __u32); /* the server's tgid, for the agent's bookkeeping */
} mcp_stdio_files SEC(".maps") __weak;

/* A stdio read or write of a watched thread in flight (entry → exit): where the bytes are and whose file it is. */
struct ct_stdio_call {
  __u64 buf;
  __u64 inode;
  __u32 direction; /* enum ct_tls_direction: READ for fd 0, WRITE for fd 1 */
  __u32 _pad;
};
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH); /* every fd 0 read / fd 1 write of a watched thread: an entry a thread left
                                        * behind (killed in the call) ages out instead of filling the map */
  __uint(max_entries, 4096);
  __type(key, __u32); /* thread id */
  __type(value, struct ct_stdio_call);
} pending_stdio_calls SEC(".maps") __weak;

/* Set membership (watched / candidate / client) of a process, stored on its thread-group leader. Task storage
 * lives with the task (no stale entries after pid reuse, no pid limit) in kmalloc'd memory; an unwatched
 * process has none, so its lookup touches only its own task_struct. The agent updates it through pidfds. */
struct {
  __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct ct_task_state);
} task_states SEC(".maps") __weak;

/* Thread id -> the SSL_read in flight on that thread of a watched process: set by the entry probe, taken by the
 * return probe (LRU: a thread that dies mid-call cannot leak). A hash map, not task storage: a second task-storage
 * map on the same tasks competes for their storage's lookup cache, and every watched-set check then re-caches
 * under a lock (measured: +250 ns per SSL_write). */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 8192);
  __type(key, __u32);
  __type(value, struct ct_ssl_read_args);
} ssl_reads SEC(".maps") __weak;

/* A Go crypto/tls (*Conn).Read in flight: the process and its goroutine (g, in r14). Keyed by goroutine, not by thread:
 * a Read that blocks parks its goroutine, which may return on another thread. */
struct ct_go_read_key {
  __u32 tgid;
  __u32 pad;
  __u64 g;
};

/* Goroutine -> the Read in flight (where its plaintext will land): set at the entry probe, taken at a RET probe (LRU:
 * a goroutine that never returns cannot leak; a Read whose entry was evicted is counted at its RET, read_unmatched). */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 8192);
  __type(key, struct ct_go_read_key);
  __type(value, struct ct_ssl_read_args);
} go_reads SEC(".maps") __weak;

/* Socket (ct_socket_key of the fd under the *tls.Conn) -> the earliest Go (*Conn).Write on it not yet paired: the note
 * ssl_writes keeps per thread, kept per socket as a goroutine can move to another thread between its Write and the
 * write(2) (LRU, as ssl_writes). */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 8192);
  __type(key, __u64);
  __type(value, struct ct_ssl_write_pending);
} go_conn_writes SEC(".maps") __weak;

/* Thread id -> the libssl/node file a watched thread is mapping executable (set at mmap entry, taken at its exit,
 * which reports it with the mapping's address; the header is unused here). LRU: a thread killed mid-call. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 1024);
  __type(key, __u32);
  __type(value, struct ct_lib_map_event);
} lib_maps SEC(".maps") __weak;

/* Executable file names (NUL-padded, first 31 bytes) whose exec is reported even when the process is neither
 * watched nor a child of an MCP client: interpreters, launchers, MCP clients, config commands. Set by the agent. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 256); /* small enough to be kmalloc'd: no vmalloc TLB misses on the exec path */
  __type(key, struct ct_exec_name);
  __type(value, __u8);
} exec_names SEC(".maps") __weak;

/* Per-CPU scratch for the exec prefilter: the start of a wrapper's (sh, env, …) arguments, scanned for "mcp". */
struct ct_wrapper_args {
  char bytes[CT_WRAPPER_ARGS_SCAN];
};
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct ct_wrapper_args);
} wrapper_args SEC(".maps") __weak;

/* Per-CPU scratch for the directory walk of a relative open (names leaf first), copied into the event. */
struct ct_dir_names {
  char bytes[CT_DIR_NAMES_LEN];
};
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct ct_dir_names);
} dir_walk SEC(".maps") __weak;

/* Agent's own tgid: never traced. */
const volatile __u32 agent_tgid __weak = 0;
/* Whether opens by watched processes are sent to the agent (off until its file sensor consumes them). */
const volatile bool capture_file_opens __weak = false;
/* mcp.tool_calls.enabled: a candidate's first stdin message that looks like JSON-RPC lists its stdio pipes at once,
 * so a server's first calls are captured before the agent has classified it (it removes them when not MCP). */
const volatile bool list_stdio_at_detection __weak = false;
/* When false, every exec is reported (no exec-name prefilter). */
const volatile bool exec_prefilter __weak = true;
/* Stop (SIGSTOP) a watched process at its exec (before its first user instruction) and when it maps a libssl, until
 * the agent has attached its TLS uprobes and continues it (tls.hold_exec_until_attached). Set before load. */
const volatile bool hold_watched_execs __weak = false;
/* Captures a process may make per CT_RATE_WINDOW_NS window (probes.max_captures_per_process_per_second / 10; 0: no
 * budget; see ct_within_budget). Process lifecycle records (exec, its environment, fork, exit, library maps) are
 * never limited. */
const volatile __u64 max_captures_per_window __weak = 0;
/* Bytes of data captures a process may make per window (probes.max_capture_bytes_per_process_per_second / 10; 0: no
 * byte budget). Checked with the capture budget: a capture that starts under it is whole. */
const volatile __u64 max_capture_bytes_per_window __weak = 0;
/* Ring-buffer fill level above which a submit forces a wake-up of the agent. */
const volatile __u64 wakeup_threshold_bytes __weak = 256 * 1024;

#endif
