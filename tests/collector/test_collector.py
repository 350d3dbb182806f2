"""End-to-end tests of credtrace-collector: a real server process, real SQLite, HTTP from urllib (the same scenarios
run on PostgreSQL in test_postgres.py).

Covers ingest and replay (stored once), bad input (garbage, truncated, oversized, decompression bomb, wrong or
missing token), SIGKILL mid-stream and restart with every sequence stored exactly once, the query API with paging,
TLS and the loopback rule, that no raw test secret reaches the database, each agent's last health on /metrics
(newest wins over replays and refused batches, odd label values escaped, empty after a restart), and agent
authentication by client certificate (mTLS, --client-ca): trusted, foreign, expired, not yet valid and wrong-purpose
certificates, tokens alongside, certificates only, readers still needing reader tokens, configuration errors, and (as
root, with CREDTRACE_AGENT set: ctest collector_mtls_agent_e2e) the real agent delivering with a certificate and no
token."""
import collections
import hashlib
import http.client
import os
import random
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import zlib

from collector_harness import (AGENT_TOKEN, READER_TOKEN, CertAuthority, Collector, batch_body, encode,
                               fake_github_pat, fake_openai_key, fingerprint, full_health_event, health_event,
                               parse_metrics, preview, tls_context, use_event)

HERE = os.path.dirname(os.path.abspath(__file__))


def all_pages(collector, path, key, limit):
    """Follows next_cursor to the end; returns every item."""
    items, cursor, pages = [], None, 0
    while True:
        sep = "&" if "?" in path else "?"
        url = f"{path}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        reply = collector.query(url)
        assert reply.status == 200, reply.body
        body = reply.json()
        items += body[key]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            return items, pages


