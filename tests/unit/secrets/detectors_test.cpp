// Tests of the typed credential detectors: every rule, positive and negative samples, text contexts.
#include "secrets/detectors.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_tokens.h"

namespace credtrace::secrets {
namespace {

using namespace credtrace::secrets::testing;

// A format whose body is one charset with a length range (no structure inside).
struct SimpleFormat {
  std::string_view type;
  std::string_view prefix;
  std::string_view charset;
  size_t min_body;
  size_t max_body;
  char foreign_char;  // a character outside the body charset
};

const std::vector<SimpleFormat>& simple_formats() {
  static const std::vector<SimpleFormat> formats = {
      {"github_pat", "ghp_", kAlnumChars, 36, 36, '_'},
      {"github_oauth", "gho_", kAlnumChars, 36, 36, '_'},
      {"github_user_token", "ghu_", kAlnumChars, 36, 36, '-'},
      {"github_app_token", "ghs_", kAlnumChars, 36, 36, '_'},
      {"github_refresh_token", "ghr_", kAlnumChars, 36, 36, '_'},
      {"github_fine_grained_pat", "github_pat_", kWordChars, 82, 82, '-'},
      {"aws_access_key_id", "AKIA", kBase32Chars, 16, 16, '1'},
      {"aws_access_key_id", "ASIA", kBase32Chars, 16, 16, 'a'},
      {"aws_access_key_id", "ABIA", kBase32Chars, 16, 16, '8'},
      {"aws_access_key_id", "ACCA", kBase32Chars, 16, 16, 'z'},
      {"stripe", "sk_live_", kAlnumChars, 10, 99, '_'},
      {"stripe", "sk_test_", kAlnumChars, 10, 99, '-'},
      {"stripe", "rk_live_", kAlnumChars, 10, 99, '_'},
      {"stripe", "rk_test_", kAlnumChars, 10, 99, '_'},
      {"google_api_key", "AIza", kWordDashChars, 35, 35, '.'},
      {"gitlab_pat", "glpat-", kWordDashChars, 20, 20, '+'},
      {"huggingface", "hf_", kLetterChars, 34, 34, '7'},
      {"huggingface", "api_org_", kLetterChars, 34, 34, '7'},
      {"npm", "npm_", kAlnumChars, 36, 36, '_'},
      {"pypi", "pypi-AgEIcHlwaS5vcmc", kWordDashChars, 50, 1000, '.'},
      {"groq", "gsk_", kAlnumChars, 52, 52, '_'},
      {"xai", "xai-", kWordChars, 80, 80, '-'},
      {"perplexity", "pplx-", kAlnumChars, 48, 48, '_'},
      {"digitalocean", "dop_v1_", kLowerHexChars, 64, 64, 'g'},
      {"databricks", "dapi", kLowerHexChars, 32, 32, 'G'},
  };
  return formats;
}

std::string sample(std::mt19937& rng, const SimpleFormat& format, size_t body_len) {
  return std::string(format.prefix) + random_from(rng, format.charset, body_len);
}

void expect_classified(std::string_view value, std::string_view type, size_t prefix_len) {
  std::optional<Detection> detection = classify_value(value);
  ASSERT_TRUE(detection.has_value()) << value;
  EXPECT_EQ(detection->type, type) << value;
  EXPECT_EQ(detection->prefix_len, prefix_len) << value;
  EXPECT_EQ(detection->length, value.size()) << value;
}

TEST(SimpleFormats, ValidLengthsAreClassified) {
  std::mt19937 rng(1234);
  for (const SimpleFormat& format : simple_formats()) {
    for (size_t body_len : {format.min_body, (format.min_body + format.max_body) / 2, format.max_body}) {
      for (int round = 0; round < 5; ++round) {
        expect_classified(sample(rng, format, body_len), format.type, format.prefix.size());
      }
    }
  }
}

TEST(SimpleFormats, OneCharShortOrTooLongIsRejected) {
  std::mt19937 rng(99);
  for (const SimpleFormat& format : simple_formats()) {
    std::string too_short = sample(rng, format, format.min_body - 1);
    std::string too_long = sample(rng, format, format.max_body + 1);
    EXPECT_FALSE(classify_value(too_short)) << too_short;
    EXPECT_FALSE(classify_value(too_long)) << too_long;
    EXPECT_TRUE(scan_text("x " + too_short + " y").empty()) << too_short;
    EXPECT_TRUE(scan_text("x " + too_long + " y").empty()) << too_long;
  }
}

TEST(SimpleFormats, ForeignCharacterIsRejected) {
  std::mt19937 rng(7);
  for (const SimpleFormat& format : simple_formats()) {
    std::string value = sample(rng, format, format.min_body);
    value[format.prefix.size() + format.min_body / 2] = format.foreign_char;
    EXPECT_FALSE(classify_value(value)) << value;
    EXPECT_TRUE(scan_text(value).empty()) << value;
  }
}

TEST(SimpleFormats, EmbeddedInLongerTokenIsRejected) {
  std::mt19937 rng(8);
  for (const SimpleFormat& format : simple_formats()) {
    std::string value = sample(rng, format, format.max_body);
    EXPECT_TRUE(scan_text("x" + value).empty()) << value;
    EXPECT_TRUE(scan_text("9" + value).empty()) << value;
    EXPECT_TRUE(scan_text(value + "Q").empty()) << value;
    EXPECT_TRUE(scan_text(value + "3").empty()) << value;
  }
}

TEST(SimpleFormats, RepeatedCharacterBodiesAreDocsExamplesNotKeys) {
  EXPECT_FALSE(classify_value("ghp_" + std::string(36, 'x')));
  EXPECT_FALSE(classify_value("AKIA" + std::string(16, 'A')));
}

// ---- structured formats ----

TEST(OpenAi, ProjectServiceAccountAndAdminKeysAtBothLengths) {
  std::mt19937 rng(11);
  for (std::string_view prefix : {"sk-proj-", "sk-svcacct-", "sk-admin-"}) {
    for (size_t half : {58u, 74u}) {
      expect_classified(openai_project_key(rng, prefix, half), "openai", prefix.size());
    }
  }
}

TEST(OpenAi, ProjectKeyNegatives) {
  std::mt19937 rng(12);
  std::string key = openai_project_key(rng, "sk-proj-", 74);
  EXPECT_FALSE(classify_value(key.substr(0, key.size() - 1)));
  EXPECT_FALSE(classify_value(key + "a"));
  std::string no_marker = key;
  no_marker.replace(8 + 74, 8, "T3BlbkFK");
  EXPECT_FALSE(classify_value(no_marker));
  std::string mixed_halves = "sk-proj-" + random_from(rng, kAlnumChars, 58) + "T3BlbkFJ" + random_from(rng, kAlnumChars, 74);
  EXPECT_FALSE(classify_value(mixed_halves));
  EXPECT_TRUE(scan_text("x" + key).empty());
}

TEST(OpenAi, LegacyKey) {
  std::mt19937 rng(13);
  std::string key = openai_legacy_key(rng);
  expect_classified(key, "openai", 3);
  EXPECT_FALSE(classify_value(key.substr(0, key.size() - 1)));
  EXPECT_FALSE(classify_value(key + "Z"));
  EXPECT_FALSE(classify_value("sk-" + random_from(rng, kAlnumChars, 48)));  // no T3BlbkFJ marker
  std::string wrong_charset = key;
  wrong_charset[5] = '_';
  EXPECT_FALSE(classify_value(wrong_charset));
}

TEST(Anthropic, ApiAndAdminKeys) {
  std::mt19937 rng(14);
  expect_classified(anthropic_key(rng), "anthropic", 13);
  expect_classified(anthropic_key(rng, "sk-ant-admin01-"), "anthropic", 15);
  std::string key = anthropic_key(rng);
  EXPECT_FALSE(classify_value(key.substr(0, key.size() - 1)));
  EXPECT_FALSE(classify_value(key + "A"));
  EXPECT_FALSE(classify_value(key.substr(0, key.size() - 2) + "AB"));  // must end in AA
  std::string wrong_charset = key;
  wrong_charset[20] = '.';
  EXPECT_FALSE(classify_value(wrong_charset));
  EXPECT_TRUE(scan_text("-" + key).empty());
}

std::string slack_bot(std::mt19937& rng) {
  return "xoxb-" + random_from(rng, kDigitChars, 12) + "-" + random_from(rng, kDigitChars, 13) + "-" +
         random_from(rng, kAlnumChars, 24);
}

std::string slack_user(std::mt19937& rng, std::string_view prefix, size_t tail) {
  return std::string(prefix) + random_from(rng, kDigitChars, 11) + "-" + random_from(rng, kDigitChars, 12) + "-" +
         random_from(rng, kDigitChars, 13) + "-" + random_from(rng, kAlnumChars, tail);
}

std::string slack_app(std::mt19937& rng) {
  return "xapp-1-" + random_from(rng, kUpperAlnumChars, 11) + "-" + random_from(rng, kDigitChars, 13) + "-" +
         random_from(rng, kLowerAlnumChars, 64);
}

TEST(Slack, BotUserRefreshAndAppTokens) {
  std::mt19937 rng(15);
  expect_classified(slack_bot(rng), "slack", 5);
  expect_classified(slack_user(rng, "xoxp-", 32), "slack", 5);
  expect_classified(slack_user(rng, "xoxp-", 28), "slack", 5);
  expect_classified(slack_user(rng, "xoxp-", 34), "slack", 5);
  expect_classified(slack_user(rng, "xoxe-", 30), "slack", 5);
  expect_classified(slack_app(rng), "slack", 5);
}

TEST(Slack, Negatives) {
  std::mt19937 rng(16);
  EXPECT_FALSE(classify_value("xoxb-" + random_from(rng, kDigitChars, 9) + "-" + random_from(rng, kDigitChars, 12)));
  EXPECT_FALSE(classify_value("xoxb-" + random_from(rng, kDigitChars, 14) + "-" + random_from(rng, kDigitChars, 12)));
  EXPECT_FALSE(classify_value(slack_user(rng, "xoxp-", 27)));
  EXPECT_FALSE(classify_value(slack_user(rng, "xoxp-", 35)));
  std::string user = slack_user(rng, "xoxp-", 30);
  user[7] = 'a';  // letter inside a numeric group
  EXPECT_FALSE(classify_value(user));
  EXPECT_FALSE(classify_value("xapp-1-" + random_from(rng, kLowerAlnumChars, 11) + "-123-abcdef0123456789abcd"));
  EXPECT_TRUE(scan_text("x" + slack_bot(rng)).empty());
}

TEST(GitLab, RoutableTokens) {
  std::mt19937 rng(17);
  std::string routable = "glpat-" + random_from(rng, kWordDashChars, 27) + "." + random_from(rng, kLowerAlnumChars, 9);
  expect_classified(routable, "gitlab_pat", 6);
  std::string long_routable =
      "glpat-" + random_from(rng, kWordDashChars, 300) + "." + random_from(rng, kLowerAlnumChars, 9);
  expect_classified(long_routable, "gitlab_pat", 6);
  EXPECT_FALSE(classify_value("glpat-" + random_from(rng, kWordDashChars, 26) + "." +
                              random_from(rng, kLowerAlnumChars, 9)));
  EXPECT_FALSE(classify_value("glpat-" + random_from(rng, kWordDashChars, 27) + "." +
                              random_from(rng, kLowerAlnumChars, 8)));
  EXPECT_FALSE(classify_value("glpat-" + random_from(rng, kWordDashChars, 27) + "." +
                              random_from(rng, kUpper, 9)));
}

TEST(SendGrid, KeyShape) {
  std::mt19937 rng(18);
  std::string key = "SG." + random_from(rng, kWordDashChars, 22) + "." + random_from(rng, kWordDashChars, 43);
  expect_classified(key, "sendgrid", 3);
  EXPECT_FALSE(classify_value(key.substr(0, key.size() - 1)));
  EXPECT_FALSE(classify_value(key + "a"));
  EXPECT_FALSE(classify_value("SG." + random_from(rng, kWordDashChars, 21) + "." + random_from(rng, kWordDashChars, 44)));
  EXPECT_FALSE(classify_value("SG." + random_from(rng, kWordDashChars, 66)));
}

std::string base64url(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t n = (uint32_t(uint8_t(bytes[i])) << 16) | (uint32_t(uint8_t(bytes[i + 1])) << 8) | uint8_t(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0}) out.push_back(kAlphabet[(n >> shift) & 63]);
  }
  if (bytes.size() - i == 1) {
    uint32_t n = uint32_t(uint8_t(bytes[i])) << 16;
    for (int shift : {18, 12}) out.push_back(kAlphabet[(n >> shift) & 63]);
  } else if (bytes.size() - i == 2) {
    uint32_t n = (uint32_t(uint8_t(bytes[i])) << 16) | (uint32_t(uint8_t(bytes[i + 1])) << 8);
    for (int shift : {18, 12, 6}) out.push_back(kAlphabet[(n >> shift) & 63]);
  }
  return out;
}

