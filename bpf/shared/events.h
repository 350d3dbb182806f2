/* Kernel-to-agent event ABI: the only header shared by bpf/ and agent/; fixed-width, append-only. */
#ifndef CREDTRACE_BPF_SHARED_EVENTS_H
#define CREDTRACE_BPF_SHARED_EVENTS_H

#ifdef __BPF__
typedef __u8 ct_u8;
typedef __u16 ct_u16;
typedef __u32 ct_u32;
typedef __u64 ct_u64;
#else
#include <stdint.h>
typedef uint8_t ct_u8;
typedef uint16_t ct_u16;
typedef uint32_t ct_u32;
typedef uint64_t ct_u64;
#endif


#define CT_COMM_LEN 16
#define CT_FILENAME_LEN 256
#define CT_ARGS_LEN 1024
#define CT_PATH_LEN 256
#define CT_STDIN_CAPTURE_LEN 1024
#define CT_TLS_CHUNK_LEN 4096 /* plaintext bytes per TLS data event */
#define CT_TLS_SMALL_CHUNK_LEN 1024 /* data room of the short record used for chunks that fit it */
#define CT_TLS_MAX_CHUNKS 4   /* chunks captured per SSL_write/SSL_read call; the rest is counted as truncated */
#define CT_STDIO_MAX_CHUNKS 64 /* chunks captured per read/write of an MCP server's stdio (256 KiB: whole tool
                                * results); a longer call keeps its first 63 chunks and its last 4 KiB */
#define CT_IOV_MAX_CAPTURED 8 /* iovecs captured per writev/sendmsg; later ones are reported as a gap */
#define CT_SNI_LEN 256

enum ct_event_type {
  CT_EVENT_EXEC = 1,      /* a process image was replaced (every process) */
  CT_EVENT_FORK = 2,      /* a watched or candidate process created a child process */
  CT_EVENT_EXIT = 3,      /* a watched, candidate or client process exited */
  CT_EVENT_STDIN = 4,     /* the first bytes a candidate process read from fd 0 */
  CT_EVENT_FILE_OPEN = 5, /* a watched process opened a path */
  CT_EVENT_TLS_DATA = 6,  /* plaintext a watched process passed to SSL_write (one chunk) */
  CT_EVENT_TLS_SNI = 7,   /* the server name a watched process set on an SSL (SSL_ctrl 55) */
  CT_EVENT_TLS_FREE = 8,  /* a watched process freed an SSL (end of stream) */
  CT_EVENT_CONNECT = 9,   /* a watched process called connect() on an IPv4/IPv6 address */
  CT_EVENT_SOCK_DATA = 10, /* bytes a watched process wrote to a socket it connected (plain HTTP): a tls_data layout */
  CT_EVENT_TLS_NEW = 11,   /* a watched process created an SSL (SSL_new returned): a new stream at that address */
  CT_EVENT_TLS_SOCKET = 12, /* the connected socket a watched thread wrote an SSL's ciphertext to after SSL_write */
  CT_EVENT_EXEC_ENV = 13,  /* a chunk of the environment block of a watched exec, sent just before its exec event */
  CT_EVENT_STDIO_DATA = 14, /* bytes an MCP server read from its stdin or wrote to its stdout: a tls_data layout */
  CT_EVENT_ACCEPT = 15,    /* a watched process accepted a TCP connection: the socket's fd, local port and peer */
  CT_EVENT_SRV_SOCK_DATA = 16, /* bytes a watched process read from (requests) or wrote to (answers) a socket it
                                * accepted: a tls_data layout, ssl holds the fd */
  CT_EVENT_LIB_MAP = 17,   /* a watched process mapped executable a file that may hold OpenSSL (libssl.so*, node) */
  CT_EVENT_TYPE_MAX = 18,
};

enum ct_drop_reason {
  CT_DROP_RINGBUF_FULL = 0, /* bpf_ringbuf_reserve failed */
  CT_DROP_READ_FAILED = 1,  /* a bpf_probe_read_* of user/kernel memory failed */
  CT_DROP_STATE_ALLOC = 2,  /* task storage for an inherited watch could not be allocated */
  CT_DROP_MAP_FULL = 3,     /* a bookkeeping map update failed (in-flight connect, captured socket) */
  CT_DROP_PAIRING_AMBIGUOUS = 4, /* a thread wrote to a second SSL before the first's ciphertext left: neither paired */
  CT_DROP_READ_UNMATCHED = 5, /* a Go Read returned with no entry noted (evicted from go_reads, or begun before the
                               * probes attached): its plaintext is not captured */
  CT_DROP_RATE_LIMITED = 6, /* the process used up its capture budget for this window
                             * (probes.max_captures_per_process_per_second): its flood cannot fill the shared ring */
  CT_DROP_HOLD_LAPSED = 7,  /* a watched exec or library map was not held: the agent's hold lease had lapsed (the agent
                             * stopped renewing it: killed or stalled), so its first TLS calls race the attach */
  CT_DROP_REASON_MAX = 8,
};

