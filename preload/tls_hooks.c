/* The OpenSSL hooks: SSL_write(_ex), SSL_read(_ex), SSL_ctrl (SNI) and SSL_free call the real function (resolved
 * once, at the first call) and copy the plaintext that went through into the ring. They only exist for callers that
 * bind OpenSSL dynamically; a static OpenSSL (node) is the eBPF sensor's. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <string.h>

#include "preload_internal.h"

typedef int (*ssl_write_fn)(void*, const void*, int);
typedef int (*ssl_write_ex_fn)(void*, const void*, size_t, size_t*);
typedef int (*ssl_read_fn)(void*, void*, int);
typedef int (*ssl_read_ex_fn)(void*, void*, size_t, size_t*);
typedef long (*ssl_ctrl_fn)(void*, int, long, void*);
typedef void (*ssl_free_fn)(void*);
typedef int (*ssl_get_fd_fn)(const void*);

#define CT_SSL_CTRL_SET_TLSEXT_HOSTNAME 55
#define CT_TLSEXT_NAMETYPE_host_name 0

static char libssl_path[4096];

static int find_libssl(struct dl_phdr_info* info, size_t size, void* data) {
  (void)size;
  (void)data;
  const char* name = info->dlpi_name;
  if (!name || !strstr(name, "/libssl.so")) return 0;
  const size_t len = strlen(name);
  if (len >= sizeof(libssl_path)) return 0;
  memcpy(libssl_path, name, len + 1);
  return 1;
}

/* Keeps the object defining fn loaded (a dlclose of libssl by the program must not unmap what we call). */
static void pin_object(void* fn) {
  Dl_info info;
  if (dladdr(fn, &info) && info.dli_fname) dlopen(info.dli_fname, RTLD_NOLOAD | RTLD_LAZY);
}

/* The symbol as the object at `caller` sees it: its own dependencies (a libssl it loaded RTLD_LOCAL under any
 * file name), which never include this library. */
static void* symbol_of_caller(const void* caller, const char* name) {
  Dl_info info;
  if (!caller || !dladdr(caller, &info) || !info.dli_fname) return NULL;
  void* handle = dlopen(info.dli_fname, RTLD_NOLOAD | RTLD_LAZY);
  if (!handle) return NULL;
  void* fn = dlsym(handle, name);
  Dl_info found, self;
  /* The main program's handle searches the global scope, where this library comes first: never our own hook. */
  if (fn && dladdr(fn, &found) && dladdr((void*)&symbol_of_caller, &self) && found.dli_fbase == self.dli_fbase)
    fn = NULL;
  return fn;
}

void* ct_resolve_ssl_symbol_for(const void* caller, const char* name) {
  void* fn = dlsym(RTLD_NEXT, name);
  if (!fn) fn = symbol_of_caller(caller, name);
  if (!fn && dl_iterate_phdr(find_libssl, NULL)) {
    void* handle = dlopen(libssl_path, RTLD_NOLOAD | RTLD_LAZY); /* a libssl loaded RTLD_LOCAL (Python's _ssl) */
    if (handle) fn = dlsym(handle, name);
  }
  if (fn) {
    pin_object(fn);
    ct_channel_note_libssl();
  }
  return fn;
}

void* ct_resolve_ssl_symbol(const char* name) { return ct_resolve_ssl_symbol_for(NULL, name); }

