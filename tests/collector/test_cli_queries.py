"""End-to-end tests of `credtrace credentials|uses|alerts|calls|workloads`: the real CLI against a real collector on loopback."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import unittest

from collector_harness import (READER_TOKEN, Collector, batch_body, fake_github_pat, fake_openai_key, fingerprint,
                               health_event, preview, use_event)

HERE = os.path.dirname(os.path.abspath(__file__))
CLI = os.environ.get("CREDTRACE_CLI", os.path.join(HERE, "../../build/credtrace"))


def free_closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CliRunner:
    """Runs the CLI against cls.collector (started by start_collector) with a reader token file."""

    @classmethod
    def start_collector(cls, events):
        cls.dir = tempfile.mkdtemp(prefix="credtrace-cli-")
        cls.token_file = os.path.join(cls.dir, "reader-token")
        with open(cls.token_file, "w") as f:
            f.write("# reader token for the test\n" + READER_TOKEN + "\n")
        cls.collector = Collector().start()
        reply = cls.collector.ingest(batch_body("agent-1", 1, events))
        assert reply.status == 200, reply.body
        cls.url = f"http://127.0.0.1:{cls.collector.port}"
        cls.outputs = []

    @classmethod
    def tearDownClass(cls):
        cls.collector.cleanup()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def run_cli(self, *args, env=None, flags=True, token_file=None):
        environ = {k: v for k, v in os.environ.items() if not k.startswith("CREDTRACE_")}
        environ.update(env or {})
        cmd = [CLI] + list(args)
        if flags:
            cmd += ["--collector", self.url, "--token-file", token_file or self.token_file]
        p = subprocess.run(cmd, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        out, err = p.stdout.decode(), p.stderr.decode()
        self.outputs.append(out + err)
        return p.returncode, out, err

    def ok(self, *args, **kwargs):
        rc, out, err = self.run_cli(*args, **kwargs)
        self.assertEqual(rc, 0, err)
        return out, err


class CliQueryTest(CliRunner, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pat, cls.openai = fake_github_pat(), fake_openai_key()
        cls.secrets = [cls.pat, cls.openai, READER_TOKEN]
        # A host name with terminal escapes (C0 and C1): tables must mask them.
        plain = use_event(cls.openai, "openai", "wl-a", host="evil\x1b]0;title\x07\u009b31m", dest="api.plain.example",
                          env="OPENAI_API_KEY")
        plain["destination"] = {"host": "api.plain.example", "port": 80, "tls": False}
        events = [use_event(cls.pat, "github_pat", "wl-a"),
                  use_event(cls.pat, "github_pat", "wl-b", host="host-b"),  # shared_key: two workloads, two hosts
                  plain, health_event()]
        events += [use_event(cls.pat, "github_pat", "wl-a", count=i + 2) for i in range(4)]
        named_port = use_event(cls.pat, "github_pat", "wl-a")  # the Host header already names the port
        named_port["destination"] = {"host": "localhost:8443", "ip": "127.0.0.1", "port": 8443, "tls": True}
        unknown_port = use_event(cls.pat, "github_pat", "wl-a")  # address not observed: port 0
        unknown_port["destination"] = {"host": "api.unknown-port.example", "port": 0, "tls": True}
        events += [named_port, unknown_port]
        cls.uses = sum(1 for e in events if e["type"] == "credential_use")
        cls.start_collector(events)

    def test_credentials_table_shows_fingerprints_and_previews(self):
        out, _ = self.ok("credentials")
        self.assertIn("FINGERPRINT", out.splitlines()[0])
        for secret, kind in ((self.pat, "github_pat"), (self.openai, "openai")):
            line = next(l for l in out.splitlines() if fingerprint(secret) in l)
            self.assertIn(preview(secret), line)
            self.assertIn(kind, line)

    def test_credentials_json_and_detail(self):
        out, _ = self.ok("credentials", "--json")
        data = json.loads(out)
        self.assertEqual({c["fingerprint"] for c in data["credentials"]}, {fingerprint(self.pat), fingerprint(self.openai)})
        self.assertIsNone(data["next_cursor"])
        detail = json.loads(self.ok("credentials", fingerprint(self.pat), "--json")[0])
        self.assertEqual(detail["fingerprint"], fingerprint(self.pat))
        self.assertEqual({w["id"] for w in detail["workloads"]}, {"wl-a", "wl-b"})
        text = self.ok("credentials", fingerprint(self.pat).upper())[0]
        self.assertIn(preview(self.pat), text)
        self.assertIn("wl-b", text)
        self.assertIn("api.github.com:443", text)
        rc, _, err = self.run_cli("credentials", "0" * 64)
        self.assertEqual(rc, 2)
        self.assertIn("404", err)
        rc, _, err = self.run_cli("credentials", "not-a-fingerprint")
        self.assertEqual(rc, 2)
        self.assertIn("64 hex digits", err)

    def test_uses_paging_follows_next_cursor_with_all(self):
        first = json.loads(self.ok("uses", "--limit", "2", "--json")[0])
        self.assertEqual(len(first["events"]), 2)
        self.assertIsNotNone(first["next_cursor"])
        everything = json.loads(self.ok("uses", "--limit", "2", "--all", "--json")[0])
        ids = [e["id"] for e in everything["events"]]
        self.assertEqual(len(ids), self.uses)
        self.assertEqual(len(set(ids)), self.uses)
        self.assertIsNone(everything["next_cursor"])
        self.assertTrue(all(e["type"] == "credential_use" for e in everything["events"]))
        api = self.collector.query("/v1/events?type=credential_use&limit=1000").json()["events"]
        self.assertEqual(sorted(ids), sorted(e["id"] for e in api))
        # A table page says how to continue; --cursor continues.
        out, err = self.ok("uses", "--limit", "2")
        self.assertEqual(len(out.splitlines()), 3)
        self.assertIn("--cursor " + first["next_cursor"], err)
        rest = json.loads(self.ok("uses", "--limit", "1000", "--cursor", first["next_cursor"], "--json")[0])
        self.assertEqual(len(rest["events"]), self.uses - 2)
        table = self.ok("uses", "--all", "--limit", "3")[0]
        self.assertEqual(len(table.splitlines()), 1 + self.uses)
        self.assertIn("api.plain.example:80 (plain)", table)
        self.assertIn("localhost:8443 ", table)
        self.assertNotIn("localhost:8443:8443", table)
        self.assertIn("api.unknown-port.example ", table)
        self.assertNotIn("api.unknown-port.example:0", table)
        self.assertIn(preview(self.openai), table)
        self.assertIn("evil?]0;title??31m", table)
        for text in (out, err, table):
            self.assertFalse(any(ord(ch) < 0x20 and ch != "\n" or 0x7f <= ord(ch) <= 0x9f for ch in text), repr(text))

    def test_uses_filter_by_fingerprint(self):
        data = json.loads(self.ok("uses", "--fingerprint", fingerprint(self.openai), "--json")[0])
        self.assertEqual([e["credential"]["fingerprint"] for e in data["events"]], [fingerprint(self.openai)])

    def test_alerts_table_and_json(self):
        out, _ = self.ok("alerts")
        self.assertIn("shared_key", out)
        self.assertIn("plain_http", out)
        self.assertIn(fingerprint(self.pat), out)
        shared = next(l for l in out.splitlines() if "shared_key" in l)
        self.assertIn("2 workloads, 2 hosts", shared)
        data = json.loads(self.ok("alerts", "--json", "--all", "--limit", "1")[0])
        kinds = {a["kind"] for a in data["alerts"]}
        self.assertEqual(kinds, {"shared_key", "plain_http"})
        only = json.loads(self.ok("alerts", "--kind", "plain_http", "--json")[0])["alerts"]
        self.assertEqual([(a["kind"], a["fingerprint"]) for a in only], [("plain_http", fingerprint(self.openai))])

    def test_environment_variables(self):
        env = {"CREDTRACE_COLLECTOR": self.url, "CREDTRACE_TOKEN": READER_TOKEN}
        self.assertIn(fingerprint(self.pat), self.ok("credentials", env=env, flags=False)[0])
        env = {"CREDTRACE_COLLECTOR": self.url + "/", "CREDTRACE_TOKEN_FILE": self.token_file}
        self.assertIn("shared_key", self.ok("alerts", env=env, flags=False)[0])
        # A flag wins over the environment.
        env = {"CREDTRACE_COLLECTOR": "http://127.0.0.1:1", "CREDTRACE_TOKEN": "wrong"}
        self.assertIn("plain_http", self.ok("alerts", env=env)[0])
        rc, _, err = self.run_cli("alerts", flags=False)
        self.assertEqual(rc, 2)
        self.assertIn("CREDTRACE_COLLECTOR", err)
        rc, _, err = self.run_cli("alerts", "--collector", self.url, flags=False)
        self.assertEqual(rc, 2)
        self.assertIn("token", err)

    def test_wrong_token_exits_2(self):
        self.wrong_token_file = os.path.join(self.dir, "wrong-token")
        with open(self.wrong_token_file, "w") as f:
            f.write("reader-token-wrong\n")
        for command in ("credentials", "uses", "alerts"):
            rc, out, err = self.run_cli(command, token_file=self.wrong_token_file)
            self.assertEqual(rc, 2)
            self.assertEqual(out, "")
            self.assertIn("401", err)
            self.assertIn("token", err)
            self.assertNotIn("reader-token-wrong", err)
        rc, _, err = self.run_cli("alerts", env={"CREDTRACE_COLLECTOR": self.url, "CREDTRACE_TOKEN": "nope"}, flags=False)
        self.assertEqual(rc, 2)
        self.assertIn("401", err)

    def test_unreachable_collector_exits_2(self):
        url = f"http://127.0.0.1:{free_closed_port()}"
        rc, out, err = self.run_cli("uses", "--collector", url, "--token-file", self.token_file, flags=False)
        self.assertEqual(rc, 2)
        self.assertEqual(out, "")
        self.assertIn("cannot reach the collector at " + url, err)
        rc, _, err = self.run_cli("alerts", "--collector", "http://collector.example:8787", "--token-file",
                                  self.token_file, flags=False)
        self.assertEqual(rc, 2)
        self.assertIn("plain http", err)
        rc, _, err = self.run_cli("alerts", "--token-file", self.token_file, flags=False,
                                  env={"CREDTRACE_COLLECTOR": "/usr/bin/credtrace-collector"})
        self.assertEqual(rc, 2)
        self.assertIn("http://", err)

    def test_zz_no_raw_secret_in_any_output(self):
        self.ok("credentials", fingerprint(self.openai))
        self.ok("uses", "--all", "--json")
        self.ok("alerts", "--json")
        self.assertGreater(len(self.outputs), 3)
        for text in self.outputs:
            for secret in self.secrets:
                self.assertNotIn(secret, text)


class CliWorkloadNameTest(CliRunner, unittest.TestCase):
    """--workload takes a workload's id or one of its human names; a name takes every workload it names."""

    @classmethod
    def setUpClass(cls):
        cls.pat, cls.openai = fake_github_pat(), fake_openai_key()
        pay_a = use_event(cls.pat, "github_pat", "wl-pay-a")
        pay_a["workload"].update({"mcp": {"server_name": "payments"}, "systemd": {"unit": "payments.service"}})
        pay_b = use_event(cls.pat, "github_pat", "wl-pay-b", host="host-b")
        pay_b["workload"]["mcp"] = {"server_name": "payments"}
        pod = use_event(cls.openai, "openai", "wl-pod", dest="api.openai.com", env="OPENAI_API_KEY")
        pod["workload"].update({"mcp": {}, "kubernetes": {"namespace": "prod", "pod": "api-0"}})
        cls.start_collector([pay_a, pay_b, pod])

    def workloads_of_uses(self, workload):
        return sorted(e["workload"]["id"] for e in json.loads(self.ok("uses", "--workload", workload, "--json")[0])["events"])

    def test_uses_by_name_id_and_unit(self):
        self.assertEqual(self.workloads_of_uses("payments"), ["wl-pay-a", "wl-pay-b"])
        self.assertEqual(self.workloads_of_uses("wl-pay-b"), ["wl-pay-b"])
        self.assertEqual(self.workloads_of_uses("payments.service"), ["wl-pay-a"])
        self.assertEqual(self.workloads_of_uses("prod/api-0"), ["wl-pod"])
        self.assertEqual(self.workloads_of_uses("nobody"), [])
        table = self.ok("uses", "--workload", "payments")[0]
        self.assertIn("wl-pay-a", table)
        self.assertIn("wl-pay-b", table)
        self.assertNotIn("wl-pod", table)

    def test_credentials_and_alerts_by_name(self):
        creds = json.loads(self.ok("credentials", "--workload", "api-0", "--json")[0])["credentials"]
        self.assertEqual([c["fingerprint"] for c in creds], [fingerprint(self.openai)])
        alerts = json.loads(self.ok("alerts", "--workload", "payments", "--kind", "shared_key", "--json")[0])["alerts"]
        self.assertEqual([a["fingerprint"] for a in alerts], [fingerprint(self.pat)])
        self.assertEqual(json.loads(self.ok("alerts", "--workload", "api-0", "--kind", "shared_key", "--json")[0])["alerts"], [])


