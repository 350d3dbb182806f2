/* The preload ↔ agent contract: the registration messages on the agent's unix socket, the shared-memory layout of a
 * process's ring (header, secret-name table, record ring) and the records. C, shared by libcredtrace-preload.so and
 * the agent. Everything in the shared memory is written by the untrusted process too: the agent bounds-checks it. */
#ifndef CREDTRACE_PRELOAD_ABI_H
#define CREDTRACE_PRELOAD_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#include <atomic>
#define CT_ATOMIC(T) std::atomic<T>
static_assert(sizeof(std::atomic<uint32_t>) == 4 && sizeof(std::atomic<uint64_t>) == 8, "lock-free atomics");
#else
#include <stdatomic.h>
#define CT_ATOMIC(T) _Atomic T
#endif

#define CT_PRELOAD_MAGIC 0x43545052u /* "CTPR" */
#define CT_PRELOAD_VERSION 1u
#define CT_PRELOAD_DEFAULT_SOCKET "/run/credtrace/preload.sock"
#define CT_PRELOAD_SOCKET_ENV "CREDTRACE_PRELOAD_SOCKET"   /* overrides the socket path (tests, non-root agents) */
#define CT_PRELOAD_DISABLE_ENV "CREDTRACE_PRELOAD_DISABLE" /* "1": the library passes everything through */

/* Registration: the process connects (SOCK_SEQPACKET) and sends one hello with its sealed memfd (SCM_RIGHTS). The
 * agent takes the pid from SO_PEERCRED, compares start_time_ticks with /proc/PID/stat (field 22), checks the memfd's
 * seals and size, maps it and answers with a welcome. The connection stays open while the process lives. */
struct ct_preload_hello {
  uint32_t magic;
  uint32_t version;
  uint32_t pid;               /* getpid() */
  uint32_t flags;             /* CT_HELLO_* */
  uint64_t start_time_ticks;  /* /proc/self/stat field 22 */
  uint32_t ring_bytes;        /* data ring size (power of two) */
  uint32_t table_slots;       /* secret-name table slots (power of two) */
  uint64_t dropped_before;    /* records this process dropped while it had no agent (counted, never sent) */
  char exe[64];               /* file name of /proc/self/exe at registration (the image registering; a claim) */
};
#define CT_HELLO_AFTER_FORK (1u << 0) /* a forked child registering on its own */
#define CT_HELLO_LIBSSL (1u << 1)     /* libssl's functions were resolved: the TLS hooks are live */

struct ct_preload_welcome {
  uint32_t magic;
  uint32_t status; /* 0: accepted; else a CT_REFUSED_* reason (the process passes through) */
};
#define CT_REFUSED_IDENTITY 1u /* pid or start time did not match the peer */
#define CT_REFUSED_MEMORY 2u   /* the memfd is not sealed against shrinking, or its size is wrong */
#define CT_REFUSED_FULL 3u     /* the agent holds its maximum of registered processes */
#define CT_REFUSED_VERSION 4u

/* Agent state in the header. */
#define CT_AGENT_UNDECIDED 0u /* registered; the agent has not yet decided: env reads of every name are sent */
#define CT_AGENT_ACTIVE 1u    /* the agent consumes: records per the enable flags */
#define CT_AGENT_CLOSED 2u    /* the agent stopped or dropped this process: pass through, re-register when it is back */

/* Which records the agent wants (header.enabled). */
#define CT_ENABLE_ENV (1u << 0) /* env reads of the table's secret names; env changes */
#define CT_ENABLE_TLS (1u << 1) /* SSL_write/SSL_read data, SNI, SSL_free */

#define CT_PRELOAD_NAME_LEN 128 /* a secret variable's name in the table, NUL-terminated */

/* One slot of the secret-name table, filled by the agent (name and hash first, then state = 1 with release). */
struct ct_preload_name_slot {
  CT_ATOMIC(uint32_t) state; /* 0 empty, 1 filled */
  uint32_t hash;             /* ct_preload_name_hash(name) */
  CT_ATOMIC(uint32_t) reads; /* getenv/secure_getenv calls that returned it (saturates) */
  CT_ATOMIC(uint32_t) sent;  /* 1 once its first read was sent as a record */
  char name[CT_PRELOAD_NAME_LEN];
};