class CollectorScenarios:
    """Mixin of the end-to-end scenarios; make_collector(extra_args) picks the database (SQLite here, PostgreSQL in
    test_postgres.py)."""

    def setUp(self):
        self.collector = self.make_collector().start()

    def tearDown(self):
        self.collector.cleanup()

    def test_ingest_replay_and_queries(self):
        c = self.collector
        pat, openai = fake_github_pat(), fake_openai_key()
        batches = {
            1: [use_event(pat, "github_pat", "wl-github", count=3), health_event()],
            2: [use_event(pat, "github_pat", "wl-other", host="host-b", dest="evil.example", count=2)],
            3: [use_event(openai, "openai", "wl-github", dest="api.openai.com", env="OPENAI_API_KEY")] * 5,
        }
        for seq, events in batches.items():
            r = c.ingest(batch_body("agent-1", seq, events))
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(r.json(), {"agent_id": "agent-1", "sequence": str(seq), "accepted": len(events),
                                        "duplicate": False})
        replay = c.ingest(batch_body("agent-1", 2, batches[2]))
        self.assertEqual(replay.status, 200)
        self.assertTrue(replay.json()["duplicate"])
        self.assertEqual(replay.json()["accepted"], 1)
        # the same sequence from another agent is another batch
        self.assertFalse(c.ingest(batch_body("agent-2", 2, [health_event("host-z")])).json()["duplicate"])
        # protobuf ack when JSON is not asked for
        ack = c.ingest(batch_body("agent-1", 4, [health_event()]), accept=None)
        self.assertEqual(ack.status, 200)
        self.assertEqual(ack.headers["Content-Type"], "application/x-protobuf")
        self.assertIn(b"agent-1", ack.body)

        events, pages = all_pages(c, "/v1/events", "events", 2)
        self.assertEqual(len(events), 2 + 1 + 5 + 1 + 1)  # the replay added nothing
        self.assertEqual(pages, 5)
        ids = [e["id"] for e in events]
        self.assertEqual(ids, sorted(ids, reverse=True))
        self.assertEqual(len(set(ids)), len(ids))
        uses = c.query("/v1/events?type=credential_use&workload=wl-github").json()["events"]
        self.assertEqual(len(uses), 6)
        self.assertEqual(len(c.query(f"/v1/events?fingerprint={fingerprint(pat)}").json()["events"]), 2)
        self.assertEqual(len(c.query("/v1/events?host=host-b").json()["events"]), 1)
        self.assertEqual(len(c.query("/v1/events?since=2000-01-01T00:00:00Z&until=2001-01-01T00:00:00Z").json()["events"]), 0)
        self.assertEqual(c.query("/v1/events?limit=0").status, 400)
        self.assertEqual(c.query("/v1/events?bogus=1").status, 400)

        creds = {x["fingerprint"]: x for x in c.query("/v1/credentials").json()["credentials"]}
        self.assertEqual(set(creds), {fingerprint(pat), fingerprint(openai)})
        gh = c.query(f"/v1/credentials/{fingerprint(pat)}").json()
        self.assertEqual(gh["type"], "github_pat")
        self.assertEqual(gh["preview"], preview(pat))
        self.assertEqual(gh["counts"], {"uses": 5, "exposures": 0, "events": 2})
        self.assertEqual(sorted(w["id"] for w in gh["workloads"]), ["wl-github", "wl-other"])
        self.assertEqual(sorted(h["host"] for h in gh["hosts"]), ["host-a", "host-b"])
        self.assertEqual(sorted(d["host"] for d in gh["destinations"]), ["api.github.com", "evil.example"])
        self.assertEqual(gh["sources"][0]["name"], "GITHUB_TOKEN")
        self.assertLessEqual(gh["first_seen"], gh["last_seen"])
        self.assertEqual(c.query(f"/v1/credentials/{'0' * 64}").status, 404)
        self.assertEqual(c.query("/v1/credentials/not-a-fingerprint").status, 400)
        only_other = c.query("/v1/credentials?workload=wl-other").json()["credentials"]
        self.assertEqual([x["fingerprint"] for x in only_other], [fingerprint(pat)])
        paged, pages = all_pages(c, "/v1/credentials", "credentials", 1)
        self.assertEqual((len(paged), pages), (2, 2))

        workloads = {w["id"]: w for w in c.query("/v1/workloads").json()["workloads"]}
        self.assertEqual(set(workloads), {"wl-github", "wl-other"})
        self.assertEqual(workloads["wl-github"]["credentials"], 2)
        self.assertEqual(workloads["wl-github"]["name"], "wl-github-server")

        # readers need a reader token; agent tokens do not read, reader tokens do not ingest
        self.assertEqual(c.query("/v1/credentials", token=None).status, 401)
        self.assertEqual(c.query("/v1/credentials", token=AGENT_TOKEN).status, 401)
        self.assertEqual(c.ingest(batch_body("agent-1", 9, [health_event()]), token=READER_TOKEN).status, 401)
        self.assertEqual(c.request("GET", "/healthz").json(), {"status": "ok"})
        m = c.metrics()
        self.assertEqual(m["credtrace_collector_ingest_batches_total"], 5)
        self.assertEqual(m["credtrace_collector_ingest_duplicates_total"], 1)
        self.assertEqual(m["credtrace_collector_ingest_events_total"], 10)

    def test_bad_input_is_refused_and_server_keeps_serving(self):
        self.collector.cleanup()
        self.collector = self.make_collector(["--max-body-bytes", "65536", "--max-decompressed-bytes", "1048576"]).start()
        c = self.collector
        secret = fake_github_pat()
        good = encode("agent-1", 1, [use_event(secret, "github_pat", "wl-1")] * 20)
        cases = [
            ("garbage", os.urandom(4000), "deflate", 400, "compressed"),
            ("garbage uncompressed", os.urandom(4000), None, 400, "IngestBatch"),
            ("empty", b"", "deflate", 400, "truncated"),
            ("truncated", zlib.compress(good)[:-9], "deflate", 400, "truncated"),
            ("trailing bytes", zlib.compress(good) + b"xyz", "deflate", 400, "after the end"),
            ("oversized", os.urandom(70000), "deflate", 413, "--max-body-bytes"),
            ("bomb", zlib.compress(b"\0" * (64 << 20), 9), "deflate", 413, "--max-decompressed-bytes"),
            ("encoding", zlib.compress(good), "br", 415, "Content-Encoding"),
            ("raw secret as fingerprint",
             zlib.compress(encode("agent-1", 7, [dict(use_event(secret, "github_pat", "wl-1"),
                                                      credential={"type": "github_pat", "fingerprint": secret})])),
             "deflate", 400, "event 0"),
            ("no agent id", zlib.compress(encode("", 8, [health_event()])), "deflate", 400, "agent_id"),
        ]
        for name, body, encoding, status, words in cases:
            with self.subTest(name):
                if name == "bomb":
                    self.assertLess(len(body), 65536)  # passes the compressed cap, fails while inflating
                r = c.ingest(body, encoding=encoding)
                self.assertEqual(r.status, status, r.body)
                self.assertIn(words, r.json()["error"])
        self.assertEqual(c.ingest(zlib.compress(good), token="wrong-token").status, 401)
        r = c.ingest(zlib.compress(good), token=None)
        self.assertEqual((r.status, r.headers.get("WWW-Authenticate")), (401, "Bearer"))
        # a chunked body (no Content-Length) past the cap is discarded and answered 413
        conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=30)
        chunks = (os.urandom(16384) for _ in range(8))
        conn.request("POST", "/v1/ingest", body=chunks, encode_chunked=True,
                     headers={"Authorization": "Bearer " + AGENT_TOKEN, "Content-Encoding": "deflate"})
        self.assertEqual(conn.getresponse().status, 413)
        conn.close()
        # gzip and identity encodings are accepted too, and the server still serves
        self.assertEqual(c.ingest(zlib.compress(good)).status, 200)
        gz = zlib.compressobj(wbits=31)
        self.assertEqual(c.ingest(gz.compress(encode("agent-1", 2, [health_event()])) + gz.flush(), encoding="gzip").status, 200)
        self.assertEqual(c.ingest(encode("agent-1", 3, [health_event()]), encoding=None).status, 200)
        self.assertEqual(c.request("GET", "/healthz").status, 200)
        m = c.metrics()
        rejects = {k.split('"')[1]: v for k, v in m.items() if k.startswith("credtrace_collector_ingest_rejects_total")}
        self.assertEqual(rejects["unauthorized"], 2)
        self.assertEqual(rejects["bad_compression"], 4)
        self.assertEqual(rejects["body_too_large"], 2)
        self.assertEqual(rejects["decompressed_too_large"], 1)
        self.assertEqual(rejects["unsupported_encoding"], 1)
        self.assertEqual(rejects["bad_protobuf"], 1)
        self.assertEqual(rejects["invalid_batch"], 2)
        self.assertEqual(m["credtrace_collector_ingest_events_total"], 22)
        self.assertNotIn(secret.encode(), c.db_bytes())
        self.assertNotIn(secret, c.read_log())

    def test_sigkill_mid_stream_then_restart_stores_every_sequence_once(self):
        c = self.collector
        per_batch, total = 20, 150
        secret = fake_github_pat()
        bodies = {}
        for seq in range(1, total + 1):
            events = []
            for i in range(per_batch):
                e = use_event(secret, "github_pat", f"wl-{seq % 7}")
                e["process"] = {"pid": seq, "args": [f"seq-{seq}-{i}"]}
                events.append(e)
            bodies[seq] = batch_body("agent-k", seq, events)
        acked = set()

        def send_all(seqs):
            for seq in seqs:
                try:
                    r = c.ingest(bodies[seq])
                    if r.status == 200:
                        acked.add(seq)
                except OSError:
                    pass  # the collector is gone: this batch stays unacknowledged

        sender = threading.Thread(target=send_all, args=(range(1, total + 1),))
        sender.start()
        while len(acked) < 40:
            time.sleep(0.005)
        c.kill()  # SIGKILL while batches are in flight
        sender.join()
        self.assertLess(len(acked), total)
        c.start()
        unacked = [s for s in range(1, total + 1) if s not in acked]
        again = random.sample(sorted(acked), 10)  # an agent may resend acknowledged batches too
        send_all(unacked + again)
        self.assertEqual(acked, set(range(1, total + 1)))

        events, _ = all_pages(c, "/v1/events?type=credential_use", "events", 1000)
        keys = collections.Counter(e["process"]["args"][0] for e in events)
        self.assertEqual(len(keys), total * per_batch)
        self.assertEqual(max(keys.values()), 1)
        cred = c.query(f"/v1/credentials/{fingerprint(secret)}").json()
        self.assertEqual(cred["counts"]["events"], total * per_batch)
        c.stop()
        rows = c.db_rows("SELECT sequence, events FROM batches WHERE agent_id = 'agent-k' ORDER BY sequence")
        self.assertEqual([tuple(r) for r in rows], [(s, per_batch) for s in range(1, total + 1)])
        self.assertEqual(c.db_rows("SELECT COUNT(*) FROM events")[0][0], total * per_batch)
        self.assertEqual(c.db_rows("SELECT MAX(version) FROM schema_migrations")[0][0], 7)

    def test_workload_filters_accept_human_names(self):
        c = self.collector
        pat, openai = fake_github_pat(), fake_openai_key()
        # Two workloads of one MCP server name (on two hosts), one with a systemd unit; a Kubernetes pod; another.
        pay_a = use_event(pat, "github_pat", "wl-pay-a")
        pay_a["workload"].update({"mcp": {"server_name": "payments"}, "systemd": {"unit": "payments.service"}})
        pay_b = use_event(pat, "github_pat", "wl-pay-b", host="host-b")
        pay_b["workload"]["mcp"] = {"server_name": "payments"}
        pod = use_event(openai, "openai", "wl-pod", dest="api.openai.com", env="OPENAI_API_KEY")
        pod["workload"].update({"mcp": {}, "kubernetes": {"namespace": "prod", "pod": "api-0"},
                                "container": {"id": "c0ffee"}})
        other = use_event(openai, "openai", "wl-other", dest="api.openai.com", env="OPENAI_API_KEY")
        for seq, events in ((1, [pay_a, pod, pay_a]), (2, [pay_b, other]), (3, [pay_b])):
            self.assertEqual(c.ingest(batch_body("agent-n", seq, events)).status, 200)

        def workloads(path, key="events"):
            reply = c.query(path)
            self.assertEqual(reply.status, 200, reply.body)
            items = reply.json()[key]
            return sorted(e["workload"]["id"] if key == "events" else e["id"] for e in items)

        q = lambda name: urllib.parse.quote(name, safe="")
        self.assertEqual(workloads("/v1/events?workload=payments"), ["wl-pay-a"] * 2 + ["wl-pay-b"] * 2)
        self.assertEqual(workloads("/v1/events?workload=payments.service"), ["wl-pay-a"] * 2)
        self.assertEqual(workloads("/v1/events?workload=wl-pay-b"), ["wl-pay-b"] * 2)
        for name in ("prod/api-0", "api-0", "c0ffee"):
            self.assertEqual(workloads(f"/v1/events?workload={q(name)}"), ["wl-pod"], name)
        self.assertEqual(workloads("/v1/events?workload=nobody"), [])
        self.assertEqual(workloads(f"/v1/events?workload=payments&fingerprint={fingerprint(openai)}"), [])
        self.assertEqual(workloads(f"/v1/events?workload=payments&host=host-b&type=credential_use"), ["wl-pay-b"] * 2)
        paged, pages = all_pages(c, "/v1/events?workload=payments", "events", 1)
        self.assertEqual(pages, 4)
        self.assertEqual([e["id"] for e in paged], sorted((e["id"] for e in paged), reverse=True))
        self.assertEqual(len({e["id"] for e in paged}), 4)
        self.assertEqual(workloads("/v1/workloads?workload=payments", "workloads"), ["wl-pay-a", "wl-pay-b"])
        self.assertEqual(workloads(f"/v1/workloads?workload={q('prod/api-0')}", "workloads"), ["wl-pod"])
        creds = lambda path: [x["fingerprint"] for x in c.query(path).json()["credentials"]]
        self.assertEqual(creds("/v1/credentials?workload=payments.service"), [fingerprint(pat)])
        self.assertEqual(creds("/v1/credentials?workload=api-0"), [fingerprint(openai)])
        alerts = lambda path: {(a["kind"], a["fingerprint"]) for a in c.query(path).json()["alerts"]}
        self.assertEqual(alerts("/v1/alerts?workload=payments&kind=shared_key"), {("shared_key", fingerprint(pat))})
        self.assertEqual(alerts("/v1/alerts?workload=c0ffee&kind=shared_key"), {("shared_key", fingerprint(openai))})

    def agent_series(self, agent_id, text=None):
        """{"name{label=value,...}": value} of one agent's series in /metrics (agent_id left out, host kept)."""
        out = {}
        for name, labels, value in parse_metrics(text if text is not None else self.collector.metrics_text()):
            if labels.pop("agent_id", None) == agent_id:
                out[name + "{" + ",".join(f"{k}={v}" for k, v in sorted(labels.items())) + "}"] = value
        return out

    def test_agent_health_shows_per_agent_in_metrics(self):
        c = self.collector
        secret = fake_github_pat()
        base = int(time.time()) - 3600
        sent = "credtrace_agent_sensor{counter=collector_batches_sent,host=host-m}"
        last = "credtrace_agent_last_health_timestamp_seconds{host=host-m}"
        use = use_event(secret, "github_pat", "wl-m", host="host-m")
        r = c.ingest(batch_body("agent-m", 1, [use, full_health_event("host-m", base + 200, 20)]))
        self.assertEqual(r.status, 200, r.body)
        m = self.agent_series("agent-m")
        self.assertEqual(m[sent], 20)
        self.assertEqual(m[last], base + 200)
        for series, value in {
                "credtrace_agent_sensor{counter=collector_send_failures,host=host-m}": 4,
                "credtrace_agent_sensor{counter=collector_spool_bytes,host=host-m}": 8192,
                "credtrace_agent_sensor{counter=tls_uprobe_attach_failures,host=host-m}": 1,
                "credtrace_agent_kernel_events_total{host=host-m,type=exec}": 40,
                "credtrace_agent_kernel_drops_total{host=host-m,reason=ringbuf_full}": 3,
                "credtrace_agent_kernel_truncations_total{host=host-m,type=tls_data}": 1,
                "credtrace_agent_errors_total{host=host-m,kind=ringbuf_poll}": 2,
                "credtrace_agent_watched_processes{host=host-m}": 5,
                "credtrace_agent_mcp_servers{host=host-m}": 2,
                "credtrace_agent_uptime_seconds{host=host-m}": 61.5,
                "credtrace_agent_execs_filtered_total{host=host-m}": 12,
                "credtrace_agent_exec_prefilter_names{host=host-m}": 9,
                "credtrace_agent_kube_api_state{host=host-m,state=watching}": 1,
                "credtrace_agent_kube_api_state{host=host-m,state=off}": 0}.items():
            self.assertEqual(m.get(series), value, series)

        # An older report (replayed from a spool), a replayed batch and a refused batch change nothing.
        self.assertEqual(c.ingest(batch_body("agent-m", 2, [full_health_event("host-m", base + 100, 10)])).status, 200)
        replay = c.ingest(batch_body("agent-m", 1, [use, full_health_event("host-m", base + 200, 20)]))
        self.assertTrue(replay.json()["duplicate"])
        refused = dict(use, credential={"type": "github_pat", "fingerprint": secret})
        refused_batch = batch_body("agent-m", 3, [full_health_event("host-m", base + 300, 30), refused])
        self.assertEqual(c.ingest(refused_batch).status, 400)
        changed_replay = c.ingest(batch_body("agent-m", 2, [full_health_event("host-m", base + 300, 30)]))
        self.assertTrue(changed_replay.json()["duplicate"])
        m = self.agent_series("agent-m")
        self.assertEqual((m[sent], m[last]), (20, base + 200))

        # A newer one wins; a counter name that is not one (uppercase, dash) is left out and counted.
        newer = full_health_event("host-m", base + 300, 30, **{"Bad-Name": "5"})
        self.assertEqual(c.ingest(batch_body("agent-m", 4, [newer])).status, 200)
        m = self.agent_series("agent-m")
        self.assertEqual((m[sent], m[last]), (30, base + 300))
        self.assertEqual(m["credtrace_agent_health_entries_left_out{host=host-m,reason=name}"], 1)
        self.assertFalse([k for k in m if "Bad-Name" in k])

        # Label values from the network are escaped: quotes, backslashes and line feeds cannot break the format.
        odd_id, odd_host = 'agent "q" \\ x', 'host "odd" \\ name\nline two} 1\ncredtrace_fake 1'
        self.assertEqual(c.ingest(batch_body(odd_id, 1, [full_health_event(odd_host, base, 7)])).status, 200)
        text = c.metrics_text()
        odd = self.agent_series(odd_id, text)
        self.assertEqual(odd["credtrace_agent_sensor{counter=collector_batches_sent,host=" + odd_host + "}"], 7)
        self.assertFalse([name for name, _, _ in parse_metrics(text) if name == "credtrace_fake"])
        self.assertEqual(text.count("# TYPE credtrace_agent_sensor "), 1)
        self.assertEqual(c.metrics()["credtrace_collector_agents_tracked"], 2)
        self.assertEqual(c.metrics()["credtrace_collector_agent_health_evictions_total"], 0)
        for leak in (secret, secret[4:-4], preview(secret), fingerprint(secret)):
            self.assertNotIn(leak, text)

        # A restarted collector starts empty; an agent is back with its next health.
        c.stop()
        c.start()
        self.assertEqual(self.agent_series("agent-m"), {})
        self.assertEqual(c.metrics()["credtrace_collector_agents_tracked"], 0)
        self.assertEqual(c.ingest(batch_body("agent-m", 5, [full_health_event("host-m", base + 400, 40)])).status, 200)
        self.assertEqual(self.agent_series("agent-m")[sent], 40)

    def test_database_holds_no_raw_secret(self):
        c = self.collector
        secrets_used = [fake_github_pat() for _ in range(5)] + [fake_openai_key() for _ in range(5)]
        for seq, secret in enumerate(secrets_used, start=1):
            kind = "github_pat" if secret.startswith("ghp_") else "openai"
            self.assertEqual(c.ingest(batch_body("agent-s", seq, [use_event(secret, kind, f"wl-{seq}")] * 3)).status, 200)
        for secret in secrets_used:
            self.assertEqual(c.query(f"/v1/credentials/{fingerprint(secret)}").status, 200)
        c.stop()
        data = c.db_bytes()
        self.assertIn(fingerprint(secrets_used[0]).encode(), data)  # the data is there, fingerprinted
        for secret in secrets_used:
            self.assertNotIn(secret.encode(), data)
            self.assertNotIn(secret[4:-4].encode(), data)  # not even the redacted middle
        self.assertFalse(any(s in c.read_log() for s in secrets_used))


