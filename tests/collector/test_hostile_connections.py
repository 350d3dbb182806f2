"""The real collector under hostile connections: floods of idle and slow-header connections from one address and
from many, header and request deadlines, the budget of buffered bodies, and strict HTTP framing (smuggling, repeated
credentials, NUL bytes)."""

import os
import resource
import socket
import threading
import time
import unittest

from collector_harness import AGENT_TOKEN, READER_TOKEN, Collector


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def connect(port, source="127.0.0.1", timeout=5):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def exchange(port, raw, source="127.0.0.1", timeout=5):
    """Sends raw bytes on a new connection and reads until the server closes it (or the timeout)."""
    s = connect(port, source, timeout)
    try:
        s.sendall(raw)
        out = b""
        while True:
            try:
                data = s.recv(65536)
            except socket.timeout:
                break
            if not data:
                break
            out += data
        return out
    finally:
        s.close()


def closed_by_server(s, within):
    """True when the server closes `s` (EOF or reset) within `within` seconds."""
    s.settimeout(within)
    try:
        while True:
            data = s.recv(4096)
            if not data:
                return True
    except socket.timeout:
        return False
    except (ConnectionResetError, BrokenPipeError):
        return True


def timed_get(port, path, token=None, source="127.0.0.1"):
    """(seconds, status line) of a GET on a new connection."""
    started = time.monotonic()
    headers = f"GET {path} HTTP/1.1\r\nHost: collector\r\nConnection: close\r\n"
    if token:
        headers += f"Authorization: Bearer {token}\r\n"
    reply = exchange(port, (headers + "\r\n").encode(), source, timeout=10)
    return time.monotonic() - started, reply.split(b"\r\n", 1)[0]


class Trickler:
    """Slow-header clients: each connection sends a request line and then one header line every `every` seconds."""

    def __init__(self, sockets, every):
        self.sockets, self.every = sockets, every
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        for s in self.sockets:
            try:
                s.sendall(b"GET /v1/events HTTP/1.1\r\nHost: x\r\n")
            except OSError:
                pass
        n = 0
        while not self.stop.wait(self.every):
            n += 1
            for s in self.sockets:
                try:
                    s.sendall(f"X-Slow-{n}: y\r\n".encode())
                except OSError:
                    pass

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def close_all(sockets):
    for s in sockets:
        s.close()


class CollectorCase(unittest.TestCase):
    config = ""

    def setUp(self):
        raise_fd_limit()
        self.collector = Collector()
        args = []
        if self.config:
            path = os.path.join(self.collector.dir, "collector.yaml")
            with open(path, "w") as f:
                f.write(self.config)
            args = ["--config", path]
        self.collector.extra_args = args
        self.collector.start()
        self.port = self.collector.port

    def tearDown(self):
        self.collector.cleanup()

    def closed_total(self, reason):
        return self.collector.metrics().get(f'credtrace_collector_connections_closed_total{{reason="{reason}"}}', 0)

    def assert_served_quickly(self, source="127.0.0.1"):
        took, status = timed_get(self.port, "/healthz", source=source)
        self.assertEqual(status, b"HTTP/1.1 200 OK")
        self.assertLess(took, 1.0, "/healthz took %.2f s" % took)
        took, status = timed_get(self.port, "/v1/credentials?limit=5", READER_TOKEN, source)
        self.assertEqual(status, b"HTTP/1.1 200 OK")
        self.assertLess(took, 1.0, "the authenticated query took %.2f s" % took)


class FloodOneAddressTest(CollectorCase):
    """The issue's case with the default limits: 1,000 idle and 100 slow-header connections from one address."""

    def test_new_client_is_served_within_a_second(self):
        idle = [connect(self.port) for _ in range(1000)]
        slow = [connect(self.port) for _ in range(100)]
        try:
            with Trickler(slow, every=0.5):
                time.sleep(0.5)
                self.assert_served_quickly()
                self.assert_served_quickly()  # and again: nothing was used up by the first
                metrics = self.collector.metrics()
        finally:
            close_all(idle + slow)
        self.assertLessEqual(metrics["credtrace_collector_connections_open"], 64 + 1)
        self.assertGreaterEqual(self.closed_total("evicted_unauthenticated"), 1000)


