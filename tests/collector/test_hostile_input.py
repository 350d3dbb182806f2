"""The real collector under hostile input from a holder of an agent token or a reader token: oversized fields and
events, too many entries, forged timestamps, non-finite numbers, missing required fields, bad cursors, and query
answers bounded in bytes. A refused batch stores nothing."""

import os
import struct
import time
import unittest
import zlib

from collector_harness import (Collector, encode, fake_github_pat, fingerprint, health_event,
                               use_event)
from test_collector import all_pages

AGENT = "agent-hostile-1"


def varint(n):
    n &= (1 << 64) - 1  # negative int64: ten bytes of two's complement
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def read_varint(data, i):
    shift = value = 0
    while True:
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return value, i


def field(number, payload):
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def events_of(batch):
    """The encoded Event messages (field 3) of an encoded IngestBatch."""
    out, i = [], 0
    while i < len(batch):
        tag, i = read_varint(batch, i)
        kind = tag & 7
        if kind == 0:
            _, i = read_varint(batch, i)
        elif kind == 2:
            n, i = read_varint(batch, i)
            if tag >> 3 == 3:
                out.append(batch[i:i + n])
            i += n
        else:
            raise ValueError("unexpected wire type")
    return out


def with_time(event_bytes, seconds, nanos=0):
    """The event with its time (field 2) set to raw values no JSON timestamp can carry (a later field wins)."""
    ts = varint(1 << 3) + varint(seconds) + varint(2 << 3) + varint(nanos)
    return event_bytes + field(2, ts)


def batch_of(sequence, event_bytes_list):
    body = field(1, AGENT.encode()) + varint(2 << 3) + varint(sequence)
    for e in event_bytes_list:
        body += field(3, e)
    return zlib.compress(body)