class CollectorTest(CollectorScenarios, unittest.TestCase):
    """The scenarios on SQLite."""

    def make_collector(self, extra_args=()):
        return Collector(extra_args=extra_args)


class ListenTest(unittest.TestCase):
    def test_plain_http_refused_off_loopback(self):
        c = Collector(listen="0.0.0.0:0")
        try:
            c.start(expect_ready=False)
            self.assertEqual(c.wait_exit(), 2)
            self.assertIn("refusing plain HTTP", c.read_log())
        finally:
            c.cleanup()

    def test_a_flag_out_of_its_range_is_refused_as_the_config_key_is(self):
        for flag, value in (("--max-batch-events", "0"), ("--max-batch-events", "10000001"), ("--threads", "0")):
            with self.subTest(flag=flag, value=value):
                c = Collector()
                try:
                    c.extra_args = [flag, value]
                    c.start(expect_ready=False)
                    self.assertEqual(c.wait_exit(), 2, c.read_log())
                    self.assertIn(flag, c.read_log())
                finally:
                    c.cleanup()

    def test_tls_off_loopback(self):
        c = Collector(listen="0.0.0.0:0")
        try:
            cert, key = os.path.join(c.dir, "cert.pem"), os.path.join(c.dir, "key.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                            "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
                           check=True, capture_output=True)
            c.extra_args = ["--tls-cert", cert, "--tls-key", key]
            c.start()
            self.assertEqual(c.scheme, "https")
            context = ssl.create_default_context(cafile=cert)
            self.assertEqual(c.request("GET", "/healthz", context=context).status, 200)
            body = batch_body("agent-t", 1, [health_event()])
            r = c.request("POST", "/v1/ingest", body, {"Authorization": "Bearer " + AGENT_TOKEN,
                                                      "Content-Encoding": "deflate", "Accept": "application/json"},
                          context=context)
            self.assertEqual(r.status, 200, r.body)
        finally:
            c.cleanup()


