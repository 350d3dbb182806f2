// The collector's web UI under /ui/ (off unless enabled): its files, reader-token login to a session cookie
// (HttpOnly, Secure, SameSite=Strict), logout with a CSRF token, a strict Content-Security-Policy on every reply, and
// the session check that lets the UI's own pages read the query API.
#pragma once

#include <atomic>
#include <string>

#include "http/auth.h"
#include "http/http_types.h"
#include "ui/ui_sessions.h"

namespace credtrace::collector {

struct UiOptions {
  bool enabled = false;
  bool tls = false;  // served over HTTPS: the origin a same-origin request names
  UiSessionLimits sessions;
};

class UiServer {
 public:
  static constexpr const char* kSessionCookie = "ct_session";

  UiServer(const TokenSet& readers, UiOptions options) : readers_(readers), options_(options), sessions_(options.sessions) {}

  bool enabled() const { return options_.enabled; }
  static bool is_ui_path(const std::string& path) { return path == "/ui" || path.starts_with("/ui/"); }
  // A request under /ui/ (the router sends only those).
  HttpReply handle(const HttpRequest& request);
  // Whether a query API request is the UI's own: a live session cookie, and not sent from another site.
  bool authorizes_query(const HttpRequest& request);
  // Prometheus lines: logins accepted and refused, live, expired and evicted sessions.
  std::string metrics_text() const;

 private:
  HttpReply login(const HttpRequest& request);
  HttpReply logout(const HttpRequest& request);
  HttpReply session(const HttpRequest& request);
  HttpReply asset(const HttpRequest& request, const std::string& name);
  std::optional<UiSessionView> session_of(const HttpRequest& request);
  bool same_origin(const HttpRequest& request) const;

  const TokenSet& readers_;
  UiOptions options_;
  UiSessionBook sessions_;
  std::atomic<uint64_t> logins_accepted_{0}, logins_refused_{0}, cross_site_refused_{0};
};

// The value of cookie `name` in a Cookie header ("a=1; b=2"), or empty.
std::string cookie_value(const std::string& cookie_header, const std::string& name);
// The value of field `name` in an application/x-www-form-urlencoded body (percent and '+' decoded), or nullopt.
std::optional<std::string> form_field(const std::string& body, const std::string& name);

}  // namespace credtrace::collector
