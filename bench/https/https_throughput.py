"""Benchmark: HTTPS request throughput (1 KiB POSTs, keep-alive, loopback) of a Node and a Python client with the
agent off, on with the client unwatched, and on with the client watched (captured and parsed); prints the ratios.
Twice: against a local server that pays the agent's probes like any OpenSSL process on the host, and against one
whose libssl is a private copy the agent does not probe (as a remote API's would be).
Also the CPU per request of the client, the server (the unprobed one's process) and the agent, from the kernel's
per-thread run times. Target (issue 18): a watched client keeps >= 0.97 of its throughput against the unprobed server.
Ends with FIGURE lines (bench/figures.py). Usage (root): https_throughput.py AGENT [N] [ROUNDS]"""
import contextlib
import glob
import os
import resource
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


def process_cpu_ns(pid):
    """CPU time of every thread of pid so far (schedstat: ns on a CPU), or None when it is not known."""
    if pid is None:
        return None
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return total


def children_cpu_s():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_client(kind, server, agent_pid=None):
    """(requests per second, CPU us per request of the client, of the server (None: not its own process), of the
    agent (None: no agent))."""
    script = {"python": [sys.executable, os.path.join(HERE, "mcp_server_bench_client.py")],
              "node": ["node", os.path.join(HERE, "mcp-server-bench-client.mjs")]}[kind]
    server_before, agent_before = process_cpu_ns(getattr(server, "pid", None)), process_cpu_ns(agent_pid)
    client_before = children_cpu_s()
    out = subprocess.run(script + [str(server.port), server.ca, str(N)], capture_output=True, text=True, check=True,
                         env={"PATH": os.environ["PATH"], "BENCH_TOKEN": TOKEN})
    client_us = (children_cpu_s() - client_before) * 1e6 / N
    server_after, agent_after = process_cpu_ns(getattr(server, "pid", None)), process_cpu_ns(agent_pid)
    server_us = (server_after - server_before) / 1e3 / N if server_before is not None and server_after else None
    agent_us = (agent_after - agent_before) / 1e3 / N if agent_before is not None and agent_after else None
    return float(out.stdout.strip()), client_us, server_us, agent_us


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
        self.pid = self.proc.pid
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
                    results[(kind, mode)].append(run_client(kind, server, agent.pid))
                finally:
                    agent.terminate()
                    agent.wait()
    return results


def median_of(values):
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def cpu_text(us):
    return "      -" if us is None else f"{us:7.1f}"


def report(title, results, figures=None):
    """Prints the table; figures (a list) gets the watched ratios and CPU per request as FIGURE lines."""
    print(title)
    print("                          req/s   ratio  range          CPU us per request: client  server   agent")
    for kind in ("python", "node"):
        off = [r[0] for r in results[(kind, "off")]]
        for mode in ("off", "unwatched", "watched"):
            runs = results[(kind, mode)]
            ratios = [r[0] / o for r, o in zip(runs, off)]
            client, server, agent = (median_of([r[i] for r in runs]) for i in (1, 2, 3))
            print(f"{kind:6} {mode:9} {statistics.median(r[0] for r in runs):9.1f}  {statistics.median(ratios):.3f}"
                  f"  {min(ratios):.3f}-{max(ratios):.3f}  {' ' * 19}{cpu_text(client)} {cpu_text(server)}"
                  f" {cpu_text(agent)}")
            if figures is not None and mode == "watched":
                figures.append(f"FIGURE https_watched_ratio_{kind} {statistics.median(ratios):.3f} ratio >=0.97 "
                               f"range {min(ratios):.3f}-{max(ratios):.3f} over {len(ratios)} rounds")
                figures.append(f"FIGURE https_agent_cpu_per_request_{kind} "
                               f"{'unknown' if agent is None else f'{agent:.1f}'} us - watched client, live agent")


def main():
    print(f"HTTPS 1 KiB POST throughput, keep-alive, loopback; {ROUNDS} rounds of {N} requests per mode")
    print("ratio = median over rounds of (mode / off in the same round); range = min-max of those ratios")
    with tempfile.TemporaryDirectory() as directory:
        with HttpsServer() as server:
            report("server in the benchmark process (system libssl: it pays the probes of an unwatched process)",
                   measure(server, directory))
        figures = []
        with UnprobedServer() as server:
            report("server on a private libssl copy (not probed, as a remote API)", measure(server, directory),
                   figures)
    print("target: a watched client keeps >= 0.97x of its throughput with the agent off (against the unprobed server)")
    print("\n".join(figures))


if __name__ == "__main__":
    main()