def cert_sha256(path):
    with open(path) as f:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()


class MutualTlsPki:
    """One test PKI for the mTLS tests: the agents' CA (which also signs the collector's server certificate), another
    CA, and client certificates: trusted, from the other CA, expired, not yet valid, and a server-only one."""

    @classmethod
    def setUpClass(cls):
        cls.pki_dir = tempfile.mkdtemp(prefix="credtrace-mtls-pki-")
        ca, other = CertAuthority(cls.pki_dir, "agent-ca"), CertAuthority(cls.pki_dir, "other-ca")
        cls.ca = ca.cert
        cls.server = ca.issue("collector", kind="server")
        cls.agent = ca.issue("agent-1")
        cls.keepalive_agent = ca.issue("agent-keepalive")
        cls.e2e_agent = ca.issue("agent-e2e")
        cls.foreign = other.issue("agent-foreign")
        cls.expired = ca.issue("agent-expired", dates=("-startdate", "200101000000Z", "-enddate", "200102000000Z"))
        cls.future = ca.issue("agent-future", dates=("-startdate", "20990101000000Z", "-enddate", "20990102000000Z"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.pki_dir, ignore_errors=True)

    def tls_args(self, collector, client_ca=True):
        """--tls-cert/--tls-key (and --client-ca) copied into the collector's directory (it may run as nobody)."""
        cert, key, ca = (shutil.copy(p, collector.dir) for p in (*self.server, self.ca))
        return ["--tls-cert", cert, "--tls-key", key] + (["--client-ca", ca] if client_ca else [])

    def start_collector(self, agent_tokens=True):
        c = Collector(agent_tokens=agent_tokens)
        self.addCleanup(c.cleanup)
        c.extra_args = self.tls_args(c)
        return c.start()


class MutualTlsTest(MutualTlsPki, unittest.TestCase):
    NOT_TRUSTED = "client certificate not trusted: "
    FOREIGN = NOT_TRUSTED + "issuer unknown (not signed by a --client-ca certificate)"

    def ingest(self, c, sequence, context, token=None):
        return c.ingest(batch_body("agent-m", sequence, [health_event("host-m")]), token=token, context=context)

    def test_client_certificate_authenticates_an_agent_and_nothing_else(self):
        c = self.start_collector()
        self.assertEqual(c.scheme, "https")
        self.assertIn("1 agent tokens, agent client certificates, 1 reader tokens", c.read_log())
        plain, trusted = tls_context(self.ca), tls_context(self.ca, *self.agent)
        tls12 = tls_context(self.ca, *self.agent)
        tls12.maximum_version = ssl.TLSVersion.TLSv1_2
        # accepted: a trusted certificate alone (TLS 1.3 and 1.2), a token alone, a token with a foreign certificate,
        # and a trusted certificate with a wrong token (either method authenticates)
        accepted = [(trusted, None), (tls12, None), (plain, AGENT_TOKEN),
                    (tls_context(self.ca, *self.foreign), AGENT_TOKEN), (trusted, "not-an-agent-token")]
        for sequence, (context, token) in enumerate(accepted, start=1):
            with self.subTest(sequence=sequence):
                r = self.ingest(c, sequence, context, token)
                self.assertEqual(r.status, 200, r.body)
                self.assertEqual(r.json(), {"agent_id": "agent-m", "sequence": str(sequence), "accepted": 1,
                                            "duplicate": False})
        refused = [
            ("no certificate, no token", plain, None, "missing agent bearer token or client certificate (mTLS)"),
            ("no certificate, wrong token", plain, "not-an-agent-token", "invalid agent token"),
            ("reader token", plain, READER_TOKEN, "invalid agent token"),
            ("other CA", tls_context(self.ca, *self.foreign), None, self.FOREIGN),
            ("other CA, wrong token", tls_context(self.ca, *self.foreign), "not-an-agent-token",
             "invalid agent token; " + self.FOREIGN),
            ("expired", tls_context(self.ca, *self.expired), None, self.NOT_TRUSTED + "expired"),
            ("not yet valid", tls_context(self.ca, *self.future), None, self.NOT_TRUSTED + "not yet valid"),
            ("server-only certificate", tls_context(self.ca, *self.server), None,
             self.NOT_TRUSTED + "not issued for TLS client authentication (extended key usage)"),
        ]
        for sequence, (name, context, token, message) in enumerate(refused, start=100):
            with self.subTest(name):
                r = self.ingest(c, sequence, context, token)
                self.assertEqual((r.status, r.json()), (401, {"error": message}))
                self.assertEqual(r.headers.get("WWW-Authenticate"), "Bearer")

        # a client certificate is no reader credential
        r = c.query("/v1/events", token=None, context=trusted)
        self.assertEqual((r.status, r.json()), (401, {"error": "missing reader bearer token"}))
        self.assertEqual(c.query("/v1/events", token=AGENT_TOKEN, context=trusted).status, 401)
        events = c.query("/v1/events?host=host-m", context=trusted).json()["events"]
        self.assertEqual(len(events), len(accepted))  # nothing refused was stored
        m = c.metrics(context=plain)
        self.assertEqual(m['credtrace_collector_ingest_rejects_total{reason="unauthorized"}'], len(refused))
        self.assertEqual(m["credtrace_collector_ingest_batches_total"], len(accepted))

        log = c.read_log()
        self.assertIn(f'client certificate from 127.0.0.1 (subject "CN=agent-1", sha256 {cert_sha256(self.agent[0])}) '
                      "verified", log)
        self.assertIn(f'(subject "CN=agent-expired", sha256 {cert_sha256(self.expired[0])}) not trusted: expired', log)
        self.assertIn("ingest rejected (unauthorized): " + self.FOREIGN, log)
        for secret in (AGENT_TOKEN, READER_TOKEN, "not-an-agent-token"):
            self.assertNotIn(secret, log)
        for _, key in (self.agent, self.server):
            with open(key) as f:
                key_body = "".join(f.read().splitlines()[1:-1])
            self.assertNotIn(key_body[:40], log)

    def test_certificate_verified_once_per_connection(self):
        c = self.start_collector()
        conn = http.client.HTTPSConnection("127.0.0.1", c.port, timeout=30,
                                           context=tls_context(self.ca, *self.keepalive_agent))
        for sequence in range(1, 4):  # one keep-alive connection: the verdict is reused
            conn.request("POST", "/v1/ingest", body=batch_body("agent-k", sequence, [health_event()]),
                         headers={"Content-Encoding": "deflate", "Accept": "application/json"})
            r = conn.getresponse()
            self.assertEqual(r.status, 200, r.read())
            r.read()
        conn.close()
        verified = re.findall(r'subject "CN=agent-keepalive".*verified', c.read_log())
        self.assertEqual(len(verified), 1, c.read_log())

    def test_certificates_only_fleet(self):
        c = self.start_collector(agent_tokens=False)
        self.assertIn("0 agent tokens, agent client certificates", c.read_log())
        self.assertEqual(self.ingest(c, 1, tls_context(self.ca, *self.agent)).status, 200)
        plain = tls_context(self.ca)
        r = self.ingest(c, 2, plain, AGENT_TOKEN)  # no token is valid without --agent-tokens
        self.assertEqual((r.status, r.json()), (401, {"error": "invalid agent token"}))
        r = self.ingest(c, 3, plain)
        self.assertEqual((r.status, r.json()),
                         (401, {"error": "missing agent bearer token or client certificate (mTLS)"}))
        self.assertEqual(self.ingest(c, 4, tls_context(self.ca, *self.expired)).json(),
                         {"error": self.NOT_TRUSTED + "expired"})

    def test_tls_without_client_ca_asks_for_no_certificate(self):
        c = Collector()
        self.addCleanup(c.cleanup)
        c.extra_args = self.tls_args(c, client_ca=False)
        c.start()
        r = self.ingest(c, 1, tls_context(self.ca, *self.agent))  # presented but never asked for: not an identity
        self.assertEqual((r.status, r.json()), (401, {"error": "missing agent bearer token"}))
        self.assertEqual(self.ingest(c, 2, tls_context(self.ca), AGENT_TOKEN).status, 200)

    def test_configuration_errors_exit_2(self):
        def not_pem(c):
            path = os.path.join(c.dir, "not-a-ca.pem")
            with open(path, "w") as f:
                f.write("just text\n")
            return self.tls_args(c, client_ca=False) + ["--client-ca", path]

        cases = [
            ("--client-ca without TLS", True, lambda c: ["--client-ca", shutil.copy(self.ca, c.dir)],
             "--client-ca needs --tls-cert and --tls-key: client certificates are only asked for over HTTPS"),
            ("no agent authentication", False, lambda c: self.tls_args(c, client_ca=False),
             "agents cannot authenticate: give --agent-tokens FILE, --client-ca FILE (mTLS), or both"),
            ("client CA that is no certificate", True, not_pem, "not-a-ca.pem: holds no PEM certificate"),
            ("client CA that is a key", True,
             lambda c: self.tls_args(c, client_ca=False) + ["--client-ca", shutil.copy(self.agent[1], c.dir)],
             "agent-1.key: holds no PEM certificate"),
        ]
        for name, agent_tokens, args, message in cases:
            with self.subTest(name):
                c = Collector(agent_tokens=agent_tokens)
                self.addCleanup(c.cleanup)
                c.extra_args = args(c)
                c.start(expect_ready=False)
                self.assertEqual(c.wait_exit(), 2, c.read_log())
                self.assertRegex(c.read_log(), r"credtrace-collector: error: (--client-ca \S*)?" + re.escape(message))


@unittest.skipUnless(os.environ.get("CREDTRACE_AGENT") and os.geteuid() == 0,
                     "the real agent needs root and CREDTRACE_AGENT (ctest collector_mtls_agent_e2e)")
class AgentMutualTlsTest(MutualTlsPki, unittest.TestCase):
    def test_agent_delivers_with_a_client_certificate_and_no_token(self):
        sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
        from harness import Agent  # noqa: E402 (tests/e2e: the agent under a temp state dir)

        c = self.start_collector(agent_tokens=False)
        cert, key = self.e2e_agent
        agent = Agent(extra_config=f"""collector:
  url: https://127.0.0.1:{c.port}
  ca_file: {self.ca}
  cert_file: {cert}
  key_file: {key}
  flush_interval_ms: 200
  retry_initial_ms: 100
  retry_max_ms: 1000
""")
        self.addCleanup(agent.cleanup)
        agent.start()
        context = tls_context(self.ca)
        deadline, events = time.time() + 30, []
        while time.time() < deadline and not events:
            events = c.query("/v1/events?type=agent_ready", context=context).json()["events"]
            time.sleep(0.2)
        self.assertTrue(events, "no agent event reached the collector: " + agent.read_log() + c.read_log())
        self.assertEqual(events[0]["agent_id"], agent.events()[0]["agent_id"])
        self.assertIn(f'(subject "CN=agent-e2e", sha256 {cert_sha256(cert)}) verified', c.read_log())
        self.assertNotIn("ingest rejected", c.read_log())
        with open(key) as f:  # the agent's private key is this test's secret: in no output, log or database
            key_body = "".join(line.strip() for line in f if not line.startswith("-----"))
        agent.stop()
        for blob in (c.db_bytes(), c.read_log().encode(), agent.all_output()):
            self.assertNotIn(key_body[:64].encode(), blob.replace(b"\n", b""))


def load_tests(loader, tests, pattern):
    """collector_e2e runs everything but AgentMutualTlsTest, which has a ctest of its own (collector_mtls_agent_e2e,
    root, with the agent built): leaving it out here keeps collector_e2e from reporting a skip."""
    if os.environ.get("CREDTRACE_AGENT"):
        return tests
    suite = unittest.TestSuite()
    for group in tests:
        for case in group:
            if not isinstance(case, AgentMutualTlsTest):
                suite.addTest(case)
    return suite


if __name__ == "__main__":
    unittest.main()