class FloodAtCapacityTest(CollectorCase):
    """Many addresses fill the collector: the oldest connection that never completed a request makes room."""

    config = """connections:
  max: 200
  max_per_address: 100
  max_unauthenticated_per_address: 100
"""

    def test_oldest_unfinished_connection_is_evicted(self):
        sockets = []
        for i in range(3):
            sockets += [connect(self.port, f"127.0.0.{2 + i}") for _ in range(90)]
        try:
            time.sleep(0.3)
            self.assert_served_quickly(source="127.0.0.9")
            evicted = self.closed_total("evicted_at_capacity")
            # The first connections opened were the ones evicted.
            self.assertTrue(closed_by_server(sockets[0], within=2))
            self.assertFalse(closed_by_server(sockets[-1], within=0.2))
        finally:
            close_all(sockets)
        self.assertGreaterEqual(evicted, 270 - 200)

    def test_a_connection_that_completed_a_request_is_kept(self):
        keeper = connect(self.port, "127.0.0.2")
        keeper.sendall(f"GET /v1/credentials HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {READER_TOKEN}\r\n\r\n".encode())
        self.assertTrue(keeper.recv(65536).startswith(b"HTTP/1.1 200 OK"))
        sockets = [connect(self.port, f"127.0.0.{3 + i % 3}") for i in range(260)]
        try:
            time.sleep(0.3)
            keeper.sendall(f"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            self.assertTrue(keeper.recv(65536).startswith(b"HTTP/1.1 200 OK"))
        finally:
            close_all(sockets + [keeper])


class DeadlinesTest(CollectorCase):
    config = """connections:
  header_timeout_seconds: 2
  request_timeout_seconds: 2
  idle_timeout_seconds: 3
  max_buffered_body_bytes: 12582912
"""

    def test_slow_headers_and_silent_connections_are_closed(self):
        silent = connect(self.port)
        slow = connect(self.port)
        with Trickler([slow], every=0.3):
            started = time.monotonic()
            self.assertTrue(closed_by_server(slow, within=5))
            took = time.monotonic() - started
        self.assertTrue(closed_by_server(silent, within=2))
        close_all([silent, slow])
        self.assertGreater(took, 1.5)
        self.assertLess(took, 4.0)
        self.assertGreaterEqual(self.closed_total("header_timeout"), 2)

    def test_keep_alive_connection_idles_out_after_its_request(self):
        s = connect(self.port)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(s.recv(65536).startswith(b"HTTP/1.1 200 OK"))
        started = time.monotonic()
        self.assertTrue(closed_by_server(s, within=6))
        s.close()
        self.assertGreater(time.monotonic() - started, 2.5)
        self.assertGreaterEqual(self.closed_total("idle_timeout"), 1)

    def test_unfinished_bodies_are_bounded_and_time_out(self):
        def start_body(length, send):
            s = connect(self.port)
            s.sendall((f"POST /v1/ingest HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {AGENT_TOKEN}\r\n"
                       f"Content-Type: application/x-protobuf\r\nContent-Length: {length}\r\n\r\n").encode())
            s.sendall(b"\0" * send)
            return s

        mib = 1 << 20
        unfinished = [start_body(6 * mib, 5 * mib), start_body(6 * mib, 5 * mib)]  # 10 MiB of a 12 MiB budget
        time.sleep(0.5)
        over = start_body(4 * mib, 4 * mib)
        reply = over.recv(65536)
        over.close()
        self.assertTrue(reply.startswith(b"HTTP/1.1 503"), reply[:200])
        self.assertIn(b"Retry-After: 1", reply)
        for s in unfinished:
            self.assertTrue(closed_by_server(s, within=4))
            s.close()
        self.assertGreaterEqual(self.closed_total("request_timeout"), 2)
        self.assertGreaterEqual(self.collector.metrics()["credtrace_collector_body_budget_refusals_total"], 1)
        # The budget came back: a whole body is read again (not a protobuf batch: 400, not 503).
        again = start_body(4 * mib, 4 * mib)
        reply = again.recv(65536)
        again.close()
        self.assertTrue(reply.startswith(b"HTTP/1.1 400"), reply[:200])


class FramingTest(CollectorCase):
    def refused_once(self, raw, reason):
        reply = exchange(self.port, raw)
        self.assertTrue(reply.startswith(b"HTTP/1.1 400 "), reply[:300])
        self.assertEqual(reply.count(b"HTTP/1.1 "), 1, reply)  # one status line: no headers sent twice
        self.assertIn(reason.encode(), reply)
        return reply

    def test_smuggling_shapes_are_refused(self):
        auth = f"Authorization: Bearer {AGENT_TOKEN}\r\n"
        self.refused_once(("POST /v1/ingest HTTP/1.1\r\nHost: x\r\n" + auth +
                           "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n").encode(),
                          "both Content-Length and Transfer-Encoding")
        self.refused_once(("POST /v1/ingest HTTP/1.1\r\nHost: x\r\n" + auth +
                           "Content-Length: 0\r\nContent-Length: 5\r\n\r\nhello").encode(),
                          "header sent more than once: content-length")
        self.refused_once(b"GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", "more than once: host")

    def test_two_authorization_headers_are_refused(self):
        self.refused_once((f"GET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {READER_TOKEN}\r\n"
                           "Authorization: Bearer wrong\r\n\r\n").encode(), "more than once: authorization")

    def test_nul_in_path_or_parameter_is_refused_not_truncated(self):
        auth = f"Authorization: Bearer {READER_TOKEN}\r\n"
        self.refused_once(f"GET /v1/events%00x HTTP/1.1\r\nHost: x\r\n{auth}\r\n".encode(), "NUL")
        self.refused_once(f"GET /v1/events?limit=5%00 HTTP/1.1\r\nHost: x\r\n{auth}\r\n".encode(), "NUL")
        self.refused_once(f"GET /v1/events?li%00mit=5 HTTP/1.1\r\nHost: x\r\n{auth}\r\n".encode(), "NUL")
        # Other escapes still decode.
        reply = exchange(self.port, f"GET /v1/ev%65nts?limit=5 HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n"
                         .encode())
        self.assertTrue(reply.startswith(b"HTTP/1.1 200 OK"), reply[:200])

    def test_negative_content_length_is_refused(self):
        # libmicrohttpd 0.9.75 refuses it itself, before the collector sees the request (docs/security.md).
        reply = exchange(self.port, b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 400 "), reply[:300])
        self.assertTrue(self.collector.proc.poll() is None)


if __name__ == "__main__":
    unittest.main()