#define REAL(type, var, name)                                                      \
  static _Atomic(type) var;                                                        \
  type fn_##var = atomic_load_explicit(&var, memory_order_acquire);                \
  if (CT_UNLIKELY(!fn_##var)) {                                                    \
    fn_##var = (type)ct_resolve_ssl_symbol_for(__builtin_return_address(0), name); \
    atomic_store_explicit(&var, fn_##var, memory_order_release);                   \
  }

static _Atomic(ssl_get_fd_fn) real_get_fd;

/* The channel when the agent wants TLS from this process (or has not decided yet), else NULL. */
static struct ct_preload_header* tls_channel(void) {
  if (ct_channel_disabled()) return NULL;
  struct ct_preload_header* header = atomic_load_explicit(&ct_channel, memory_order_acquire);
  if (CT_UNLIKELY(!header)) {
    ct_channel_retry();
    return NULL;
  }
  const uint32_t state = atomic_load_explicit(&header->agent_state, memory_order_relaxed);
  if (CT_LIKELY(state == CT_AGENT_ACTIVE)) {
    ct_channel_tick(header);
    return (atomic_load_explicit(&header->enabled, memory_order_relaxed) & CT_ENABLE_TLS) ? header : NULL;
  }
  if (state == CT_AGENT_UNDECIDED) return header;
  ct_channel_retry();
  return NULL;
}

static int socket_of(void* ssl) {
  ssl_get_fd_fn get_fd = atomic_load_explicit(&real_get_fd, memory_order_acquire);
  if (CT_UNLIKELY(!get_fd)) {
    get_fd = (ssl_get_fd_fn)ct_resolve_ssl_symbol("SSL_get_fd");
    if (!get_fd) return -1;
    atomic_store_explicit(&real_get_fd, get_fd, memory_order_release);
  }
  return get_fd(ssl);
}

static void capture(void* ssl, const void* data, size_t bytes, uint32_t direction) {
  struct ct_preload_header* header = tls_channel();
  if (!header || !bytes) return;
  const uint32_t len = bytes > CT_PRELOAD_TLS_MAX ? CT_PRELOAD_TLS_MAX : (uint32_t)bytes;
  const int fd = socket_of(ssl); /* before the reservation: its first call resolves SSL_get_fd (the loader's lock) */
  struct ct_preload_record* record =
      ct_ring_reserve(header, CT_PREC_TLS_DATA, (uint32_t)sizeof(struct ct_prec_tls_data) + len);
  if (!record) return;
  struct ct_prec_tls_data* tls = (struct ct_prec_tls_data*)ct_record_body(record);
  tls->ssl = (uint64_t)(uintptr_t)ssl;
  tls->fd = fd;
  tls->direction = direction;
  tls->total_len = bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)bytes;
  tls->len = len;
  memcpy(tls + 1, data, len);
  ct_ring_commit(header, record);
}

CT_EXPORT int SSL_write(void* ssl, const void* buf, int num) {
  REAL(ssl_write_fn, real_write, "SSL_write")
  if (!fn_real_write) return -1;
  const int ret = fn_real_write(ssl, buf, num);
  if (ret > 0) capture(ssl, buf, (size_t)ret, 0);
  return ret;
}

CT_EXPORT int SSL_write_ex(void* ssl, const void* buf, size_t num, size_t* written) {
  REAL(ssl_write_ex_fn, real_write_ex, "SSL_write_ex")
  if (!fn_real_write_ex) return 0;
  const int ret = fn_real_write_ex(ssl, buf, num, written);
  if (ret == 1 && written) capture(ssl, buf, *written, 0);
  return ret;
}

CT_EXPORT int SSL_read(void* ssl, void* buf, int num) {
  REAL(ssl_read_fn, real_read, "SSL_read")
  if (!fn_real_read) return -1;
  const int ret = fn_real_read(ssl, buf, num);
  if (ret > 0) capture(ssl, buf, (size_t)ret, 1);
  return ret;
}

CT_EXPORT int SSL_read_ex(void* ssl, void* buf, size_t num, size_t* readbytes) {
  REAL(ssl_read_ex_fn, real_read_ex, "SSL_read_ex")
  if (!fn_real_read_ex) return 0;
  const int ret = fn_real_read_ex(ssl, buf, num, readbytes);
  if (ret == 1 && readbytes) capture(ssl, buf, *readbytes, 1);
  return ret;
}

CT_EXPORT long SSL_ctrl(void* ssl, int cmd, long larg, void* parg) {
  REAL(ssl_ctrl_fn, real_ctrl, "SSL_ctrl")
  if (!fn_real_ctrl) return 0;
  const long ret = fn_real_ctrl(ssl, cmd, larg, parg);
  if (cmd != CT_SSL_CTRL_SET_TLSEXT_HOSTNAME || larg != CT_TLSEXT_NAMETYPE_host_name || !parg || ret != 1) return ret;
  struct ct_preload_header* header = tls_channel();
  if (!header) return ret;
  const size_t len = strnlen((const char*)parg, 255);
  struct ct_preload_record* record =
      ct_ring_reserve(header, CT_PREC_TLS_SNI, (uint32_t)(sizeof(struct ct_prec_tls_sni) + len));
  if (!record) return ret;
  struct ct_prec_tls_sni* sni = (struct ct_prec_tls_sni*)ct_record_body(record);
  sni->ssl = (uint64_t)(uintptr_t)ssl;
  sni->len = (uint32_t)len;
  sni->_pad = 0;
  memcpy(sni + 1, parg, len);
  ct_ring_commit(header, record);
  return ret;
}

CT_EXPORT void SSL_free(void* ssl) {
  REAL(ssl_free_fn, real_free, "SSL_free")
  if (ssl) {
    struct ct_preload_header* header = tls_channel();
    struct ct_preload_record* record =
        header ? ct_ring_reserve(header, CT_PREC_TLS_FREE, (uint32_t)sizeof(struct ct_prec_tls_free)) : NULL;
    if (record) {
      ((struct ct_prec_tls_free*)ct_record_body(record))->ssl = (uint64_t)(uintptr_t)ssl;
      ct_ring_commit(header, record);
    }
  }
  if (fn_real_free) fn_real_free(ssl);
}
