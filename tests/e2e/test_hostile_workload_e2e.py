"""End-to-end tests (root) of the agent under a hostile watched workload: the largest environment and argv execve
takes, files built to be expensive to parse, HTTP streams of millions of tiny headers, and a flood of captures. Each
checks that the bound it hits is counted in agent_health, that the agent's peak memory stays bounded, that another
watched process's secret (and its use) is still reported, and (the harness) that no raw secret reaches any output.

A 50 MB environment or a million-entry argv cannot be exec'd on Linux whatever RLIMIT_STACK says (measured here:
E2BIG): the kernel caps argument and environment strings plus their pointers at 3/4 of _STK_LIM (6 MiB). The tests
use just under that ceiling; the agent's own caps (256 KiB per /proc read, 4 exec environment chunks) are far below
it either way."""
import os
import resource
import socket
import ssl
import subprocess
import sys
import threading
import time
import unittest

from harness import Agent, AgentTestCase, base_env, fake_github_pat, fingerprint
from tls_server import HttpsServer

CLIENTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "clients")
# The agent's peak resident memory allowed in every test here: what it needs on a quiet host (~20-40 MB on this VM)
# plus its fixed bounds (the 8 MiB ring, 256 KiB /proc reads, 1 MiB files, 64 KiB header blocks per stream).
PEAK_RSS_LIMIT_KIB = 160 * 1024

# A watched server that sleeps a while (its name makes it an MCP server), so the agent reads it while it lives.
SLEEPER = "import time\ntime.sleep(float(__import__('os').environ.get('SLEEP', '4')))\n"

# A watched server that opens the given file as fast as it can for the given seconds, then exits.
FLOODER = """import os, sys, time
path, seconds = sys.argv[1], float(sys.argv[2])
end, n = time.monotonic() + seconds, 0
while time.monotonic() < end:
    for _ in range(1000):
        os.close(os.open(path, os.O_RDONLY))
    n += 1000
print(n)
"""

# Writes HTTP/1.1 requests of many tiny headers over TLS.
TINY_HEADERS = """import os, socket, ssl, sys, time
sink, ca = int(sys.argv[1]), sys.argv[2]
per_request, requests = int(sys.argv[3]), int(sys.argv[4])
time.sleep(0.5)  # the agent attaches meanwhile
context = ssl.create_default_context(cafile=ca)
with socket.create_connection(("127.0.0.1", sink)) as raw, context.wrap_socket(raw, server_hostname="localhost") as s:
    block = b"".join(b"a%d:b\\r\\n" % (i % 10) for i in range(per_request))
    request = b"GET /flood HTTP/1.1\\r\\nHost: localhost\\r\\n" + block + b"\\r\\n"
    for _ in range(requests):
        for at in range(0, len(request), 8192):  # SSL_writes the kernel copies whole (up to 16 KiB each)
            s.sendall(request[at:at + 8192])
"""


