"""End-to-end test of the agent's collector sink (root): the real agent watches a real MCP-server-like process and
delivers its events to a real credtrace-collector (plain HTTP on loopback, SQLite). Through a collector outage and an
agent restart, every event the agent emitted is stored exactly once, batch sequences have no gap, the agent's last
health shows counter for counter on the collector's /metrics under its agent_id, and no raw test secret reaches the
spool files or the database. With the spool on a full disk (a small tmpfs) the agent keeps running,
drops the oldest batches, reports the drops in its health and delivers the rest exactly once."""
import collections
import os
import shutil
import signal
import socket
import sqlite3
import ssl
import stat
import subprocess
import sys
import tempfile
import time
import unittest

from harness import Agent, base_env, fake_github_pat, fingerprint
from tls_server import HttpsServer, make_ca_and_cert

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "collector"))
from collector_harness import AGENT_TOKEN, READER_TOKEN, Collector  # noqa: E402

CLIENTS = os.path.join(HERE, "clients")
CLI = os.environ.get("CREDTRACE_CLI", os.path.join(HERE, "../../build/credtrace"))
RUST_PROGRAMS = os.environ.get("CREDTRACE_RUST_PROGRAMS", os.path.join(HERE, "../../build/tests/rust"))


def event_key(e):
    """Events carry no id: type and nanosecond time tell them apart (agent_health events included)."""
    return (e["type"], e["time"])


