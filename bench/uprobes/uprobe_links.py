"""Benchmark (root; prints figures, never a test): per-process TLS uprobes at scale. A watched MCP server starts N
(default 1000) children that map libssl; measured: the agent's uprobe links and file descriptors, attach time (wall
clock until every child holds its links, and exec → links per process from agent_health), kernel memory (Slab +
KernelStack deltas from /proc/meminfo), and detach time once the children exit (until the agent's descriptors are
back). Usage: CREDTRACE_AGENT=build/credtrace-agent python3 bench/uprobes/uprobe_links.py [N] [uprobe_mode]"""
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
AGENT = os.environ.get("CREDTRACE_AGENT", os.path.join(HERE, "../../build/credtrace-agent"))
N = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
MODE = sys.argv[2] if len(sys.argv) > 2 else "per_process"


def meminfo_kb(*names):
    values = {}
    with open("/proc/meminfo") as f:
        for line in f:
            key, rest = line.split(":", 1)
            values[key] = int(rest.split()[0])
    return sum(values.get(n, 0) for n in names)


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def last_health(events_path):
    health = None
    with open(events_path) as f:
        for line in f:
            if '"agent_health"' in line:
                health = json.loads(line)["agent_health"]["sensors"]
    return health or {}


def wait_fds(pid, predicate, timeout):
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        n = fd_count(pid)
        if predicate(n):
            return time.monotonic() - start, n
        time.sleep(0.02)
    return None, fd_count(pid)


def main():
    work = tempfile.mkdtemp(prefix="credtrace-bench-links-")
    holder = os.path.join(work, "ssl_holder")
    subprocess.run(["cc", "-O2", "-o", holder, os.path.join(HERE, "ssl_holder.c"), "-lssl", "-lcrypto"], check=True)
    events = os.path.join(work, "events.jsonl")
    config = os.path.join(work, "bench.yaml")
    with open(config, "w") as f:
        f.write(f"state_dir: {work}\nhealth_interval_seconds: 1\noutput:\n  json: {events}\n"
                f"mcp:\n  scan_user_homes: false\ntls:\n  uprobe_mode: {MODE}\n")
    log = open(os.path.join(work, "agent.log"), "w")
    agent = subprocess.Popen([AGENT, "--config", config], stdout=log, stderr=subprocess.STDOUT)
    try:
        while not (os.path.exists(events) and '"agent_ready"' in open(events).read()):
            time.sleep(0.05)
        time.sleep(1)
        base_fds = fd_count(agent.pid)
        slab_before = meminfo_kb("Slab", "KernelStack", "PageTables")
        server = subprocess.Popen([sys.executable, os.path.join(HERE, "mcp_server_scale.py"), holder, str(N)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        started = time.monotonic()
        server.stdout.readline()  # all up
        spawn_s = time.monotonic() - started
        per_child = None
        if MODE == "per_process":
            # every child's libssl plus the server's own (python's _ssl is not loaded: only at `import ssl`)
            waited, fds = wait_fds(agent.pid, lambda n: n - base_fds >= N * 7, 120)
            settle = time.monotonic() - started
        else:
            waited, fds, settle = 0, fd_count(agent.pid), spawn_s
        time.sleep(2.5)
        health = last_health(events)
        fds = fd_count(agent.pid)
        slab_after = meminfo_kb("Slab", "KernelStack", "PageTables")
        links = int(health.get("tls_uprobe_process_links", 0))
        # the children's own kernel memory (stacks, page tables, tasks) is in the delta too
        print(f"uprobe mode {MODE}, {N} watched processes mapping libssl (ssl_holder), 2 vCPU VM")
        print(f"  children started in {spawn_s:.2f} s; all attached {settle:.2f} s after the first spawn")
        print(f"  links: {links} over {health.get('tls_uprobe_processes')} processes "
              f"({links / max(1, int(health.get('tls_uprobe_processes', 1) or 1)):.1f} per process), "
              f"refused {health.get('tls_uprobe_links_refused')}, failures {health.get('tls_attach_failures')}")
        print(f"  agent fds: {base_fds} before, {fds} with the links (+{fds - base_fds})")
        print(f"  attach latency exec → links: mean {health.get('tls_attach_latency_us_mean')} µs, "
              f"max {health.get('tls_attach_latency_us_max')} µs ({health.get('tls_attach_latency_samples')} samples)")
        print(f"  kernel memory (Slab + KernelStack + PageTables) +{(slab_after - slab_before) / 1024:.1f} MiB "
              f"(children included)")
        rss = 0
        with open(f"/proc/{agent.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS"):
                    rss = int(line.split()[1])
        print(f"  agent RSS {rss / 1024:.1f} MiB")
        stop = time.monotonic()
        server.stdin.close()
        server.stdout.readline()  # all down
        exit_s = time.monotonic() - stop
        detach_window = float(os.environ.get("DETACH_WAIT_S", "60"))
        fds_exit = fd_count(agent.pid)
        waited, fds_after = wait_fds(agent.pid, lambda n: n <= base_fds + 14, detach_window)
        closed_links = (fds_exit - fds_after) / 2  # two descriptors per link
        elapsed = waited if waited is not None else detach_window
        print(f"  children exited in {exit_s:.2f} s; after {elapsed:.1f} s the agent holds {fds_after} fds: "
              f"{closed_links:.0f} links closed ({closed_links / max(elapsed - 0.5, 0.1):.1f} links/s after the 0.5 s "
              f"quiet period), {(fds_after - base_fds) / 2:.0f} still open")
        server.wait()
    finally:
        agent.terminate()
        agent.wait()
        log.close()


if __name__ == "__main__":
    main()
