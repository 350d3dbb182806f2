// A Kubernetes Pod object (JSON, as the API server sends it) → the identity facts the agent keeps (CachedPod),
// with bounded, secret-masked labels.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <optional>
#include <string>

#include "identity/pod_cache.h"

namespace credtrace::identity {

struct PodLabelLimits {
  size_t max_labels = 64;         // more labels are dropped (labels_truncated)
  size_t max_label_bytes = 512;   // key + value; a longer label is dropped (labels_truncated)
};

// nullopt when the object has no metadata.uid (not a pod). Counts dropped labels in *labels_dropped.
std::optional<CachedPod> pod_from_json(const nlohmann::json& pod, const PodLabelLimits& limits,
                                       uint64_t* labels_dropped = nullptr);

// A label's value as exported: "<redacted:TYPE>" when the key names a secret (as an env name would) or the value
// holds a credential the detectors recognise; the value unchanged otherwise.
std::string masked_label_value(const std::string& key, const std::string& value);

}  // namespace credtrace::identity
