// Argv redaction: secret flags, NAME=VALUE pairs, typed tokens, URL passwords and credential headers.
#include "secrets/argv_redact.h"

#include <algorithm>
#include <array>
#include <optional>
#include <string_view>

#include "secrets/detectors.h"
#include "secrets/env_names.h"
#include "secrets/placeholders.h"
#include "secrets/url_secrets.h"

namespace credtrace::secrets {
namespace {

constexpr std::string_view kMask = "****";

// Header names whose value is a credential whatever its shape.
constexpr std::array<std::string_view, 9> kCredentialHeaders = {
    "authorization", "proxy-authorization", "x-api-key", "api-key", "x-goog-api-key",
    "private-token", "x-auth-token",        "x-api-token", "cookie"};

// Short flag names that mean a password/credential but do not match the env-name globs.
constexpr std::array<std::string_view, 4> kExtraSecretFlagNames = {"PASS", "PW", "AUTH", "PAT"};

std::string redaction_label(std::string_view type) { return "<redacted:" + std::string(type) + ">"; }

char to_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }
char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

const NamePatterns& secret_names() {
  static const NamePatterns names(default_secret_env_patterns(), default_secret_env_excludes());
  return names;
}

// "--api-key" -> "API_KEY", the env-style spelling the name globs understand.
std::string env_style_flag_name(std::string_view flag) {
  while (flag.starts_with('-')) flag.remove_prefix(1);
  std::string name(flag);
  for (char& c : name) c = (c == '-') ? '_' : to_upper(c);
  return name;
}

bool is_secret_flag(std::string_view flag) {
  if (!flag.starts_with('-')) return false;
  std::string name = env_style_flag_name(flag);
  if (name.empty()) return false;
  return secret_names().matches(name) ||
         std::find(kExtraSecretFlagNames.begin(), kExtraSecretFlagNames.end(), name) != kExtraSecretFlagNames.end();
}

std::string_view program_name(const std::vector<std::string>& argv) {
  if (argv.empty()) return {};
  std::string_view path = argv.front();
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool is_mysql_family(std::string_view program) {
  return program == "mysql" || program == "mysqldump" || program == "mysqladmin" || program == "mariadb" ||
         program == "mariadb-dump" || program == "mysqlimport" || program == "mysqlshow";
}

bool is_curl(std::string_view program) { return program == "curl"; }

// Generic type of a secret flag's value: short password spellings (-p, --pass, --pw) are passwords.
std::string_view type_for_flag(std::string_view flag) {
  std::string name = env_style_flag_name(flag);
  if (name == "P" || name == "PASS" || name == "PW") return "password";
  return type_for_env_name(name);
}

std::string label_for_flag_value(std::string_view flag, std::string_view value) {
  if (std::optional<Detection> typed = classify_value(value)) return redaction_label(typed->type);
  return redaction_label(type_for_flag(flag));
}

bool is_letter_or_underscore(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }

// An env name, or a property name as in -Dspring.datasource.password=… (dots and dashes allowed inside).
bool is_assignment_name(std::string_view name) {
  if (name.empty() || !is_letter_or_underscore(name.front())) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return is_letter_or_underscore(c) || (c >= '0' && c <= '9') || c == '.' || c == '-'; });
}

// NAME=VALUE where inspect_env_var calls VALUE secret.
std::optional<std::string> redact_env_assignment(std::string_view arg) {
  size_t equals = arg.find('=');
  if (equals == std::string_view::npos || !is_assignment_name(arg.substr(0, equals))) return std::nullopt;
  std::optional<EnvFinding> finding = inspect_env_var(arg.substr(0, equals), arg.substr(equals + 1), secret_names());
  if (!finding) return std::nullopt;
  return std::string(arg.substr(0, equals + 1)) + redaction_label(finding->type);
}

// --env=NAME=VALUE, -eNAME=VALUE, -Dprop.password=VALUE style: the flag's value is itself an env assignment.
std::optional<std::string> redact_flag_env_assignment(std::string_view arg) {
  if (!arg.starts_with('-')) return std::nullopt;
  size_t equals = arg.find('=');
  size_t assignment_start = (equals != std::string_view::npos && arg.starts_with("--")) ? equals + 1 : 2;
  if (assignment_start >= arg.size()) return std::nullopt;
  std::optional<std::string> assignment = redact_env_assignment(arg.substr(assignment_start));
  if (!assignment) return std::nullopt;
  return std::string(arg.substr(0, assignment_start)) + *assignment;
}

