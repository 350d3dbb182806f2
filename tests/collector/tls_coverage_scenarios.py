"""Workload TLS coverage scenarios through the real collector (shared by the SQLite, PostgreSQL and CLI e2e tests):
mcp_server_start and tls_coverage events set a workload's TLS state, the latest by event time; an older report
arriving later, and the (maybe stale) Workload copies of other events, leave it alone. /v1/workloads shows it and
filters by it."""
import time

from collector_harness import batch_body, fake_github_pat, use_event

AGENT = "agent-tls"
LIBSSL = "/usr/lib/x86_64-linux-gnu/libssl.so.3"
SERVER_BINARY = "/opt/mcp/bin/github-mcp-server"
OPENSSL = {"implementation": "openssl", "file": LIBSSL, "version": "", "probed": True, "reason": ""}
RUSTLS = {"implementation": "rustls", "file": SERVER_BINARY, "version": "", "probed": False,
          "reason": "unsupported: rustls"}
GO_TLS = {"implementation": "go crypto/tls", "file": "/opt/mcp/bin/slack-mcp", "version": "go1.25.1", "probed": False,
          "reason": "signature mismatch: crypto/tls.(*Conn).Write"}

# wl_tls_github: start (openssl) then partial (openssl + rustls), then an older report and credential uses arrive.
# wl_tls_plain: credential uses only (unknown). wl_tls_none: none_found. wl_tls_slack: one batch holding a newer
# not_covered report before an older start (the batch's latest by time wins, not its last).
GITHUB, PLAIN, NONE, SLACK = "wl_tls_github", "wl_tls_plain", "wl_tls_none", "wl_tls_slack"
EXPECTED = {GITHUB: ("partial", [OPENSSL, RUSTLS]), PLAIN: ("unknown", []), NONE: ("none_found", []),
            SLACK: ("not_covered", [GO_TLS])}


def at(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def workload(workload_id, server, coverage="", tls=()):
    """A Workload as the agent exports it; tls entries get probe points when probed (the collector drops them)."""
    w = {"id": workload_id, "host": "host-tls", "exe": "/usr/bin/node", "pid": 4100,
         "mcp": {"server_name": server, "client": "claude_code", "transport": "stdio"}}
    if coverage:
        w["tls_coverage"] = coverage
        w["tls"] = [dict(t, probes=["SSL_write", "SSL_read"] if t["probed"] else []) for t in tls]
    return w


def tls_event(kind, w, seconds):
    """mcp_server_start or tls_coverage: the workload's union in event.workload, the process's list in the detail."""
    detail = {"tls": w.get("tls", []), "tls_coverage": w.get("tls_coverage", "")}
    return {"type": kind, "time": at(seconds), "host": "host-tls", "workload": w, kind: detail,
            "process": {"pid": w["pid"], "exe": w["exe"]}}


def credential_use(secret, w, seconds):
    ev = use_event(secret, "github_pat", w["id"], host="host-tls", seconds=seconds)
    ev["workload"] = w
    return ev


def batches(pat):
    """The scenario's batches (their credential uses of `pat`), to ingest in order as sequences 1, 2, ..."""
    base = time.time() - 600
    github = lambda coverage="", tls=(): workload(GITHUB, "github", coverage, tls)  # noqa: E731
    slack = lambda coverage, tls: workload(SLACK, "slack", coverage, tls)  # noqa: E731
    return [
        [tls_event("mcp_server_start", github("covered", [OPENSSL]), base),
         tls_event("mcp_server_start", workload(NONE, "filesystem", "none_found"), base),
         credential_use(pat, workload(PLAIN, "plain"), base)],
        [tls_event("tls_coverage", github("partial", [OPENSSL, RUSTLS]), base + 20)],
        [tls_event("tls_coverage", github("covered", [OPENSSL]), base + 10)],  # older: must not win
        [credential_use(pat, github(), base + 30),  # the copy of a workload without TLS fields
         credential_use(pat, github("covered", [OPENSSL]), base + 31)],  # a stale copy
        [tls_event("tls_coverage", slack("not_covered", [GO_TLS]), base + 50),
         tls_event("mcp_server_start", slack("covered", [OPENSSL]), base + 40)],
    ]


class TlsCoverageScenarios:
    """Mixin: needs self.make_collector() returning a new (not started) Collector on its own database."""

    def setUp(self):
        self.collector = self.make_collector().start()
        for sequence, events in enumerate(batches(fake_github_pat()), start=1):
            reply = self.collector.ingest(batch_body(AGENT, sequence, events))
            self.assertEqual(reply.status, 200, reply.body)

    def tearDown(self):
        self.collector.cleanup()

    def workloads(self, query=""):
        reply = self.collector.query("/v1/workloads" + query)
        self.assertEqual(reply.status, 200, reply.body)
        return {w["id"]: w for w in reply.json()["workloads"]}

    def test_latest_tls_report_by_event_time_wins(self):
        listed = self.workloads()
        self.assertEqual(set(listed), set(EXPECTED))
        for workload_id, (coverage, tls) in EXPECTED.items():
            w = listed[workload_id]
            self.assertEqual((w["tls_coverage"], w["tls"]), (coverage, tls), workload_id)
            # the detail agrees with the stored state, never with a stale copy; probe points are not kept
            self.assertEqual(w["workload"].get("tls_coverage", "unknown"), coverage, workload_id)
            self.assertEqual(len(w["workload"].get("tls", [])), len(tls), workload_id)
            self.assertFalse(any("probes" in t for t in w["workload"].get("tls", [])), workload_id)
        github = listed[GITHUB]
        self.assertEqual((github["events"], github["credentials"]), (5, 1))

    def test_filter_by_tls_coverage(self):
        for coverage in ("covered", "partial", "not_covered", "none_found", "unknown"):
            expected = {w for w, (c, _) in EXPECTED.items() if c == coverage}
            self.assertEqual(set(self.workloads("?tls_coverage=" + coverage)), expected, coverage)
        self.assertEqual(set(self.workloads("?tls_coverage=partial&host=host-tls")), {GITHUB})
        self.assertEqual(set(self.workloads("?tls_coverage=partial&host=elsewhere")), set())
        self.assertEqual(set(self.workloads("?tls_coverage=")), set(EXPECTED))  # empty: no filter, as elsewhere
        for bad in ("bogus", "Partial"):
            reply = self.collector.query("/v1/workloads?tls_coverage=" + bad)
            self.assertEqual(reply.status, 400, (bad, reply.body))
            self.assertIn(f"'{bad}'", reply.json()["error"])

    def test_state_survives_a_restart(self):
        self.collector.stop()
        self.collector.start()
        self.assertEqual(self.workloads("?tls_coverage=partial")[GITHUB]["tls"], [OPENSSL, RUSTLS])