class CliCallsTest(CliRunner, unittest.TestCase):
    """`credtrace calls`: MCP tool calls with the credentials tied to each, filtered like GET /v1/tool-calls."""

    @classmethod
    def setUpClass(cls):
        import tool_call_scenarios as t
        cls.pat = fake_github_pat()
        cls.secrets = [cls.pat, READER_TOKEN]
        now = 1767322800
        use = use_event(cls.pat, "github_pat", t.GITHUB["id"], seconds=now)
        use["workload"] = t.GITHUB
        use["toolCall"] = {"call": t.ref("c0001")}
        downstream = [{"credential": t.credential(cls.pat, "github_pat"), "ambiguous": True}]
        cls.start_collector([use, t.call("c0001", now + 1, downstream=downstream),
                             t.call("c0002", now + 2, tool="search", outcome="jsonrpc_error", error_code="-32602"),
                             t.call("c0003", now + 3, tool="slow", outcome="no_answer", no_answer="timeout",
                                    workload=t.SLACK, server_name="")])

    def calls(self, *args):
        return [c["call_id"] for c in json.loads(self.ok("calls", "--json", *args)[0])["tool_calls"]]

    def test_calls_table(self):
        table = self.ok("calls")[0]
        lines = table.splitlines()
        self.assertTrue(lines[0].startswith("TIME"))
        for column in ("SERVER", "CLIENT", "TOOL", "OUTCOME", "DURATION", "CREDENTIALS", "CALL ID"):
            self.assertIn(column, lines[0])
        self.assertIn("c0003", lines[1])  # newest first
        self.assertIn("no_answer (timeout)", table)
        self.assertIn("jsonrpc_error -32602", table)
        self.assertIn("42.0 ms", table)
        self.assertIn(preview(self.pat) + " (credential_use, downstream?)", table)  # one credential, two ties

    def test_calls_filters_and_paging(self):
        self.assertEqual(self.calls(), ["c0003", "c0002", "c0001"])
        self.assertEqual(self.calls("--tool", "search"), ["c0002"])
        self.assertEqual(self.calls("--server", "slack"), ["c0003"])
        self.assertEqual(self.calls("--workload", "github", "--client", "claude-code"), ["c0002", "c0001"])
        self.assertEqual(self.calls("--fingerprint", fingerprint(self.pat).upper()), ["c0001"])
        self.assertEqual(self.calls("--outcome", "no_answer"), ["c0003"])
        self.assertEqual(self.calls("--since", "1767322802", "--until", "2026-01-02T03:00:03Z"), ["c0002"])
        self.assertEqual(self.calls("--limit", "1", "--all"), ["c0003", "c0002", "c0001"])
        out, err = self.ok("calls", "--limit", "1")
        self.assertIn("--cursor", err)

    def test_calls_bad_filters_exit_2(self):
        for args in (("--outcome", "bogus"), ("--fingerprint", "abc"), ("--since", "yesterday"), ("--limit", "0")):
            rc, _, err = self.run_cli("calls", *args)
            self.assertEqual(rc, 2, args)
            self.assertTrue(err, args)

    def test_calls_help_names_every_filter(self):
        rc, out, _ = self.run_cli("calls", "--help", flags=False)
        self.assertEqual(rc, 0)
        for flag in ("--server", "--tool", "--client", "--workload", "--fingerprint", "--outcome", "--since", "--until",
                     "--collector", "--token-file", "--json", "--all"):
            self.assertIn(flag, out)

    def test_credential_detail_lists_its_calls(self):
        out = self.ok("credentials", fingerprint(self.pat))[0]
        self.assertIn("tool calls (2):", out)
        self.assertIn("downstream (ambiguous)", out)
        self.assertIn("c0001", out)
        detail = json.loads(self.ok("credentials", fingerprint(self.pat), "--json")[0])
        self.assertEqual([c["call_id"] for c in detail["tool_calls"]], ["c0001", "c0001"])

    def test_zz_no_raw_secret_in_any_output(self):
        self.ok("calls", "--all", "--json")
        for text in self.outputs:
            for secret in self.secrets:
                self.assertNotIn(secret, text)