std::string make_jwt(std::mt19937& rng, const nlohmann::json& header, const nlohmann::json& payload) {
  return base64url(header.dump()) + "." + base64url(payload.dump()) + "." + random_from(rng, kWordDashChars, 43);
}

TEST(Jwt, DetectedOnlyWithJsonHeaderNamingAlg) {
  std::mt19937 rng(19);
  std::string token = make_jwt(rng, {{"alg", "RS256"}, {"typ", "JWT"}}, {{"sub", "u1"}, {"exp", 1900000000}});
  expect_classified(token, "jwt", 3);
  EXPECT_FALSE(classify_value(make_jwt(rng, {{"typ", "JWT"}}, {{"sub", "u1"}})));  // no alg
  std::string two_parts = token.substr(0, token.rfind('.'));
  EXPECT_FALSE(classify_value(two_parts));
  EXPECT_FALSE(classify_value("eyJ" + random_from(rng, kAlnumChars, 30) + "." + random_from(rng, kAlnumChars, 30) +
                              "." + random_from(rng, kAlnumChars, 30)));  // header is not JSON
  EXPECT_TRUE(scan_text("x" + token).empty());
}

TEST(Jwt, SentenceFullStopIsNotPartOfTheToken) {
  std::mt19937 rng(20);
  std::string token = make_jwt(rng, {{"alg", "HS256"}}, {{"iat", 1700000000}});
  std::string text = "the token was " + token + ". Then";
  std::vector<Detection> found = scan_text(text);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(text.substr(found[0].offset, found[0].length), token);
}

