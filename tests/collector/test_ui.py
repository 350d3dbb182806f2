"""End-to-end tests of the collector's web UI (--ui): login to a session cookie, CSRF-safe logout, the
Content-Security-Policy and other headers, the session reading the query API, and a browser run (headless Chromium
driven by puppeteer-core, tests/ui/browser_test.mjs) over a store with credentials, workloads, a tool call, an
alert and stored XSS payloads. Raw secrets appear in no reply, page, screenshot name or log."""
import http.client
import json
import os
import ssl
import subprocess
import time
import unittest

from collector_harness import (READER_TOKEN, Collector, batch_body, fake_github_pat, fake_openai_key, fingerprint,
                               parse_metrics, preview)
from tool_call_scenarios import call, credential, event

HERE = os.path.dirname(os.path.abspath(__file__))
UI_TESTS = os.path.join(HERE, "..", "ui")
ARTIFACTS = os.environ.get("CREDTRACE_UI_ARTIFACTS", os.path.join(HERE, "..", "..", "build", "ui-screenshots"))
XSS_WORKLOAD = '<script>window.__credtrace_xss=1</script>'
XSS_SOURCE = '<img src=x onerror="window.__credtrace_xss=1">'
XSS_HOST = 'javascript:window.__credtrace_xss=1'
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class Reply:
    def __init__(self, response):
        self.status, self.headers, self.body = response.status, response.headers, response.read()


def workload(wid, name, host="host-a"):
    return {"id": wid, "host": host, "exe": "/usr/bin/node", "mcp": {"server_name": name, "client": "claude_code"}}


