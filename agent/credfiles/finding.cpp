// Format names for findings and patterns (stable strings used in scan output and configuration).
#include "credfiles/finding.h"

#include <array>
#include <utility>

namespace credtrace::credfiles {
namespace {

constexpr std::array<std::pair<Format, std::string_view>, 11> kFormatNames = {{
    {Format::ini, "ini"},
    {Format::json, "json"},
    {Format::yaml, "yaml"},
    {Format::dotenv, "dotenv"},
    {Format::pem, "pem"},
    {Format::netrc, "netrc"},
    {Format::npmrc, "npmrc"},
    {Format::git_credentials, "git_credentials"},
    {Format::token, "token"},
    {Format::text, "text"},
    {Format::mcp_config, "mcp_config"},
}};

}  // namespace

std::string_view format_name(Format format) {
  for (const auto& [known, name] : kFormatNames) {
    if (known == format) return name;
  }
  return "text";
}

std::optional<Format> parse_format(std::string_view name) {
  for (const auto& [format, known] : kFormatNames) {
    if (known == name) return format;
  }
  return std::nullopt;
}

}  // namespace credtrace::credfiles