// ---- detection inside realistic text ----

void expect_single_detection(const std::string& text, const std::string& token, std::string_view type) {
  std::vector<Detection> found = scan_text(text);
  ASSERT_EQ(found.size(), 1u) << text;
  EXPECT_EQ(found[0].type, type);
  EXPECT_EQ(text.substr(found[0].offset, found[0].length), token);
}

TEST(ScanText, EverySimpleFormatInHeaderJsonAndEnvLines) {
  std::mt19937 rng(21);
  for (const SimpleFormat& format : simple_formats()) {
    std::string token = sample(rng, format, format.min_body);
    expect_single_detection("GET /v1/models HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: Bearer " + token +
                                "\r\nAccept: */*\r\n\r\n",
                            token, format.type);
    expect_single_detection(R"({"mcpServers":{"gh":{"env":{"KEY":")" + token + R"("}}}})", token, format.type);
    expect_single_detection("# comment\nAPI_KEY=" + token + "\nOTHER=1\n", token, format.type);
    expect_single_detection("key: '" + token + "'\n", token, format.type);
  }
}

TEST(ScanText, StructuredFormatsInText) {
  std::mt19937 rng(22);
  std::string anthropic = anthropic_key(rng);
  expect_single_detection("x-api-key: " + anthropic + "\r\n", anthropic, "anthropic");
  std::string openai = openai_project_key(rng, "sk-proj-", 74);
  expect_single_detection(R"({"OPENAI_API_KEY": ")" + openai + R"("})", openai, "openai");
  std::string slack = slack_bot(rng);
  expect_single_detection("SLACK_BOT_TOKEN=" + slack + "\n", slack, "slack");
  std::string jwt = make_jwt(rng, {{"alg", "ES256"}}, {{"aud", "api"}});
  expect_single_detection("Authorization: Bearer " + jwt + "\r\n", jwt, "jwt");
}

