/* What the preload's files share: the channel to the agent (registration state, the mapped ring), the ring writer
 * and the real functions the hooks call. Everything here is hidden; only the hooks are exported. */
#ifndef CREDTRACE_PRELOAD_INTERNAL_H
#define CREDTRACE_PRELOAD_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "preload_abi.h"

#define CT_HIDDEN __attribute__((visibility("hidden")))
#define CT_EXPORT __attribute__((visibility("default")))
#define CT_LIKELY(x) __builtin_expect(!!(x), 1)
#define CT_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* The channel: the header of this process's registered ring, or NULL (no agent, refused, disabled, not yet). */
CT_HIDDEN extern _Atomic(struct ct_preload_header*) ct_channel;

/* Called by the constructor; by a forked child (CT_HELLO_AFTER_FORK); and, rate-limited, by hooks that found no
 * live agent. Never blocks: a connect that cannot complete at once is given up and retried later. */
CT_HIDDEN void ct_channel_register(uint32_t hello_flags);
/* A hook found the channel missing, closed or stale: re-registers at most once a second (cheap counter first). */
CT_HIDDEN void ct_channel_retry(void);
/* The ring was full: if the agent stopped draining it (no heartbeat for seconds), register again. */
CT_HIDDEN void ct_channel_ring_full(struct ct_preload_header* header);
/* Every 256th hook call of a thread on a live channel: an agent killed without closing the ring (its heartbeat
 * unchanged for 5 s of this process's clock) is noticed, the ring closed on this side (the hooks pass through) and a
 * registration tried. */
CT_HIDDEN void ct_channel_check_alive(struct ct_preload_header* header);
CT_HIDDEN extern __thread uint32_t ct_live_calls __attribute__((tls_model("initial-exec")));
static inline void ct_channel_tick(struct ct_preload_header* header) {
  if (CT_UNLIKELY((++ct_live_calls & 255) == 0)) ct_channel_check_alive(header);
}
CT_HIDDEN void ct_channel_init(void);
CT_HIDDEN int ct_channel_disabled(void);
/* Records libssl became live (once). */
CT_HIDDEN void ct_channel_note_libssl(void);

/* Ring writer: reserves a record with room for body_len bytes of body; NULL when the ring is full (counted). */
CT_HIDDEN struct ct_preload_record* ct_ring_reserve(struct ct_preload_header* header, uint32_t type,
                                                   uint32_t body_len);
CT_HIDDEN void ct_ring_commit(struct ct_preload_header* header, struct ct_preload_record* record);
static inline uint8_t* ct_record_body(struct ct_preload_record* record) { return (uint8_t*)(record + 1); }
static inline struct ct_preload_name_slot* ct_table(struct ct_preload_header* header) {
  return (struct ct_preload_name_slot*)((uint8_t*)header + CT_PRELOAD_HEADER_BYTES);
}

/* Env records: the read (or set) of name with its value; unset has value NULL. */
CT_HIDDEN void ct_send_env(struct ct_preload_header* header, uint32_t type, const char* name, size_t name_len,
                           const char* value, uint32_t flags);

/* The functions the hooks stand in front of. Env ones are resolved in the constructor (before it, getenv scans
 * environ itself); libssl's lazily, at the first call, through RTLD_NEXT or the loaded libssl itself. */
typedef char* (*ct_getenv_fn)(const char*);
typedef int (*ct_setenv_fn)(const char*, const char*, int);
typedef int (*ct_putenv_fn)(char*);
typedef int (*ct_unsetenv_fn)(const char*);
CT_HIDDEN extern ct_getenv_fn ct_real_getenv;
CT_HIDDEN extern ct_getenv_fn ct_real_secure_getenv;
CT_HIDDEN void ct_resolve_env_functions(void);
CT_HIDDEN char* ct_scan_environ(const char* name);
/* dlsym(RTLD_NEXT), else the same symbol in a loaded libssl (dlopen'ed RTLD_LOCAL, as Python's _ssl does). */
CT_HIDDEN void* ct_resolve_ssl_symbol(const char* name);
/* The same, trying the libssl the calling object itself depends on before searching loaded objects by name. */
CT_HIDDEN void* ct_resolve_ssl_symbol_for(const void* caller, const char* name);

/* CLOCK_BOOTTIME in ns (vDSO), and this thread's id (cached per thread, reset in a forked child). */
CT_HIDDEN uint64_t ct_boot_ns(void);
CT_HIDDEN uint64_t ct_mono_ns(void);
CT_HIDDEN uint32_t ct_tid(void);
CT_HIDDEN void ct_forget_tid(void);

#endif