class CollectorSinkE2E(unittest.TestCase):
    def setUp(self):
        self.collector = Collector().start()
        self.token_dir = tempfile.mkdtemp(prefix="credtrace-sink-token-")
        self.raw_secrets = []
        self.agent = None
        self.spool_dir_override = None

    def tearDown(self):
        if self.agent:
            self.agent.cleanup()
        self.collector.cleanup()
        shutil.rmtree(self.token_dir, ignore_errors=True)

    def start_agent(self, url=None, extra="", batch_max_events=50, env=None):
        self.token_file = os.path.join(self.token_dir, "token")
        with open(os.open(self.token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(AGENT_TOKEN + "\n")
        self.agent = Agent(extra_config=f"""collector:
  url: {url or f"http://127.0.0.1:{self.collector.port}"}
  token_file: {self.token_file}{extra}
  flush_interval_ms: 200
  batch_max_events: {batch_max_events}
  retry_initial_ms: 100
  retry_max_ms: 1000
""")
        self.spool_dir = self.spool_dir_override or os.path.join(self.agent.dir, "spool")
        return self.agent.start(env=env)

    def restart_agent(self):
        """Same state dir (spool, sequence) and JSON output, which the new run appends to."""
        readies = sum(1 for e in self.agent.events() if e["type"] == "agent_ready")
        self.agent.start()
        self.agent.wait_for(lambda e: sum(1 for x in self.agent.events() if x["type"] == "agent_ready") > readies,
                            timeout=30, what="agent_ready of the restarted agent")

    def run_watched_server(self, server):
        """An MCP-server-like process (mcp_server_* name) sends its env token over plain HTTP; returns the token."""
        token = fake_github_pat()
        self.raw_secrets.append(token)
        result = subprocess.run([sys.executable, os.path.join(CLIENTS, "mcp_server_tls_probe.py"), "plain",
                                 str(server.port), "-"], env=dict(base_env(), GITHUB_TOKEN=token),
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.agent.wait_for(lambda e: e["type"] == "credential_use"
                            and e["credential"]["fingerprint"] == fingerprint(token), what="credential_use in JSON")
        return token

    def collector_events(self, **filters):
        out, cursor = [], None
        while True:
            query = "&".join(f"{k}={v}" for k, v in dict(filters, limit=1000, **({"cursor": cursor} if cursor else {})).items())
            reply = self.collector.query("/v1/events?" + query)
            self.assertEqual(reply.status, 200, reply.body)
            page = reply.json()
            out += page["events"]
            cursor = page["next_cursor"]
            if not cursor:
                return out

    def wait_in_collector(self, token, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.collector_events(fingerprint=fingerprint(token)):
                return
            time.sleep(0.2)
        self.fail("the collector never stored the events of " + token[:4] + "…: " + self.agent.read_log())

    def assert_no_raw_secret_anywhere(self):
        """No raw test secret in the collector's database, the agent's output and log, or a spool file."""
        stored = self.collector.db_bytes() + self.agent.all_output()
        for secret in self.raw_secrets:
            self.assertNotIn(secret.encode(), stored, "a raw secret reached the database or the agent's output")
            if os.path.isdir(self.spool_dir):
                for name, blob in self.spool_blobs():
                    self.assertNotIn(secret.encode(), blob, "raw secret in spool file " + name)

    def spool_blobs(self):
        blobs = []
        for name in sorted(os.listdir(self.spool_dir)):
            path = os.path.join(self.spool_dir, name)
            if name.endswith(".batch"):
                self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600, name)
            with open(path, "rb") as f:
                blobs.append((name, f.read()))
        return blobs

    def test_outage_and_restarts_deliver_every_event_exactly_once(self):
        with HttpsServer(tls=False) as api:
            self.start_agent()
            # 1. Live delivery.
            first = self.run_watched_server(api)
            self.wait_in_collector(first)

            # 2. The collector goes away; the agent spools what happens meanwhile and keeps it across its restart.
            self.collector.stop()
            second = self.run_watched_server(api)
            self.agent.wait_for(lambda e: e["type"] == "agent_health"
                                and e["agent_health"]["sensors"].get("collector_send_failures", "0") != "0",
                                timeout=30, what="collector_send_failures in agent_health")
            self.agent.stop()
            self.assertEqual(stat.S_IMODE(os.stat(self.spool_dir).st_mode), 0o700)
            spooled = [name for name, _ in self.spool_blobs() if name.endswith(".batch")]
            self.assertTrue(spooled, "nothing was spooled during the outage")

            self.restart_agent()
            third = self.run_watched_server(api)
            for name, blob in self.spool_blobs():
                for secret in self.raw_secrets:
                    self.assertNotIn(secret.encode(), blob, "raw secret in spool file " + name)

            # 3. The collector comes back on the same port: the spool is replayed, then live delivery resumes.
            self.collector.start()
            for token in (second, third):
                self.wait_in_collector(token, timeout=60)
            fourth = self.run_watched_server(api)
            self.wait_in_collector(fourth)
            self.agent.stop()  # final health event goes out with the final send

        health = [e for e in self.agent.events() if e["type"] == "agent_health"][-1]["agent_health"]["sensors"]
        self.assertEqual(health.get("collector_batches_dropped", "0"), "0")
        self.assertNotEqual(health.get("collector_batches_sent", "0"), "0")
        self.assertEqual([n for n in os.listdir(self.spool_dir) if n.endswith(".batch")], [], self.agent.read_log())

        # Every event of the JSON output is stored exactly once, and nothing else is.
        emitted = collections.Counter(event_key(e) for e in self.agent.events())
        stored = collections.Counter(event_key(e) for e in self.collector_events())
        self.assertEqual(stored - emitted, collections.Counter(), "stored events the agent never emitted")
        self.assertEqual(emitted - stored, collections.Counter(), "emitted events missing in the collector")
        self.assertEqual(max(stored.values()), 1, "an event stored twice")

        # The agent's last health is on the collector's /metrics under its agent_id, counter for counter.
        agent_id = self.agent.events()[0]["agent_id"]
        self.assert_last_health_in_collector_metrics(agent_id)

        # Batch sequences: consecutive (a new spool starts at a time-based sequence), for this agent.
        self.collector.stop()
        db = sqlite3.connect(f"file:{self.collector.db_path}?immutable=1", uri=True)
        sequences = [row[0] for row in db.execute("SELECT sequence FROM batches WHERE agent_id = ? ORDER BY sequence",
                                                  (agent_id,))]
        db.close()
        self.assertEqual(sequences, list(range(sequences[0], sequences[0] + len(sequences))))  # no gap, no repeat
        self.assertGreater(len(sequences), 3)

        data = self.collector.db_bytes()
        blob = self.agent.all_output() + data
        for secret in self.raw_secrets:
            self.assertNotIn(secret.encode(), blob, "a raw secret reached the database or the agent's output")
        with open(self.token_file) as f:
            self.assertNotIn(f.read().strip().encode(), self.agent.all_output(), "the collector token was logged")

    def reload_agent(self, text, expect, timeout=10):
        """Writes the agent's config, sends SIGHUP and waits for the log line `expect`; returns the seconds it took."""
        with open(self.agent.config_path, "w") as f:
            f.write(text)
        start = time.monotonic()
        self.agent.proc.send_signal(signal.SIGHUP)
        deadline = start + timeout
        while time.monotonic() < deadline and expect not in self.agent.read_log():
            time.sleep(0.02)
        self.assertIn(expect, self.agent.read_log())
        return time.monotonic() - start

    def test_sighup_moves_the_sink_to_another_collector_taking_its_spool_without_waiting_on_the_old_one(self):
        """The agent starts against a collector that hangs (accepts TCP, never answers): its events wait in the spool.
        A reload points it at a working collector: the loop does not wait on the hung one (no final send), the new
        sink sends the spool, and every event is stored exactly once. Settings that cannot start a sink are refused
        and the running sink keeps delivering."""
        hung = socket.socket()
        hung.bind(("127.0.0.1", 0))
        hung.listen(64)  # never accepted: connections complete in the backlog, requests are never answered
        self.addCleanup(hung.close)
        with HttpsServer(tls=False) as api:
            self.start_agent(url=f"http://127.0.0.1:{hung.getsockname()[1]}")
            first = self.run_watched_server(api)
            with open(self.agent.config_path) as f:
                text = f.read()
            moved = text.replace(f"http://127.0.0.1:{hung.getsockname()[1]}", f"http://127.0.0.1:{self.collector.port}")
            self.assertNotEqual(moved, text)
            seconds = self.reload_agent(moved, "reload: collector.url applied")
            self.assertLess(seconds, 2.0, "the reload waited on the hung collector")
            self.assertIn("reload: collector sink restarted for http://127.0.0.1:" + str(self.collector.port),
                          self.agent.read_log())
            self.wait_in_collector(first)  # sent before the reload: it was in the spool the new sink took over
            second = self.run_watched_server(api)
            self.wait_in_collector(second)

            # A token file that cannot be read: refused before anything stops; delivery goes on.
            missing = os.path.join(self.token_dir, "missing-token")
            self.reload_agent(moved.replace(self.token_file, missing),
                              "reload: collector settings refused, the running collector sink is kept")
            self.assertIn("reload: collector.token_file refused; the running value is kept", self.agent.read_log())
            third = self.run_watched_server(api)
            self.wait_in_collector(third)
            self.assertIsNone(self.agent.proc.poll())
            self.agent.stop()

        emitted = collections.Counter(event_key(e) for e in self.agent.events())
        stored = collections.Counter(event_key(e) for e in self.collector_events())
        self.assertEqual(emitted - stored, collections.Counter(), "emitted events missing in the collector")
        self.assertEqual(stored - emitted, collections.Counter(), "stored events the agent never emitted")
        self.assertEqual(max(stored.values()), 1, "an event stored twice")
        self.assertEqual([n for n in os.listdir(self.spool_dir) if n.endswith(".batch")], [], self.agent.read_log())
        self.assert_no_raw_secret_anywhere()

    def assert_last_health_in_collector_metrics(self, agent_id):
        last = [e for e in self.agent.events() if e["type"] == "agent_health"][-1]
        health = last["agent_health"]
        labels = f'agent_id="{agent_id}",host="{last["host"]}"'
        metrics = self.collector.metrics()
        shown = {key: value for key, value in metrics.items() if labels in key}
        families = {"events": ("credtrace_agent_kernel_events_total", "type"),
                    "drops": ("credtrace_agent_kernel_drops_total", "reason"),
                    "agent_errors": ("credtrace_agent_errors_total", "kind"),
                    "sensors": ("credtrace_agent_sensor", "counter")}
        for field, (family, label) in families.items():
            self.assertTrue(health.get(field), field)
            for name, value in health[field].items():
                self.assertEqual(shown.get(f'{family}{{{labels},{label}="{name}"}}'), float(value), f"{field}.{name}")
        for name in ("collector_batches_sent", "collector_send_failures", "collector_spool_bytes"):
            self.assertIn(f'credtrace_agent_sensor{{{labels},counter="{name}"}}', shown)
        self.assertAlmostEqual(shown[f"credtrace_agent_uptime_seconds{{{labels}}}"], health["uptime_seconds"], places=3)
        self.assertEqual(shown[f"credtrace_agent_watched_processes{{{labels}}}"],
                         float(health.get("watched_processes", 0)))
        self.assertNotIn(f"credtrace_agent_health_entries_left_out{{{labels},reason=\"name\"}}", shown)
        self.assertNotIn(f"credtrace_agent_health_entries_left_out{{{labels},reason=\"limit\"}}", shown)

    def mount_small_tmpfs(self, size):
        """A fresh tmpfs of `size`, detached (umount -l) at cleanup even when the test fails."""
        mount_point = tempfile.mkdtemp(prefix="credtrace-sink-disk-")
        self.addCleanup(shutil.rmtree, mount_point, True)  # cleanups run last-in first-out: after the unmount
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", mount_point],
                                capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, "mount tmpfs: " + result.stderr)
        self.addCleanup(subprocess.run, ["umount", "-l", mount_point], capture_output=True)
        return mount_point

    def health(self):
        reports = [e for e in self.agent.events() if e["type"] == "agent_health"]
        return reports[-1]["agent_health"]["sensors"] if reports else {}

    def test_a_full_spool_disk_drops_the_oldest_batches_counted_and_delivers_the_rest_once(self):
        # One event per batch, one batch file (one tmpfs page) per event: a 32 KiB disk holds the sequence file and
        # at most 7 batches, far below the spool's own bound (spool_max_bytes, 256 MiB by default).
        self.collector.stop()  # stopped from the start: everything is spooled
        self.spool_dir_override = os.path.join(self.mount_small_tmpfs("32k"), "spool")
        self.start_agent(extra=f"\n  spool_dir: {self.spool_dir_override}", batch_max_events=1)
        with HttpsServer(tls=False) as api:
            deadline = time.time() + 30
            while int(self.health().get("collector_batches_dropped", "0")) == 0:
                self.assertLess(time.time(), deadline, "no drop reported in agent_health: " + self.agent.read_log())
                self.run_watched_server(api)  # a handful of events each
            self.assertIsNone(self.agent.proc.poll(), "the agent died on a full spool disk")
            health = self.health()
            self.assertEqual(health.get("collector_events_dropped", "0"), "0")
            self.assertNotEqual(health.get("collector_spool_batches", "0"), "0")
            held = [n for n in os.listdir(self.spool_dir) if n.endswith(".batch")]
            self.assertTrue(held)
            self.assertLessEqual(len(held), 7)

            # The collector comes back on the same port: what is still spooled (and what follows) arrives.
            self.collector.start()
            deadline = time.time() + 20
            while [n for n in os.listdir(self.spool_dir) if n.endswith(".batch")]:
                self.assertLess(time.time(), deadline, "the spool never drained: " + self.agent.read_log())
                time.sleep(0.2)
            self.assertIsNone(self.agent.proc.poll())
        self.agent.stop()  # the final health event goes out with the final send

        dropped = int(self.health()["collector_batches_dropped"])
        self.assertGreater(dropped, 0)
        self.assertIn("collector spool full", self.agent.read_log())
        emitted = collections.Counter(event_key(e) for e in self.agent.events())
        stored = collections.Counter(event_key(e) for e in self.collector_events())
        self.assertEqual(max(stored.values()), 1, "an event stored twice")
        self.assertEqual(stored - emitted, collections.Counter(), "stored events the agent never emitted")
        # Exactly the events of the dropped batches (one event each) are missing: nothing else was lost.
        self.assertEqual(sum((emitted - stored).values()), dropped, self.agent.read_log())
        for secret in self.raw_secrets:
            self.assertNotIn(secret.encode(), self.collector.db_bytes() + self.agent.all_output())

    def test_a_server_whose_tls_is_not_covered_is_listed_as_such_by_the_collector_and_the_cli(self):
        """A rustls server (nothing to probe) and a node one (OpenSSL probed) reach the collector with their TLS
        coverage: GET /v1/workloads?tls_coverage=not_covered lists only the first, `credtrace workloads` says it."""
        self.start_agent()
        work = tempfile.mkdtemp(prefix="credtrace-sink-coverage-")
        self.addCleanup(shutil.rmtree, work, True)
        rustls = os.path.join(work, "mcp-server-rustls-api")
        shutil.copy(os.path.join(RUST_PROGRAMS, "rustls_client"), rustls)
        node_server = os.path.join(work, "mcp-server-node-api.mjs")
        with open(node_server, "w") as f:
            f.write("setTimeout(() => {}, 300);\n")
        with HttpsServer() as api:
            result = subprocess.run([rustls, str(api.port), "/v1/jobs"], env=dict(base_env(), CA_FILE=api.ca),
                                    capture_output=True, text=True, timeout=30)
            self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(subprocess.run(["node", node_server], env=base_env(), timeout=30).returncode, 0)

        def listed(coverage):
            reply = self.collector.query("/v1/workloads?tls_coverage=" + coverage)
            self.assertEqual(reply.status, 200, reply.body)
            return reply.json()["workloads"]

        deadline = time.time() + 30
        while time.time() < deadline and not (listed("not_covered") and listed("covered")):
            time.sleep(0.3)
        [uncovered] = listed("not_covered")
        self.assertEqual(uncovered["workload"]["exe"], rustls)
        self.assertEqual(uncovered["tls"], [{"implementation": "rustls", "file": rustls, "version": "",
                                             "probed": False, "reason": "unsupported: rustls"}])
        self.assertIn(node_server, [w["workload"]["args"][-1] for w in listed("covered")])
        cli = subprocess.run([CLI, "workloads", "--collector", f"http://127.0.0.1:{self.collector.port}",
                              "--tls-coverage", "not_covered"], env=dict(base_env(), CREDTRACE_TOKEN=READER_TOKEN),
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(cli.returncode, 0, cli.stderr)
        self.assertIn("not_covered", cli.stdout)
        self.assertIn("rustls not probed (unsupported: rustls)", cli.stdout)
        self.assertIn(uncovered["id"], cli.stdout)

    def test_https_with_a_private_ca(self):
        self.collector.cleanup()
        self.collector = Collector()
        ca, cert, key = make_ca_and_cert(self.collector.dir)
        self.collector.extra_args = ["--tls-cert", cert, "--tls-key", key]
        self.collector.start()
        self.assertEqual(self.collector.scheme, "https")
        context = ssl.create_default_context(cafile=ca)
        self.collector.query = lambda path: self.collector.request(
            "GET", path, None, {"Authorization": "Bearer " + READER_TOKEN}, context=context)
        ca_copy = os.path.join(self.token_dir, "ca.crt")
        shutil.copy(ca, ca_copy)
        self.start_agent(url=f"https://localhost:{self.collector.port}", extra=f"\n  ca_file: {ca_copy}")
        with HttpsServer(tls=False) as api:
            token = self.run_watched_server(api)
            self.wait_in_collector(token)
        self.agent.stop()
        self.assert_no_raw_secret_anywhere()

    def test_plain_http_to_a_loopback_collector_bypasses_a_configured_proxy(self):
        """A bearer token over plain HTTP must not go to an http_proxy in clear text: the loopback collector is
        reached directly, and the proxy (a listener that would see the request) gets no connection."""
        proxy = socket.socket()
        proxy.bind(("127.0.0.1", 0))
        proxy.listen(8)
        proxy_url = f"http://127.0.0.1:{proxy.getsockname()[1]}"
        env = dict(os.environ, http_proxy=proxy_url, HTTP_PROXY=proxy_url, https_proxy=proxy_url,
                   HTTPS_PROXY=proxy_url, ALL_PROXY=proxy_url, all_proxy=proxy_url)
        env.pop("no_proxy", None)
        env.pop("NO_PROXY", None)
        try:
            self.start_agent(env=env)
            with HttpsServer(tls=False) as api:
                token = self.run_watched_server(api)
                self.wait_in_collector(token)
            self.agent.stop()
            proxy.setblocking(False)
            with self.assertRaises(BlockingIOError, msg="the agent connected to the proxy"):
                proxy.accept()
            self.assert_no_raw_secret_anywhere()
        finally:
            proxy.close()


if __name__ == "__main__":
    unittest.main()
