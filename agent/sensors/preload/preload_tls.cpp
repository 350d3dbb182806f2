// Preload TLS records → ct_tls_data_event chunks, SNI, socket and free records for the TLS sensor.
#include "sensors/preload/preload_tls.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>

#include "preload_abi.h"

namespace credtrace::sensors {

PreloadTlsForwarder::PreloadTlsForwarder(kernel::RecordHandler& tls)
    : tls_(tls), chunk_(std::make_unique<ct_tls_data_event>()) {}

PreloadTlsForwarder::~PreloadTlsForwarder() { OPENSSL_cleanse(chunk_.get(), sizeof(*chunk_)); }

ct_event_header PreloadTlsForwarder::header(uint32_t type, uint32_t pid, const PreloadRecord& record) const {
  ct_event_header h{};
  h.type = type;
  h.pid = record.tid;
  h.tgid = pid;
  h.flags = CT_FLAG_WATCHED | CT_FLAG_PRELOAD;
  h.time_boot_ns = record.time_boot_ns;
  return h;
}

bool PreloadTlsForwarder::forward(uint32_t pid, const PreloadRecord& record) {
  switch (record.type) {
    case CT_PREC_TLS_DATA: return forward_data(pid, record);
    case CT_PREC_TLS_SNI: return forward_sni(pid, record);
    case CT_PREC_TLS_FREE: return forward_free(pid, record);
    default: return false;
  }
}

void PreloadTlsForwarder::announce_socket(uint32_t pid, const PreloadRecord& record, uint64_t ssl, int32_t fd) {
  auto [it, inserted] = sockets_.try_emplace({pid, ssl}, fd);
  if (!inserted && it->second == fd) return;
  it->second = fd;
  ct_tls_socket_event e{};
  e.hdr = header(CT_EVENT_TLS_SOCKET, pid, record);
  e.ssl = ssl;
  e.fd = static_cast<uint32_t>(fd);
  tls_.on_record(&e, sizeof(e));
}

bool PreloadTlsForwarder::forward_data(uint32_t pid, const PreloadRecord& record) {
  ct_prec_tls_data fixed;
  if (record.body.size() < sizeof(fixed)) return false;
  std::memcpy(&fixed, record.body.data(), sizeof(fixed));
  const size_t len = std::min<size_t>(fixed.len, record.body.size() - sizeof(fixed));
  if (fixed.direction > CT_TLS_READ || fixed.total_len < len) return false;
  // The socket first, so the stream's address is known before its first request (the kernel pairs it after).
  if (fixed.fd >= 0 && fixed.direction == CT_TLS_WRITE) announce_socket(pid, record, fixed.ssl, fixed.fd);
  const char* data = record.body.data() + sizeof(fixed);
  for (size_t offset = 0; offset < len || (len == 0 && offset == 0); offset += CT_TLS_CHUNK_LEN) {
    const size_t n = std::min<size_t>(CT_TLS_CHUNK_LEN, len - offset);
    ct_tls_data_event& e = *chunk_;
    e.hdr = header(CT_EVENT_TLS_DATA, pid, record);
    e.ssl = fixed.ssl;
    e.direction = fixed.direction;
    e.total_len = fixed.total_len;
    e.offset = static_cast<uint32_t>(offset);
    e.len = static_cast<uint32_t>(n);
    std::memcpy(e.data, data + offset, n);
    if (offset + n < fixed.total_len && offset + n == len) e.hdr.flags |= CT_FLAG_TRUNCATED;
    tls_.on_record(&e, offsetof(ct_tls_data_event, data) + n);
    OPENSSL_cleanse(e.data, n);
    if (len == 0) break;
  }
  return true;
}

bool PreloadTlsForwarder::forward_sni(uint32_t pid, const PreloadRecord& record) {
  ct_prec_tls_sni fixed;
  if (record.body.size() < sizeof(fixed)) return false;
  std::memcpy(&fixed, record.body.data(), sizeof(fixed));
  const size_t len = std::min<size_t>({fixed.len, record.body.size() - sizeof(fixed), CT_SNI_LEN - 1});
  ct_tls_sni_event e{};
  e.hdr = header(CT_EVENT_TLS_SNI, pid, record);
  e.ssl = fixed.ssl;
  std::memcpy(e.name, record.body.data() + sizeof(fixed), len);
  tls_.on_record(&e, sizeof(e));
  return true;
}

bool PreloadTlsForwarder::forward_free(uint32_t pid, const PreloadRecord& record) {
  ct_prec_tls_free fixed;
  if (record.body.size() < sizeof(fixed)) return false;
  std::memcpy(&fixed, record.body.data(), sizeof(fixed));
  sockets_.erase({pid, fixed.ssl});
  ct_tls_free_event e{};
  e.hdr = header(CT_EVENT_TLS_FREE, pid, record);
  e.ssl = fixed.ssl;
  tls_.on_record(&e, sizeof(e));
  return true;
}

void PreloadTlsForwarder::forget_process(uint32_t pid) {
  for (auto it = sockets_.lower_bound({pid, 0}); it != sockets_.end() && it->first.first == pid;)
    it = sockets_.erase(it);
}

}  // namespace credtrace::sensors
