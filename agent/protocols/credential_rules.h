// Internal: rules shared by request and response credential extraction (carriers, generic rule, findings, pairs).
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/credentials.h"
#include "protocols/text.h"

namespace credtrace::protocols::detail {

// Longest name exported in a carrier; longer ones are "<redacted>".
inline constexpr size_t kMaxCarrierName = 64;

// Where a credential was carried: "kind:name", or just "kind". The exported text is built, and the name checked,
// only when a finding is recorded: most headers and fields carry nothing, and checking every name cost more than
// the rest of a request's parse.
class Carrier {
 public:
  Carrier(std::string_view kind, std::string_view name) : kind_(kind), name_(name) {}
  static Carrier bare(std::string_view kind) { return Carrier(kind); }
  // "kind:name"; a name that is long or itself looks like a credential is "<redacted>".
  std::string text() const;

 private:
  explicit Carrier(std::string_view kind) : kind_(kind), named_(false) {}
  std::string_view kind_;  // a constant: "header", "response:body", ...
  std::string name_;
  bool named_ = true;
};

inline Carrier carrier(std::string_view kind, std::string_view name) { return Carrier(kind, name); }

// Surrounding whitespace and one pair of double quotes removed.
std::string_view unquote(std::string_view value);

// A JSON string's raw content decoded (escapes resolved) into `buffer`, whose earlier content is wiped first; the view
// is valid until the buffer changes. The caller wipes the buffer when done.
std::string_view decode_json_string(std::string_view raw, std::string& buffer);

// Context-only matches: kGenericMinLength, kGenericMinEntropy and not a placeholder.
bool passes_generic_rule(std::string_view value);

// A cookie name containing session, token, auth or sid (any case).
bool is_session_cookie_name(std::string_view name);

// A header field whose grammar leaves no room for a credential (dates, lengths, media types, codings, cache directives): its value is not scanned for typed tokens (a multipart boundary is random, not a key). lower_name is
// lower-cased.
bool is_structured_header(std::string_view lower_name);

// Accumulates findings, never the same (value, carrier) twice.
class Findings {
 public:
  // Records one finding unless the same (value, where) is already there.
  void add(std::string_view value, std::string_view type, size_t prefix_len, const Carrier& where,
           std::string_view scheme = {}, std::string_view user = {});

  // A typed value (classify_value) gets its type, anything else the generic type if it passes the generic rule.
  void add_contextual(std::string_view raw, std::string_view generic_type, const Carrier& where,
                      std::string_view scheme = {});

  // Only a typed value counts (no context makes a generic match credible).
  void add_if_typed(std::string_view raw, const Carrier& where);

  // Every typed credential scan_text finds in free text.
  void add_scanned(std::string_view text, const Carrier& where);

  // Hands over the findings, leaving none.
  std::vector<CarriedCredential> take() { return std::move(found_); }

 private:
  std::vector<CarriedCredential> found_;
};

// Calls visit(decoded_name, decoded_value) for every name=value pair of a query or form body; wipes the copies.
template <typename Visit>
void for_each_pair(std::string_view encoded, Visit visit) {
  size_t start = 0;
  while (start < encoded.size()) {
    size_t end = std::min(encoded.find('&', start), encoded.size());
    std::string_view pair = encoded.substr(start, end - start);
    size_t eq = pair.find('=');
    if (eq != std::string_view::npos) {
      std::string name = percent_decode(pair.substr(0, eq), true);
      std::string value = percent_decode(pair.substr(eq + 1), true);
      visit(name, value);
      wipe(value);
    }
    start = end + 1;
  }
}

}  // namespace credtrace::protocols::detail
