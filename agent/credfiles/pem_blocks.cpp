// PEM block scanning: BEGIN/END markers, private-key labels and the whitespace-free base64 body.
#include "credfiles/pem_blocks.h"

#include <algorithm>
#include <array>

#include "credfiles/value_rules.h"

namespace credtrace::credfiles::detail {
namespace {

constexpr std::string_view kBegin = "-----BEGIN ";
constexpr std::string_view kDashes = "-----";
constexpr size_t kMaxLabelLength = 64;

struct LabelType {
  std::string_view label;
  std::string_view type;
};

constexpr std::array kPrivateKeyLabels = {
    LabelType{"RSA PRIVATE KEY", "rsa_private_key"},
    LabelType{"EC PRIVATE KEY", "ec_private_key"},
    LabelType{"DSA PRIVATE KEY", "dsa_private_key"},
    LabelType{"OPENSSH PRIVATE KEY", "ssh_private_key"},
    LabelType{"ENCRYPTED PRIVATE KEY", "encrypted_private_key"},
    LabelType{"PGP PRIVATE KEY BLOCK", "pgp_private_key"},
    LabelType{"PRIVATE KEY", "private_key"},
};

std::string type_for_label(std::string_view label) {
  for (const LabelType& known : kPrivateKeyLabels) {
    if (label == known.label) return std::string(known.type);
  }
  return label.find("PRIVATE KEY") != std::string_view::npos ? "private_key" : "";
}

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
         c == '=' || c == '-' || c == '_';
}

// Appends one body line unless it is an RFC 1421 header ("Proc-Type: 4,ENCRYPTED", "DEK-Info: …").
void append_body_line(std::string_view line, std::string& body) {
  if (line.find(':') != std::string_view::npos) return;
  for (char c : line) {
    if (is_base64_char(c)) body.push_back(c);
  }
}

// Lines end at '\n' or at a literal "\n" (keys pasted into single-quoted env values or JSON written twice).
std::string clean_body(std::string_view text) {
  std::string body;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    bool literal_newline = i + 1 < text.size() && text[i] == '\\' && text[i + 1] == 'n';
    if (i == text.size() || text[i] == '\n' || literal_newline) {
      append_body_line(text.substr(start, i - start), body);
      if (literal_newline) ++i;
      start = i + 1;
    }
  }
  return body;
}

// 1-based line numbers for increasing offsets, counted incrementally (linear in the text).
class LineCounter {
 public:
  explicit LineCounter(std::string_view text) : text_(text) {}
  int line_at(size_t offset) {
    for (; counted_ < offset && counted_ < text_.size(); ++counted_) line_ += (text_[counted_] == '\n');
    return line_;
  }

 private:
  std::string_view text_;
  size_t counted_ = 0;
  int line_ = 1;
};

}  // namespace

std::vector<PemBlock> find_pem_blocks(std::string_view text) {
  std::vector<PemBlock> blocks;
  LineCounter lines(text);
  size_t pos = 0;
  while ((pos = text.find(kBegin, pos)) != std::string_view::npos) {
    size_t label_start = pos + kBegin.size();
    size_t label_end = text.find(kDashes, label_start);
    if (label_end == std::string_view::npos) break;
    std::string_view label = text.substr(label_start, label_end - label_start);
    if (label.empty() || label.size() > kMaxLabelLength || label.find('\n') != std::string_view::npos) {
      pos = label_start;
      continue;
    }
    size_t body_start = label_end + kDashes.size();
    const std::string end_marker = "-----END " + std::string(label) + "-----";
    size_t end = text.find(end_marker, body_start);
    PemBlock block;
    block.label = std::string(label);
    block.type = type_for_label(label);
    block.begin_line = lines.line_at(pos);
    block.terminated = end != std::string_view::npos;
    std::string body = clean_body(text.substr(body_start, (block.terminated ? end : text.size()) - body_start));
    block.body = secrets::SecretBytes(body);
    wipe(body);
    pos = block.terminated ? end + end_marker.size() : text.size();
    blocks.push_back(std::move(block));
  }
  return blocks;
}

}  // namespace credtrace::credfiles::detail
