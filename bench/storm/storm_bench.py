"""Benchmark (root; prints figures, never a test): the agent under an event storm (issue 18, point 4).

FLOODERS watched processes (bench/storm/storm_workload.c, compiled here, exec'd as `mcp-server-storm`: a default
server pattern) open a file and write ~100-byte HTTP requests over in-memory TLS as fast as they can (each turn: an
open record, an SSL_write record and an SSL_read record), while a spawner starts SPAWN_RATE short-lived processes a
second on the host (/bin/true, unwatched). Three runs of SECONDS each:
  budget: the default per-process capture budget (50,000 captures/s): the excess is counted as rate_limited;
  open:   no budget (probes.max_captures_per_process_per_second: 0): the agent's own limit; what it cannot drain is
          counted as ringbuf_full;
  paced:  no budget, the flooders paced to PACED_RATE turns a second each: the rate the docs state as drop-free.
Per run: kernel records the agent processed per second (agent_health.events), drops by reason (agent_health.drops),
the agent's CPU per record and its records per CPU-second (its capacity on one core), the flooders' and spawner's
counts. Every drop is counted, none silent: offered = processed + counted drops is printed beside the workload's count.
Ends with FIGURE lines (bench/figures.py). Usage (root): storm_bench.py AGENT [SECONDS=10]
Environment: FLOODERS (4), SPAWN_RATE (1000), PACED_RATE (turns/s per flooder, 20000), AGENT_NICE (run the agent
under `nice -n AGENT_NICE`, e.g. -10: a systemd unit's Nice=), STORM_RUNS (the runs to do, comma-separated: budget,
open,paced; the capacity figure needs open)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
AGENT = sys.argv[1] if len(sys.argv) > 1 else "build/credtrace-agent"
SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
FLOODERS = int(os.environ.get("FLOODERS", "4"))
SPAWN_RATE = int(os.environ.get("SPAWN_RATE", "1000"))
PACED_RATE = int(os.environ.get("PACED_RATE", "20000"))


def compile_workload(directory):
    binary = os.path.join(directory, "mcp-server-storm")
    subprocess.run(["cc", "-O2", "-o", binary, os.path.join(HERE, "storm_workload.c"), "-lssl", "-lcrypto"],
                   check=True)
    return binary


def cpu_ns(pid):
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except FileNotFoundError:
            pass
    return total


class Agent:
    def __init__(self, directory, budget):
        self.events = os.path.join(directory, "events.jsonl")
        if os.path.exists(self.events):
            os.remove(self.events)
        config = os.path.join(directory, "storm.yaml")
        with open(config, "w") as f:
            f.write(f"state_dir: {directory}/state\nhealth_interval_seconds: 1\noutput:\n  json: {self.events}\n"
                    "mcp:\n  scan_user_homes: false\n")
            if not budget:
                f.write("probes:\n  max_captures_per_process_per_second: 0\n"
                        "  max_capture_bytes_per_process_per_second: 0\n")
        nice = ["nice", "-n", os.environ["AGENT_NICE"]] if os.environ.get("AGENT_NICE") else []
        self.proc = subprocess.Popen(nice + [AGENT, "--config", config], stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(directory, "agent.log"), "w"))
        for _ in range(400):
            if os.path.exists(self.events) and '"agent_ready"' in open(self.events).read():
                return
            time.sleep(0.05)
        raise RuntimeError("agent not ready")

    def health(self):
        """The newest agent_health event."""
        last = None
        with open(self.events) as f:
            for line in f:
                if '"agent_health"' in line:
                    last = line
        return json.loads(last)["agent_health"] if last else None

    def wait_next_health(self, after):
        """The first agent_health emitted after `after` (a health dict or None)."""
        deadline = time.time() + 10
        while time.time() < deadline:
            current = self.health()
            if current and (after is None or current["uptime_seconds"] > after["uptime_seconds"]):
                return current
            time.sleep(0.1)
        raise RuntimeError("no agent_health")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def counter_sum(health, key):
    return sum(int(v) for v in health.get(key, {}).values())


def storm(directory, binary, budget, paced):
    agent = Agent(directory, budget)
    try:
        time.sleep(1.5)  # start-up work (the /proc scan) done
        before = agent.wait_next_health(None)
        cpu_before = cpu_ns(agent.proc.pid)
        env = dict(os.environ, STORM_PACE=str(PACED_RATE) if paced else "0")
        flooders = [subprocess.Popen([binary, "flood", str(SECONDS)], stdout=subprocess.PIPE, text=True, env=env)
                    for _ in range(FLOODERS)]
        spawner = subprocess.Popen([binary, "spawn", str(SPAWN_RATE), str(SECONDS)], stdout=subprocess.PIPE, text=True)
        turns = 0
        for flooder in flooders:
            out, _ = flooder.communicate(timeout=SECONDS + 60)
            turns += int(out.split()[0])
        spawned = int(spawner.communicate(timeout=SECONDS + 60)[0].strip() or 0)
        time.sleep(1.0)  # the agent drains what is left
        after = agent.wait_next_health(agent.wait_next_health(None))
        cpu = cpu_ns(agent.proc.pid) - cpu_before
    finally:
        agent.stop()
    records = counter_sum(after, "events") - counter_sum(before, "events")
    drops = {k: int(after["drops"].get(k, 0)) - int(before["drops"].get(k, 0)) for k in after.get("drops", {})}
    elapsed = after["uptime_seconds"] - before["uptime_seconds"]
    return {"turns": turns, "spawned": spawned, "records": records, "drops": drops, "elapsed": elapsed,
            "cpu_ns": cpu, "offered": turns * 3}


def report(name, r):
    dropped = sum(r["drops"].values())
    per_record = r["cpu_ns"] / r["records"] if r["records"] else float("nan")
    print(f"{name:7} {FLOODERS} flooders x {r['turns'] / FLOODERS / SECONDS:,.0f} turns/s (~3 records each), "
          f"{r['spawned'] / SECONDS:,.0f} spawns/s: processed {r['records'] / r['elapsed']:,.0f} records/s "
          f"({r['records']:,} in {r['elapsed']:.1f} s), drops {dropped:,} "
          f"{ {k: v for k, v in r['drops'].items() if v} }, agent CPU {r['cpu_ns'] / 1e9 / r['elapsed']:.2f} cores, "
          f"{per_record:,.0f} ns per record ({1e9 / per_record:,.0f} records per CPU-second)")
    return per_record, dropped


def main():
    if os.geteuid() != 0:
        sys.exit("storm_bench.py needs root (the agent loads BPF programs)")
    directory = tempfile.mkdtemp(prefix="credtrace-storm-")
    try:
        binary = compile_workload(directory)
        print(f"event storm, {SECONDS:.0f} s per run, 2-core VM shared by the flooders, the spawner and the agent")
        results = {}
        runs = os.environ.get("STORM_RUNS", "budget,open,paced").split(",")
        for name, budget, paced in (("budget", True, False), ("open", False, False), ("paced", False, True)):
            if name in runs:
                results[name] = storm(directory, binary, budget, paced)
        figures = []
        for name, r in results.items():
            per_record, dropped = report(name, r)
            figures.append(f"FIGURE storm_records_per_s_{name} {r['records'] / r['elapsed']:.0f} records/s "
                           f"{'>=500000' if name == 'open' else '-'}")
            figures.append(f"FIGURE storm_agent_ns_per_record_{name} {per_record:.0f} ns -")
            figures.append(f"FIGURE storm_drops_{name} {dropped} records {'<=0' if name == 'paced' else '-'}")
        if "open" in results:
            capacity = 1e9 / (results["open"]["cpu_ns"] / results["open"]["records"])
            figures.append(f"FIGURE storm_agent_capacity {capacity:.0f} records/cpu-s >=500000")
        print("\n".join(figures))
    finally:
        if not os.environ.get("KEEP_WORK"):
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
