"""Benchmark: HTTPS request throughput (1 KiB POSTs, keep-alive, loopback) of a Node and a Python client with the
agent off, on with the client unwatched, and on with the client watched (captured and parsed); prints the ratios.
Twice: against a local server that pays the agent's probes like any OpenSSL process on the host, and against one
whose libssl is a private copy the agent does not probe (as a remote API's would be).
Target: at most 5% throughput loss for a watched client. Usage (root): https_throughput.py AGENT [N] [ROUNDS]"""
import contextlib
import glob
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "../../tests/e2e"))
from tls_server import HttpsServer  # noqa: E402

AGENT = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
TOKEN = "ghp_" + "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(36))


def start_agent(directory, watch):
    config = os.path.join(directory, "bench.yaml")
    events = os.path.join(directory, "events.jsonl")
    if os.path.exists(events):  # an earlier agent's agent_ready must not pass for this one's
        os.remove(events)
    with open(config, "w") as f:
        f.write(f"state_dir: {directory}\noutput:\n  json: {events}\nmcp:\n  scan_user_homes: false\n")
        if not watch:  # an unwatched client: nothing may match it
            f.write('  server_patterns: ["never-matches-anything"]\n')
    proc = subprocess.Popen([AGENT, "--config", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        if os.path.exists(events) and "agent_ready" in open(events).read():
            return proc
        time.sleep(0.05)
    raise RuntimeError("agent not ready")


def run_client(kind, server):
    script = {"python": [sys.executable, os.path.join(HERE, "mcp_server_bench_client.py")],
              "node": ["node", os.path.join(HERE, "mcp-server-bench-client.mjs")]}[kind]
    out = subprocess.run(script + [str(server.port), server.ca, str(N)], capture_output=True, text=True, check=True,
                         env={"PATH": os.environ["PATH"], "BENCH_TOKEN": TOKEN})
    return float(out.stdout.strip())


class UnprobedServer:
    """The server in a process of its own on private copies of libssl.so.3 and libcrypto.so.3 (.port, .ca)."""

    def __enter__(self):
        self.libs = tempfile.mkdtemp(prefix="credtrace-bench-libs-")
        for name in ("libssl.so.3", "libcrypto.so.3"):
            source = glob.glob(f"/usr/lib/*/{name}")[0]
            shutil.copy(os.path.realpath(source), os.path.join(self.libs, name))
        env = dict(os.environ, LD_LIBRARY_PATH=self.libs)
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "unprobed_server.py")], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        port, self.ca = self.proc.stdout.readline().split()
        self.port = int(port)
        maps = open(f"/proc/{self.proc.pid}/maps").read()
        if os.path.join(self.libs, "libssl.so.3") not in maps:
            raise RuntimeError("the unprobed server did not load its private libssl")
        return self

    def __exit__(self, *exc):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)
        shutil.rmtree(self.libs, ignore_errors=True)


def measure(server, directory):
    results = {}
    for kind in ("python", "node"):
        for mode in ("off", "unwatched", "watched"):
            results[(kind, mode)] = []
        for round_number in range(ROUNDS):  # interleaved, so drift hits every mode alike
            modes = ["off", "unwatched", "watched"]
            modes = modes[round_number % 3:] + modes[:round_number % 3]  # and no mode always runs first
            for mode in modes:
                if mode == "off":
                    results[(kind, mode)].append(run_client(kind, server))
                    continue
                agent = start_agent(directory, watch=(mode == "watched"))
                try:
                    results[(kind, mode)].append(run_client(kind, server))
                finally:
                    agent.terminate()
                    agent.wait()
    return results


def report(title, results):
    print(title)
    for kind in ("python", "node"):
        off = results[(kind, "off")]
        for mode in ("off", "unwatched", "watched"):
            runs = results[(kind, mode)]
            ratios = [r / o for r, o in zip(runs, off)]
            print(f"{kind:6} {mode:9} {statistics.median(runs):9.1f} req/s  ratio {statistics.median(ratios):.3f}"
                  f"  range {min(ratios):.3f}-{max(ratios):.3f}")


def main():
    print(f"HTTPS 1 KiB POST throughput, keep-alive, loopback; {ROUNDS} rounds of {N} requests per mode")
    print("ratio = median over rounds of (mode / off in the same round); range = min-max of those ratios")
    with tempfile.TemporaryDirectory() as directory:
        with HttpsServer() as server:
            report("server in the benchmark process (system libssl: it pays the probes of an unwatched process)",
                   measure(server, directory))
        with UnprobedServer() as server:
            report("server on a private libssl copy (not probed, as a remote API)", measure(server, directory))
    print("target: a watched client keeps >= 0.95x of its throughput with the agent off")


if __name__ == "__main__":
    main()
