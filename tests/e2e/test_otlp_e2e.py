"""End-to-end tests (root) of the agent's OTLP export (otlp.*): a watched MCP server started by a shell script, with
a token in its environment and a curl that sends it over HTTPS, reaches a local OpenTelemetry logs receiver
(tests/otlp/otlp_receiver.py) as OTLP log records (EventName, severity, time, the agent's resource, conventional
attributes); an outage is retried until the receiver is back, the counters are in agent_health; no raw secret in
anything sent."""
import os
import subprocess
import sys
import tempfile
import time

from harness import Agent, AgentTestCase, base_env, fake_github_pat, fingerprint
from tls_server import HttpsServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "otlp"))
from otlp_receiver import OtlpReceiver, free_port  # noqa: E402


class OtlpAgentE2E(AgentTestCase):
    scratch_prefix = "credtrace-otlp-"

    def agent_with_otlp(self, port):
        headers = os.path.join(self.dir, "otlp-headers")
        with open(headers, "w") as f:
            f.write("Authorization: Bearer otel-ingest-key-5b1d\n")
        self.agent = Agent(extra_config=(f"otlp:\n  endpoint: http://127.0.0.1:{port}\n  headers_file: {headers}\n"
                                         "  flush_interval_ms: 100\n  retry_initial_ms: 100\n  retry_max_ms: 500\n"
                                         )).start()
        return self.agent

    def run_server(self, token):
        with HttpsServer() as server:
            path = os.path.join(tempfile.mkdtemp(prefix="credtrace-scripts-", dir=self.dir), "mcp-server-otlp")
            with open(path, "w") as f:
                f.write(f'#!/bin/sh\nsleep 0.5\ncurl -sS --cacert {server.ca} -H "Authorization: Bearer $GITHUB_TOKEN" '
                        f'https://localhost:{server.port}/user >/dev/null\nsleep 1\n')
            os.chmod(path, 0o755)
            proc = subprocess.Popen([path], env=dict(base_env(), GITHUB_TOKEN=token))
            self.assertEqual(proc.wait(timeout=30), 0)
            return server.port

    def test_events_arrive_as_otlp_log_records(self):
        receiver = OtlpReceiver().start()
        self.addCleanup(receiver.stop)
        agent = self.agent_with_otlp(receiver.port)
        token = self.secret(fake_github_pat)
        port = self.run_server(token)
        use = agent.wait_for(lambda e: e["type"] == "credential_use" and e["credential"]["fingerprint"] == fingerprint(token),
                             what="curl's use")
        records = receiver.wait_for(lambda r: any(x["eventName"] == "credtrace.credential_use" for x in r))
        self.assertEqual(receiver.errors, [])
        names = {r["eventName"] for r in records}
        self.assertTrue({"credtrace.agent_ready", "credtrace.mcp_server_start", "credtrace.secret_exposure"} <= names, names)
        record = next(r for r in records if r["eventName"] == "credtrace.credential_use")
        self.assertEqual(record["severityText"], "INFO")
        self.assertEqual(record["resource"]["service.name"], "credtrace-agent")
        self.assertEqual(record["resource"]["service.instance.id"], use["agent_id"])
        self.assertEqual(record["resource"]["host.name"], use["host"])
        a = record["attributes"]
        self.assertEqual(a["credtrace.credential.fingerprint"], fingerprint(token))
        self.assertEqual((a["server.address"], a["server.port"]), ("localhost", port))
        self.assertEqual(a["credtrace.workload.id"], use["workload"]["id"])
        self.assertEqual(a["credtrace.mcp.server.name"], "mcp-server-otlp")
        self.assertEqual(os.path.basename(a["process.executable.path"]), "curl")
        self.assertTrue(all(h.get("Authorization") == "Bearer otel-ingest-key-5b1d" for _, h in receiver.requests))
        sent = b"".join(receiver.raw)
        self.assertNotIn(token.encode(), sent)
        health = agent.wait_for(lambda e: e["type"] == "agent_health"
                                and int(e["agent_health"]["sensors"].get("otlp_records_sent", 0)) >= len(records),
                                what="otlp counters in agent_health")
        self.assertEqual(int(health["agent_health"]["sensors"]["otlp_records_dropped"]), 0)
        self.assertNotIn(b"otel-ingest-key-5b1d", agent.all_output())

    def test_an_outage_is_retried_until_the_receiver_is_back(self):
        port = free_port()
        agent = self.agent_with_otlp(port)
        token = self.secret(fake_github_pat)
        self.run_server(token)
        agent.wait_for(lambda e: e["type"] == "agent_health"
                       and int(e["agent_health"]["sensors"].get("otlp_send_failures", 0)) >= 2, what="failed sends")
        receiver = OtlpReceiver(port=port).start()
        self.addCleanup(receiver.stop)
        records = receiver.wait_for(lambda r: any(x["eventName"] == "credtrace.credential_use" for x in r))
        self.assertIn("credtrace.agent_ready", {r["eventName"] for r in records})
        self.assertNotIn(token.encode(), b"".join(receiver.raw))


if __name__ == "__main__":
    import unittest
    unittest.main()
