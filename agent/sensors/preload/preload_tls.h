// Preload TLS records as the TLS sensor's kernel records: the same streams, parsers and detectors take them, marked
// CT_FLAG_PRELOAD so their credential_use says sensor "preload". The socket an SSL writes to is told once per change.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <utility>

#include "kernel/kernel_control.h"
#include "sensors/preload/preload_ring.h"

namespace credtrace::sensors {

class PreloadTlsForwarder {
 public:
  explicit PreloadTlsForwarder(kernel::RecordHandler& tls);
  ~PreloadTlsForwarder();
  PreloadTlsForwarder(const PreloadTlsForwarder&) = delete;
  PreloadTlsForwarder& operator=(const PreloadTlsForwarder&) = delete;

  // A CT_PREC_TLS_* record of process pid; false when malformed (counted by the caller).
  bool forward(uint32_t pid, const PreloadRecord& record);
  void forget_process(uint32_t pid);

 private:
  bool forward_data(uint32_t pid, const PreloadRecord& record);
  bool forward_sni(uint32_t pid, const PreloadRecord& record);
  bool forward_free(uint32_t pid, const PreloadRecord& record);
  void announce_socket(uint32_t pid, const PreloadRecord& record, uint64_t ssl, int32_t fd);
  ct_event_header header(uint32_t type, uint32_t pid, const PreloadRecord& record) const;

  kernel::RecordHandler& tls_;
  std::unique_ptr<ct_tls_data_event> chunk_;  // reused; wiped after each hand-over
  std::map<std::pair<uint32_t, uint64_t>, int32_t> sockets_;  // (pid, SSL*) → fd last told
};

}  // namespace credtrace::sensors