class HostileInputTest(unittest.TestCase):
    def setUp(self):
        self.secret = fake_github_pat()
        self.collector = Collector()
        path = os.path.join(self.collector.dir, "collector.yaml")
        with open(path, "w") as f:
            f.write("limits:\n  max_answer_bytes: 8192\n")
        self.collector.extra_args = ["--config", path]
        self.collector.start()
        self.sequence = 0

    def tearDown(self):
        self.collector.cleanup()

    def send(self, events):
        self.sequence += 1
        return self.collector.ingest(batch_of(self.sequence, events))

    def use(self, **changes):
        ev = use_event(self.secret, "github_pat", "mcp:github", **changes)
        return events_of(encode(AGENT, 0, [ev]))[0]

    def refused(self, events, *needles):
        before = self.events_stored()
        reply = self.send(events)
        self.assertEqual(reply.status, 400, reply.body)
        for needle in needles:
            self.assertIn(needle, reply.body.decode())
        self.assertEqual(self.events_stored(), before, "a refused batch stored something")
        return reply

    def events_stored(self):
        return len(self.all_events())

    def all_events(self):
        return all_pages(self.collector, "/v1/events", "events", 1000)[0]

    def test_a_30_mib_host_is_cut_and_flagged(self):
        huge = self.use(host="h" * (30 << 20))  # in event.host and workload.host: 60 MiB, 61 KB compressed
        started = time.time()
        reply = self.send([self.use(), huge])
        self.assertEqual(reply.status, 200, reply.body)
        self.assertLess(time.time() - started, 10)
        stored = self.all_events()
        self.assertEqual(len(stored), 2)
        cut = [e for e in stored if e.get("truncated_fields")]
        self.assertEqual(len(cut), 1)
        self.assertEqual(sorted(cut[0]["truncated_fields"]), ["host", "workload.host"])
        self.assertEqual(len(cut[0]["host"]), 65536)
        self.assertNotIn("truncated_fields", [k for e in stored if e is not cut[0] for k in e])
        self.assertGreaterEqual(self.collector.metrics()["credtrace_collector_ingest_events_truncated_total"], 1)
        self.collector.stop()
        self.assertLess(len(self.collector.db_bytes()), 8 << 20)

    def test_every_string_and_repeated_field_is_bounded(self):
        long_path = use_event(self.secret, "github_pat", "mcp:github")
        long_path["request"]["path"] = "/" + "é" * 40000  # two bytes each: cut at a character boundary
        many = use_event(self.secret, "github_pat", "mcp:github")
        many["sources"] = [{"kind": "env", "name": f"TOKEN_{i}"} for i in range(16390)]
        self.assertEqual(self.send(events_of(encode(AGENT, 0, [long_path, many]))).status, 200)
        by_cut = {tuple(e.get("truncated_fields", [])): e for e in self.all_events()}
        self.assertEqual(len(by_cut[("request.path",)]["request"]["path"].encode()), 65535)  # not inside an é
        self.assertEqual(len(by_cut[("sources[]",)]["sources"]), 16384)
        # A forged truncated_fields is not kept: only the collector says what it cut.
        forged = use_event(self.secret, "github_pat", "mcp:forged")
        forged["truncatedFields"] = ["nothing"]
        self.assertEqual(self.send(events_of(encode(AGENT, 0, [forged]))).status, 200)
        self.assertFalse([e for e in self.all_events() if "nothing" in e.get("truncated_fields", [])])
        # An event still over limits.max_event_bytes once its fields are in bounds is refused.
        args = {"type": "mcp_server_start", "host": "host-a", "workload": {"id": "mcp:x", "host": "host-a"},
                "process": {"pid": 7, "args": ["a" * 1000] * 2000}}
        self.refused(events_of(encode(AGENT, 0, [args])), "event 0: ", "bytes encoded, limit 1048576")

    def test_forged_times_are_refused_and_change_nothing(self):
        self.assertEqual(self.send([self.use()]).status, 200)
        listed = self.collector.query("/v1/credentials").json()["credentials"]
        self.assertEqual(len(listed), 1)
        first, last = listed[0]["first_seen"], listed[0]["last_seen"]
        for seconds, nanos, needle in ((999999999999999, 0, "time: seconds 999999999999999 outside"),
                                       (-5, 0, "time: seconds -5 outside"),
                                       (0, 0, "time: seconds 0 outside"),
                                       (int(time.time()) + 3 * 86400, 0, "outside 2000-01-01"),
                                       (int(time.time()), 1000000000, "time: nanos 1000000000 outside"),
                                       (int(time.time()), -1, "time: nanos -1 outside")):
            self.refused([with_time(self.use(), seconds, nanos)], needle)
        listed = self.collector.query("/v1/credentials").json()["credentials"]
        self.assertEqual((listed[0]["first_seen"], listed[0]["last_seen"]), (first, last))
        self.assertEqual(self.collector.query("/v1/alerts").json()["alerts"], [])
        for event in self.all_events():
            self.assertIn("type", event)  # no bare {"id": N}

    def test_jwt_claims_need_only_be_valid_timestamps(self):
        far = use_event(self.secret, "jwt", "mcp:github")
        far["credential"]["jwt"] = {"exp": "2199-01-01T00:00:00Z", "iat": "1999-01-01T00:00:00Z"}
        self.assertEqual(self.send(events_of(encode(AGENT, 0, [far]))).status, 200)

    def test_non_finite_numbers_are_refused(self):
        for value in ("NaN", "Infinity", "-Infinity"):
            health = health_event()
            health["agentHealth"]["uptimeSeconds"] = value
            self.refused(events_of(encode(AGENT, 0, [health])), "agent_health.uptime_seconds: not a finite number")

    def test_required_fields(self):
        no_fingerprint = use_event(self.secret, "github_pat", "mcp:github")
        del no_fingerprint["credential"]["fingerprint"]
        self.refused(events_of(encode(AGENT, 0, [no_fingerprint])), "credential.fingerprint is required")
        self.sequence += 1
        reply = self.collector.ingest(zlib.compress(encode("", self.sequence, [use_event(self.secret, "github_pat", "x")])))
        self.assertEqual(reply.status, 400, reply.body)
        self.assertIn(b"agent_id", reply.body)

    def test_cursors_of_every_listing_are_validated(self):
        for path in ("/v1/events", "/v1/alerts", "/v1/tool-calls", "/v1/credentials", "/v1/workloads"):
            # A workload id is any printable text: only control characters and overlong ones are not cursors.
            shapes = ("%01x", "z" * 2000) if path == "/v1/workloads" else ("abc", "-1", "%01x", "z" * 2000)
            for cursor in shapes:
                reply = self.collector.query(f"{path}?cursor={cursor}")
                self.assertEqual(reply.status, 400, (path, cursor, reply.body))
                self.assertIn(b"bad cursor", reply.body)
        good = fingerprint(self.secret)
        self.assertEqual(self.collector.query(f"/v1/credentials?cursor={good}").status, 200)
        self.assertEqual(self.collector.query("/v1/workloads?cursor=mcp:github").status, 200)

    def test_answers_are_bounded_in_bytes_and_the_cursor_continues(self):
        events = [self.use(dest=f"api-{i}.example.com") for i in range(40)]
        self.assertEqual(self.send(events).status, 200)
        reply = self.collector.query("/v1/events?limit=1000")
        page = reply.json()
        self.assertLess(len(reply.body), 8192 + 4096)
        self.assertLess(len(page["events"]), 40)
        self.assertTrue(page["next_cursor"])
        everything = self.all_events()
        self.assertEqual(len(everything), 40)
        self.assertEqual(len({e["id"] for e in everything}), 40)  # nothing skipped, nothing twice

    def test_no_raw_secret_anywhere(self):
        self.send([self.use(host="h" * 100000)])
        self.send([self.use()])
        self.collector.stop()
        self.assertNotIn(self.secret, self.collector.read_log())
        self.assertNotIn(self.secret.encode(), self.collector.db_bytes())


if __name__ == "__main__":
    unittest.main()
