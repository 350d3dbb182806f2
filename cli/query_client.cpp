// Query API client: endpoint and token resolution, URL checks, one libcurl GET per page, reply classification.
#include "query_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/url.h"

namespace credtrace::cli {
namespace {

using common::host_of;
using common::is_loopback_host;

constexpr size_t kMaxReplyBytes = 64u << 20;  // a page of 1000 events is a few MB

size_t collect_body(char* data, size_t size, size_t count, void* user) {
  auto* out = static_cast<std::string*>(user);
  size_t n = size * count;
  if (out->size() + n > kMaxReplyBytes) return 0;
  out->append(data, n);
  return n;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? std::string(value) : std::string();
}

std::string trim(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  size_t first = 0;
  while (first < text.size() && std::isspace(static_cast<unsigned char>(text[first]))) ++first;
  return text.substr(first);
}

bool read_token_file(const std::string& path, std::string& token, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read the token file " + path;
    return false;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  token.clear();
  std::string line;
  while (std::getline(buffer, line)) {  // the first line that is neither blank nor a # comment
    line = trim(line);
    if (!line.empty() && line[0] != '#') {
      token = line;
      break;
    }
  }
  if (token.empty()) error = "the token file " + path + " holds no token";
  return !token.empty();
}

bool valid_token(const std::string& token) {
  return std::all_of(token.begin(), token.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f; });
}

std::string check_url(const std::string& url) {
  size_t sep = url.find("://");
  std::string scheme = sep == std::string::npos ? "" : lower(url.substr(0, sep));
  if (scheme != "http" && scheme != "https") return "collector URL must start with http:// or https:// (got '" + url + "')";
  std::string host = lower(host_of(url));
  if (host.empty()) return "collector URL has no host";
  if (scheme == "http" && !is_loopback_host(host))
    return "collector URL uses plain http to " + host + "; use https (plain http only on loopback)";
  return {};
}

// The collector's {"error": "..."} text, else the start of the body.
std::string reply_error(const std::string& body) {
  nlohmann::json parsed = nlohmann::json::parse(body, nullptr, false);
  if (parsed.is_object() && parsed.contains("error") && parsed["error"].is_string())
    return parsed["error"].get<std::string>();
  std::string text = body.substr(0, 200);
  for (char& c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return text;
}

}  // namespace

bool resolve_endpoint(const std::string& url_flag, const std::string& token_file_flag, const std::string& ca_flag,
                      long timeout_seconds, QueryEndpoint& endpoint, std::string& error) {
  endpoint.url = url_flag.empty() ? env("CREDTRACE_COLLECTOR") : url_flag;
  if (endpoint.url.empty()) {
    error = "no collector given: use --collector URL or set CREDTRACE_COLLECTOR";
    return false;
  }
  if (std::string problem = check_url(endpoint.url); !problem.empty()) {
    error = problem;
    return false;
  }
  while (!endpoint.url.empty() && endpoint.url.back() == '/') endpoint.url.pop_back();
  if (!token_file_flag.empty()) {
    if (!read_token_file(token_file_flag, endpoint.token, error)) return false;
  } else if (std::string token = trim(env("CREDTRACE_TOKEN")); !token.empty()) {
    endpoint.token = token;
  } else if (std::string file = env("CREDTRACE_TOKEN_FILE"); !file.empty()) {
    if (!read_token_file(file, endpoint.token, error)) return false;
  } else {
    error = "no reader token given: use --token-file F or set CREDTRACE_TOKEN or CREDTRACE_TOKEN_FILE";
    return false;
  }
  if (!valid_token(endpoint.token)) {
    error = "the reader token holds spaces or control characters";
    return false;
  }
  endpoint.ca_file = ca_flag.empty() ? env("CREDTRACE_COLLECTOR_CA") : ca_flag;
  endpoint.timeout_seconds = timeout_seconds;
  return true;
}

std::unique_ptr<QueryClient> QueryClient::create(QueryEndpoint endpoint, std::string& error) {
  if (std::string problem = check_url(endpoint.url); !problem.empty()) {
    error = problem;
    return nullptr;
  }
  static const bool initialised = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  if (!initialised) {
    error = "cannot initialise libcurl";
    return nullptr;
  }
  std::unique_ptr<QueryClient> client(new QueryClient(std::move(endpoint)));
  if (!client->curl_) {
    error = "cannot create a libcurl handle";
    return nullptr;
  }
  return client;
}

QueryClient::QueryClient(QueryEndpoint endpoint) : endpoint_(std::move(endpoint)), curl_(curl_easy_init()) {}

QueryClient::~QueryClient() {
  std::fill(endpoint_.token.begin(), endpoint_.token.end(), '\0');
  if (curl_) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

std::string QueryClient::url_for(const std::string& path, const QueryParams& params) {
  CURL* curl = static_cast<CURL*>(curl_);
  std::string url = endpoint_.url + path;
  char sep = '?';
  for (const auto& [name, value] : params) {
    if (value.empty()) continue;
    char* escaped = curl_easy_escape(curl, value.c_str(), static_cast<int>(value.size()));
    if (!escaped) continue;
    url += sep + name + "=" + escaped;
    curl_free(escaped);
    sep = '&';
  }
  return url;
}

QueryReply QueryClient::get(const std::string& path, const QueryParams& params) {
  QueryReply result;
  try {
    CURL* curl = static_cast<CURL*>(curl_);
    curl_easy_reset(curl);
    std::string url = url_for(path, params);
    std::string body;
    std::string authorization = "Authorization: Bearer " + endpoint_.token;
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(nullptr, curl_slist_free_all);
    for (const char* h : {"Accept: application/json", authorization.c_str()}) {
      curl_slist* next = curl_slist_append(headers.get(), h);
      if (!next) {
        result.error = "out of memory";
        return result;
      }
      headers.release();
      headers.reset(next);
    }
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, std::min(endpoint_.timeout_seconds, 10L));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, endpoint_.timeout_seconds);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    // Loopback (the only place plain http may go) never through a proxy from http_proxy/ALL_PROXY: it would carry
    // the reader token in clear text off the host.
    if (is_loopback_host(host_of(endpoint_.url))) curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);  // never hand the token to another server
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!endpoint_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, endpoint_.ca_file.c_str());
    CURLcode rc = curl_easy_perform(curl);
    headers.reset();
    std::fill(authorization.begin(), authorization.end(), '\0');
    if (rc != CURLE_OK) {
      result.error = "cannot reach the collector at " + endpoint_.url + ": " + curl_easy_strerror(rc);
      return result;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.http_status);
    if (result.http_status == 401) {
      result.error = "the collector refused the reader token (401: " + reply_error(body) +
                     "); check --token-file, CREDTRACE_TOKEN or CREDTRACE_TOKEN_FILE";
      return result;
    }
    if (result.http_status == 403) {
      result.error = "the collector refused the query (403: " + reply_error(body) +
                     "); is it started with --reader-tokens?";
      return result;
    }
    if (result.http_status != 200) {
      result.error = "the collector answered " + std::to_string(result.http_status) + ": " + reply_error(body);
      return result;
    }
    result.body = nlohmann::json::parse(body, nullptr, false);
    if (!result.body.is_object()) {
      result.error = "the collector's reply to " + path + " is not a JSON object";
      return result;
    }
    result.ok = true;
  } catch (const std::exception& e) {
    result.ok = false;
    result.error = std::string("internal error: ") + e.what();
  }
  return result;
}

}  // namespace credtrace::cli
