// YAML leaves: every document walked with yaml-cpp, each scalar with its path and line (alias bombs bounded).
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "credfiles/structured_leaves.h"
#include "credfiles/value_rules.h"

namespace credtrace::credfiles::detail {
namespace {

constexpr size_t kMaxYamlDocuments = 1000;

// Plain (unquoted) scalars that are booleans or null in YAML, not values that could hold a secret.
bool is_plain_literal(const YAML::Node& node) {
  if (node.Tag() != "?") return false;
  static constexpr std::string_view kLiterals[] = {"true", "false", "yes", "no", "on", "off", "null", "~",
                                                   "True", "False", "Yes", "No", "On", "Off", "Null", "NULL",
                                                   "TRUE", "FALSE"};
  const std::string& text = node.Scalar();
  for (std::string_view literal : kLiterals) {
    if (text == literal) return true;
  }
  return false;
}

struct YamlDocument {
  std::string_view text;  // from its "---" line (if any) to the next one
  int first_line = 0;     // lines before it in the file
};

bool is_document_marker(std::string_view line) {
  return line.starts_with("---") && (line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r');
}

// Documents split at "---" lines and parsed one by one with YAML::Load: yaml-cpp 0.7's LoadAll can loop forever
// on some malformed input (found by fuzz_credfiles_yaml).
std::vector<YamlDocument> split_documents(std::string_view text) {
  std::vector<YamlDocument> docs;
  size_t start = 0, pos = 0;
  int line = 0, start_line = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    std::string_view current = text.substr(pos, (eol == std::string_view::npos ? text.size() : eol) - pos);
    if (pos > start && is_document_marker(current) && docs.size() + 1 < kMaxYamlDocuments) {
      docs.push_back({text.substr(start, pos - start), start_line});
      start = pos;
      start_line = line;
    }
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
    ++line;
  }
  docs.push_back({text.substr(start), start_line});
  return docs;
}

class YamlWalker {
 public:
  explicit YamlWalker(Leaves& out) : out_(out) {}

  // False once a limit was hit (the error is set).
  bool walk(const YAML::Node& node, const std::string& path, const std::string& name, size_t depth, int line_offset) {
    line_offset_ = line_offset;
    return walk(node, path, name, depth);
  }

 private:
  bool walk(const YAML::Node& node, const std::string& path, const std::string& name, size_t depth) {
    if (++nodes_ > kMaxLeafNodes) return fail("more than " + std::to_string(kMaxLeafNodes) + " yaml nodes");
    if (depth > kMaxLeafDepth) return fail("yaml nesting deeper than " + std::to_string(kMaxLeafDepth));
    switch (node.Type()) {
      case YAML::NodeType::Scalar: return add_scalar(node, path, name);
      case YAML::NodeType::Sequence: return walk_sequence(node, path, name, depth);
      case YAML::NodeType::Map: return walk_map(node, path, depth);
      default: return true;
    }
  }

  bool add_scalar(const YAML::Node& node, const std::string& path, const std::string& name) {
    if (is_plain_literal(node)) return true;
    Leaf leaf;
    leaf.path = path;
    leaf.name = name;
    leaf.value = secrets::SecretBytes(node.Scalar());
    leaf.line = line_offset_ + node.Mark().line + 1;
    out_.leaves.push_back(std::move(leaf));
    return true;
  }

  bool walk_sequence(const YAML::Node& node, const std::string& path, const std::string& name, size_t depth) {
    size_t index = 0;
    for (const YAML::Node& item : node) {
      std::string child = path;
      append_path_component(child, "[" + std::to_string(index++) + "]", true);
      if (!walk(item, child, name, depth + 1)) return false;
    }
    return true;
  }

  bool walk_map(const YAML::Node& node, const std::string& path, size_t depth) {
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) continue;  // complex keys hold no named credential
      const std::string& key = kv.first.Scalar();
      std::string child = path;
      append_path_component(child, key, false);
      if (!walk(kv.second, child, key, depth + 1)) return false;
    }
    return true;
  }

  bool fail(std::string message) {
    out_.error = std::move(message);
    return false;
  }

  Leaves& out_;
  size_t nodes_ = 0;
  int line_offset_ = 0;
};

}  // namespace

Leaves yaml_leaves(std::string_view text) {
  Leaves out;
  std::vector<YamlDocument> documents = split_documents(text);
  YamlWalker walker(out);
  for (size_t i = 0; i < documents.size(); ++i) {
    const YamlDocument& doc = documents[i];
    std::string root = documents.size() > 1 ? "[doc" + std::to_string(i) + "]" : "";
    try {
      if (!walker.walk(YAML::Load(std::string(doc.text)), root, "", 0, doc.first_line)) break;
    } catch (const YAML::Exception& e) {
      // The message can quote document content; report the position only.
      out.error = "yaml parse error at line " + std::to_string(doc.first_line + e.mark.line + 1) + ", column " +
                  std::to_string(e.mark.column + 1);
      break;
    } catch (const std::exception&) {
      out.error = "yaml parse error";
      break;
    }
  }
  return out;
}

}  // namespace credtrace::credfiles::detail