class CliWorkloadsTest(CliRunner, unittest.TestCase):
    """`credtrace workloads`: each workload's TLS coverage (tls_coverage_scenarios), filtered like GET /v1/workloads."""

    @classmethod
    def setUpClass(cls):
        import tls_coverage_scenarios as t
        cls.t = t
        cls.pat = fake_github_pat()
        cls.secrets = [cls.pat, READER_TOKEN]
        batches = t.batches(cls.pat)
        cls.start_collector(batches[0])
        for sequence, events in enumerate(batches[1:], start=2):
            reply = cls.collector.ingest(batch_body(t.AGENT, sequence, events))
            assert reply.status == 200, reply.body

    def row(self, table, name):
        return next(line for line in table.splitlines() if line.startswith(name + " "))

    def test_workloads_table(self):
        table = self.ok("workloads")[0]
        header = table.splitlines()[0].split("  ")
        self.assertEqual([h.strip() for h in header if h.strip()],
                         ["NAME", "HOST", "TLS", "TLS DETAIL", "EVENTS", "CREDENTIALS", "LAST SEEN", "ID"])
        github = self.row(table, "github")
        self.assertIn(" partial ", github)
        self.assertIn("openssl probed; rustls not probed (unsupported: rustls)", github)
        self.assertIn(self.t.GITHUB, github)
        self.assertIn(" unknown ", self.row(table, "plain"))  # never blank
        self.assertIn(" none_found ", self.row(table, "filesystem"))
        self.assertIn("go crypto/tls go1.25.1 not probed (signature mismatch: crypto/tls.(*Conn).Write)",
                      self.row(table, "slack"))

    def test_workloads_json_and_filter(self):
        data = json.loads(self.ok("workloads", "--json")[0])
        self.assertIsNone(data["next_cursor"])
        by_id = {w["id"]: w for w in data["workloads"]}
        for workload_id, (coverage, tls) in self.t.EXPECTED.items():
            self.assertEqual((by_id[workload_id]["tls_coverage"], by_id[workload_id]["tls"]), (coverage, tls))
        for coverage in ("covered", "partial", "not_covered", "none_found", "unknown"):
            listed = json.loads(self.ok("workloads", "--json", "--tls-coverage", coverage)[0])["workloads"]
            expected = {w for w, (c, _) in self.t.EXPECTED.items() if c == coverage}
            self.assertEqual({w["id"] for w in listed}, expected, coverage)
        only = self.ok("workloads", "--tls-coverage", "not_covered", "--host", "host-tls")[0].splitlines()
        self.assertEqual(len(only), 2)
        self.assertTrue(only[1].startswith("slack "))
        self.assertEqual(len(self.ok("workloads", "--host", "elsewhere")[0].splitlines()), 1)  # the header only
        paged = json.loads(self.ok("workloads", "--json", "--limit", "1", "--all")[0])["workloads"]
        self.assertEqual(len(paged), len(self.t.EXPECTED))

    def test_workloads_bad_filter_exits_2(self):
        rc, _, err = self.run_cli("workloads", "--tls-coverage", "bogus")
        self.assertEqual(rc, 2)
        self.assertIn("bogus", err)
        rc, out, _ = self.run_cli("workloads", "--help", flags=False)
        self.assertEqual(rc, 0)
        for flag in ("--host", "--workload", "--tls-coverage", "--json", "--all"):
            self.assertIn(flag, out)

    def test_zz_no_raw_secret_in_any_output(self):
        self.ok("workloads", "--all", "--json")
        for text in self.outputs:
            for secret in self.secrets:
                self.assertNotIn(secret, text)


if __name__ == "__main__":
    unittest.main()
