"""Connections served side by side: clients connected at the same moment are answered concurrently, so one agent's
large batch never holds back another agent's small one (libmicrohttpd used to keep a connection on the worker that
accepted it, and a worker accepted every connection pending when it woke: those clients were served one at a time)."""

import os
import socket
import threading
import time
import unittest
import zlib

from collector_harness import AGENT_TOKEN, Collector, encode, fake_github_pat, use_event

LARGE_SECONDS = 2.0  # a large batch takes about this long to inflate, decode and store (capped below)
LARGE_EVENTS_MAX = 60000  # about a second on this VM (optimized build); an ASan/UBSan build gets fewer, same seconds
CALIBRATION_EVENTS = 5000  # timed twice per collector (the faster one counts: the first pays warm-up) to size the large batch
READ_PAUSE = 0.2  # the large body is in the server by then: the small batches come while it is being handled
SMALL_EVENTS = 20


SENT_SECRETS = []  # every fake secret the batches stand for: none may reach the database or the log


def events(count, tag):
    secrets = [fake_github_pat() for _ in range(50)]
    SENT_SECRETS.extend(secrets)
    return [use_event(secrets[i % len(secrets)], "github_pat", f"wl-{tag}-{i % 20}", host=f"host-{tag}")
            for i in range(count)]


def ingest_request(body):
    head = (f"POST /v1/ingest HTTP/1.1\r\nHost: collector\r\nAuthorization: Bearer {AGENT_TOKEN}\r\n"
            f"Content-Encoding: deflate\r\nAccept: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


class Client:
    """One keep-alive connection, opened at once; send() then reply() for one request at a time."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.buffer = b""

    def send(self, raw):
        self.sock.sendall(raw)

    def reply(self):
        """(status, monotonic time the whole reply was in)."""
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            self._fill()
            head, _, rest = self.buffer.partition(b"\r\n\r\n")
        self.buffer = rest[length:]
        return int(head.split(b" ")[1]), time.monotonic()

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the collector closed the connection")
        self.buffer += data

    def close(self):
        self.sock.close()


class ConnectionFairnessTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.calibration = [zlib.compress(encode(f"agent-calibration-{n}", 1, events(CALIBRATION_EVENTS, f"calibration{n}")))
                           for n in range(2)]
        cls.small = [zlib.compress(encode(f"agent-small-{n}", 1, events(SMALL_EVENTS, f"small{n}")))
                     for n in range(8)]
        cls.large_by_count = {}

    def start(self, *args):
        """Starts a collector and sizes the large batch so it keeps a worker busy for about LARGE_SECONDS there (a
        fixed size took 10+ s under ASan: connections waiting that long for their headers are closed by design)."""
        self.collector = Collector(extra_args=args)
        self.addCleanup(self.collector.cleanup)
        self.collector.start()
        per_event = min(self.time_ingest(body) for body in self.calibration) / CALIBRATION_EVENTS
        self.large_events = max(5000,
                                min(LARGE_EVENTS_MAX, round(LARGE_SECONDS / per_event / 5000) * 5000))
        if self.large_events not in self.large_by_count:
            self.large_by_count[self.large_events] = zlib.compress(
                encode("agent-large", 1, events(self.large_events, "large")))
        self.large = self.large_by_count[self.large_events]
        return self.collector.port

    def time_ingest(self, body):
        began = time.monotonic()
        self.assertEqual(self.collector.ingest(body).status, 200)
        return time.monotonic() - began

    def occupy_workers(self, port, count):
        """Keeps `count` connections busy with a large batch each, connected one after another (a worker busy with a
        request accepts no connection, so each lands on a free one). Returns them; their replies are still due."""
        busy = []
        for _ in range(count):
            busy.append(Client(port))
            busy[-1].send(ingest_request(self.large))
            time.sleep(0.05)
        return busy

    def race(self, port, small_clients, occupied=0):
        """Connects 1 + small_clients clients at the same moment (while `occupied` connections keep the server busy,
        answered first); the first sends the large batch, then each other one a small batch. Returns (large ack
        time, [small ack times], large sent time)."""
        busy = self.occupy_workers(port, occupied)
        clients = [Client(port) for _ in range(1 + small_clients)]
        try:
            for c in busy:
                self.assertEqual(c.reply()[0], 200)
            large = clients[0]
            large.send(ingest_request(self.large))
            sent = time.monotonic()
            time.sleep(READ_PAUSE)
            results = [None] * small_clients

            def small(n):
                clients[1 + n].send(ingest_request(self.small[n]))
                results[n] = clients[1 + n].reply()

            threads = [threading.Thread(target=small, args=(n,)) for n in range(small_clients)]
            for t in threads:
                t.start()
            status, large_done = large.reply()
            for t in threads:
                t.join(120)
            self.assertEqual(status, 200)
            for result in results:
                self.assertIsNotNone(result)
                self.assertEqual(result[0], 200)
            return large_done, [done for _, done in results], sent
        finally:
            for c in busy + clients:
                c.close()

    def assert_no_raw_secret_stored(self):
        stored, log = self.collector.db_bytes(), self.collector.read_log()
        for secret in SENT_SECRETS:
            self.assertNotIn(secret.encode(), stored)
            self.assertNotIn(secret, log)

    def assert_small_ones_first(self, large_done, small_done, sent):
        took = large_done - sent
        print(f"large batch ({self.large_events} events) acknowledged after {took:.3f} s; small ones after "
              + ", ".join(f"{t - sent:.3f}" for t in small_done) + " s")
        for done in small_done:
            self.assertLess(done, large_done, "a small batch waited for the large one on another connection")
            self.assertLess(done - sent, 2.0)

    def test_two_clients_connecting_together_are_served_together(self):
        """--threads 2: two clients connect while a large batch keeps the server busy (before, the one free worker
        accepted both and answered the small batch after the large one)."""
        port = self.start("--threads", "2")
        self.assert_small_ones_first(*self.race(port, 1, occupied=1))
        self.assert_no_raw_secret_stored()

    def test_clients_connecting_while_the_server_is_busy_are_served_together(self):
        """Default settings (4 threads): eight clients connect while three large batches keep the server busy (before,
        the one free worker accepted all eight and served them one at a time). None waits for the large batch."""
        port = self.start()
        self.assert_small_ones_first(*self.race(port, 7, occupied=3))
        self.assert_no_raw_secret_stored()

if __name__ == "__main__":
    unittest.main()
