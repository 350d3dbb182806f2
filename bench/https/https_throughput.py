"""Benchmark: HTTPS request throughput (1 KiB POSTs, keep-alive, loopback) of a Node and a Python client with the
agent off, on with the client unwatched, and on with the client watched (captured and parsed); prints the ratios.
Target: at most 5% throughput loss for a watched client. Usage (root): https_throughput.py AGENT [N] [ROUNDS]"""
import os
import secrets
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


def main():
    results = {}
    with HttpsServer() as server, tempfile.TemporaryDirectory() as directory:
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
    print(f"HTTPS 1 KiB POST throughput, keep-alive, loopback; {ROUNDS} rounds of {N} requests per mode")
    print("ratio = median over rounds of (mode / off in the same round); range = min-max of those ratios")
    for kind in ("python", "node"):
        off = results[(kind, "off")]
        for mode in ("off", "unwatched", "watched"):
            runs = results[(kind, mode)]
            ratios = [r / o for r, o in zip(runs, off)]
            print(f"{kind:6} {mode:9} {statistics.median(runs):9.1f} req/s  ratio {statistics.median(ratios):.3f}"
                  f"  range {min(ratios):.3f}-{max(ratios):.3f}")
    print("target: a watched client keeps >= 0.95x of its throughput with the agent off")


if __name__ == "__main__":
    main()