/* Execs the kernel did not report (not drops: the prefilter's decision), counted so the choice is visible. */
enum ct_filter_reason {
  CT_FILTERED_EXEC = 0,
  CT_FILTER_REASON_MAX = 1,
};

/* Sets a process can belong to; bit (1 << set) in ct_task_state.flags. */
enum ct_pid_set {
  CT_SET_WATCHED = 0,   /* an MCP server or one of its descendants */
  CT_SET_CANDIDATE = 1, /* a descendant of an MCP client, not yet classified */
  CT_SET_CLIENT = 2,    /* an MCP client process */
  CT_SET_MAX = 3,
};

/* Value of the task_states task-storage map (on the thread-group leader). */
struct ct_task_state {
  ct_u64 flags; /* 1 << enum ct_pid_set (64-bit: BPF atomics on clang 14 need it) */
  ct_u64 window_start_ns;  /* the process's capture budget: the current window's start (boot clock) */
  ct_u64 window_captures;  /* and the captures it made in it */
  ct_u64 window_bytes;     /* and the bytes those captures could copy */
};

/* Key of the exec-name prefilter map: an executable's file name, NUL-padded. */
#define CT_EXEC_NAME_LEN 32
struct ct_exec_name {
  char name[CT_EXEC_NAME_LEN];
};
/* Values of the exec-name prefilter map: report every exec of the name, or only when the name is a wrapper
 * (sh, bash, env, …) whose arguments mention "mcp" (`sh ./mcp-server-x.sh`, `bash -c 'exec ./mcp-y'`). */
#define CT_EXEC_NAME_REPORT 1
#define CT_EXEC_NAME_WRAPPER 2
/* How much of a wrapper's argument area the prefilter scans for "mcp". */
#define CT_WRAPPER_ARGS_SCAN 256

/* Per-CPU counters; summed by the agent. Incremented before ring-buffer reserve. */
struct ct_counters {
  ct_u64 events[CT_EVENT_TYPE_MAX];
  ct_u64 drops[CT_DROP_REASON_MAX];
  ct_u64 truncations[CT_EVENT_TYPE_MAX];
  ct_u64 filtered[CT_FILTER_REASON_MAX];
};

struct ct_event_header {
  ct_u32 type;  /* enum ct_event_type */
  ct_u32 pid;   /* thread id */
  ct_u32 tgid;  /* process id */
  ct_u32 flags; /* CT_FLAG_* */
  ct_u64 time_boot_ns;
};

#define CT_FLAG_WATCHED (1u << 0)   /* the process was watched when the event fired */
#define CT_FLAG_CANDIDATE (1u << 1) /* the process was a candidate when the event fired */
#define CT_FLAG_TRUNCATED (1u << 2) /* a variable part was cut to fit */
/* Exec only: the kernel watched the process at once because its name or arguments mention "mcp", so what it does
 * before the agent classifies it (a short-lived server's file reads) is seen; the agent undoes it if not MCP. */
#define CT_FLAG_PROVISIONAL (1u << 3)
/* Exec and lib_map only: the kernel stopped the process (SIGSTOP, hold_watched_execs) until the agent attaches its
 * uprobes and sends SIGCONT. */
#define CT_FLAG_HELD (1u << 4)
/* Set by the agent on TLS records it made from the preload's ring (never by the kernel): sensor "preload". */
#define CT_FLAG_PRELOAD (1u << 5)
/* Connect only: not a connect() call but the peer address of a socket connected before the process was watched, read
 * from the kernel's socket when a TLS stream was paired with it. */
#define CT_FLAG_PEER (1u << 6)

struct ct_exec_event {
  struct ct_event_header hdr;
  ct_u32 ppid;
  ct_u32 uid;
  ct_u32 gid;
  ct_u32 args_len;     /* bytes valid in args: NUL-separated argv */
  ct_u64 start_boottime_ns;
  ct_u64 cgroup_id;
  char comm[CT_COMM_LEN];
  char filename[CT_FILENAME_LEN];
  char args[CT_ARGS_LEN];
};

/* CT_EVENT_EXEC_ENV: the environment block ("NAME=VALUE\0" …) of a watched or provisionally watched exec, read by
 * the kernel at exec so a process that exits at once still has its environment reported (/proc/PID/environ is gone
 * by the time the agent looks). Chunks of CT_ENV_CHUNK_LEN, at most CT_ENV_MAX_CHUNKS; the rest is truncated. */
