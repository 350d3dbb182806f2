/* The environment hooks: getenv and secure_getenv report the first read of each secret name the agent listed (and,
 * until the agent has decided, every read); setenv, putenv and unsetenv report changes. The real function is always
 * called first and its answer returned unchanged; the report path allocates nothing and takes no lock. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>
#include <sys/auxv.h>

#include "preload_internal.h"

extern char** environ;

ct_getenv_fn ct_real_getenv;
ct_getenv_fn ct_real_secure_getenv;
static ct_setenv_fn real_setenv;
static ct_putenv_fn real_putenv;
static ct_unsetenv_fn real_unsetenv;

void ct_resolve_env_functions(void) {
  if (!ct_real_getenv) ct_real_getenv = (ct_getenv_fn)dlsym(RTLD_NEXT, "getenv");
  if (!ct_real_secure_getenv) ct_real_secure_getenv = (ct_getenv_fn)dlsym(RTLD_NEXT, "secure_getenv");
  if (!real_setenv) real_setenv = (ct_setenv_fn)dlsym(RTLD_NEXT, "setenv");
  if (!real_putenv) real_putenv = (ct_putenv_fn)dlsym(RTLD_NEXT, "putenv");
  if (!real_unsetenv) real_unsetenv = (ct_unsetenv_fn)dlsym(RTLD_NEXT, "unsetenv");
}

/* What libc's getenv does, for calls made before the constructor resolved it. */
char* ct_scan_environ(const char* name) {
  if (!environ || !name || !name[0]) return NULL;
  const size_t len = strlen(name);
  for (char** entry = environ; *entry; ++entry)
    if (strncmp(*entry, name, len) == 0 && (*entry)[len] == '=') return *entry + len + 1;
  return NULL;
}

static struct ct_preload_name_slot* find_secret(struct ct_preload_header* header, const char* name, size_t len) {
  const uint32_t slots = header->table_slots;
  const uint32_t hash = ct_preload_name_hash(name, (uint32_t)len);
  struct ct_preload_name_slot* table = ct_table(header);
  for (uint32_t i = 0; i < slots; ++i) {
    struct ct_preload_name_slot* slot = &table[(hash + i) & (slots - 1)];
    if (atomic_load_explicit(&slot->state, memory_order_acquire) == 0) return NULL;
    if (slot->hash == hash && memcmp(slot->name, name, len) == 0 && slot->name[len] == '\0') return slot;
  }
  return NULL;
}

static void note_read(const char* name, const char* value, uint32_t flags) {
  struct ct_preload_header* header = atomic_load_explicit(&ct_channel, memory_order_acquire);
  if (CT_UNLIKELY(!header)) return ct_channel_retry();
  const uint32_t state = atomic_load_explicit(&header->agent_state, memory_order_relaxed);
  if (CT_LIKELY(state == CT_AGENT_ACTIVE)) {
    ct_channel_tick(header);
    const uint64_t bloom = atomic_load_explicit(&header->name_bloom, memory_order_relaxed);
    if (!bloom || !(atomic_load_explicit(&header->enabled, memory_order_relaxed) & CT_ENABLE_ENV)) return;
    const size_t len = strlen(name);
    if (len == 0 || len >= CT_PRELOAD_NAME_LEN) return;
    if (!((bloom >> ct_preload_name_quick(name, (uint32_t)len)) & 1)) return;
    struct ct_preload_name_slot* slot = find_secret(header, name, len);
    if (!slot) return;
    atomic_fetch_add_explicit(&slot->reads, 1, memory_order_relaxed);
    if (atomic_load_explicit(&slot->sent, memory_order_relaxed) == 0 && /* a plain load: no locked op once sent */
        atomic_exchange_explicit(&slot->sent, 1, memory_order_relaxed) == 0)
      ct_send_env(header, CT_PREC_ENV_READ, name, len, value, flags | CT_ENV_COUNTED);
    return;
  }
  if (state == CT_AGENT_UNDECIDED) return ct_send_env(header, CT_PREC_ENV_READ, name, strlen(name), value, flags);
  ct_channel_retry();
}

static void note_change(const char* name, size_t name_len, const char* value) {
  struct ct_preload_header* header = atomic_load_explicit(&ct_channel, memory_order_acquire);
  if (!header) return;
  const uint32_t state = atomic_load_explicit(&header->agent_state, memory_order_relaxed);
  const uint32_t enabled = atomic_load_explicit(&header->enabled, memory_order_relaxed);
  if (state == CT_AGENT_UNDECIDED || (state == CT_AGENT_ACTIVE && (enabled & CT_ENABLE_ENV)))
    ct_send_env(header, value ? CT_PREC_ENV_SET : CT_PREC_ENV_UNSET, name, name_len, value, 0);
}

CT_EXPORT char* getenv(const char* name) {
  char* value = ct_real_getenv ? ct_real_getenv(name) : ct_scan_environ(name);
  if (value && !ct_channel_disabled()) note_read(name, value, 0);
  return value;
}

CT_EXPORT char* secure_getenv(const char* name) {
  char* value;
  if (ct_real_secure_getenv) value = ct_real_secure_getenv(name);
  else value = getauxval(AT_SECURE) ? NULL : ct_scan_environ(name);
  if (value && !ct_channel_disabled()) note_read(name, value, CT_ENV_SECURE);
  return value;
}

CT_EXPORT int setenv(const char* name, const char* value, int overwrite) {
  if (!real_setenv) ct_resolve_env_functions();
  const int ret = real_setenv(name, value, overwrite);
  if (ret == 0 && !ct_channel_disabled()) note_change(name, strlen(name), ct_real_getenv ? ct_real_getenv(name) : NULL);
  return ret;
}

CT_EXPORT int putenv(char* string) {
  if (!real_putenv) ct_resolve_env_functions();
  const int ret = real_putenv(string);
  if (ret == 0 && string && !ct_channel_disabled()) {
    const char* equals = strchr(string, '=');
    if (equals) note_change(string, (size_t)(equals - string), equals + 1);
    else note_change(string, strlen(string), NULL); /* glibc: "NAME" without '=' removes it */
  }
  return ret;
}

CT_EXPORT int unsetenv(const char* name) {
  if (!real_unsetenv) ct_resolve_env_functions();
  const int ret = real_unsetenv(name);
  if (ret == 0 && name && !ct_channel_disabled()) note_change(name, strlen(name), NULL);
  return ret;
}
