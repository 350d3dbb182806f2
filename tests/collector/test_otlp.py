"""End-to-end tests of the collector's OTLP export (otlp.* / --otlp-endpoint): every stored event reaches a local
OpenTelemetry logs receiver (tests/otlp/otlp_receiver.py) as an OTLP log record with EventName, severity, time,
resource attributes (host.name, service.name, k8s.*) and the conventional event attributes; a duplicate batch is not
exported twice; an outage is retried until the receiver is back, a slow receiver never holds up ingest, the queue is
bounded and what it drops is counted, a refusal is counted; no raw secret in anything sent."""
import json
import os
import sys
import time
import unittest

from collector_harness import Collector, batch_body, fake_github_pat, fake_openai_key, fingerprint, parse_metrics
from tool_call_scenarios import GITHUB, call, credential, event

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "otlp"))
from otlp_receiver import OtlpReceiver, free_port  # noqa: E402

API_KEY = "otlp-test-key-" + "7f3a9c"
POD = {"id": "wl_pod01", "host": "node-7", "exe": "/usr/bin/node",
       "kubernetes": {"namespace": "agents", "pod": "mcp-github-5d9f", "pod_uid": "0b6c1e2a-uid", "container": "mcp"},
       "container": {"runtime": "containerd", "id": "c0ffee"}, "mcp": {"server_name": "github", "transport": "stdio"}}