#define CT_ENV_CHUNK_LEN 4096
#define CT_ENV_MAX_CHUNKS 4
struct ct_exec_env_event {
  struct ct_event_header hdr;
  ct_u32 offset;    /* of this chunk in the block */
  ct_u32 len;       /* bytes valid in data */
  ct_u32 total_len; /* of the whole block (may exceed what is sent: CT_FLAG_TRUNCATED on the last chunk) */
  ct_u32 _pad;
  char data[CT_ENV_CHUNK_LEN];
};

struct ct_fork_event {
  struct ct_event_header hdr;
  ct_u32 parent_tgid;
  ct_u32 child_tgid;
  ct_u64 child_start_boottime_ns;
};

struct ct_exit_event {
  struct ct_event_header hdr;
  ct_u32 exit_code; /* raw wait status: (code << 8) | signal */
  ct_u32 _pad;
  ct_u64 start_boottime_ns;
};

struct ct_stdin_event {
  struct ct_event_header hdr;
  ct_u32 len;       /* bytes valid in data */
  ct_u32 read_ret;  /* what read() returned (may exceed len) */
  /* The reader's fd 0 and fd 1 (pipe or socket inode, else 0). With list_stdio_at_detection and a message that looks
   * like JSON-RPC, the kernel listed them in mcp_stdio_files already: the agent keeps them (MCP) or removes them. */
  ct_u64 stdin_inode;
  ct_u64 stdout_inode;
  char data[CT_STDIN_CAPTURE_LEN];
};

/* Directory of a relative open, as the opening process saw it: its names leaf first, each NUL-terminated, so the
 * read does not depend on /proc/PID/cwd of a process that may be gone. Twice CT_PATH_LEN: writes stay in bounds. */
#define CT_DIR_NAMES_LEN (2 * CT_PATH_LEN)
#define CT_DIR_MAX_DEPTH 24
struct ct_file_open_event {
  struct ct_event_header hdr;
  ct_u32 open_flags;
  ct_u32 path_len;
  ct_u32 dirfd;
  ct_u32 _pad;
  char path[CT_PATH_LEN];
  /* The root the path resolves in: its mount namespace, the mount id of its root (as statx STATX_MNT_ID reports it;
   * a device number would differ between kernel and stat on btrfs subvolumes) and the root's inode, so the agent
   * reads through a root it pinned for that namespace after the process has exited. */
  ct_u32 mnt_ns;
  ct_u32 root_mnt_id;
  ct_u64 root_ino;
  /* For a relative path: the directory it is relative to (cwd or dirfd), names leaf first. dir_depth 0 with
   * dir_names_len 0 is the root itself; CT_FLAG_DIR_UNKNOWN in dir_flags when it could not be walked whole. */
  ct_u32 dir_depth;
  ct_u32 dir_names_len;
  ct_u32 dir_flags;
  ct_u32 _pad2;
  char dir_names[CT_DIR_NAMES_LEN];
};
#define CT_DIR_WALKED 1u  /* dir_names holds the whole directory */
#define CT_DIR_UNKNOWN 2u /* the walk failed or was too deep/long: resolve through /proc if still possible */

enum ct_tls_direction {
  CT_TLS_WRITE = 0,
  CT_TLS_READ = 1,
};

/* Also the layout of CT_EVENT_SOCK_DATA (CT_TLS_WRITE: written to a connected socket, CT_TLS_READ: read from it) and
 * CT_EVENT_SRV_SOCK_DATA (the same on an accepted socket), where ssl holds the socket's fd, and of CT_EVENT_STDIO_DATA, where ssl holds
 * the inode of the pipe (or socket) behind the server's fd 0 (CT_TLS_READ) or fd 1 (CT_TLS_WRITE). A record holds the fixed fields and a
 * data room of CT_TLS_SMALL_CHUNK_LEN or CT_TLS_CHUNK_LEN bytes (len of them valid): never assume the full struct. */
struct ct_tls_data_event {
  struct ct_event_header hdr;
  ct_u64 ssl;        /* SSL* in the process: the stream key (memory BIOs have no fd); the fd for socket data */
  ct_u32 direction;  /* enum ct_tls_direction */
  ct_u32 total_len;  /* bytes the call passed */
  ct_u32 offset;     /* of this chunk within the call */
  ct_u32 len;        /* bytes valid in data */
  char data[CT_TLS_CHUNK_LEN];
};

struct ct_tls_sni_event {
  struct ct_event_header hdr;
  ct_u64 ssl;
  char name[CT_SNI_LEN];
};

