// The collector's web UI under /ui/: files, login/logout, security headers, and the session check for the query API.
#include "ui/ui_server.h"

#include <openssl/crypto.h>

#include "logging/log.h"
#include "ui/ui_assets.h"

namespace credtrace::collector {
namespace {

// Scripts, styles and data from the collector itself only; no inline script or style, no framing, no plugins.
constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

void add_security_headers(HttpReply& reply) {
  reply.headers.emplace_back("Content-Security-Policy", kContentSecurityPolicy);
  reply.headers.emplace_back("X-Content-Type-Options", "nosniff");
  reply.headers.emplace_back("X-Frame-Options", "DENY");
  // same-origin, not no-referrer: with no-referrer a browser sends "Origin: null" on the login form's POST.
  reply.headers.emplace_back("Referrer-Policy", "same-origin");
  reply.headers.emplace_back("Cache-Control", "no-store");
  reply.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
  reply.headers.emplace_back("Cross-Origin-Resource-Policy", "same-origin");
}

HttpReply redirect(const std::string& location) {
  HttpReply reply;
  reply.status = 303;
  reply.content_type = "text/plain; charset=utf-8";
  reply.body = "see " + location + "\n";
  reply.headers.emplace_back("Location", location);
  return reply;
}

std::string session_cookie(const std::string& value, bool clear) {
  std::string cookie = std::string(UiServer::kSessionCookie) + "=" + value + "; Path=/; HttpOnly; Secure; SameSite=Strict";
  if (clear) cookie += "; Max-Age=0";
  return cookie;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string form_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%' && i + 2 < text.size() && hex_digit(text[i + 1]) >= 0 && hex_digit(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_digit(text[i + 1]) * 16 + hex_digit(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

}  // namespace

std::string cookie_value(const std::string& cookie_header, const std::string& name) {
  std::string_view rest = cookie_header;
  while (!rest.empty()) {
    size_t end = rest.find(';');
    std::string_view pair = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return std::string(pair.substr(eq + 1));
  }
  return {};
}

std::optional<std::string> form_field(const std::string& body, const std::string& name) {
  std::string_view rest = body;
  while (!rest.empty()) {
    size_t end = rest.find('&');
    std::string_view pair = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    size_t eq = pair.find('=');
    if (form_decode(pair.substr(0, eq)) != name) continue;
    return eq == std::string_view::npos ? std::string() : form_decode(pair.substr(eq + 1));
  }
  return std::nullopt;
}

// A browser says where a request comes from (Sec-Fetch-Site, Origin); a request from another site, or from an
// opaque origin, is refused. A client that sends neither (curl, an API client) is not a browser a page could steer.
bool UiServer::same_origin(const HttpRequest& request) const {
  const std::string site = request.header("sec-fetch-site");
  if (!site.empty() && site != "same-origin" && site != "none") return false;
  const std::string origin = request.header("origin");
  if (origin.empty()) return true;
  return origin == std::string(options_.tls ? "https://" : "http://") + request.header("host");
}

std::optional<UiSessionView> UiServer::session_of(const HttpRequest& request) {
  const std::string id = cookie_value(request.header("cookie"), kSessionCookie);
  if (id.empty()) return std::nullopt;
  return sessions_.use(id);
}

bool UiServer::authorizes_query(const HttpRequest& request) {
  if (!options_.enabled || request.header("cookie").empty()) return false;
  if (!same_origin(request)) {
    cross_site_refused_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  return session_of(request).has_value();
}

HttpReply UiServer::login(const HttpRequest& request) {
  if (!same_origin(request)) {
    cross_site_refused_.fetch_add(1, std::memory_order_relaxed);
    return error_reply(403, "login refused: the form was not sent from this collector's own page");
  }
  std::optional<std::string> token = form_field(request.body, "token");
  const bool accepted = token && !token->empty() && readers_.contains(*token);
  if (token) OPENSSL_cleanse(token->data(), token->size());
  if (!accepted) {
    logins_refused_.fetch_add(1, std::memory_order_relaxed);
    log::warn("web UI login refused: not a reader token");
    return redirect("/ui/login.html?failed=1");
  }
  std::string id = sessions_.open();
  if (id.empty()) return error_reply(503, "no random bytes for a session id");
  logins_accepted_.fetch_add(1, std::memory_order_relaxed);
  HttpReply reply = redirect("/ui/");
  reply.headers.emplace_back("Set-Cookie", session_cookie(id, false));
  OPENSSL_cleanse(id.data(), id.size());
  return reply;
}

HttpReply UiServer::logout(const HttpRequest& request) {
  const std::string id = cookie_value(request.header("cookie"), kSessionCookie);
  std::optional<UiSessionView> live = id.empty() ? std::nullopt : sessions_.use(id);
  if (!live) return redirect("/ui/login.html");
  std::string sent = request.header("x-csrf-token");
  if (sent.empty()) sent = form_field(request.body, "csrf").value_or("");
  if (!same_origin(request) || !same_secret(sent, live->csrf_token))
    return error_reply(403, "logout refused: missing or wrong CSRF token");
  sessions_.close(id);
  HttpReply reply = redirect("/ui/login.html");
  reply.headers.emplace_back("Set-Cookie", session_cookie("", true));
  return reply;
}

HttpReply UiServer::session(const HttpRequest& request) {
  std::optional<UiSessionView> live = session_of(request);
  if (!live) return error_reply(401, "not logged in");
  HttpReply reply;
  reply.body = R"({"csrf_token":")" + live->csrf_token + R"("})";
  return reply;
}

HttpReply UiServer::asset(const HttpRequest& request, const std::string& name) {
  const UiAsset* file = find_ui_asset(name);
  if (!file) return error_reply(404, "no such page: /ui/" + name);
  if (name == "index.html" && !session_of(request)) return redirect("/ui/login.html");
  HttpReply reply;
  reply.content_type = std::string(file->content_type);
  reply.body = std::string(file->bytes);
  return reply;
}

HttpReply UiServer::handle(const HttpRequest& request) {
  HttpReply reply;
  const std::string name = request.path.size() > 4 ? request.path.substr(4) : "";
  if (!options_.enabled) {
    reply = error_reply(404, "the web UI is off (start the collector with --ui)");
  } else if (request.path == "/ui") {
    reply = redirect("/ui/");
  } else if (name == "login" || name == "logout") {
    reply = request.method != "POST" ? error_reply(405, "use POST") : name == "login" ? login(request) : logout(request);
  } else if (request.method != "GET" && request.method != "HEAD") {
    reply = error_reply(405, "use GET");
  } else if (name == "session") {
    reply = session(request);
  } else {
    reply = asset(request, name.empty() ? "index.html" : name);
  }
  add_security_headers(reply);
  return reply;
}

std::string UiServer::metrics_text() const {
  if (!options_.enabled) return {};
  std::string out;
  out += "# HELP credtrace_collector_ui_logins_total Web UI logins by result.\n";
  out += "# TYPE credtrace_collector_ui_logins_total counter\n";
  out += "credtrace_collector_ui_logins_total{result=\"accepted\"} " + std::to_string(logins_accepted_.load()) + "\n";
  out += "credtrace_collector_ui_logins_total{result=\"refused\"} " + std::to_string(logins_refused_.load()) + "\n";
  out += "# HELP credtrace_collector_ui_cross_site_refused_total UI requests refused as sent from another site.\n";
  out += "# TYPE credtrace_collector_ui_cross_site_refused_total counter\n";
  out += "credtrace_collector_ui_cross_site_refused_total " + std::to_string(cross_site_refused_.load()) + "\n";
  out += "# HELP credtrace_collector_ui_sessions Live web UI sessions.\n";
  out += "# TYPE credtrace_collector_ui_sessions gauge\n";
  out += "credtrace_collector_ui_sessions " + std::to_string(sessions_.live()) + "\n";
  out += "# HELP credtrace_collector_ui_sessions_ended_total Sessions ended by expiry or evicted past the limit.\n";
  out += "# TYPE credtrace_collector_ui_sessions_ended_total counter\n";
  out += "credtrace_collector_ui_sessions_ended_total{reason=\"expired\"} " + std::to_string(sessions_.expired()) + "\n";
  out += "credtrace_collector_ui_sessions_ended_total{reason=\"evicted\"} " + std::to_string(sessions_.evicted()) + "\n";
  return out;
}

}  // namespace credtrace::collector
