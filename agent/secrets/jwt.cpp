// JWT decoding (header alg, exp/iat/nbf/iss/sub/aud claims) with nlohmann_json, exception-free.
#include "secrets/jwt.h"

#include <array>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "secrets/base64url.h"

namespace credtrace::secrets {
namespace {

using nlohmann::json;

constexpr size_t kMaxTokenLength = 64 * 1024;  // bounds decoding work; real JWTs are a few KiB

std::optional<std::array<std::string_view, 3>> split_three_parts(std::string_view token) {
  size_t first_dot = token.find('.');
  if (first_dot == std::string_view::npos) return std::nullopt;
  size_t second_dot = token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos || token.find('.', second_dot + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  std::array<std::string_view, 3> parts = {token.substr(0, first_dot),
                                           token.substr(first_dot + 1, second_dot - first_dot - 1),
                                           token.substr(second_dot + 1)};
  if (parts[0].empty() || parts[1].empty()) return std::nullopt;
  return parts;
}

std::optional<json> decode_json_object(std::string_view part) {
  std::optional<std::string> text = detail::base64url_decode(part);
  if (!text) return std::nullopt;
  json parsed = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) return std::nullopt;
  return parsed;
}

std::string string_claim(const json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

std::optional<int64_t> integer_claim(const json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end()) return std::nullopt;
  if (it->is_number_unsigned()) {
    uint64_t value = it->get<uint64_t>();
    if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(value);
  }
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_number_float()) {
    double value = it->get<double>();
    constexpr double kLimit = 9.2e18;  // inside int64 range, so the cast below is defined
    if (!std::isfinite(value) || value > kLimit || value < -kLimit) return std::nullopt;
    return static_cast<int64_t>(value);
  }
  return std::nullopt;
}

std::vector<std::string> audience_claim(const json& object) {
  std::vector<std::string> audiences;
  auto it = object.find("aud");
  if (it == object.end()) return audiences;
  if (it->is_string()) audiences.push_back(it->get<std::string>());
  if (it->is_array()) {
    for (const json& entry : *it) {
      if (entry.is_string()) audiences.push_back(entry.get<std::string>());
    }
  }
  return audiences;
}

}  // namespace

std::optional<JwtClaims> decode_jwt(std::string_view token) {
  if (token.size() > kMaxTokenLength) return std::nullopt;
  std::optional<std::array<std::string_view, 3>> parts = split_three_parts(token);
  if (!parts) return std::nullopt;
  std::optional<json> header = decode_json_object((*parts)[0]);
  if (!header) return std::nullopt;
  std::optional<json> payload = decode_json_object((*parts)[1]);
  if (!payload) return std::nullopt;
  JwtClaims claims;
  claims.alg = string_claim(*header, "alg");
  claims.exp = integer_claim(*payload, "exp");
  claims.iat = integer_claim(*payload, "iat");
  claims.nbf = integer_claim(*payload, "nbf");
  claims.iss = string_claim(*payload, "iss");
  claims.sub = string_claim(*payload, "sub");
  claims.aud = audience_claim(*payload);
  return claims;
}

}  // namespace credtrace::secrets
