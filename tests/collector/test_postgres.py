"""End-to-end tests of credtrace-collector on a real PostgreSQL server (started here from the Debian package binaries):
the SQLite scenarios (ingest, replay, bad input, SIGKILL mid-stream + resend, queries, no raw secret stored) and the
alert, MCP tool-call and workload TLS coverage scenarios, then two collector replicas on one database receiving
interleaved and replayed batches: every (agent_id, sequence) is stored exactly once. Skips, saying why, only when the PostgreSQL binaries are missing."""
import collections
import os
import random
import shutil
import tempfile
import threading
import unittest

import postgres_harness
from alert_scenarios import AlertScenarios
from collector_harness import Collector, batch_body, fake_github_pat, fingerprint, use_event
from test_collector import CollectorScenarios, all_pages
from tls_coverage_scenarios import TlsCoverageScenarios
from tool_call_scenarios import ToolCallScenarios

server = None


def setUpModule():
    global server
    if postgres_harness.find_bin_dir() is None:
        raise unittest.SkipTest(postgres_harness.MISSING)
    server = postgres_harness.Server()


def tearDownModule():
    if server:
        server.stop()


class PostgresCollectorTest(CollectorScenarios, unittest.TestCase):
    def make_collector(self, extra_args=()):
        return Collector(extra_args=extra_args, postgres=server.create_database())


class PostgresAlertTest(AlertScenarios, unittest.TestCase):
    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="credtrace-alerts-")
        os.chmod(self.workdir, 0o755)
        self.collectors = []
        self.database = server.create_database()

    def tearDown(self):
        for c in self.collectors:
            c.cleanup()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def new_collector(self, extra_args=(), expect_ready=True):
        c = Collector(extra_args=extra_args, postgres=self.database)
        self.collectors.append(c)
        return c.start(expect_ready=expect_ready)


class PostgresToolCallTest(ToolCallScenarios, unittest.TestCase):
    def make_collector(self):
        return Collector(postgres=server.create_database())


class PostgresTlsCoverageTest(TlsCoverageScenarios, unittest.TestCase):
    def make_collector(self):
        return Collector(postgres=server.create_database())


class PostgresRestartTest(unittest.TestCase):
    def test_collector_reconnects_after_a_database_restart(self):
        database = server.create_database()
        c = Collector(postgres=database).start()
        try:
            secret = fake_github_pat()
            self.assertEqual(c.ingest(batch_body("agent-r", 1, [use_event(secret, "github_pat", "wl-r")])).status, 200)
            server.restart()  # every pooled connection is dropped by the server
            for seq in range(2, 12):  # more batches than pooled connections: each one reconnects on use
                r = c.ingest(batch_body("agent-r", seq, [use_event(secret, "github_pat", "wl-r")]))
                self.assertEqual(r.status, 200, r.body)
            self.assertEqual(c.query(f"/v1/credentials/{fingerprint(secret)}").json()["counts"]["events"], 11)
            self.assertEqual(c.request("GET", "/healthz").status, 200)
        finally:
            c.cleanup()


    def test_database_down_answers_503_then_the_resent_batch_is_stored_once(self):
        database = server.create_database()
        c = Collector(postgres=database).start()
        try:
            secret = fake_github_pat()
            body = batch_body("agent-d", 2, [use_event(secret, "github_pat", "wl-d")])
            self.assertEqual(c.ingest(batch_body("agent-d", 1, [use_event(secret, "github_pat", "wl-d")])).status, 200)
            server.pause()
            try:
                r = c.ingest(body)
                self.assertEqual(r.status, 503, r.body)
                self.assertIn("retry later", r.json()["error"])
                self.assertEqual(c.request("GET", "/healthz").status, 503)
            finally:
                server.resume()
            self.assertFalse(c.ingest(body).json()["duplicate"])  # the agent resends: stored now
            self.assertTrue(c.ingest(body).json()["duplicate"])
            self.assertEqual(database.rows("SELECT COUNT(*) FROM events"), [(2,)])
            self.assertNotIn(secret, c.read_log())
        finally:
            c.cleanup()


class PostgresReplicasTest(unittest.TestCase):
    def test_two_replicas_store_every_sequence_once(self):
        database = server.create_database()
        replicas = [Collector(postgres=database).start(), Collector(postgres=database).start()]
        try:
            self.run_replicas(database, replicas)
        finally:
            for c in replicas:
                c.cleanup()

    def run_replicas(self, database, replicas):
        agents, per_agent, per_batch = 3, 40, 25
        shared = fake_github_pat()  # every agent's events name it: the replicas contend for its aggregate rows
        bodies = {}
        for a in range(agents):
            for seq in range(1, per_agent + 1):
                events = []
                for i in range(per_batch):
                    e = use_event(shared, "github_pat", f"wl-{a}-{seq % 5}", host=f"host-{a}")
                    e["process"] = {"pid": seq, "args": [f"a{a}-s{seq}-e{i}"]}
                    events.append(e)
                bodies[(f"agent-{a}", seq)] = batch_body(f"agent-{a}", seq, events)
        # every batch goes to both replicas, in a different order on each, from several threads at once
        work = list(bodies) * 2
        random.Random(5).shuffle(work)
        results = collections.defaultdict(list)
        lock = threading.Lock()

        def send(part, replica):
            for key in part:
                r = replica.ingest(bodies[key])
                with lock:
                    results[key].append((r.status, r.json().get("duplicate")))

        threads = [threading.Thread(target=send, args=(work[i::4], replicas[i % 2])) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for key, answers in results.items():
            self.assertEqual([s for s, _ in answers], [200, 200], (key, answers))
            self.assertEqual(sorted(d for _, d in answers), [False, True], (key, answers))  # stored once, acked twice
        rows = database.rows("SELECT agent_id, sequence, events FROM batches ORDER BY agent_id, sequence")
        self.assertEqual(rows, [(f"agent-{a}", s, per_batch) for a in range(agents) for s in range(1, per_agent + 1)])
        total = agents * per_agent * per_batch
        self.assertEqual(database.rows("SELECT COUNT(*), COUNT(DISTINCT id) FROM events"), [(total, total)])
        for c in replicas:  # both replicas answer from the same data
            events, _ = all_pages(c, "/v1/events?type=credential_use", "events", 1000)
            keys = collections.Counter(e["process"]["args"][0] for e in events)
            self.assertEqual((len(keys), max(keys.values())), (total, 1))
            cred = c.query(f"/v1/credentials/{fingerprint(shared)}").json()
            self.assertEqual((cred["counts"]["events"], cred["counts"]["uses"]), (total, total))
            self.assertEqual(len(cred["workloads"]), agents * 5)
        alerts = replicas[0].query("/v1/alerts?kind=shared_key").json()["alerts"]
        self.assertEqual([a["fingerprint"] for a in alerts], [fingerprint(shared)])
        self.assertEqual((alerts[0]["detail"]["workloads"], alerts[0]["detail"]["hosts"]), (agents * 5, agents))


if __name__ == "__main__":
    unittest.main()