class TlsSink:
    """A TLS server on 127.0.0.1 (random port, an HttpsServer's certificate) that reads every connection to its end
    and answers nothing: what a client writes is all the agent sees, and no header count is refused."""

    def __init__(self, https_server):
        self.cert_dir = https_server.dir

    def __enter__(self):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(os.path.join(self.cert_dir, "server.crt"), os.path.join(self.cert_dir, "server.key"))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]

        def drain(conn):
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    while tls.recv(1 << 20):
                        pass
            except (OSError, ssl.SSLError):
                pass

        def serve():
            while True:
                try:
                    conn, _ = self.listener.accept()
                except OSError:
                    return
                threading.Thread(target=drain, args=(conn,), daemon=True).start()

        threading.Thread(target=serve, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.listener.close()


def unlimited_stack():
    """preexec_fn: the stack limit that lets execve take a 50 MB environment or a million arguments."""
    resource.setrlimit(resource.RLIMIT_STACK, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


class HostileWorkloadE2E(AgentTestCase):
    scratch_prefix = "credtrace-hostile-"

    def script(self, name, body):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write("#!" + sys.executable + "\n" + body)
        os.chmod(path, 0o755)
        return path

    def peak_rss_kib(self):
        with open(f"/proc/{self.agent.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        raise AssertionError("no VmHWM")

    def assert_memory_bounded(self, what):
        peak = self.peak_rss_kib()
        print(f"{what}: agent peak RSS {peak / 1024:.1f} MiB", file=sys.stderr)
        self.assertLess(peak, PEAK_RSS_LIMIT_KIB, f"{what}: the agent's peak memory")

    def health_after(self, since, pred=lambda h: True, what="agent_health"):
        """The first agent_health written after `since` (time.time()) that satisfies pred."""
        return self.agent.wait_for(lambda e: e["type"] == "agent_health" and e["time"] > since_iso(since)
                                   and pred(e["agent_health"]), timeout=20, what=what)["agent_health"]

    def exposure(self, raw, name):
        return self.agent.wait_for(lambda e: e["type"] == "secret_exposure"
                                   and e["source"].get("kind") == "env" and e["source"].get("name") == name
                                   and e["credential"]["fingerprint"] == fingerprint(raw), what=f"{name} exposure")

    def quiet_server_still_seen(self):
        """Another watched server, started now: its env secret is still reported."""
        token = self.secret(fake_github_pat())
        quiet = self.script("mcp-server-quiet", SLEEPER)
        subprocess.run([quiet], env=dict(base_env(), GITHUB_TOKEN=token, SLEEP="1"), check=True, timeout=30)
        self.exposure(token, "GITHUB_TOKEN")

    def test_the_largest_environment_execve_takes(self):
        token = self.secret(fake_github_pat())
        self.agent = Agent().start()
        env = dict(base_env(), GITHUB_TOKEN=token)
        # 56 x 100 KiB = 5.5 MiB, near execve's 6 MiB ceiling (one string: 128 KiB at most)
        env.update({f"PAD_{i:04d}": "x" * (100 * 1024) for i in range(56)})
        server = self.script("mcp-server-huge-env", SLEEPER)
        since = time.time()
        result = subprocess.run([server], env=env, preexec_fn=unlimited_stack, capture_output=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)  # the workload is unharmed
        self.agent.wait_for(lambda e: e["type"] == "mcp_server_start"
                            and e["workload"]["mcp"]["server_name"] == "mcp-server-huge-env", what="server start")
        self.exposure(token, "GITHUB_TOKEN")  # an environment's first entries are read, whatever its size
        sensors = self.health_after(since, lambda h: int(h["sensors"].get("exec_environments_truncated", 0))
                                    + int(h["sensors"].get("procfs_environ_truncated", 0)) >= 1,
                                    "the environment cut counted")["sensors"]
        print(f"5.5 MiB environment: exec_environments_truncated {sensors.get('exec_environments_truncated')}, "
              f"procfs_environ_truncated {sensors.get('procfs_environ_truncated')}", file=sys.stderr)
        self.assert_memory_bounded("5.5 MiB environment")
        self.quiet_server_still_seen()

    def test_the_longest_argv_execve_takes(self):
        self.agent = Agent().start()
        server = self.script("mcp-server-huge-argv", SLEEPER)
        since = time.time()
        # 600,000 entries: 2 bytes and a pointer each, 6 MB with the pointers (execve's ceiling: 6 MiB)
        result = subprocess.run([server] + ["a"] * 600000, env=dict(base_env(), SLEEP="3"),
                                preexec_fn=unlimited_stack, capture_output=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        start = self.agent.wait_for(lambda e: e["type"] == "mcp_server_start"
                                    and e["workload"]["mcp"]["server_name"] == "mcp-server-huge-argv",
                                    what="server start")
        self.assertLess(len(" ".join(start["process"].get("args", []))), 300 * 1024, "args kept within the cap")
        health = self.health_after(since, lambda h: int(h["sensors"].get("procfs_cmdline_truncated", 0))
                                   + int(h.get("truncations", {}).get("exec", 0)) >= 1, "the argv cut counted")
        print(f"600,000-entry argv: procfs_cmdline_truncated {health['sensors'].get('procfs_cmdline_truncated')}, "
              f"exec truncations {health.get('truncations', {}).get('exec')}", file=sys.stderr)
        self.assert_memory_bounded("600,000-entry argv")
        self.quiet_server_still_seen()

    def test_files_built_to_be_expensive_to_parse(self):
        token = self.secret(fake_github_pat())
        project = os.path.join(self.dir, "project")
        os.makedirs(project)
        with open(os.path.join(project, ".env"), "w") as f:  # 8 MiB: over secrets.max_file_bytes (1 MiB)
            f.write("A=1\n" * (2 * 1024 * 1024))
        with open(os.path.join(project, "mcp.json"), "w") as f:  # 1 MiB of nesting
            f.write("[" * (512 * 1024) + "]" * (512 * 1024))
        with open(os.path.join(project, ".netrc"), "w") as f:  # 200,000 tiny entries, under the size cap
            f.write("machine m login l password p\n" * 30000)
        os.makedirs(os.path.join(project, "ok"))
        with open(os.path.join(project, "ok", ".env"), "w") as f:  # an ordinary file, read after them
            f.write(f"GITHUB_TOKEN={token}\n")
        reader = self.script("mcp-server-file-reader", """import os
for name in (".env", "mcp.json", ".netrc", "ok/.env"):
    with open(name) as f:
        f.read()
""")
        self.agent = Agent().start()
        since = time.time()
        subprocess.run([reader], cwd=project, env=base_env(), check=True, timeout=30)
        read = self.agent.wait_for(lambda e: e["type"] == "secret_read"
                                   and e.get("credential", {}).get("fingerprint") == fingerprint(token),
                                   what="the ordinary file's secret read")
        self.assertEqual(read["source"]["path"], os.path.join(project, "ok", ".env"))
        health = self.health_after(since, lambda h: int(h.get("agent_errors", {}).get("credential_file_too_large", 0))
                                   >= 1, "the oversized .env counted")
        print(f"expensive files: agent_errors {health.get('agent_errors')}", file=sys.stderr)
        self.assert_memory_bounded("expensive files")

    def test_millions_of_tiny_headers_over_tls(self):
        token = self.secret(fake_github_pat())
        self.agent = Agent().start()
        client = self.script("mcp-server-tiny-headers", TINY_HEADERS)
        since = time.time()
        with HttpsServer() as server, TlsSink(server) as sink:
            # 2,000 requests of 1,000 headers each (2 million headers, ~13 MB), every block under 64 KiB; then 20
            # requests of 20,000 headers (~130 KiB blocks, over the limit).
            for per_request, requests in ((1000, 2000), (20000, 20)):
                subprocess.run([client, str(sink.port), server.ca, str(per_request), str(requests)], env=base_env(),
                               check=True, timeout=120)
            # Another server's ordinary request right after the floods (a flooding process's own later captures may
            # fall in its spent budget: that is the point of the budget).
            subprocess.run([sys.executable, os.path.join(CLIENTS, "mcp_server_tls_probe.py"), "urllib",
                            str(server.port), server.ca], env=dict(base_env(), GITHUB_TOKEN=token), check=True,
                           timeout=60)
        use = self.agent.wait_for(lambda e: e["type"] == "credential_use"
                                  and e["credential"]["fingerprint"] == fingerprint(token), what="the ordinary use")
        self.assertEqual(use["workload"]["mcp"]["server_name"], "mcp_server_tls_probe")
        health = self.health_after(since, lambda h: int(h["sensors"].get("http1_header_blocks_oversized", 0)) >= 1,
                                   "oversized header blocks counted")
        sensors = health["sensors"]
        print(f"tiny headers: http1_requests {sensors.get('http1_requests')}, http1_header_blocks_oversized "
              f"{sensors.get('http1_header_blocks_oversized')}, tls_capture_gaps {sensors.get('tls_capture_gaps')}, "
              f"drops {health['drops']}", file=sys.stderr)
        self.assert_memory_bounded("millions of tiny headers")

    def test_a_flood_of_captures_does_not_starve_another_server(self):
        token = self.secret(fake_github_pat())
        self.agent = Agent().start()
        target = os.path.join(self.dir, "flooded")
        open(target, "w").close()
        flooder = subprocess.Popen([self.script("mcp-server-flooder", FLOODER), target, "6"], env=base_env(),
                                   stdout=subprocess.PIPE, text=True)
        time.sleep(1.5)  # the flood is on
        since = time.time()
        with HttpsServer() as server:
            subprocess.run([sys.executable, os.path.join(CLIENTS, "mcp_server_tls_probe.py"), "urllib",
                            str(server.port), server.ca], env=dict(base_env(), GITHUB_TOKEN=token), check=True,
                           timeout=60)
        self.exposure(token, "GITHUB_TOKEN")
        use = self.agent.wait_for(lambda e: e["type"] == "credential_use"
                                  and e["credential"]["fingerprint"] == fingerprint(token)
                                  and e["request"]["carrier"] == "header:authorization", what="the other's use")
        self.assertEqual(use["workload"]["mcp"]["server_name"], "mcp_server_tls_probe")
        opens = int(flooder.communicate(timeout=60)[0])
        self.assertEqual(flooder.returncode, 0)
        health = self.health_after(since, lambda h: int(h["drops"].get("rate_limited", 0)) >= 1,
                                   "rate-limited captures counted")
        print(f"flood: {opens} opens in 6 s; drops {health['drops']}", file=sys.stderr)
        # Not asserted: ringbuf_full. On a quiet VM it stays 0 (the agent drains 50,000 open records a second); with
        # the CPU shared with a parallel build it reached ~50,000 (the agent fell behind 25,000/s of 1.3 KB records).
        # The point asserted above holds either way: the other server's secret and use arrive.
        self.assert_memory_bounded("capture flood")


def since_iso(seconds):
    """An RFC 3339 UTC time, as the events' `time` (comparable as a string)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


if __name__ == "__main__":
    unittest.main()