class OtlpExportTest(unittest.TestCase):
    def setUp(self):
        self.secrets = []

    def collector(self, port, **settings):
        c = Collector()
        self.addCleanup(c.cleanup)
        headers = os.path.join(c.dir, "otlp-headers")
        with open(headers, "w") as f:
            f.write(f"# the receiver's key\nX-Api-Key: {API_KEY}\n")
        config = {"endpoint": f"http://127.0.0.1:{port}", "headers_file": headers, "flush_interval_ms": 100,
                  "retry_initial_ms": 100, "retry_max_ms": 400, "timeout_ms": 2000}
        config.update(settings)
        path = os.path.join(c.dir, "collector.yaml")
        with open(path, "w") as f:
            f.write("otlp:\n" + "".join(f"  {k}: {v}\n" for k, v in config.items()))
        c.extra_args += ["--config", path]
        return c.start()

    def events(self, n=0):
        pat, key = fake_github_pat(), fake_openai_key()
        self.secrets += [pat, key]
        now = int(time.time()) - 60
        self.event_seconds = now
        use = event("credential_use", POD, now, credential=credential(pat, "github_pat"),
                    sources=[{"kind": "env", "name": "GITHUB_TOKEN"}],
                    destination={"host": "api.github.com", "ip": "140.82.112.6", "port": 443, "tls": True,
                                 "address_source": "connect", "sni": "api.github.com"},
                    request={"protocol": "h2", "method": "POST", "path": "/repos/o/r/issues",
                             "carrier": "header:authorization", "scheme": "Bearer"},
                    credential_use={"count": "2"},
                    tool_call={"call": {"call_id": "c0001", "jsonrpc_id": "7", "method": "tools/call",
                                        "tool": "create_issue", "server_name": "github-mcp-server"}})
        tool_call = call("c0001", now + 1)
        session = event("mcp_session", GITHUB, now - 1, mcp_session={
            "transport": "stdio", "session_id": "s-1", "protocol_version": "2025-06-18", "client_name": "claude-code",
            "server_name": "github-mcp-server", "side": "server"})
        relayed = event("token_passthrough", GITHUB, now + 2, credential=credential(key, "openai"),
                        destination={"host": "api.partner.example", "port": 443, "tls": True},
                        token_passthrough={"received_carrier": "header:authorization", "received_port": 8931})
        filler = [event("credential_use", GITHUB, now + 3 + i, credential=credential(pat, "github_pat"),
                        credential_use={"count": "1"}) for i in range(n)]
        return [use, tool_call, session, relayed] + filler

    def metrics(self, c):
        return {name: value for name, labels, value in parse_metrics(c.metrics_text())
                if name.startswith("credtrace_collector_otlp_")}

    def assert_no_raw_secret(self, receiver, c):
        sent = b"".join(receiver.raw)
        for secret in self.secrets:
            self.assertNotIn(secret.encode(), sent)
            self.assertNotIn(secret, c.read_log())
        self.assertNotIn(API_KEY, c.read_log())

    def test_stored_events_arrive_as_otlp_log_records(self):
        receiver = OtlpReceiver().start()
        self.addCleanup(receiver.stop)
        c = self.collector(receiver.port)
        events = self.events()
        self.assertEqual(c.ingest(batch_body("agent-otlp", 1, events)).status, 200)
        records = receiver.wait_for(lambda r: len(r) >= 4)
        self.assertEqual(receiver.errors, [])
        by_name = {r["eventName"]: r for r in records}
        self.assertEqual(set(by_name), {"credtrace.credential_use", "credtrace.mcp_tool_call", "credtrace.mcp_session",
                                        "credtrace.token_passthrough"})
        use = by_name["credtrace.credential_use"]
        self.assertEqual((use["severityNumber"], use["severityText"]), (9, "INFO"))
        self.assertEqual(by_name["credtrace.token_passthrough"]["severityText"], "WARN")
        self.assertEqual(int(use["timeUnixNano"]), self.event_seconds * 1_000_000_000)
        resource = use["resource"]
        self.assertEqual(resource["service.name"], "credtrace-collector")
        self.assertEqual(resource["host.name"], "host-a")
        self.assertEqual((resource["k8s.namespace.name"], resource["k8s.pod.name"], resource["k8s.pod.uid"],
                          resource["k8s.container.name"], resource["container.id"]),
                         ("agents", "mcp-github-5d9f", "0b6c1e2a-uid", "mcp", "c0ffee"))
        self.assertNotIn("k8s.pod.name", by_name["credtrace.mcp_session"]["resource"])  # not a pod: not claimed
        a = use["attributes"]
        self.assertEqual((a["server.address"], a["server.port"], a["network.peer.address"]),
                         ("api.github.com", 443, "140.82.112.6"))
        self.assertEqual((a["http.request.method"], a["url.path"], a["network.protocol.version"]),
                         ("POST", "/repos/o/r/issues", "2"))
        self.assertEqual((a["mcp.method.name"], a["gen_ai.tool.name"], a["jsonrpc.request.id"]), ("tools/call", "create_issue", "7"))
        self.assertEqual(a["credtrace.credential.fingerprint"], events[0]["credential"]["fingerprint"])
        self.assertEqual(a["credtrace.sources"], ["env:GITHUB_TOKEN"])
        self.assertEqual(a["credtrace.use.count"], 2)
        self.assertEqual(a["credtrace.agent.id"], "agent-otlp")
        tool = by_name["credtrace.mcp_tool_call"]["attributes"]
        self.assertEqual((tool["mcp.method.name"], tool["gen_ai.tool.name"], tool["mcp.session.id"],
                          tool["mcp.protocol.version"], tool["network.transport"]),
                         ("tools/call", "create_issue", "s-1", "2025-06-18", "pipe"))
        self.assertEqual(by_name["credtrace.mcp_session"]["attributes"]["mcp.session.id"], "s-1")
        self.assertIn('"credential_use"', use["body"]["stringValue"])  # the event itself, as proto3 JSON
        self.assertTrue(all(h.get("X-Api-Key") == API_KEY for _, h in receiver.requests))
        # The same batch again (an agent's retry) is stored once and exported once.
        self.assertTrue(c.ingest(batch_body("agent-otlp", 1, events)).json()["duplicate"])
        time.sleep(1)
        self.assertEqual(len(receiver.records), 4)
        m = self.metrics(c)
        self.assertEqual(m["credtrace_collector_otlp_records_sent_total"], 4)
        self.assertEqual(m["credtrace_collector_otlp_records_dropped_total"], 0)
        self.assert_no_raw_secret(receiver, c)

    def test_an_outage_is_retried_until_the_receiver_is_back(self):
        port = free_port()
        c = self.collector(port)
        self.assertEqual(c.ingest(batch_body("agent-otlp", 1, self.events())).status, 200)
        deadline = time.time() + 10
        while self.metrics(c)["credtrace_collector_otlp_send_failures_total"] < 2 and time.time() < deadline:
            time.sleep(0.1)
        self.assertGreaterEqual(self.metrics(c)["credtrace_collector_otlp_send_failures_total"], 2, c.read_log())
        receiver = OtlpReceiver(port=port, fail_first=2, fail_status=503, retry_after=1).start()  # back, still busy
        self.addCleanup(receiver.stop)
        receiver.wait_for(lambda r: len(r) >= 4)
        statuses = [s for s, _ in receiver.requests]
        self.assertEqual(statuses[:2], [503, 503])
        self.assertEqual(len(receiver.records), 4, "a retried batch was delivered twice")
        m = self.metrics(c)
        self.assertEqual((m["credtrace_collector_otlp_records_sent_total"], m["credtrace_collector_otlp_records_dropped_total"]), (4, 0))
        self.assert_no_raw_secret(receiver, c)

    def test_a_slow_receiver_never_holds_up_ingest_and_the_queue_is_bounded(self):
        # Each attempt waits 4 s for a reply that takes 6: an ingest that waited for the export would take 4 s or more.
        receiver = OtlpReceiver(delay=6.0).start()
        self.addCleanup(receiver.stop)
        c = self.collector(receiver.port, timeout_ms=4000, max_queue_records=50, batch_max_records=20)
        for sequence in range(1, 6):
            started = time.time()
            self.assertEqual(c.ingest(batch_body("agent-otlp", sequence, self.events(36))).status, 200)
            self.assertLess(time.time() - started, 2.5, "ingest waited for the OTLP receiver")
        deadline = time.time() + 15
        while time.time() < deadline:
            m = self.metrics(c)
            if m["credtrace_collector_otlp_send_failures_total"] >= 1 and m["credtrace_collector_otlp_records_dropped_total"] > 0:
                break
            time.sleep(0.1)
        m = self.metrics(c)
        self.assertGreaterEqual(m["credtrace_collector_otlp_send_failures_total"], 1)  # timed out, retried
        self.assertGreaterEqual(m["credtrace_collector_otlp_records_dropped_total"], 200 - 50 - 20)
        self.assertLessEqual(m["credtrace_collector_otlp_queue_records"], 50)
        self.assertEqual(m["credtrace_collector_otlp_records_sent_total"], 0)

    def test_refused_records_are_counted_not_retried(self):
        receiver = OtlpReceiver(fail_first=1000, fail_status=400).start()
        self.addCleanup(receiver.stop)
        c = self.collector(receiver.port)
        self.assertEqual(c.ingest(batch_body("agent-otlp", 1, self.events())).status, 200)
        deadline = time.time() + 10
        while self.metrics(c)["credtrace_collector_otlp_records_rejected_total"] < 4 and time.time() < deadline:
            time.sleep(0.1)
        m = self.metrics(c)
        self.assertEqual(m["credtrace_collector_otlp_records_rejected_total"], 4)
        self.assertEqual(m["credtrace_collector_otlp_send_failures_total"], 0)
        sent = sum(len(r["logRecords"]) for body in receiver.raw for rl in json.loads(body)["resourceLogs"]
                   for r in rl["scopeLogs"])
        self.assertEqual(sent, 4, "a refused record was sent again")
        partial = OtlpReceiver(reject=1).start()
        self.addCleanup(partial.stop)
        c2 = self.collector(partial.port)
        self.assertEqual(c2.ingest(batch_body("agent-otlp", 1, self.events())).status, 200)
        partial.wait_for(lambda r: len(r) >= 4)
        deadline = time.time() + 5
        while (sum(self.metrics(c2)[f"credtrace_collector_otlp_records_{k}_total"] for k in ("sent", "rejected")) < 4
               and time.time() < deadline):
            time.sleep(0.1)
        m = self.metrics(c2)
        accepted = sum(1 for status, _ in partial.requests if status == 200)  # each says it rejected one record
        self.assertEqual((m["credtrace_collector_otlp_records_sent_total"], m["credtrace_collector_otlp_records_rejected_total"]),
                         (4 - accepted, accepted))

    def test_bad_settings_are_refused_at_start(self):
        c = Collector(extra_args=["--otlp-endpoint", "http://otel.example:4318"])
        self.addCleanup(c.cleanup)
        c.start(expect_ready=False)
        self.assertEqual(c.wait_exit(), 2)
        self.assertIn("plain http only on loopback", c.read_log())


if __name__ == "__main__":
    unittest.main()