// --secret-flag=VALUE
std::optional<std::string> redact_flag_with_value(std::string_view arg) {
  size_t equals = arg.find('=');
  if (equals == std::string_view::npos || !is_secret_flag(arg.substr(0, equals))) return std::nullopt;
  std::string_view value = arg.substr(equals + 1);
  if (value.empty() || is_placeholder(value)) return std::nullopt;
  return std::string(arg.substr(0, equals + 1)) + label_for_flag_value(arg.substr(0, equals), value);
}

// "user:password" -> "user:****"
std::string mask_user_password(std::string_view user_password) {
  size_t colon = user_password.find(':');
  if (colon == std::string_view::npos) return std::string(user_password);
  return std::string(user_password.substr(0, colon + 1)) + std::string(kMask);
}

struct Replacement {
  size_t offset;
  size_t length;
  std::string text;
};

void add_header_value_replacement(std::string_view arg, std::vector<Replacement>& replacements) {
  size_t colon = arg.find(':');
  if (colon == std::string_view::npos) return;
  std::string_view name_part = arg.substr(0, colon);
  size_t equals = name_part.rfind('=');  // "--header=x-api-key: v"
  if (equals != std::string_view::npos) name_part.remove_prefix(equals + 1);
  std::string name;
  for (char c : name_part) {
    if (c != ' ' && c != '\t') name.push_back(to_lower(c));
  }
  if (std::find(kCredentialHeaders.begin(), kCredentialHeaders.end(), name) == kCredentialHeaders.end()) return;
  size_t value_start = arg.find_first_not_of(" \t", colon + 1);
  if (value_start == std::string_view::npos) return;
  if (name == "authorization" || name == "proxy-authorization") {
    size_t space = arg.find(' ', value_start);  // keep the scheme (Bearer, Basic, token)
    if (space != std::string_view::npos) value_start = arg.find_first_not_of(' ', space);
    if (value_start == std::string_view::npos) return;
  }
  std::string_view value = arg.substr(value_start);
  if (is_placeholder(value)) return;
  std::optional<Detection> typed = classify_value(value);
  replacements.push_back({value_start, value.size(), redaction_label(typed ? typed->type : "header_credential")});
}

// Sorted, non-overlapping replacements: overlapping spans merge into one covering both (so no secret byte
// escapes), labelled by the longer span; on equal length the earlier-added (typed) label wins.
std::vector<Replacement> merge_replacements(std::vector<Replacement> replacements) {
  std::stable_sort(replacements.begin(), replacements.end(),
                   [](const Replacement& a, const Replacement& b) { return a.offset < b.offset; });
  std::vector<Replacement> merged;
  for (Replacement& next : replacements) {
    if (!merged.empty() && next.offset < merged.back().offset + merged.back().length) {
      Replacement& last = merged.back();
      size_t end = std::max(last.offset + last.length, next.offset + next.length);
      if (next.length > last.length) last.text = next.text;
      last.length = end - last.offset;
      continue;
    }
    merged.push_back(std::move(next));
  }
  return merged;
}

std::string apply_replacements(std::string_view arg, const std::vector<Replacement>& replacements) {
  std::string out;
  size_t cursor = 0;
  for (const Replacement& replacement : replacements) {
    out.append(arg.substr(cursor, replacement.offset - cursor));
    out.append(replacement.text);
    cursor = replacement.offset + replacement.length;
  }
  out.append(arg.substr(cursor));
  return out;
}

bool is_token_char(char c) { return c != ' ' && c != '\t' && c != '"' && c != '\'' && c != ',' && c != ';'; }

// "Bearer X" / "Basic X" anywhere in the arg (e.g. inside `sh -c "curl -H '...'"`): X is a credential.
void add_auth_scheme_replacements(std::string_view arg, std::vector<Replacement>& replacements) {
  constexpr std::array<std::pair<std::string_view, std::string_view>, 2> kSchemes = {
      std::pair{std::string_view("bearer "), std::string_view("bearer_token")},
      std::pair{std::string_view("basic "), std::string_view("basic_auth")}};
  std::string lowered(arg);
  std::transform(lowered.begin(), lowered.end(), lowered.begin(), to_lower);
  for (const auto& [scheme, type] : kSchemes) {
    for (size_t at = lowered.find(scheme); at != std::string::npos; at = lowered.find(scheme, at + 1)) {
      size_t start = lowered.find_first_not_of(' ', at + scheme.size());
      if (start == std::string::npos) break;
      size_t end = start;
      while (end < arg.size() && is_token_char(arg[end])) ++end;
      std::string_view value = arg.substr(start, end - start);
      if (value.size() >= kMinNameOnlyValueLength && !is_placeholder(value)) {
        replacements.push_back({start, value.size(), redaction_label(type)});
      }
    }
  }
}

