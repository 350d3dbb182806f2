/* The channel to the agent: the sealed shared memory of this process, its registration on the agent's socket (at
 * start, in a forked child, and again when the agent comes back), and the constructor that sets it all up. Every
 * step is a plain syscall: safe in a forked child of a threaded process, never blocking, never fatal. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "preload_internal.h"

enum { CHANNEL_IDLE, CHANNEL_REGISTERING, CHANNEL_REGISTERED };

_Atomic(struct ct_preload_header*) ct_channel;

static int disabled;                /* secure-exec, CREDTRACE_PRELOAD_DISABLE=1: every hook passes through */
static _Atomic int channel_state;   /* CHANNEL_* */
static _Atomic uint64_t next_attempt_ns;
static _Atomic int libssl_noted;
static char socket_path[sizeof(((struct sockaddr_un*)0)->sun_path)];
static uint32_t ring_bytes = 1u << 20;
static uint32_t table_slots = 256;
static struct ct_preload_header* memory; /* this process's mapping (a forked child's parent mapping is left alone) */
static _Atomic uint64_t registered_ns; /* written by the registering thread, read by any writer finding the ring full */
/* The agent's heartbeat as last seen, and this process's clock when it was seen to change: liveness is the beat moving,
 * never the beat compared with this clock (a process in a time namespace reads another CLOCK_MONOTONIC). */
static _Atomic uint64_t seen_beat;
static _Atomic uint64_t seen_beat_at_ns;
/* Descriptors this library opened, with their inodes: one is closed only while it is still ours (the program may
 * have closed the number and reused it). */
static int memory_fd = -1, socket_fd = -1;
static ino_t memory_ino, socket_ino;
static __thread uint32_t retry_counter __attribute__((tls_model("initial-exec")));

int ct_channel_disabled(void) { return disabled; }

/* A descriptor the library opened is moved above 2: in a program started with stdin or stdout closed, the lowest
 * free number would otherwise become its stdin or stdout. */
static int above_stdio(int fd) {
  if (fd < 0 || fd > 2) return fd;
  const int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  close(fd);
  return moved;
}

static int still_ours(int fd, ino_t ino) {
  struct stat st;
  return fd > 2 && fstat(fd, &st) == 0 && st.st_ino == ino && (S_ISSOCK(st.st_mode) || S_ISREG(st.st_mode));
}

static void close_if_ours(int* fd, ino_t ino) {
  if (still_ours(*fd, ino)) close(*fd);
  *fd = -1;
}

/* /proc/self/stat field 22 (start time in clock ticks since boot): with the pid, who this process is. */
static uint64_t start_time_ticks(void) {
  char buf[1024];
  const int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  const ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  const char* p = strrchr(buf, ')');
  if (!p) return 0;
  for (int field = 2; field < 22 && *p; ++p)
    if (*p == ' ') ++field;
  uint64_t ticks = 0;
  while (*p >= '0' && *p <= '9') ticks = ticks * 10 + (uint64_t)(*p++ - '0');
  return ticks;
}

static size_t memory_bytes(void) {
  return CT_PRELOAD_HEADER_BYTES + (size_t)table_slots * sizeof(struct ct_preload_name_slot) + ring_bytes;
}

/* A new sealed memfd (the agent refuses one that could shrink under it), mapped and initialised. */
static struct ct_preload_header* create_memory(void) {
  const int fd = above_stdio(memfd_create("credtrace-preload", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (fd < 0) return NULL;
  if (ftruncate(fd, (off_t)memory_bytes()) != 0 ||
      fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    close(fd);
    return NULL;
  }
  void* p = mmap(NULL, memory_bytes(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  struct stat st;
  if (p == MAP_FAILED || fstat(fd, &st) != 0) {
    if (p != MAP_FAILED) munmap(p, memory_bytes());
    close(fd);
    return NULL;
  }
  struct ct_preload_header* header = (struct ct_preload_header*)p;
  header->magic = CT_PRELOAD_MAGIC;
  header->version = CT_PRELOAD_VERSION;
  header->ring_bytes = ring_bytes;
  header->table_slots = table_slots;
  memory_fd = fd;
  memory_ino = st.st_ino;
  return header;
}

static int send_hello(int sock, uint32_t flags) {
  struct ct_preload_hello hello = {
      .magic = CT_PRELOAD_MAGIC,
      .version = CT_PRELOAD_VERSION,
      .pid = (uint32_t)getpid(),
      .flags = flags | (atomic_load(&libssl_noted) ? CT_HELLO_LIBSSL : 0),
      .start_time_ticks = start_time_ticks(),
      .ring_bytes = ring_bytes,
      .table_slots = table_slots,
      .dropped_before = 0,
  };
  char exe[4096];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n > 0) {
    exe[n] = '\0';
    const char* base = strrchr(exe, '/');
    base = base ? base + 1 : exe;
    const size_t len = strnlen(base, sizeof(hello.exe) - 1);
    memcpy(hello.exe, base, len);
  }
  struct iovec iov = {.iov_base = &hello, .iov_len = sizeof(hello)};
  char control[CMSG_SPACE(sizeof(int))];
  memset(control, 0, sizeof(control));
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control)};
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cmsg), &memory_fd, sizeof(int));
  return sendmsg(sock, &msg, MSG_NOSIGNAL) == (ssize_t)sizeof(hello) ? 0 : -1;
}

static int connect_agent(void) {
  const int sock = above_stdio(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (sock < 0) return -1;
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, socket_path, sizeof(addr.sun_path) - 1);
  if (connect(sock, (struct sockaddr*)&addr, sizeof(addr)) != 0) {
    close(sock);
    return -1;
  }
  return sock;
}