/* Also the layout of CT_EVENT_TLS_NEW. */
struct ct_tls_free_event {
  struct ct_event_header hdr;
  ct_u64 ssl;
};

/* Arguments of an SSL_read in flight on a thread of a watched process (entry probe → return probe). */
struct ct_ssl_read_args {
  ct_u64 ssl;
  ct_u64 buf;
  ct_u64 readbytes; /* size_t* of the _ex form (count in *readbytes when it returns 1); 0: the count is the return */
};

/* An SSL_write in flight or just returned on a thread of a watched process: the next TLS application-data record
 * that thread writes to a socket it connected is that call's ciphertext (socket BIOs write inside SSL_write; memory
 * BIOs, as in node and asyncio, are flushed by the same thread right after). */
#define CT_TLS_PAIR_WINDOW_NS 1000000000ull /* a write's ciphertext must reach its socket within this to be paired */
#define CT_SSL_AMBIGUOUS 0 /* ct_ssl_write_pending.ssl while two SSLs' writes wait on one thread: pair nothing */
struct ct_ssl_write_pending {
  ct_u64 ssl;
  ct_u64 time_boot_ns; /* when SSL_write was entered: older ones are not paired */
  ct_u32 len;          /* plaintext bytes passed: the first record carries min(len, 16 KiB) of them */
  ct_u32 first_min;    /* 0, or the fewest of them the first record may carry (Go sizes its first records ~1.2 KB) */
};

/* Go's crypto/tls sends a connection's first application-data records at ~1,139-1,186 plaintext bytes (one TCP segment,
 * growing by one per record up to 128 KiB sent): a Go write's first record carries at least this much of it. */
#define CT_GO_FIRST_RECORD_MIN 1024

/* CT_EVENT_TLS_SOCKET: an SSL's ciphertext went to this socket (the agent maps the fd to its connect() address). */
struct ct_tls_socket_event {
  struct ct_event_header hdr;
  ct_u64 ssl;
  ct_u32 fd;
  ct_u32 record_len; /* length field of the first record written */
};

struct ct_connect_event {
  struct ct_event_header hdr;
  ct_u32 fd;
  ct_u16 family;   /* AF_INET (2) or AF_INET6 (10) */
  ct_u16 port;     /* host byte order */
  ct_u8 addr[16];  /* IPv4 in the first 4 bytes */
};

/* Values of plain_sockets: how the watched process got the socket (which record kind its bytes travel as). */
#define CT_SOCKET_CONNECTED 1 /* connect(): CT_EVENT_SOCK_DATA */
#define CT_SOCKET_ACCEPTED 2  /* accept()/accept4(): CT_EVENT_SRV_SOCK_DATA */

/* CT_EVENT_ACCEPT: a TCP connection a watched process accepted (its reads and writes on fd are captured from now). */
struct ct_accept_event {
  struct ct_event_header hdr;
  ct_u32 fd;
  ct_u16 family;     /* AF_INET (2) or AF_INET6 (10) */
  ct_u16 local_port; /* host byte order: the port the server listens on */
  ct_u16 peer_port;  /* host byte order */
  ct_u16 _pad;
  ct_u32 _pad2;
  ct_u8 peer_addr[16]; /* IPv4 in the first 4 bytes */
};

/* A socket read of a watched thread in flight (entry → exit): where the bytes will be and which record carries them. */
struct ct_socket_read {
  ct_u64 fd;
  ct_u64 buf;    /* the buffer, or the iovec array when iovcnt > 0 */
  ct_u64 iovcnt; /* 0: one flat buffer (read, recvfrom) */
  ct_u32 type;   /* CT_EVENT_SOCK_DATA or CT_EVENT_SRV_SOCK_DATA */
  ct_u32 _pad;
};

/* CT_EVENT_LIB_MAP: a watched process mapped a file executable (PROT_EXEC) whose name starts "libssl.so" or is
 * "node"/"nodejs" (a dlopen'd libssl, Python's `import ssl`): the agent attaches that process's TLS uprobes to it.
 * Reported at the mmap syscall's exit (the mapping exists), with a wake-up. */
#define CT_LIB_NAME_LEN 64
struct ct_lib_map_event {
  struct ct_event_header hdr;
  ct_u64 inode;     /* the mapped file's inode number */
  ct_u64 dev;       /* its superblock's s_dev (kernel encoding: major << 20 | minor) */
  ct_u64 start;     /* the mapping's start address */
  ct_u64 len;       /* and length */
  char name[CT_LIB_NAME_LEN]; /* the file's name (its dentry), NUL-terminated */
};

#endif