// Secrets inside an arg that is not itself a secret: typed tokens, URL passwords and keys, header values.
std::string redact_inside(std::string_view arg) {
  std::vector<Replacement> replacements;
  for (const Detection& detection : scan_text(arg)) {
    replacements.push_back({detection.offset, detection.length, redaction_label(detection.type)});
  }
  for (const TextSpan& span : find_url_passwords(arg)) replacements.push_back({span.offset, span.length, std::string(kMask)});
  for (const TextSpan& span : find_secret_query_values(arg)) {
    replacements.push_back({span.offset, span.length, std::string(kMask)});
  }
  add_header_value_replacement(arg, replacements);
  add_auth_scheme_replacements(arg, replacements);
  return apply_replacements(arg, merge_replacements(std::move(replacements)));
}

// One argument on its own (not the value of a preceding flag).
std::string redact_single(std::string_view program, std::string_view arg) {
  if (std::optional<Detection> typed = classify_value(arg)) return redaction_label(typed->type);
  if (std::optional<std::string> flag = redact_flag_with_value(arg)) return *flag;
  if (is_mysql_family(program) && arg.starts_with("-p") && arg.size() > 2) return "-p" + redaction_label("password");
  if (program == "sshpass" && arg.starts_with("-p") && arg.size() > 2) return "-p" + redaction_label("password");
  if (is_curl(program) && arg.starts_with("--user=")) return "--user=" + mask_user_password(arg.substr(7));
  if (std::optional<std::string> assignment = redact_env_assignment(arg)) return *assignment;
  if (std::optional<std::string> flag_assignment = redact_flag_env_assignment(arg)) return *flag_assignment;
  return redact_inside(arg);
}

// The flag whose value is the next argument, with how to redact that value; nullopt when none.
enum class NextValue { kNone, kSecret, kUserPassword };

NextValue next_value_kind(std::string_view program, std::string_view arg) {
  if (arg.find('=') == std::string_view::npos && is_secret_flag(arg)) return NextValue::kSecret;
  if (program == "sshpass" && arg == "-p") return NextValue::kSecret;
  if (is_curl(program) && (arg == "-u" || arg == "--user" || arg == "--proxy-user" || arg == "-U")) {
    return NextValue::kUserPassword;
  }
  return NextValue::kNone;
}

std::string redact_flag_value(std::string_view flag, std::string_view value, NextValue kind) {
  if (is_placeholder(value)) return std::string(value);
  if (kind == NextValue::kUserPassword) return mask_user_password(value);
  return label_for_flag_value(flag, value);
}

bool looks_like_long_option(std::string_view arg) { return arg.starts_with("--"); }

// Separates the words of free text; quotes and brackets around a NAME=VALUE word are not part of it.
bool is_text_word_separator(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '"' || c == '\'' || c == '(' || c == ')' ||
         c == '[' || c == ']' || c == '{' || c == '}' || c == ',' || c == ';';
}

// A word of free text that is NAME=VALUE or --secret-flag=VALUE with a secret value, redacted; nullopt otherwise.
std::optional<std::string> redact_text_word(std::string_view word) {
  if (std::optional<std::string> flag = redact_flag_with_value(word)) return flag;
  if (std::optional<std::string> assignment = redact_env_assignment(word)) return assignment;
  return std::nullopt;
}

}  // namespace

std::string redact_text(std::string_view text) {
  std::string words_done;
  words_done.reserve(text.size());
  size_t at = 0;
  while (at < text.size()) {
    if (is_text_word_separator(text[at])) {
      words_done.push_back(text[at++]);
      continue;
    }
    size_t end = at;
    while (end < text.size() && !is_text_word_separator(text[end])) ++end;
    std::string_view word = text.substr(at, end - at);
    std::optional<std::string> redacted = redact_text_word(word);
    words_done.append(redacted ? std::string_view(*redacted) : word);
    at = end;
  }
  return redact_inside(words_done);
}

std::vector<std::string> redact_argv(const std::vector<std::string>& argv) {
  std::vector<std::string> redacted;
  redacted.reserve(argv.size());
  std::string_view program = program_name(argv);
  NextValue pending = NextValue::kNone;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (pending != NextValue::kNone && !looks_like_long_option(arg)) {
      redacted.push_back(redact_flag_value(argv[i - 1], arg, pending));
      pending = NextValue::kNone;
      continue;
    }
    pending = (i == 0) ? NextValue::kNone : next_value_kind(program, arg);
    redacted.push_back(i == 0 ? redact_inside(arg) : redact_single(program, arg));
  }
  return redacted;
}

}  // namespace credtrace::secrets
