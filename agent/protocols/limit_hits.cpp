// The agent's one set of protocol-parser limit counters.
#include "protocols/limit_hits.h"

namespace credtrace::protocols {

LimitHits& limit_hits() {
  static LimitHits hits;
  return hits;
}

}  // namespace credtrace::protocols