static void give_up_until_later(void) {
  atomic_store(&next_attempt_ns, ct_mono_ns() + 1000000000ull);
  atomic_store(&channel_state, CHANNEL_IDLE);
}

void ct_channel_register(uint32_t hello_flags) {
  int expected = CHANNEL_IDLE;
  if (disabled || !atomic_compare_exchange_strong(&channel_state, &expected, CHANNEL_REGISTERING)) return;
  const int sock = connect_agent();
  if (sock < 0) return give_up_until_later();
  if (memory && still_ours(memory_fd, memory_ino)) {
    atomic_store(&memory->agent_state, CT_AGENT_UNDECIDED); /* the same ring, for an agent that came back */
  } else {
    memory = create_memory(); /* a previous mapping, if any, stays mapped: a thread may still be writing it */
  }
  struct stat st;
  if (!memory || fstat(sock, &st) != 0 || send_hello(sock, hello_flags) != 0) {
    close(sock);
    return give_up_until_later();
  }
  close_if_ours(&socket_fd, socket_ino);
  socket_fd = sock; /* kept open: the agent sees the process go when it closes */
  socket_ino = st.st_ino;
  atomic_store(&registered_ns, ct_mono_ns());
  atomic_store_explicit(&ct_channel, memory, memory_order_release);
  atomic_store(&channel_state, CHANNEL_REGISTERED);
}

void ct_channel_retry(void) {
  if (disabled || (++retry_counter & 63) != 0) return; /* the clock is read once in 64 pass-through calls */
  const uint64_t now = ct_mono_ns();
  if (now < atomic_load(&next_attempt_ns)) return;
  atomic_store(&next_attempt_ns, now + 1000000000ull);
  struct ct_preload_header* header = atomic_load(&ct_channel);
  if (header && atomic_load(&header->agent_state) != CT_AGENT_CLOSED) return;
  int registered = CHANNEL_REGISTERED;
  atomic_compare_exchange_strong(&channel_state, &registered, CHANNEL_IDLE);
  ct_channel_register(0);
}

__thread uint32_t ct_live_calls __attribute__((tls_model("initial-exec")));

void ct_channel_check_alive(struct ct_preload_header* header) {
  const uint64_t now = ct_mono_ns();
  if (now < atomic_load(&next_attempt_ns)) return;
  atomic_store(&next_attempt_ns, now + 1000000000ull);
  const uint64_t beat = atomic_load(&header->heartbeat_ns);
  if (atomic_exchange(&seen_beat, beat) != beat) { /* the agent drained since the last check */
    atomic_store(&seen_beat_at_ns, now);
    return;
  }
  uint64_t since = atomic_load(&seen_beat_at_ns);
  const uint64_t registered = atomic_load(&registered_ns);
  if (registered > since) since = registered;
  /* Both times are this process's; one newer than `now` was stored by a thread that read the clock after this one. */
  if (since >= now || now - since < 5000000000ull) return; /* the agent is draining, only slower than this process */
  atomic_store(&header->agent_state, CT_AGENT_CLOSED); /* nobody drains it: pass through until an agent answers */
  int registered_state = CHANNEL_REGISTERED;
  if (atomic_compare_exchange_strong(&channel_state, &registered_state, CHANNEL_IDLE)) ct_channel_register(0);
}

void ct_channel_ring_full(struct ct_preload_header* header) { ct_channel_check_alive(header); }

void ct_channel_note_libssl(void) {
  if (atomic_exchange(&libssl_noted, 1)) return;
  struct ct_preload_header* header = atomic_load_explicit(&ct_channel, memory_order_acquire);
  if (!header) return;
  struct ct_preload_record* record = ct_ring_reserve(header, CT_PREC_LIBSSL, 0);
  if (record) ct_ring_commit(header, record);
}

/* A forked child is a new process: it registers on its own (its parent's mapping is never written again). */
static void after_fork_in_child(void) {
  ct_forget_tid();
  atomic_store(&ct_channel, NULL);
  close_if_ours(&socket_fd, socket_ino);
  close_if_ours(&memory_fd, memory_ino);
  memory = NULL;
  atomic_store(&channel_state, CHANNEL_IDLE);
  atomic_store(&next_attempt_ns, 0);
  ct_channel_register(CT_HELLO_AFTER_FORK);
}

static uint32_t ring_bytes_from(const char* kib) {
  if (!kib) return 1u << 20;
  const unsigned long n = strtoul(kib, NULL, 10);
  uint32_t bytes = 64u << 10;
  while (bytes < (64u << 20) && (unsigned long)bytes < n * 1024ul) bytes <<= 1;
  return bytes;
}

void ct_channel_init(void) {
  ct_resolve_env_functions();
  const char* off = ct_scan_environ(CT_PRELOAD_DISABLE_ENV);
  if (getauxval(AT_SECURE) || (off && strcmp(off, "1") == 0)) {
    disabled = 1; /* setuid and other secure-exec programs, or switched off: untouched */
    return;
  }
  const char* path = ct_scan_environ(CT_PRELOAD_SOCKET_ENV);
  if (!path || !path[0] || strlen(path) >= sizeof(socket_path)) path = CT_PRELOAD_DEFAULT_SOCKET;
  memcpy(socket_path, path, strlen(path) + 1);
  ring_bytes = ring_bytes_from(ct_scan_environ("CREDTRACE_PRELOAD_RING_KB"));
  pthread_atfork(NULL, NULL, after_fork_in_child);
  ct_channel_register(0);
}

__attribute__((constructor)) static void credtrace_preload_start(void) { ct_channel_init(); }