class UiTest(unittest.TestCase):
    def setUp(self):
        self.collector = Collector(extra_args=["--ui"])
        self.addCleanup(self.collector.cleanup)
        self.collector.start()
        self.secrets = []

    def http(self, method, path, body=None, headers=None):
        """One request without following redirects (urllib would follow the 303s)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.collector.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            return Reply(conn.getresponse())
        finally:
            conn.close()

    def login(self, token=READER_TOKEN, headers=None):
        return self.http("POST", "/ui/login", ("token=" + token).encode(), dict(FORM, **(headers or {})))

    def session_cookie(self):
        reply = self.login()
        self.assertEqual(reply.status, 303)
        return reply.headers["Set-Cookie"].split(";")[0]

    def assert_no_raw_secret(self, *texts):
        for text in texts:
            data = text if isinstance(text, bytes) else text.encode()
            for secret in self.secrets:
                self.assertNotIn(secret.encode(), data)

    def test_login_sets_a_strict_session_cookie_and_logout_needs_the_csrf_token(self):
        reply = self.http("GET", "/ui/")
        self.assertEqual((reply.status, reply.headers["Location"]), (303, "/ui/login.html"))
        refused = self.login("reader-token-wrong")
        self.assertEqual((refused.status, refused.headers["Location"]), (303, "/ui/login.html?failed=1"))
        self.assertIsNone(refused.headers["Set-Cookie"])
        with open(os.path.join(self.collector.dir, "agents")) as f:
            agent_token = f.read().split()[-1]
        self.assertIsNone(self.login(agent_token).headers["Set-Cookie"], "an agent token opened a UI session")

        reply = self.login()
        self.assertEqual((reply.status, reply.headers["Location"]), (303, "/ui/"))
        cookie = reply.headers["Set-Cookie"]
        for attribute in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/"):
            self.assertIn(attribute, cookie.split("; "))
        session = cookie.split(";")[0]
        self.assertRegex(session, r"^ct_session=[0-9a-f]{64}$")
        self.assertEqual(self.http("GET", "/ui/", headers={"Cookie": session}).status, 200)
        self.assertEqual(self.http("GET", "/v1/credentials", headers={"Cookie": session}).status, 200)
        csrf = json.loads(self.http("GET", "/ui/session", headers={"Cookie": session}).body)["csrf_token"]
        self.assertRegex(csrf, r"^[0-9a-f]{64}$")

        # Logout without, or with a wrong, CSRF token is refused; with it the session ends.
        self.assertEqual(self.http("POST", "/ui/logout", b"", dict(FORM, Cookie=session)).status, 403)
        self.assertEqual(self.http("POST", "/ui/logout", b"csrf=" + b"0" * 64, dict(FORM, Cookie=session)).status, 403)
        self.assertEqual(self.http("GET", "/v1/credentials", headers={"Cookie": session}).status, 200)
        reply = self.http("POST", "/ui/logout", ("csrf=" + csrf).encode(), dict(FORM, Cookie=session))
        self.assertEqual((reply.status, reply.headers["Location"]), (303, "/ui/login.html"))
        self.assertIn("Max-Age=0", reply.headers["Set-Cookie"])
        self.assertEqual(self.http("GET", "/v1/credentials", headers={"Cookie": session}).status, 401)
        self.assertEqual(self.http("GET", "/ui/session", headers={"Cookie": session}).status, 401)

        metrics = {(n, tuple(sorted(l.items()))): v for n, l, v in parse_metrics(self.collector.metrics_text())}
        self.assertEqual(metrics[("credtrace_collector_ui_logins_total", (("result", "accepted"),))], 1)
        self.assertEqual(metrics[("credtrace_collector_ui_logins_total", (("result", "refused"),))], 2)
        self.assertNotIn(READER_TOKEN, self.collector.read_log())

    def test_requests_from_another_site_are_refused(self):
        """SameSite=Strict keeps the cookie off cross-site requests in browsers; the collector also refuses what a
        browser marks as sent from another site (a login form posted from elsewhere, a cross-site read)."""
        evil = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
        self.assertEqual(self.login(headers=evil).status, 403)
        self.assertEqual(self.login(headers={"Origin": "null"}).status, 403)
        self.assertEqual(self.login(headers={"Origin": f"http://127.0.0.1:{self.collector.port}",
                                             "Host": f"127.0.0.1:{self.collector.port}",
                                             "Sec-Fetch-Site": "same-origin"}).status, 303)
        session = self.session_cookie()
        self.assertEqual(self.http("GET", "/v1/credentials", headers=dict(evil, Cookie=session)).status, 401)
        self.assertEqual(self.http("GET", "/v1/credentials", headers={"Cookie": session, "Sec-Fetch-Site": "same-site"}).status, 401)
        self.assertEqual(self.http("GET", "/v1/credentials", headers={"Cookie": session, "Sec-Fetch-Site": "same-origin"}).status, 200)

    def test_every_ui_reply_carries_a_strict_content_security_policy(self):
        session = self.session_cookie()
        for path in ("/ui/", "/ui/login.html", "/ui/app.js", "/ui/app.css", "/ui/login.js", "/ui/nothing-here"):
            reply = self.http("GET", path, headers={"Cookie": session})
            csp = reply.headers["Content-Security-Policy"]
            self.assertIsNotNone(csp, path)
            self.assertIn("default-src 'none'", csp)
            self.assertIn("script-src 'self'", csp)
            self.assertIn("frame-ancestors 'none'", csp)
            self.assertNotIn("unsafe-inline", csp)
            self.assertNotIn("unsafe-eval", csp)
            self.assertEqual(reply.headers["X-Content-Type-Options"], "nosniff")
        self.assertEqual(self.http("GET", "/ui/nothing-here").status, 404)
        page = self.http("GET", "/ui/", headers={"Cookie": session}).body.decode()
        self.assertNotIn("<script>", page, "inline script: the CSP would block it")
        self.assertNotIn("http://", page.replace("http://www.w3.org", ""))
        self.assertNotIn("https://", page)
        self.assertEqual(self.http("GET", "/ui/app.js").headers["Content-Type"], "text/javascript; charset=utf-8")

    def test_over_the_collectors_tls(self):
        """With --tls-cert/--tls-key the UI is served over the same HTTPS listener; an https origin is the only
        same-origin one."""
        c = Collector(extra_args=["--ui"])
        self.addCleanup(c.cleanup)
        cert, key = os.path.join(c.dir, "cert.pem"), os.path.join(c.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        c.extra_args += ["--tls-cert", cert, "--tls-key", key]
        c.start()
        self.assertEqual(c.scheme, "https")
        context = ssl.create_default_context(cafile=cert)

        def https(method, path, body=None, headers=None):
            conn = http.client.HTTPSConnection("127.0.0.1", c.port, timeout=30, context=context)
            try:
                conn.request(method, path, body=body, headers=headers or {})
                return Reply(conn.getresponse())
            finally:
                conn.close()

        origin = f"https://127.0.0.1:{c.port}"
        self.assertEqual(https("POST", "/ui/login", ("token=" + READER_TOKEN).encode(),
                               dict(FORM, Origin=f"http://127.0.0.1:{c.port}")).status, 403)  # not this origin
        reply = https("POST", "/ui/login", ("token=" + READER_TOKEN).encode(), dict(FORM, Origin=origin))
        self.assertEqual((reply.status, reply.headers["Location"]), (303, "/ui/"))
        self.assertIn("Secure", reply.headers["Set-Cookie"].split("; "))
        session = reply.headers["Set-Cookie"].split(";")[0]
        self.assertEqual(https("GET", "/ui/", headers={"Cookie": session}).status, 200)
        self.assertEqual(https("GET", "/v1/credentials", headers={"Cookie": session, "Origin": origin}).status, 200)

    def test_the_ui_is_off_unless_enabled(self):
        plain = Collector()
        self.addCleanup(plain.cleanup)
        plain.start()
        conn = http.client.HTTPConnection("127.0.0.1", plain.port, timeout=10)
        conn.request("POST", "/ui/login", body=("token=" + READER_TOKEN).encode(), headers=FORM)
        self.assertEqual(conn.getresponse().status, 404)
        conn.close()
        without_readers = Collector(extra_args=["--ui"])
        self.addCleanup(without_readers.cleanup)
        cmd = [a for a in without_readers.command()]
        index = cmd.index("--reader-tokens")
        del cmd[index:index + 2]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        self.assertEqual(result.returncode, 2)
        self.assertIn("--ui needs --reader-tokens", result.stdout + result.stderr)

    def ingest(self, events, sequence):
        reply = self.collector.ingest(batch_body("agent-ui", sequence, events))
        self.assertEqual(reply.status, 200, reply.body)

    def browser_scenario(self):
        now = int(time.time()) - 3600
        github, slack = workload("wl_github01", "github"), workload("wl_slack01", "slack", host="host-b")
        pat = fake_github_pat()
        self.secrets.append(pat)
        events = []
        # The credential of the graph: from an env var and a config file, used by two servers, to two destinations.
        for i, (w, dest, source) in enumerate([(github, "api.github.com", {"kind": "env", "name": "GITHUB_TOKEN"}),
                                               (slack, "hooks.slack.example", {"kind": "config", "path": "/home/u/.mcp.json", "key": "GITHUB_TOKEN"})]):
            events.append(event("credential_use", w, now + i, credential=credential(pat, "github_pat"), sources=[source],
                                destination={"host": dest, "port": 443, "tls": True},
                                request={"protocol": "h2", "method": "POST", "path": "/repos/o/r/issues",
                                         "carrier": "header:authorization", "scheme": "Bearer"},
                                credential_use={"count": "3"}))
        events.append(call("c0001", now + 5, downstream=[{"credential": credential(pat, "github_pat"),
                                                          "destination": {"host": "api.github.com", "port": 443, "tls": True},
                                                          "pid": 4242}]))
        # More credentials than a page of 25, of two types.
        for i in range(30):
            secret = fake_github_pat() if i % 3 else fake_openai_key()
            self.secrets.append(secret)
            kind = "github_pat" if i % 3 else "openai_api_key"
            events.append(event("credential_use", github, now + 10 + i, credential=credential(secret, kind),
                                sources=[{"kind": "env", "name": "KEY_%d" % i}],
                                destination={"host": "api.example.com", "port": 443, "tls": True},
                                credential_use={"count": str(i + 1)}))
        # Payloads an attacker could get into events: they must show as text.
        xss_secret = fake_openai_key()
        self.secrets.append(xss_secret)
        xss_workload = {"id": "wl_xss01", "host": "host-a", "exe": "/tmp/" + XSS_SOURCE, "mcp": {"server_name": XSS_WORKLOAD}}
        events.append(event("credential_use", xss_workload, now + 50, credential=credential(xss_secret, "xss_probe"),
                            sources=[{"kind": "env", "name": XSS_SOURCE}],
                            destination={"host": XSS_HOST, "port": 443, "tls": True},
                            request={"protocol": "h1", "method": "GET", "path": "/<svg onload=alert(1)>"},
                            credential_use={"count": "1"}))
        self.ingest(events, 1)
        alerts = self.collector.query(f"/v1/alerts?fingerprint={fingerprint(pat)}&kind=shared_key").json()["alerts"]
        self.assertEqual(len(alerts), 1, alerts)
        return {
            "base": f"http://127.0.0.1:{self.collector.port}", "token": READER_TOKEN, "artifacts": ARTIFACTS,
            "previews": [preview(pat), preview(xss_secret)], "filter_type": "openai_api_key", "min_workloads": 3,
            "graph": {
                "fingerprint": fingerprint(pat),
                "nodes": ["source:env: GITHUB_TOKEN", "source:config: /home/u/.mcp.json", "workload:wl_github01",
                          "workload:wl_slack01", "destination:api.github.com:443", "destination:hooks.slack.example:443",
                          "tool:github-mcp-server / create_issue"],
                "edges": [["source:env: GITHUB_TOKEN", "workload:wl_github01"],
                          ["source:config: /home/u/.mcp.json", "workload:wl_slack01"],
                          ["workload:wl_github01", "destination:api.github.com:443"],
                          ["workload:wl_slack01", "destination:hooks.slack.example:443"],
                          ["workload:wl_github01", "tool:github-mcp-server / create_issue"]],
                "tools": ["create_issue"], "min_events": 2, "keyboard_workload": "workload:wl_slack01"},
            "alert": {"id": alerts[0]["id"], "evidence": alerts[0]["evidence_events"], "fingerprint": fingerprint(pat)},
            "xss": {"type": "xss_probe", "fingerprint": fingerprint(xss_secret),
                    "payloads": [XSS_WORKLOAD, XSS_SOURCE, XSS_HOST]},
        }

    def test_in_a_real_browser(self):
        node_modules = os.path.join(UI_TESTS, "node_modules", "puppeteer-core")
        self.assertTrue(os.path.isdir(node_modules), "run scripts/install-deps.sh (npm ci in tests/ui)")
        self.assertTrue(os.path.exists(os.environ.get("CREDTRACE_CHROMIUM", "/usr/bin/chromium")),
                        "run scripts/install-deps.sh (apt chromium)")
        scenario = self.browser_scenario()
        result = subprocess.run(["node", os.path.join(UI_TESTS, "browser_test.mjs"), json.dumps(scenario)],
                                capture_output=True, text=True, timeout=300, cwd=UI_TESTS)
        lines = [l for l in result.stdout.splitlines() if l.startswith("{")]
        report = json.loads(lines[-1]) if lines else {"ok": False, "error": result.stdout + result.stderr}
        print(f"\n[ui browser] checks={len(report.get('checks', []))} page_ms={report.get('page_ms')} "
              f"screenshots={ARTIFACTS}", flush=True)
        self.assertTrue(report.get("ok"), report.get("error", "") + "\n" + result.stderr[-3000:])
        self.assertEqual(result.returncode, 0)
        shots = sorted(os.listdir(ARTIFACTS))
        for name in ("01-login.png", "02-credentials.png", "04-credential.png", "06-alerts.png", "07-alert.png",
                     "08-workloads.png", "09-xss-as-text.png", "10-narrow.png"):
            self.assertIn(name, shots)
        self.assert_no_raw_secret(result.stdout, result.stderr, self.collector.read_log())


if __name__ == "__main__":
    unittest.main()
