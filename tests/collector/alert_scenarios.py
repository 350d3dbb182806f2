"""Alert scenarios through the real collector (shared by the SQLite and PostgreSQL e2e tests): crafted events are
ingested with collector_encode_batch and GET /v1/alerts must name each rule's evidence events."""
import json
import os
import time

from collector_harness import batch_body, fake_github_pat, fake_openai_key, fingerprint, preview, use_event
from test_collector import all_pages

DAY = 86400
ALLOWLIST = {"credential_types": {"github_pat": ["api.github.com", "*.githubusercontent.com"]},
             "workloads": {"wl-locked": ["*.internal"]}}


def jwt_use(secret, workload, ttl):
    e = use_event(secret, "bearer_jwt", workload, dest="api.jwt.example")
    e["credential"]["jwt"] = {"ttlSeconds": str(ttl), "iss": "issuer"}
    return e


def config_exposure(secret, path):
    """A credential hard-coded in an MCP client config (keyed off the type; no detail message needed)."""
    return {"type": "config_exposure", "host": "host-a",
            "workload": {"id": "wl-config", "host": "host-a"},
            "credential": {"type": "github_pat", "fingerprint": fingerprint(secret), "preview": preview(secret)},
            "source": {"kind": "config", "path": path, "key": "mcpServers.github.env.GITHUB_TOKEN"}}


def config_secret(secret, path):
    return {"type": "secret_exposure", "host": "host-a", "workload": {"id": "wl-config", "host": "host-a"},
            "credential": {"type": "openai", "fingerprint": fingerprint(secret), "preview": preview(secret)},
            "source": {"kind": "config", "path": path, "key": "env.OPENAI_API_KEY"}}


class AlertScenarios:
    """Mixin: needs self.new_collector(extra_args) returning a started Collector (cleaned up by the test)."""

    def start_with_rules(self):
        path = os.path.join(self.workdir, "allow.yaml")
        with open(path, "w") as f:
            json.dump(ALLOWLIST, f)  # JSON is YAML
        os.chmod(path, 0o644)
        return self.new_collector(["--alert-allowlist", path, "--alert-max-jwt-ttl-seconds", "3600",
                                   "--alert-max-age-days", "90"])

    def test_alerts_name_their_evidence_events(self):
        c = self.start_with_rules()
        shared, old, jwt, cfg, cfg2, plain, gh = (fake_github_pat(), fake_openai_key(), "eyJ" + fake_openai_key(),
                                                 fake_github_pat(), fake_openai_key(), fake_openai_key(), fake_github_pat())
        now = time.time()
        batches = [
            [use_event(shared, "github_pat", "wl-a", host="host-a")],
            [use_event(shared, "github_pat", "wl-b", host="host-b")],
            [use_event(old, "openai", "wl-old", dest="api.openai.com", seconds=now - 100 * DAY)],
            [use_event(old, "openai", "wl-old", dest="api.openai.com", seconds=now)],
            [jwt_use(jwt, "wl-jwt", 7200), jwt_use(jwt, "wl-jwt", 7200)],
            [config_exposure(cfg, "/home/u/.cursor/mcp.json"), config_secret(cfg2, "/home/u/.config/claude.json")],
            [dict(use_event(plain, "openai", "wl-http", dest="api.plain.example"),
                  destination={"host": "api.plain.example", "port": 80, "tls": False}),
             dict(use_event(plain, "openai", "wl-http", dest="localhost"),
                  destination={"host": "localhost", "port": 8080, "tls": False})],
            [use_event(gh, "github_pat", "wl-gh", dest="api.github.com"),
             use_event(gh, "github_pat", "wl-gh", dest="evil.example")],
        ]
        for seq, events in enumerate(batches, start=1):
            self.assertEqual(c.ingest(batch_body("agent-al", seq, events)).status, 200)
        self.assertTrue(c.ingest(batch_body("agent-al", 2, batches[1])).json()["duplicate"])  # replays add nothing

        alerts, pages = all_pages(c, "/v1/alerts", "alerts", 2)
        self.assertGreaterEqual(pages, 3)
        by = {(a["kind"], a["fingerprint"]): a for a in alerts}
        events = {e["id"]: e for e in all_pages(c, "/v1/events", "events", 1000)[0]}

        def evidence(kind, secret):
            a = by[(kind, fingerprint(secret))]
            self.assertTrue(a["evidence_events"], a)
            for event_id in a["evidence_events"]:
                self.assertEqual(events[event_id]["credential"]["fingerprint"], fingerprint(secret))
            return a, [events[i] for i in a["evidence_events"]]

        a, ev = evidence("shared_key", shared)
        self.assertEqual(sorted(e["workload"]["id"] for e in ev), ["wl-a", "wl-b"])
        self.assertEqual((a["detail"]["workloads"], a["detail"]["hosts"], a["preview"]), (2, 2, preview(shared)))
        self.assertEqual(a["hits"], 2)  # two workload links (and two hosts) named once each, despite the replay
        a, ev = evidence("long_lived", old)
        self.assertEqual(len(ev), 2)  # the first sighting and the late use
        self.assertEqual(a["detail"]["age_days"], 100)
        a, ev = evidence("long_lived_jwt", jwt)
        self.assertEqual((a["detail"]["ttl_seconds"], a["hits"], len(ev)), (7200, 2, 2))
        a, ev = evidence("hard_coded", cfg)
        self.assertEqual((a["subject"], ev[0]["type"]), ("/home/u/.cursor/mcp.json", "config_exposure"))
        a, ev = evidence("hard_coded", cfg2)
        self.assertEqual(ev[0]["type"], "secret_exposure")
        a, ev = evidence("plain_http", plain)
        self.assertEqual((a["subject"], a["hits"]), ("api.plain.example:80", 1))  # the loopback use is no alert
        a, ev = evidence("destination_not_allowed", gh)
        self.assertEqual((a["subject"], ev[0]["destination"]["host"]), ("wl-gh evil.example", "evil.example"))
        self.assertEqual(a["detail"]["denied_by"], ["credential_type"])
        expected = {("shared_key", shared), ("long_lived", old), ("long_lived_jwt", jwt), ("hard_coded", cfg),
                    ("hard_coded", cfg2), ("plain_http", plain), ("destination_not_allowed", gh)}
        self.assertEqual(set(by), {(k, fingerprint(s)) for k, s in expected})

        only = c.query("/v1/alerts?kind=plain_http").json()["alerts"]
        self.assertEqual([a["fingerprint"] for a in only], [fingerprint(plain)])
        self.assertEqual(len(c.query(f"/v1/alerts?fingerprint={fingerprint(shared)}").json()["alerts"]), 1)
        self.assertEqual(len(c.query("/v1/alerts?workload=wl-gh").json()["alerts"]), 1)
        self.assertEqual(c.query("/v1/alerts?bogus=1").status, 400)
        self.assertEqual(c.query("/v1/alerts", token=None).status, 401)
        c.stop()
        data = c.db_bytes()
        for secret in (shared, old, jwt, cfg, cfg2, plain, gh):
            self.assertNotIn(secret.encode(), data)
        self.assertFalse(any(s in c.read_log() for s in (shared, old, jwt, cfg, cfg2, plain, gh)))

    def test_bad_allowlist_stops_the_collector_with_a_message(self):
        path = os.path.join(self.workdir, "bad.yaml")
        with open(path, "w") as f:
            f.write("hosts: [a]\n")
        os.chmod(path, 0o644)
        c = self.new_collector(["--alert-allowlist", path], expect_ready=False)
        self.assertEqual(c.wait_exit(), 2)
        self.assertIn("unknown key 'hosts'", c.read_log())