/* The shared memory: header (one page), the table (table_slots slots), the ring (ring_bytes). */
struct ct_preload_header {
  uint32_t magic;
  uint32_t version;
  uint32_t ring_bytes;
  uint32_t table_slots;
  CT_ATOMIC(uint32_t) agent_state; /* CT_AGENT_* */
  CT_ATOMIC(uint32_t) enabled;     /* CT_ENABLE_* */
  CT_ATOMIC(uint64_t) name_bloom;  /* bit ct_preload_name_quick() set for every table name: most misses stop here */
  CT_ATOMIC(uint64_t) heartbeat_ns; /* the agent's CLOCK_MONOTONIC at its last drain */
  CT_ATOMIC(uint64_t) dropped_records; /* ring full (or a record longer than the ring) */
  CT_ATOMIC(uint64_t) dropped_bytes;
  CT_ATOMIC(uint64_t) abandoned_records; /* a producer found its record discarded by the consumer (stalled > 2 s) */
  CT_ATOMIC(uint64_t) head; /* producers reserve here (own cache line) */
  uint8_t _pad1[56];
  CT_ATOMIC(uint64_t) tail; /* the agent consumes here */
  uint8_t _pad2[56];
};
#define CT_PRELOAD_HEADER_BYTES 4096u

/* A record in the ring, 8-byte aligned: a header word, then its body. word = length of the whole record (header
 * included, aligned) | flags. 0: not written yet (the consumer waits). */
#define CT_REC_BUSY (1u << 31)    /* reserved, being written */
#define CT_REC_PAD (1u << 30)     /* filler to the end of the ring: skip */
#define CT_REC_DISCARD (1u << 29) /* the consumer gave up waiting for it */
#define CT_REC_LEN_MASK 0x00ffffffu

struct ct_preload_record {
  CT_ATOMIC(uint32_t) word;
  uint32_t type; /* CT_PREC_* */
  uint64_t time_boot_ns; /* CLOCK_BOOTTIME, as the kernel's records */
  uint32_t tid;
  uint32_t body_len; /* bytes of body that follow */
};

enum ct_preload_record_type {
  CT_PREC_ENV_READ = 1,   /* ct_prec_env: a getenv/secure_getenv that returned a value */
  CT_PREC_ENV_SET = 2,    /* ct_prec_env: setenv/putenv (value: the new one) */
  CT_PREC_ENV_UNSET = 3,  /* ct_prec_env: unsetenv (no value) */
  CT_PREC_TLS_DATA = 4,   /* ct_prec_tls_data */
  CT_PREC_TLS_SNI = 5,    /* ct_prec_tls_sni */
  CT_PREC_TLS_FREE = 6,   /* ct_prec_tls_free */
  CT_PREC_LIBSSL = 7,     /* no body: libssl's functions were resolved (the TLS hooks are live from now on) */
};

#define CT_ENV_SECURE (1u << 0)  /* secure_getenv */
#define CT_ENV_COUNTED (1u << 1) /* the read was counted in the name's table slot (reads) too */
#define CT_PRELOAD_VALUE_MAX 4096u

struct ct_prec_env {
  uint32_t name_len;  /* bytes of name (no NUL) */
  uint32_t value_len; /* bytes of value sent (at most CT_PRELOAD_VALUE_MAX) */
  uint32_t value_total; /* the value's whole length */
  uint32_t flags;     /* CT_ENV_* */
  /* name, then value */
};

#define CT_PRELOAD_TLS_MAX 65536u /* bytes of one call sent; the rest is counted in total_len */

struct ct_prec_tls_data {
  uint64_t ssl;
  int32_t fd;         /* SSL_get_fd at the call (-1: a memory BIO) */
  uint32_t direction; /* enum ct_tls_direction (events.h): write 0, read 1 */
  uint32_t total_len; /* bytes the call passed (write) or returned (read) */
  uint32_t len;       /* bytes that follow */
};

struct ct_prec_tls_sni {
  uint64_t ssl;
  uint32_t len;
  uint32_t _pad;
  /* name */
};

struct ct_prec_tls_free {
  uint64_t ssl;
};

/* The bloom bit of a name of len >= 1 bytes: from its length and first and last bytes, so a miss costs no hash. */
static inline uint32_t ct_preload_name_quick(const char* name, uint32_t len) {
  return ((len * 7u) ^ ((uint32_t)(uint8_t)name[0] * 13u) ^ ((uint32_t)(uint8_t)name[len - 1] * 5u)) & 63u;
}

/* FNV-1a over the name: the table's hash, the same on both sides. */
static inline uint32_t ct_preload_name_hash(const char* name, uint32_t len) {
  uint32_t h = 2166136261u;
  for (uint32_t i = 0; i < len; ++i) h = (h ^ (uint8_t)name[i]) * 16777619u;
  return h;
}

#ifdef __cplusplus
static_assert(offsetof(ct_preload_header, head) == 64 && offsetof(ct_preload_header, tail) == 128, "layout");
static_assert(sizeof(ct_preload_header) <= CT_PRELOAD_HEADER_BYTES, "header fits its page");
static_assert(sizeof(ct_preload_record) == 24 && sizeof(ct_preload_name_slot) == 144, "layout");
#endif

#endif
