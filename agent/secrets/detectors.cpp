// Typed credential detectors: the single rule table (public token formats) and the prefix scanner.
#include "secrets/detectors.h"

#include <algorithm>
#include <array>
#include <bit>

#include "secrets/jwt.h"

namespace credtrace::secrets {
namespace {

// A set of bytes, built at compile time from a spec like "A-Za-z0-9_-" (ranges and literals).
struct Charset {
  std::array<bool, 256> members{};
  constexpr bool has(char c) const { return members[static_cast<unsigned char>(c)]; }
};

constexpr Charset make_charset(std::string_view spec) {
  Charset set;
  for (size_t i = 0; i < spec.size(); ++i) {
    if (i + 2 < spec.size() && spec[i + 1] == '-') {
      for (int c = static_cast<unsigned char>(spec[i]); c <= static_cast<unsigned char>(spec[i + 2]); ++c) {
        set.members[static_cast<size_t>(c)] = true;
      }
      i += 2;
    } else {
      set.members[static_cast<unsigned char>(spec[i])] = true;
    }
  }
  return set;
}

constexpr Charset kAlnum = make_charset("A-Za-z0-9");
constexpr Charset kWord = make_charset("A-Za-z0-9_");
constexpr Charset kWordDash = make_charset("A-Za-z0-9_-");
constexpr Charset kWordDashDot = make_charset("A-Za-z0-9_.-");
constexpr Charset kLetters = make_charset("A-Za-z");
constexpr Charset kLowerHex = make_charset("a-f0-9");
constexpr Charset kBase32Upper = make_charset("A-Z2-7");
constexpr Charset kAlnumDash = make_charset("A-Za-z0-9-");
constexpr Charset kDigits = make_charset("0-9");
constexpr Charset kLowerAlnum = make_charset("a-z0-9");
constexpr Charset kUpperAlnum = make_charset("A-Z0-9");

// Checks a candidate beyond charset and length (`body` = token after the prefix); nullptr when none is needed.
using Validator = bool (*)(std::string_view token, std::string_view body);

// One typed credential format. Add formats by adding rows to kRules.
struct Rule {
  std::string_view type;
  std::string_view prefix;
  Charset body_chars;  // characters allowed after the prefix
  size_t min_body;     // body length bounds (after the prefix)
  size_t max_body;
  Validator validator;
};

// ---- small parsing helpers for validators ----

// Consumes a run of `chars` of length [min, max] from the front of `text`.
bool consume_run(std::string_view& text, const Charset& chars, size_t min, size_t max) {
  size_t n = 0;
  while (n < text.size() && chars.has(text[n])) ++n;
  if (n < min || n > max) return false;
  text.remove_prefix(n);
  return true;
}

bool consume_char(std::string_view& text, char expected) {
  if (text.empty() || text.front() != expected) return false;
  text.remove_prefix(1);
  return true;
}

// ---- validators ----

// sk-proj-/sk-svcacct-/sk-admin-: 58 or 74 chars, "T3BlbkFJ" (base64 "OpenAI"), 58 or 74 chars.
bool valid_openai_project(std::string_view, std::string_view body) {
  size_t half = (body.size() - 8) / 2;
  return (half == 58 || half == 74) && body.size() == 2 * half + 8 && body.substr(half, 8) == "T3BlbkFJ";
}

// legacy sk-: 20 alnum, "T3BlbkFJ", 20 alnum.
bool valid_openai_legacy(std::string_view, std::string_view body) { return body.substr(20, 8) == "T3BlbkFJ"; }

bool valid_anthropic(std::string_view, std::string_view body) { return body.ends_with("AA"); }

// xoxb-: \d{10,13}-\d{10,13}[A-Za-z0-9-]*
bool valid_slack_bot(std::string_view, std::string_view body) {
  std::string_view rest = body;
  return consume_run(rest, kDigits, 10, 13) && consume_char(rest, '-') && consume_run(rest, kDigits, 10, 13);
}

// xoxp-/xoxe-: three numeric groups then 28-34 alnum.
bool valid_slack_user(std::string_view, std::string_view body) {
  std::string_view rest = body;
  for (int group = 0; group < 3; ++group) {
    if (!consume_run(rest, kDigits, 10, 13) || !consume_char(rest, '-')) return false;
  }
  return consume_run(rest, kAlnum, 28, 34) && rest.empty();
}

// xapp-: \d-[A-Z0-9]+-\d+-[a-z0-9]+
bool valid_slack_app(std::string_view, std::string_view body) {
  std::string_view rest = body;
  return consume_run(rest, kDigits, 1, 1) && consume_char(rest, '-') && consume_run(rest, kUpperAlnum, 1, 64) &&
         consume_char(rest, '-') && consume_run(rest, kDigits, 1, 32) && consume_char(rest, '-') &&
         consume_run(rest, kLowerAlnum, 16, 128) && rest.empty();
}

// glpat- routable form: [\w-]{27,300} "." [0-9a-z]{9}
bool valid_gitlab_routable(std::string_view, std::string_view body) {
  std::string_view rest = body;
  return consume_run(rest, kWordDash, 27, 300) && consume_char(rest, '.') && consume_run(rest, kLowerAlnum, 9, 9) &&
         rest.empty();
}

// SG.: [\w-]{22} "." [\w-]{43}
bool valid_sendgrid(std::string_view, std::string_view body) {
  std::string_view rest = body;
  return consume_run(rest, kWordDash, 22, 22) && consume_char(rest, '.') && consume_run(rest, kWordDash, 43, 43) &&
         rest.empty();
}

// Three non-empty base64url parts; header and payload decode to JSON objects, header names an "alg".
bool valid_jwt(std::string_view token, std::string_view) {
  if (std::count(token.begin(), token.end(), '.') != 2 || token.ends_with('.')) return false;
  std::optional<JwtClaims> claims = decode_jwt(token);
  return claims.has_value() && !claims->alg.empty();
}

// ---- the rule table: longer prefixes before shorter ones they extend (sk-ant- before sk-) ----

constexpr size_t kNoMax = 16384;

constexpr std::array kRules = {
    Rule{"github_pat", "ghp_", kAlnum, 36, 36, nullptr},
    Rule{"github_oauth", "gho_", kAlnum, 36, 36, nullptr},
    Rule{"github_user_token", "ghu_", kAlnum, 36, 36, nullptr},
    Rule{"github_app_token", "ghs_", kAlnum, 36, 36, nullptr},
    Rule{"github_refresh_token", "ghr_", kAlnum, 36, 36, nullptr},
    Rule{"github_fine_grained_pat", "github_pat_", kWord, 82, 82, nullptr},
    Rule{"anthropic", "sk-ant-api03-", kWordDash, 95, 95, valid_anthropic},
    Rule{"anthropic", "sk-ant-admin01-", kWordDash, 95, 95, valid_anthropic},
    Rule{"openai", "sk-proj-", kWordDash, 124, 156, valid_openai_project},
    Rule{"openai", "sk-svcacct-", kWordDash, 124, 156, valid_openai_project},
    Rule{"openai", "sk-admin-", kWordDash, 124, 156, valid_openai_project},
    Rule{"openai", "sk-", kAlnum, 48, 48, valid_openai_legacy},
    Rule{"aws_access_key_id", "AKIA", kBase32Upper, 16, 16, nullptr},
    Rule{"aws_access_key_id", "ASIA", kBase32Upper, 16, 16, nullptr},
    Rule{"aws_access_key_id", "ABIA", kBase32Upper, 16, 16, nullptr},
    Rule{"aws_access_key_id", "ACCA", kBase32Upper, 16, 16, nullptr},
    Rule{"slack", "xoxb-", kAlnumDash, 21, 255, valid_slack_bot},
    Rule{"slack", "xoxp-", kAlnumDash, 61, 76, valid_slack_user},
    Rule{"slack", "xoxe-", kAlnumDash, 61, 76, valid_slack_user},
    Rule{"slack", "xapp-", kAlnumDash, 22, 255, valid_slack_app},
    Rule{"stripe", "sk_live_", kAlnum, 10, 99, nullptr},
    Rule{"stripe", "sk_test_", kAlnum, 10, 99, nullptr},
    Rule{"stripe", "rk_live_", kAlnum, 10, 99, nullptr},
    Rule{"stripe", "rk_test_", kAlnum, 10, 99, nullptr},
    Rule{"google_api_key", "AIza", kWordDash, 35, 35, nullptr},
    Rule{"gitlab_pat", "glpat-", kWordDashDot, 37, 310, valid_gitlab_routable},
    Rule{"gitlab_pat", "glpat-", kWordDash, 20, 20, nullptr},
    Rule{"huggingface", "hf_", kLetters, 34, 34, nullptr},
    Rule{"huggingface", "api_org_", kLetters, 34, 34, nullptr},
    Rule{"npm", "npm_", kAlnum, 36, 36, nullptr},
    Rule{"pypi", "pypi-AgEIcHlwaS5vcmc", kWordDash, 50, 1000, nullptr},
    Rule{"groq", "gsk_", kAlnum, 52, 52, nullptr},
    Rule{"xai", "xai-", kWord, 80, 80, nullptr},
    Rule{"perplexity", "pplx-", kAlnum, 48, 48, nullptr},
    Rule{"digitalocean", "dop_v1_", kLowerHex, 64, 64, nullptr},
    Rule{"sendgrid", "SG.", kWordDashDot, 66, 66, valid_sendgrid},
    Rule{"databricks", "dapi", kLowerHex, 32, 32, nullptr},
    Rule{"jwt", "eyJ", kWordDashDot, 10, kNoMax, valid_jwt},
};

constexpr size_t shortest_detection() {
  size_t shortest = kNoMax;
  for (const Rule& rule : kRules) shortest = std::min(shortest, rule.prefix.size() + rule.min_body);
  return shortest;
}

// Text shorter than this holds no token of any rule.
constexpr size_t kShortestDetection = shortest_detection();
static_assert(std::all_of(kRules.begin(), kRules.end(), [](const Rule& r) { return kAlnum.has(r.prefix.front()); }),
              "scan_text tries word starts only: every prefix must start with an alphanumeric");

constexpr std::array<bool, 256> make_first_chars() {
  std::array<bool, 256> first{};
  for (const Rule& rule : kRules) first[static_cast<unsigned char>(rule.prefix.front())] = true;
  return first;
}

constexpr std::array<bool, 256> kFirstChars = make_first_chars();

// Every rule prefix has at least two characters: a bit per (first, second) byte pair that starts one lets a scan
// skip almost every position of ordinary text (bodies, headers) with one table load.
constexpr size_t pair_index(unsigned char first, unsigned char second) { return (static_cast<size_t>(first) << 8) | second; }

constexpr std::array<uint64_t, 1024> make_first_pairs() {
  std::array<uint64_t, 1024> pairs{};
  for (const Rule& rule : kRules) {
    const size_t i = pair_index(static_cast<unsigned char>(rule.prefix[0]), static_cast<unsigned char>(rule.prefix[1]));
    pairs[i / 64] |= uint64_t{1} << (i % 64);
  }
  return pairs;
}

constexpr std::array<uint64_t, 1024> kFirstPairs = make_first_pairs();
static_assert(std::all_of(kRules.begin(), kRules.end(), [](const Rule& r) { return r.prefix.size() >= 2; }),
              "the pair prefilter needs two-character prefixes");

bool may_start_prefix(std::string_view text, size_t pos) {
  if (pos + 1 >= text.size()) return false;
  const size_t i = pair_index(static_cast<unsigned char>(text[pos]), static_cast<unsigned char>(text[pos + 1]));
  return (kFirstPairs[i / 64] >> (i % 64)) & 1;
}

// A character that would continue the token: any alphanumeric or any character of the rule's body.
bool continues_token(const Rule& rule, char c) { return kAlnum.has(c) || rule.body_chars.has(c); }

bool all_one_char(std::string_view body) {
  return !body.empty() && body.find_first_not_of(body.front()) == std::string_view::npos;
}

// Length of `rule`'s delimited token at `pos`, or nullopt.
std::optional<size_t> match_rule_at(const Rule& rule, std::string_view text, size_t pos) {
  if (!text.substr(pos).starts_with(rule.prefix)) return std::nullopt;
  if (pos > 0 && continues_token(rule, text[pos - 1])) return std::nullopt;
  size_t body_start = pos + rule.prefix.size();
  size_t cap = std::min(text.size(), body_start + rule.max_body + 1);
  size_t end = body_start;
  while (end < cap && rule.body_chars.has(text[end])) ++end;
  if (end < text.size() && continues_token(rule, text[end])) return std::nullopt;  // too long or undelimited
  if (rule.body_chars.has('.')) {
    while (end > body_start && text[end - 1] == '.') --end;  // a sentence's full stop is not part of it
  }
  size_t body_len = end - body_start;
  if (body_len < rule.min_body || body_len > rule.max_body) return std::nullopt;
  if (all_one_char(text.substr(body_start, body_len))) return std::nullopt;  // "ghp_xxxx…" examples
  std::string_view token = text.substr(pos, end - pos);
  if (rule.validator != nullptr && !rule.validator(token, token.substr(rule.prefix.size()))) return std::nullopt;
  return token.size();
}

// For each byte, a bit per rule (by index in kRules) whose prefix starts with it: a position visits only those rules,
// still in table order (the first that matches wins).
constexpr std::array<uint64_t, 256> make_rules_by_first_char() {
  std::array<uint64_t, 256> rules{};
  for (size_t i = 0; i < kRules.size(); ++i) rules[static_cast<unsigned char>(kRules[i].prefix[0])] |= uint64_t{1} << i;
  return rules;
}

static_assert(kRules.size() <= 64, "one bit per rule in kRulesByFirstChar");
constexpr std::array<uint64_t, 256> kRulesByFirstChar = make_rules_by_first_char();

std::optional<Detection> match_any_rule_at(std::string_view text, size_t pos) {
  for (uint64_t rules = kRulesByFirstChar[static_cast<unsigned char>(text[pos])]; rules != 0; rules &= rules - 1) {
    const Rule& rule = kRules[static_cast<size_t>(std::countr_zero(rules))];
    if (std::optional<size_t> length = match_rule_at(rule, text, pos)) {
      return Detection{rule.type, pos, *length, rule.prefix.size()};
    }
  }
  return std::nullopt;
}

bool is_trim_char(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '"' || c == '\''; }

}  // namespace

std::optional<Detection> classify_value(std::string_view value) {
  size_t begin = 0;
  size_t end = value.size();
  while (begin < end && is_trim_char(value[begin])) ++begin;
  while (end > begin && is_trim_char(value[end - 1])) --end;
  if (begin == end || !kFirstChars[static_cast<unsigned char>(value[begin])]) return std::nullopt;
  std::string_view trimmed = value.substr(begin, end - begin);
  std::optional<Detection> detection = match_any_rule_at(trimmed, 0);
  if (!detection || detection->length != trimmed.size()) return std::nullopt;
  detection->offset = begin;
  return detection;
}

// A token starts only at a word start: every prefix starts with an alphanumeric, and an alphanumeric before it
// continues the token of every rule (match_rule_at refuses it). So only the first character of each alphanumeric run
// is tried, and the rest of the run is skipped with one table load a byte.
std::vector<Detection> scan_text(std::string_view text) {
  std::vector<Detection> detections;
  if (text.size() < kShortestDetection) return detections;
  size_t pos = 0;
  while (pos < text.size()) {
    if (!kAlnum.has(text[pos])) {
      ++pos;
      continue;
    }
    if (may_start_prefix(text, pos)) {
      if (std::optional<Detection> detection = match_any_rule_at(text, pos)) {
        detections.push_back(*detection);
        pos += detection->length;
        continue;
      }
    }
    while (++pos < text.size() && kAlnum.has(text[pos])) {
    }
  }
  return detections;
}

size_t known_prefix_length(std::string_view value) {
  size_t longest = 0;
  if (!may_start_prefix(value, 0)) return 0;  // most values, with one table load
  for (uint64_t rules = kRulesByFirstChar[static_cast<unsigned char>(value[0])]; rules != 0; rules &= rules - 1) {
    const Rule& rule = kRules[static_cast<size_t>(std::countr_zero(rules))];
    if (rule.prefix[1] == value[1] && value.starts_with(rule.prefix)) longest = std::max(longest, rule.prefix.size());
  }
  return longest;
}

}  // namespace credtrace::secrets
