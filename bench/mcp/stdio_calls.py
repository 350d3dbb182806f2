"""Benchmark: MCP tool calls over stdio with the agent off and on (the server watched: every message captured, parsed
and paired), in alternating rounds of one run. A client pipelines N tools/call requests (one write each, 256 in
flight) to a server answering as fast as it can. Prints calls/s per mode, the on/off ratio (target >= 0.95), the
floor (the agent running but the server unwatched: what the syscall tracepoints cost every process), the agent's CPU
per message, and whether the agent kept up: every call reported, no capture gap or ring-buffer drop.
Usage (root): stdio_calls.py AGENT [N] [ROUNDS]"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
AGENT = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
WINDOW = 256
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def start_agent(directory, watch=True):
    """watch=False: the agent runs but nothing matches the server (the probes' cost to every process alone)."""
    config = os.path.join(directory, "bench.yaml")
    events = os.path.join(directory, "events.jsonl")
    if os.path.exists(events):
        os.remove(events)
    with open(config, "w") as f:
        f.write(f"state_dir: {directory}\nhealth_interval_seconds: 3600\noutput:\n  json: {events}\n"
                "mcp:\n  scan_user_homes: false\n")
        if not watch:
            f.write('  server_patterns: ["never-matches-anything"]\n  protocol_detection: false\n')
    proc = subprocess.Popen([AGENT, "--config", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        if os.path.exists(events) and "agent_ready" in open(events).read():
            return proc, events
        time.sleep(0.05)
    raise RuntimeError("agent not ready")


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def request(rid, method, params=None):
    message = {"jsonrpc": "2.0", "id": rid, "method": method}
    if params is not None:
        message["params"] = params
    return (json.dumps(message) + "\n").encode()


def run_client():
    """Returns calls/s of N pipelined tools/call after the session is set up."""
    server = subprocess.Popen([sys.executable, os.path.join(HERE, "mcp_server_bench.py")], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE)
    reader = server.stdout  # buffered, as MCP clients read: one read() returns many answers

    def send(raw):
        os.write(server.stdin.fileno(), raw)

    send(request(0, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                   "clientInfo": {"name": "bench-client", "version": "1"}}))
    reader.readline()
    send(request(1, "tools/list"))
    reader.readline()
    time.sleep(0.5)  # the agent lists the server's pipes when it attributes its exec: before the timed part
    calls = [request(10 + i, "tools/call", {"name": "lookup", "arguments": {"q": f"item-{i}"}}) for i in range(N)]
    window = threading.Semaphore(WINDOW)

    def writer():
        for raw in calls:
            window.acquire()
            send(raw)

    started = time.perf_counter()
    thread = threading.Thread(target=writer)
    thread.start()
    for _ in range(N):
        reader.readline()
        window.release()
    elapsed = time.perf_counter() - started
    thread.join()
    server.stdin.close()
    server.wait()
    return N / elapsed


def health_and_calls(events_path):
    calls, health = 0, {}
    with open(events_path) as f:
        for line in f:
            event = json.loads(line)
            if event["type"] == "mcp_tool_call" and event["mcp_tool_call"]["method"] == "tools/call":
                calls += event["mcp_tool_call"]["outcome"] == "ok"
            elif event["type"] == "agent_health":
                health = event["agent_health"]
    return calls, health


def main():
    directory = tempfile.mkdtemp(prefix="credtrace-bench-mcp-")
    rates = {"off": [], "unwatched": [], "on": []}
    cpu_per_message, kept_up = [], []
    for _ in range(ROUNDS):
        rates["off"].append(run_client())
        idle, _ = start_agent(directory, watch=False)
        rates["unwatched"].append(run_client())
        idle.terminate()
        idle.wait(timeout=30)
        agent, events = start_agent(directory)
        cpu_before = cpu_seconds(agent.pid)
        rate = run_client()
        time.sleep(1)  # the agent drains what is left
        cpu = cpu_seconds(agent.pid) - cpu_before
        agent.terminate()
        agent.wait(timeout=30)
        rates["on"].append(rate)
        messages = 2 * N
        cpu_per_message.append(cpu / messages * 1e6)
        reported, health = health_and_calls(events)
        sensors = health.get("sensors", {})
        drops = {k: int(v) for k, v in health.get("drops", {}).items() if int(v)}
        gaps = int(sensors.get("mcp_stdio_in_gaps", 0)) + int(sensors.get("mcp_stdio_out_gaps", 0))
        kept_up.append(reported == N and not drops and gaps == 0)
        print(f"round: off {rates['off'][-1]:.0f} calls/s, agent on but server unwatched "
              f"{rates['unwatched'][-1]:.0f} calls/s, on {rate:.0f} calls/s ({2 * rate:.0f} messages/s), "
              f"agent {cpu:.2f} s CPU = {cpu_per_message[-1]:.2f} us/message, reported {reported}/{N}, "
              f"gaps {gaps}, drops {drops or 0}", flush=True)
    off, on = statistics.median(rates["off"]), statistics.median(rates["on"])
    unwatched = statistics.median(rates["unwatched"])
    print(f"median calls/s: off {off:.0f}, on {on:.0f}; ratio on/off {on / off:.3f} (target >= 0.95)")
    print(f"floor: agent on, server unwatched (the syscall tracepoints every process pays) {unwatched:.0f} calls/s, "
          f"ratio {unwatched / off:.3f}")
    print(f"agent CPU per message (median): {statistics.median(cpu_per_message):.2f} us")
    print(f"agent kept up (every call reported, no gap, no drop) in {sum(kept_up)}/{ROUNDS} rounds "
          f"at up to {2 * max(rates['on']):.0f} messages/s")


if __name__ == "__main__":
    main()