TEST(ScanText, SeveralTokensLeftToRightNonOverlapping) {
  std::mt19937 rng(23);
  std::string gh = github_pat(rng);
  std::string aws = aws_key_id(rng);
  std::string ant = anthropic_key(rng);
  std::string text = "a=" + gh + "&b=" + aws + "&c=" + ant;
  std::vector<Detection> found = scan_text(text);
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0].type, "github_pat");
  EXPECT_EQ(found[1].type, "aws_access_key_id");
  EXPECT_EQ(found[2].type, "anthropic");
  EXPECT_LT(found[0].offset + found[0].length, found[1].offset);
  EXPECT_LT(found[1].offset + found[1].length, found[2].offset);
}

TEST(ScanText, RandomTextHasNoDetections) {
  std::mt19937 rng(24);
  std::string text = random_from(rng, "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJ0123456789.,:;-_/\n", 200000);
  EXPECT_TRUE(scan_text(text).empty());
  EXPECT_TRUE(scan_text("").empty());
  EXPECT_TRUE(scan_text("ghp_").empty());
}

TEST(ClassifyValue, TrimsWhitespaceAndQuotesAndReportsOffset) {
  std::mt19937 rng(25);
  std::string token = github_pat(rng);
  std::optional<Detection> detection = classify_value("  \"" + token + "\"\n");
  ASSERT_TRUE(detection);
  EXPECT_EQ(detection->offset, 3u);
  EXPECT_EQ(detection->length, token.size());
  EXPECT_FALSE(classify_value("token " + token));
  EXPECT_FALSE(classify_value(""));
}

TEST(KnownPrefix, LongestPrefixWins) {
  EXPECT_EQ(known_prefix_length("sk-proj-abc"), 8u);
  EXPECT_EQ(known_prefix_length("sk-ant-api03-abc"), 13u);
  EXPECT_EQ(known_prefix_length("sk-abc"), 3u);
  EXPECT_EQ(known_prefix_length("github_pat_x"), 11u);
  EXPECT_EQ(known_prefix_length("hello"), 0u);
}

}  // namespace
}  // namespace credtrace::secrets
