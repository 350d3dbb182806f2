// Names of kernel record kinds, drop reasons and TLS probes, and the size check every kernel record passes.
#include <cstddef>

#include "kernel/kernel_control.h"

namespace credtrace::kernel {

const char* event_type_name(uint32_t type) {
  switch (type) {
    case CT_EVENT_EXEC: return "exec";
    case CT_EVENT_FORK: return "fork";
    case CT_EVENT_EXIT: return "exit";
    case CT_EVENT_STDIN: return "stdin";
    case CT_EVENT_FILE_OPEN: return "file_open";
    case CT_EVENT_TLS_DATA: return "tls_data";
    case CT_EVENT_TLS_SNI: return "tls_sni";
    case CT_EVENT_TLS_FREE: return "tls_free";
    case CT_EVENT_CONNECT: return "connect";
    case CT_EVENT_SOCK_DATA: return "sock_data";
    case CT_EVENT_TLS_NEW: return "tls_new";
    case CT_EVENT_TLS_SOCKET: return "tls_socket";
    case CT_EVENT_EXEC_ENV: return "exec_env";
    case CT_EVENT_STDIO_DATA: return "stdio_data";
    case CT_EVENT_ACCEPT: return "accept";
    case CT_EVENT_SRV_SOCK_DATA: return "srv_sock_data";
    case CT_EVENT_LIB_MAP: return "lib_map";
    default: return "unknown";
  }
}

const char* drop_reason_name(uint32_t reason) {
  switch (reason) {
    case CT_DROP_RINGBUF_FULL: return "ringbuf_full";
    case CT_DROP_READ_FAILED: return "read_failed";
    case CT_DROP_STATE_ALLOC: return "task_state_alloc";
    case CT_DROP_MAP_FULL: return "map_full";
    case CT_DROP_READ_UNMATCHED: return "read_unmatched";
    case CT_DROP_PAIRING_AMBIGUOUS: return "tls_pairing_ambiguous";
    case CT_DROP_RATE_LIMITED: return "rate_limited";
    case CT_DROP_HOLD_LAPSED: return "hold_lapsed";
    default: return "unknown";
  }
}

const char* tls_probe_name(TlsProbe probe) {
  switch (probe) {
    case TlsProbe::ssl_write: return "SSL_write";
    case TlsProbe::ssl_write_ex: return "SSL_write_ex";
    case TlsProbe::ssl_ctrl: return "SSL_ctrl";
    case TlsProbe::ssl_free: return "SSL_free";
    case TlsProbe::ssl_read: return "SSL_read";
    case TlsProbe::ssl_read_ex: return "SSL_read_ex";
    case TlsProbe::ssl_read_ret: return "SSL_read return";
    case TlsProbe::ssl_new_ret: return "SSL_new return";
    case TlsProbe::go_write: return "crypto/tls.(*Conn).Write";
    case TlsProbe::go_read: return "crypto/tls.(*Conn).Read";
    case TlsProbe::go_read_ret: return "crypto/tls.(*Conn).Read RET";
  }
  return "unknown";
}

bool is_return_probe(TlsProbe probe) { return probe == TlsProbe::ssl_read_ret || probe == TlsProbe::ssl_new_ret; }

namespace {

// Data records are as long as the data they carry: the fixed fields, then len bytes.
bool holds_data(const void* data, size_t size) {
  constexpr size_t kFixed = offsetof(ct_tls_data_event, data);
  if (size < kFixed) return false;
  const auto* e = static_cast<const ct_tls_data_event*>(data);
  return e->len <= sizeof(e->data) && size >= kFixed + e->len;
}

}  // namespace

RecordCheck check_record(const void* data, size_t size) {
  if (size < sizeof(ct_event_header)) return RecordCheck::too_short;
  auto at_least = [size](size_t fixed) { return size >= fixed ? RecordCheck::ok : RecordCheck::too_short; };
  switch (static_cast<const ct_event_header*>(data)->type) {
    case CT_EVENT_EXEC: return at_least(sizeof(ct_exec_event));
    case CT_EVENT_EXEC_ENV: return at_least(offsetof(ct_exec_env_event, data));
    case CT_EVENT_FORK: return at_least(sizeof(ct_fork_event));
    case CT_EVENT_EXIT: return at_least(sizeof(ct_exit_event));
    case CT_EVENT_STDIN: return at_least(sizeof(ct_stdin_event));
    case CT_EVENT_FILE_OPEN: return at_least(sizeof(ct_file_open_event));
    case CT_EVENT_LIB_MAP: return at_least(sizeof(ct_lib_map_event));
    case CT_EVENT_TLS_DATA:
    case CT_EVENT_SOCK_DATA:
    case CT_EVENT_STDIO_DATA:
    case CT_EVENT_SRV_SOCK_DATA: return holds_data(data, size) ? RecordCheck::ok : RecordCheck::too_short;
    case CT_EVENT_TLS_SNI: return at_least(sizeof(ct_tls_sni_event));
    case CT_EVENT_CONNECT: return at_least(sizeof(ct_connect_event));
    case CT_EVENT_TLS_FREE:
    case CT_EVENT_TLS_NEW: return at_least(sizeof(ct_tls_free_event));
    case CT_EVENT_TLS_SOCKET: return at_least(sizeof(ct_tls_socket_event));
    case CT_EVENT_ACCEPT: return at_least(sizeof(ct_accept_event));
    default: return RecordCheck::unknown_kind;
  }
}

}  // namespace credtrace::kernel
