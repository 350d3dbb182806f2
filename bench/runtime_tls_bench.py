"""Benchmark (root): a watched HTTPS client of a runtime the agent probes without OpenSSL symbols, 1 KiB POSTs with a
bearer token on one keep-alive connection, against a Go HTTPS server on loopback that is not probed (as a remote API),
in rotated rounds: agent off; empty uprobes at exactly the agent's points (bench_tls_empty_probes); the agent on with
the client watched. Runtimes: go (tests/go/https_client, stripped: (*Conn).Write, Read's entry and each RET) and bun
(Bun from npm, fetch: BoringSSL's SSL_write, SSL_read's entry and return, found by signature). Prints requests/s per
mode, the ratio on/off, the microseconds each mode adds per request, and from the kernel's BPF statistics the
nanoseconds per run of the agent's programs beside the empty program's.
Usage: runtime_tls_bench.py BUILD_DIR go|bun [REQUESTS] [ROUNDS]"""
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "../tests/e2e"))
from tls_server import make_ca_and_cert  # noqa: E402

BUILD = os.path.abspath(sys.argv[1])
RUNTIME = sys.argv[2]
N = int(sys.argv[3]) if len(sys.argv) > 3 else 3000
ROUNDS = int(sys.argv[4]) if len(sys.argv) > 4 else 5
BUN = os.path.join(HERE, "../tests/e2e/npm/node_modules/@oven/bun-linux-x64/bin/bun")
TOKEN = "ghp_" + "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(36))
PROGRAMS = ("ct_go_tls_write", "ct_go_tls_read", "ct_go_tls_read_ret", "ct_ssl_write", "ct_ssl_read", "ct_ssl_read_ret",
            "empty_uprobe")  # names as bpftool shows them (BTF)


def program_stats():
    """run_time_ns and run_cnt per program name (kernel.bpf_stats_enabled must be 1)."""
    out = subprocess.run(["bpftool", "prog", "show", "--json"], capture_output=True, text=True, check=True).stdout
    stats = {}
    for prog in json.loads(out):
        name = prog.get("name", "")
        if name in PROGRAMS:
            ns, runs = stats.get(name, (0, 0))
            stats[name] = (ns + prog.get("run_time_ns", 0), runs + prog.get("run_cnt", 0))
    return stats


def start_agent(directory):
    config = os.path.join(directory, "bench.yaml")
    events = os.path.join(directory, "events.jsonl")
    if os.path.exists(events):
        os.remove(events)
    with open(config, "w") as f:
        f.write(f"state_dir: {directory}\noutput:\n  json: {events}\nmcp:\n  scan_user_homes: false\n")
    proc = subprocess.Popen([os.path.join(BUILD, "credtrace-agent"), "--config", config], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(300):
        if os.path.exists(events) and "agent_ready" in open(events).read():
            return proc
        time.sleep(0.05)
    raise RuntimeError("agent not ready")


class GoClient:
    """tests/go/https_client, stripped, under a name the agent's server patterns match (watched)."""

    def __init__(self, work):
        self.probed = os.path.join(work, "mcp-server-go-bench")
        shutil.copy(os.path.join(BUILD, "tests/go/https_client-stripped"), self.probed)
        version = subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True).stdout.strip()
        self.title = f"Go HTTPS client ({version}, stripped)"

    def command(self, url, ca):
        return [self.probed, "-time", "-n", str(N + 1), "-body", "x" * 1024, url], {"CA_FILE": ca}


class BunClient:
    """Bun's fetch (tests/e2e/npm: @oven/bun-linux-x64) running a script whose name the server patterns match."""

    def __init__(self, work):
        self.probed = BUN
        self.script = os.path.join(work, "mcp-server-bun-bench.mjs")
        shutil.copy(os.path.join(HERE, "bun/fetch_loop.mjs"), self.script)
        version = subprocess.run([BUN, "--version"], capture_output=True, text=True).stdout.strip()
        self.title = f"Bun {version} fetch (BoringSSL linked in, no symbols)"

    def command(self, url, ca):
        return [BUN, self.script, url, str(N)], {"NODE_EXTRA_CA_CERTS": ca}


def main():
    work = tempfile.mkdtemp(prefix="credtrace-tls-bench-")
    runtime = {"go": GoClient, "bun": BunClient}[RUNTIME](work)
    ca, cert, key = make_ca_and_cert(work)
    server = subprocess.Popen([os.path.join(BUILD, "tests/go/https_server-stripped"), cert, key],
                              stdout=subprocess.PIPE, text=True)
    port = int(server.stdout.readline().split()[1])
    with open("/proc/sys/kernel/bpf_stats_enabled") as f:
        stats_before = f.read().strip()
    with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
        f.write("1")

    def run_client():
        command, env = runtime.command(f"https://localhost:{port}/v1/items", ca)
        out = subprocess.run(command, env={"PATH": os.environ["PATH"], "API_TOKEN": TOKEN, **env},
                             capture_output=True, text=True, check=True)
        return N / float(out.stdout.strip())

    results = {"off": [], "empty": [], "on": []}
    in_kernel = {"empty": {}, "on": {}}
    try:
        run_client()  # warm-up
        for round_index in range(ROUNDS):
            order = ["off", "empty", "on"]
            order = order[round_index % 3:] + order[:round_index % 3]
            for mode in order:
                helper = agent = None
                if mode == "empty":
                    helper = subprocess.Popen([os.path.join(BUILD, "bench_tls_empty_probes"), runtime.probed],
                                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                              text=True)
                    assert helper.stdout.readline().startswith("ready"), "empty probes not attached"
                if mode == "on":
                    agent = start_agent(work)
                before = program_stats()
                results[mode].append(run_client())
                after = program_stats()
                if mode in in_kernel:
                    for name, (ns, runs) in after.items():
                        ns0, runs0 = before.get(name, (0, 0))
                        acc = in_kernel[mode].setdefault(name, [0, 0])
                        acc[0] += ns - ns0
                        acc[1] += runs - runs0
                if helper:
                    helper.stdin.close()
                    helper.wait()
                if agent:
                    agent.terminate()
                    agent.wait()
    finally:
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write(stats_before)
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)

    median = {mode: statistics.median(values) for mode, values in results.items()}
    print(f"{runtime.title}, {N} POSTs of 1 KiB on one keep-alive connection, {ROUNDS} rotated rounds, "
          f"unprobed Go server")
    for mode, label in (("off", "agent off"), ("empty", "empty uprobes at the agent's points"),
                        ("on", "agent on, client watched")):
        values = results[mode]
        print(f"  {label:40s} {median[mode]:9.0f} req/s (min {min(values):.0f}, max {max(values):.0f})"
              f"   +{(1 / median[mode] - 1 / median['off']) * 1e6:6.2f} us/request")
    print(f"  watched / off throughput: {median['on'] / median['off']:.3f}"
          f"   (spread of the off rounds: {(max(results['off']) - min(results['off'])) / median['off']:.3f})")
    for mode in ("empty", "on"):
        for name, (ns, runs) in sorted(in_kernel[mode].items()):
            if runs:
                print(f"  in the kernel, {mode:5s}: {name:16s} {ns / runs:7.0f} ns per run, {runs / (N * ROUNDS):.2f} runs per request")


if __name__ == "__main__":
    main()
