"""Benchmark (root; prints figures, never a test): the agent with a fleet of watched MCP servers (issue 18).

PROCESSES copies of fleet_client.c (compiled here with cc, system libssl), each exec'd as `mcp-server-fleet` (a
default `mcp.server_patterns` match) with 10 fake, realistically shaped env secrets, each opening one TLS connection
to a local HTTPS server (its own process, on private copies of libssl/libcrypto the agent does not probe, as a remote
API), sending one request with `Authorization: Bearer <its GITHUB_TOKEN>` and then holding the connection open.
Measured:
  1. the agent's memory idle and with PROCESSES watched processes (VmRSS/VmHWM, smaps_rollup, smaps by mapping);
  2. SIGTERM -> exit with a full ring buffer and PROCESSES watched (the agent SIGSTOPped while one more watched
     client floods TLS requests, then SIGTERM + SIGCONT), split into SIGTERM -> final agent_health (ring drained)
     and the rest (the uprobe links' detach: ~N x 0.1 s on this kernel, docs/performance.md); then a second agent's
     start time with PROCESSES already running (exec -> agent_ready);
  3. a churn soak of SOAK_SECONDS on that agent: PROCESSES kept alive, CHURN_PER_SECOND replaced each second (oldest
     first, SIGTERM) by new ones (each a new TLS stream), RSS sampled every 10 s; then its SIGTERM -> exit.
An agent with thousands of uprobe links takes many minutes to exit (the kernel detaches ~7-14 links/s): expect a run
of 1000 processes to take ~45 minutes, most of it in the two stops.
Ends with FIGURE lines (bench/figures.py). Secret values are never printed.
Usage (root): fleet_bench.py AGENT [PROCESSES=1000] [SOAK_SECONDS=600]
Environment: CHURN_PER_SECOND (default 50), KEEP_WORK=1 keeps the work dir (events, agent logs: no secret values)."""
import asyncio
import collections
import datetime
import fcntl
import glob
import json
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
LOCK = "/tmp/credtrace-e2e.lock"
CLIENT_NAME = "mcp-server-fleet"
MB = 1024.0  # kB (procfs) per MB in the figures: MiB
ALNUM = string.ascii_letters + string.digits
_rng = secrets.SystemRandom()
ALL_SECRETS = set()  # every value handed to a client: for scrubbing what is printed, never printed


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(hard, 65536), max(hard, 65536)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --- the HTTPS server (a process of its own on private libssl copies: `fleet_bench.py --serve CERT KEY`) -------------

ANSWER = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 24\r\n\r\n{"login":"fleet","id":1}'


def serve(cert, key):
    import ssl
    raise_nofile()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if head.startswith(b"POST /flood"):  # the flooding client: discard everything, never answer
                    while await reader.read(1 << 18):
                        pass
                    break
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                if length:
                    await reader.readexactly(length)
                writer.write(ANSWER)
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ssl.SSLError, OSError):
            pass
        finally:
            writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context, backlog=4096,
                                            ssl_handshake_timeout=120)
        print(server.sockets[0].getsockname()[1], flush=True)
        loop = asyncio.get_running_loop()

        def on_stdin():
            if not os.read(0, 4096):
                os._exit(0)  # at once: no cancelled connection tasks to report
        loop.add_reader(0, on_stdin)
        await asyncio.Event().wait()

    asyncio.run(main())


class UnprobedServer:
    """The HTTPS server in its own process on private copies of libssl.so.3/libcrypto.so.3 (other inodes than the
    system's, which the agent probes): .port, .ca, .pid."""

    def __init__(self, work):
        self.work = work

    def __enter__(self):
        sys.path.insert(0, os.path.join(HERE, "../../tests/e2e"))
        from tls_server import make_ca_and_cert
        certs = os.path.join(self.work, "certs")
        os.mkdir(certs)
        self.ca, cert, key = make_ca_and_cert(certs)
        self.libs = os.path.join(self.work, "libs")
        os.mkdir(self.libs)
        for name in ("libssl.so.3", "libcrypto.so.3"):
            shutil.copy(os.path.realpath(glob.glob(f"/usr/lib/*/{name}")[0]), os.path.join(self.libs, name))
        env = dict(os.environ, LD_LIBRARY_PATH=self.libs)
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve", cert, key], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     start_new_session=True)
        self.port = int(self.proc.stdout.readline())
        self.pid = self.proc.pid
        if os.path.join(self.libs, "libssl.so.3") not in open(f"/proc/{self.pid}/maps").read():
            raise RuntimeError("the unprobed server did not load its private libssl")
        return self

    def __exit__(self, *exc):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (subprocess.TimeoutExpired, OSError):
            pass
        kill_group(self.proc)


# --- processes ------------------------------------------------------------------------------------------------------

def kill_group(proc, sig=signal.SIGKILL):
    """Signals proc's process group (each child here leads its own session) unless it is reaped already."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        if sig == signal.SIGKILL:
            proc.wait()


def rand(charset, n):
    return "".join(_rng.choice(charset) for _ in range(n))


def fake_env():
    """10 secrets shaped like the real ones (random per process) and a plain PATH/HOME."""
    part = ALNUM + "_-"
    values = {
        "GITHUB_TOKEN": "ghp_" + rand(ALNUM, 36),
        "OPENAI_API_KEY": "sk-proj-" + rand(part, 74) + "T3BlbkFJ" + rand(part, 74),
        "ANTHROPIC_API_KEY": "sk-ant-api03-" + rand(part, 93) + "AA",
        "AWS_ACCESS_KEY_ID": "AKIA" + rand(string.ascii_uppercase + "234567", 16),
        "AWS_SECRET_ACCESS_KEY": rand(ALNUM + "+/", 40),
        "GITLAB_PERSONAL_ACCESS_TOKEN": "glpat-" + rand(part, 20),
        "SLACK_BOT_TOKEN": f"xoxb-{rand(string.digits, 12)}-{rand(string.digits, 13)}-{rand(ALNUM, 24)}",
        "STRIPE_SECRET_KEY": "sk_test_" + rand(ALNUM, 99),
        "NPM_TOKEN": "npm_" + rand(ALNUM, 36),
        "DATABASE_PASSWORD": rand(part, 24),
    }
    ALL_SECRETS.update(values.values())
    return dict(values, PATH="/usr/bin:/bin", HOME="/nonexistent")


TOKEN_LIKE = re.compile(r"[A-Za-z0-9_\-+/]{16,}")


def scrub(text):
    return TOKEN_LIKE.sub(lambda m: "<secret>" if m.group(0) in ALL_SECRETS else m.group(0), text)


class Fleet:
    """The watched clients: slot -> Popen. All share one stdin pipe (closing it ends them) and one status pipe (each
    writes "ok PID" or "err PID why" once)."""

    def __init__(self, binary, server):
        self.binary, self.server = binary, server
        self.stdin_r, self.stdin_w = os.pipe()
        self.status_r, self.status_w = os.pipe()
        self.slots = {}
        self.all_procs = []
        self.dying = []
        self.ok = set()
        self.errors = collections.Counter()
        self.lock = threading.Lock()
        threading.Thread(target=self._read_status, daemon=True).start()

    def _read_status(self):
        pending = b""
        while True:
            try:
                data = os.read(self.status_r, 65536)
            except OSError:
                return
            if not data:
                return
            pending += data
            *lines, pending = pending.split(b"\n")
            with self.lock:
                for line in lines:
                    parts = line.decode(errors="replace").split()
                    if len(parts) >= 2 and parts[0] == "ok":
                        self.ok.add(int(parts[1]))
                    elif parts:
                        self.errors[" ".join(parts[2:]) or "?"] += 1

    def spawn(self, slot, mode="hold"):
        name = f"{CLIENT_NAME}-{slot}" if isinstance(slot, str) else f"{CLIENT_NAME}-{slot:04d}"
        proc = subprocess.Popen([name, str(self.server.port), self.server.ca, mode], executable=self.binary,
                                stdin=self.stdin_r, stdout=self.status_w, stderr=subprocess.DEVNULL, env=fake_env(),
                                start_new_session=True)
        self.slots[slot] = proc
        self.all_procs.append(proc)
        return proc

    def replace(self, slot):
        """SIGTERM to the slot's process and a new one in its place. Not waited for: a process the agent holds
        (SIGSTOP at exec until its uprobes are attached) dies only once the agent continues it; reaped later."""
        old = self.slots.get(slot)
        if old is not None:
            kill_group(old, signal.SIGTERM)
            self.dying.append(old)
        self.dying = [p for p in self.dying if p.poll() is None]
        return self.spawn(slot)

    def stopped(self):
        """Clients in state T (held by the agent at exec or libssl map, not continued yet)."""
        count = 0
        for proc in list(self.slots.values()) + self.dying:
            try:
                with open(f"/proc/{proc.pid}/stat") as f:
                    count += f.read().rsplit(")", 1)[1].split()[0] == "T"
            except OSError:
                pass
        return count

    def ok_count(self, pids):
        with self.lock:
            return len(self.ok & pids), sum(self.errors.values())

    def wait_ok(self, pids, timeout):
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            ok, errors = self.ok_count(pids)
            if ok + errors >= len(pids):
                break
            time.sleep(0.05)
        return time.monotonic() - start

    def live_pids(self):
        return {p.pid for p in self.slots.values() if p.poll() is None}

    def stop(self):
        if self.stdin_w is None:
            return
        os.close(self.stdin_w)
        self.stdin_w = None
        deadline = time.monotonic() + 10
        for proc in self.all_procs:
            if proc.poll() is None:
                try:
                    proc.wait(timeout=max(0.01, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
            kill_group(proc)


# --- the agent ------------------------------------------------------------------------------------------------------

TYPE = re.compile(rb'^\{"type":"([a-z_0-9]+)"')
PID_TYPES = {"mcp_server_start", "mcp_server_exit", "credential_use", "secret_exposure"}


class Events:
    """Tails an agent's JSON lines: counts by type, pids by type, agent_ready and the latest agent_health."""

    def __init__(self, path):
        self.path, self.offset, self.partial = path, 0, b""
        self.counts = collections.Counter()
        self.pids = collections.defaultdict(set)
        self.ready = None
        self.ready_seen = None
        self.health = None
        self.health_time = None
        self.health_count = 0
        self.starts_before_ready = 0

    def poll(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return
        self.offset += len(data)
        *lines, self.partial = (self.partial + data).split(b"\n")
        for line in lines:
            match = TYPE.match(line)
            if not match:
                continue
            kind = match.group(1).decode()
            self.counts[kind] += 1
            if kind in PID_TYPES:
                pid = json.loads(line).get("process", {}).get("pid")
                if pid is not None:
                    self.pids[kind].add(int(pid))
                if kind == "mcp_server_start" and self.ready is None:
                    self.starts_before_ready += 1
            elif kind == "agent_ready":
                self.ready_seen = time.monotonic()
                self.ready = json.loads(line)
            elif kind == "agent_health":
                event = json.loads(line)
                self.health = event["agent_health"]
                self.health_time = event_time(event.get("time"))
                self.health_count += 1


def link_fds(pid):
    """BPF links the process holds open (its descriptors), closing ones included; None when unknown."""
    count = 0
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                count += os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:bpf_link"
            except OSError:
                pass
    except OSError:
        return None
    return count


OWN_AGENTS = set()


class ForeignAgents:
    """Watches (every 2 s) for credtrace-agent processes this benchmark did not start: another test suite that does
    not take the lock. Figures measured while one ran are marked."""

    def __init__(self):
        self.sightings = []  # (monotonic time, pid, command line)
        self.phase_start = time.monotonic()
        self.stopped = False
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        reported = set()
        while not self.stopped:
            out = subprocess.run(["pgrep", "-a", "-x", "credtrace-agent"], capture_output=True, text=True).stdout
            for line in out.splitlines():
                pid, _, cmd = line.partition(" ")
                if int(pid) not in OWN_AGENTS:
                    self.sightings.append((time.monotonic(), int(pid), cmd))
                    if int(pid) not in reported:
                        reported.add(int(pid))
                        print(f"  !! another credtrace-agent is running: {pid} {cmd[:160]}", flush=True)
            time.sleep(2)

    def phase(self):
        self.phase_start = time.monotonic()

    def note(self):
        pids = sorted({pid for t, pid, _ in self.sightings if t >= self.phase_start})
        return f"DISTURBED: another credtrace-agent ran ({', '.join(map(str, pids))})" if pids else ""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Agent:
    def __init__(self, binary, work, name, extra=""):
        self.work, self.name = work, name
        self.events_path = os.path.join(work, f"events-{name}.jsonl")
        self.log_path = os.path.join(work, f"agent-{name}.log")
        self.metrics_port = free_port()
        config = os.path.join(work, f"agent-{name}.yaml")
        with open(config, "w") as f:
            f.write(f"state_dir: {work}/state\noutput:\n  json: {self.events_path}\nmcp:\n  scan_user_homes: false\n"
                    f"metrics:\n  enabled: true\n  listen: 127.0.0.1:{self.metrics_port}\n{extra}")
        self.events = Events(self.events_path)
        self.log = open(self.log_path, "w")
        self.exec_wall = time.time()
        self.exec_mono = time.monotonic()
        self.proc = subprocess.Popen([binary, "--config", config], stdout=subprocess.DEVNULL, stderr=self.log,
                                     start_new_session=True)
        self.pid = self.proc.pid
        OWN_AGENTS.add(self.pid)

    def wait_ready(self, timeout=120):
        while self.events.ready is None:
            if self.proc.poll() is not None:
                raise RuntimeError(f"agent {self.name} exited with {self.proc.returncode} before agent_ready "
                                   f"(log {self.log_path})")
            if time.monotonic() - self.exec_mono > timeout:
                raise RuntimeError(f"agent {self.name}: no agent_ready after {timeout} s")
            self.events.poll()
            time.sleep(0.002)
        observed = self.events.ready_seen - self.exec_mono
        stamped = event_time(self.events.ready.get("time")) - self.exec_wall
        return stamped, observed

    def metrics(self):
        values = {}
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=3) as r:
                for line in r.read().decode().splitlines():
                    if line and not line.startswith("#"):
                        key, _, value = line.rpartition(" ")
                        values[key] = float(value)
        except OSError:
            pass
        return values

    def stop(self, timeout=None):
        """SIGTERM (and SIGCONT, should it be stopped); seconds until it exited (None: killed after timeout, default
        STOP_TIMEOUT or 1800 s). Sets .stop_health_s: SIGTERM -> its final agent_health (ring drained, sensors
        stopped; what follows is the probes' detach), and .links_at_stop (uprobe links open, from its descriptors)."""
        timeout = timeout or float(os.environ.get("STOP_TIMEOUT", "1800"))
        self.links_at_stop = link_fds(self.pid)
        start = time.monotonic()
        term_wall = time.time()
        try:
            os.kill(self.pid, signal.SIGTERM)
            os.kill(self.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=timeout)
            took = time.monotonic() - start
        except subprocess.TimeoutExpired:
            took = None
        kill_group(self.proc)
        self.log.close()
        self.events.poll()
        health = self.events.health_time
        self.stop_health_s = health - term_wall if health and health >= term_wall else None
        return took


def sensor(metrics, name):
    return metrics.get('credtrace_agent_sensor{counter="%s"}' % name)


def drops(metrics, reason):
    return metrics.get('credtrace_agent_kernel_drops_total{reason="%s"}' % reason, 0)


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def event_time(text):
    """RFC 3339 with up to 9 fraction digits -> epoch seconds."""
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z", text or "")
    if not match:
        return float("nan")
    base = datetime.datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return base.timestamp() + (float("0." + match.group(2)) if match.group(2) else 0.0)


def status_kb(pid):
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem", "VmSize", "Threads"):
                values[key] = int(rest.split()[0])
    return values


def mb(kb):
    return kb / MB


def print_status(label, pid):
    s = status_kb(pid)
    print(f"  {label}: VmRSS {mb(s['VmRSS']):.1f} MB (anon {mb(s['RssAnon']):.1f}, file {mb(s['RssFile']):.1f}, "
          f"shmem {mb(s['RssShmem']):.1f}), VmHWM {mb(s['VmHWM']):.1f} MB, VmSize {mb(s['VmSize']):.0f} MB, "
          f"{s['Threads']} threads")
    return s


def print_rollup(pid):
    keep = ("Rss", "Pss", "Pss_Anon", "Pss_File", "Pss_Shmem", "Shared_Clean", "Shared_Dirty", "Private_Clean",
            "Private_Dirty", "Anonymous", "Swap")
    parts = []
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in keep:
                parts.append(f"{key} {mb(int(rest.split()[0])):.1f}")
    print("  smaps_rollup (MB): " + ", ".join(parts))


MAPPING = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$")


def smaps(pid):
    maps = []
    current = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            match = MAPPING.match(line)
            if match:
                current = {"path": match.group(4), "perms": match.group(3),
                           "size": (int(match.group(2), 16) - int(match.group(1), 16)) // 1024}
                maps.append(current)
            elif current is not None:
                key, _, rest = line.partition(":")
                if key in ("Rss", "Pss", "Private_Dirty", "Shared_Clean", "Anonymous"):
                    current[key] = int(rest.split()[0])
    return maps


def category(mapping, exe):
    path = mapping["path"]
    if path == "[heap]":
        return "heap ([heap], brk)"
    if path == "":
        return "anonymous (malloc arenas, mmap'd allocations, thread stacks)"
    if path.startswith("anon_inode:"):
        return f"{path} (BPF maps mmap'd: ring buffer, arrays)"
    if path == exe:
        return "agent executable"
    if ".so" in os.path.basename(path):
        return "shared libraries"
    if path.startswith("["):
        return path
    return "other files"


def print_smaps(pid, top=15):
    exe = os.readlink(f"/proc/{pid}/exe")
    maps = smaps(pid)
    total = sum(m.get("Rss", 0) for m in maps)
    groups = collections.defaultdict(lambda: [0, 0, 0])
    for m in maps:
        g = groups[category(m, exe)]
        g[0] += m.get("Rss", 0)
        g[1] += m["size"]
        g[2] += 1
    print(f"  smaps by kind (Rss total {mb(total):.1f} MB):")
    for name, (rss, size, count) in sorted(groups.items(), key=lambda kv: -kv[1][0]):
        print(f"    {mb(rss):7.1f} MB Rss of {mb(size):8.1f} MB mapped  {count:4d} mappings  {name}")
    print(f"  top {top} mappings by Rss:")
    for m in sorted(maps, key=lambda m: -m.get("Rss", 0))[:top]:
        print(f"    {mb(m.get('Rss', 0)):7.1f} MB Rss  {mb(m['size']):8.1f} MB size  {m['perms']}  "
              f"private dirty {mb(m.get('Private_Dirty', 0)):6.1f}  {m['path'] or '[anon]'}")
    libs = collections.Counter()
    for m in maps:
        if category(m, exe) == "shared libraries":
            libs[os.path.basename(m["path"])] += m.get("Rss", 0)
    print("  libraries by Rss: " + ", ".join(f"{name} {mb(rss):.1f}" for name, rss in libs.most_common(8)))


def print_bpf_fds(pid):
    """The agent's descriptors by kind and the kernel memory its BPF maps charge (memlock: not in RSS)."""
    kinds = collections.Counter()
    memlock = 0
    ringbufs = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if not target.startswith("anon_inode:"):
            kinds["socket" if target.startswith("socket:") else "file/pipe/other"] += 1
            continue
        kinds[target] += 1
        if target == "anon_inode:bpf-map":
            try:
                info = open(f"/proc/{pid}/fdinfo/{fd}").read()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
            memlock += int(fields.get("memlock", "0").strip())
            if fields.get("map_type", "").strip() == "27":  # BPF_MAP_TYPE_RINGBUF
                ringbufs.append(int(fields.get("max_entries", "0").strip()))
    print("  descriptors: " + ", ".join(f"{k} {v}" for k, v in kinds.most_common()))
    print(f"  BPF maps: memlock {memlock / 1048576:.1f} MB (kernel memory, not in RSS); ring buffers: "
          + ", ".join(f"{size / 1048576:.0f} MiB" for size in ringbufs))


def print_log(agent):
    levels = collections.Counter()
    messages = collections.Counter()
    with open(agent.log_path, errors="replace") as f:
        for line in f:
            match = re.search(r"credtrace-agent: (\w+): (.*)", line)
            if not match:
                continue
            levels[match.group(1)] += 1
            if match.group(1) in ("warn", "warning", "error", "critical"):
                messages[f"{match.group(1)}: {re.sub(r'[0-9]+', 'N', match.group(2))}"] += 1
    print(f"  agent {agent.name} log: " + ", ".join(f"{k} {v}" for k, v in sorted(levels.items())))
    for message, count in messages.most_common(10):
        print(f"    {count:5d}x {scrub(message)[:300]}")


def health_text(health):
    if not health:
        return "(no agent_health)"
    sensors = health.get("sensors", {})
    errors = {k: v for k, v in health.get("agent_errors", {}).items() if int(v)}
    drops = {k: v for k, v in health.get("drops", {}).items() if int(v)}
    pick = ("tls_uprobe_process_links", "tls_uprobe_processes", "tls_uprobe_links_refused", "tls_attach_failures",
            "tls_streams", "http1_requests", "tls_execs_held", "tls_attach_latency_us_mean", "tls_attach_latency_us_max",
            "ring_used_bytes", "ring_size_bytes")
    return (f"watched {health.get('watched_processes')}, servers {health.get('mcp_servers')}, drops {drops or '{}'}, "
            f"errors {errors or '{}'}, " + ", ".join(f"{k} {sensors[k]}" for k in pick if k in sensors))


# --- the measurements -----------------------------------------------------------------------------------------------

def stop_report(agent, agents, figure, name, target, quiet=False, note=""):
    """Stops the agent (SIGTERM + SIGCONT), prints how long it took and where, adds FIGURE name (exit) and
    name_drained (SIGTERM -> final agent_health: what comes after is the probes' detach)."""
    print(f"  SIGTERM to agent {agent.name} (with N uprobe links open the exit takes ~N x 0.1 s: see "
          f"docs/performance.md) ...", flush=True)
    took = agent.stop()
    agents.remove(agent)
    drained = agent.stop_health_s
    print(f"  SIGTERM -> exit {'unknown (killed at the timeout)' if took is None else f'{took:.3f} s'}; -> final "
          f"agent_health {'unknown' if drained is None else f'{drained:.3f} s'}; {agent.links_at_stop} BPF links "
          f"open at SIGTERM")
    if not quiet:
        print(f"  final agent_health: {health_text(agent.events.health)}")
        print_log(agent)
    figure(name, took, "s", target, ", ".join(n for n in (f"{agent.links_at_stop} links open", note) if n))
    figure(name + "_to_final_health", drained, "s", "-")
    return took


def wait_reported(agent, fleet, pids, timeout):
    """Waits until the agent reported every pid's mcp_server_start and credential_use (at most timeout s, or 30 s
    without a new one); returns seconds waited."""
    start = last_progress = time.monotonic()
    seen = None
    while time.monotonic() - start < timeout and time.monotonic() - last_progress < 30:
        agent.events.poll()
        starts, uses = pids & agent.events.pids["mcp_server_start"], pids & agent.events.pids["credential_use"]
        if len(starts) == len(uses) == len(pids):
            break
        if (len(starts), len(uses)) != seen:
            seen, last_progress = (len(starts), len(uses)), time.monotonic()
        time.sleep(0.2)
    return time.monotonic() - start


def coverage_line(agent, pids, what):
    e = agent.events
    starts = len(pids & e.pids["mcp_server_start"])
    uses = len(pids & e.pids["credential_use"])
    exposures = len(pids & e.pids["secret_exposure"])
    print(f"  reported for the {len(pids)} {what}: mcp_server_start {starts}, secret_exposure {exposures} "
          f"processes ({e.counts['secret_exposure']} events in all), credential_use {uses}")
    return len(pids) - starts, len(pids) - uses


def spawn_fleet(fleet, n):
    start = time.monotonic()
    procs = [fleet.spawn(slot) for slot in range(n)]
    spawned = time.monotonic() - start
    pids = {p.pid for p in procs}
    waited = fleet.wait_ok(pids, 120)
    ok, errors = fleet.ok_count(pids)
    print(f"  {n} clients spawned in {spawned:.2f} s; {ok} answered, {errors} failed "
          f"{dict(fleet.errors) if errors else ''} ({waited:.2f} s after the last spawn)")
    return pids


def main():
    if os.geteuid() != 0:
        sys.exit("run as root")
    agent_binary = os.path.abspath(sys.argv[1])
    processes = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    soak_seconds = int(sys.argv[3]) if len(sys.argv) > 3 else 600
    churn = int(os.environ.get("CHURN_PER_SECOND", "50"))
    raise_nofile()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # cleanup runs in the finally blocks

    lock = open(LOCK, "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"waiting for {LOCK} ...", flush=True)
        fcntl.flock(lock, fcntl.LOCK_EX)
    running = subprocess.run(["pgrep", "-a", "credtrace-agent"], capture_output=True, text=True).stdout.strip()
    if running:
        sys.exit(f"another credtrace-agent is running, not measuring:\n{running}")

    figures = []
    foreign = ForeignAgents()

    def figure(name, value, unit, target, note=""):
        text = "unknown" if value is None else (f"{value:.3f}" if unit == "s" else f"{value:.1f}"
                                                if isinstance(value, float) else str(value))
        note = ", ".join(n for n in (note, foreign.note()) if n)
        figures.append(f"FIGURE {name} {text} {unit} {target}" + (f" {note}" if note else ""))

    work = tempfile.mkdtemp(prefix="credtrace-fleet-")
    agents = []
    fleet = None
    try:
        binary = os.path.join(work, CLIENT_NAME)
        subprocess.run(["cc", "-O2", "-Wall", "-o", binary, os.path.join(HERE, "fleet_client.c"), "-lssl", "-lcrypto"],
                       check=True)
        print(f"fleet benchmark: {processes} watched processes ({CLIENT_NAME}, 10 env secrets, one TLS connection "
              f"each, held open), soak {soak_seconds} s at {churn} replacements/s; {os.cpu_count()} CPUs; "
              f"MB = MiB; work dir {work}")
        with UnprobedServer(work) as server:
            fleet = Fleet(binary, server)

            # 0. baseline: no watched process
            print("\n[0] agent 0, no watched process")
            foreign.phase()
            zero = Agent(agent_binary, work, "0")
            agents.append(zero)
            stamped, observed = zero.wait_ready()
            print(f"  exec -> agent_ready {stamped:.3f} s")
            figure("agent_ready_idle", stamped, "s", "-")
            time.sleep(5)
            idle = print_status("idle, 0 watched", zero.pid)
            print_rollup(zero.pid)
            print_smaps(zero.pid, top=8)
            figure("agent_rss_idle", mb(idle["VmRSS"]), "MB", "-")
            figure("agent_hwm_idle", mb(idle["VmHWM"]), "MB", "-", "peak during the start")
            stop_report(zero, agents, figure, "sigterm_exit_idle", "-")

            # 1. memory with the fleet
            print("\n[1] agent A started before the fleet")
            foreign.phase()
            a = Agent(agent_binary, work, "a")
            agents.append(a)
            a.wait_ready()

            pids = spawn_fleet(fleet, processes)
            # the flooder of [1b]: idle until SIGUSR1, watched and attached like the others
            flooder = fleet.spawn("flood", mode="flood")
            fleet.wait_ok({flooder.pid}, 60)
            waited = wait_reported(a, fleet, pids, 120)
            print(f"  waited {waited:.1f} s after the clients answered for the agent's reports")
            missing_starts, missing_uses = coverage_line(a, pids, "clients")
            time.sleep(5)
            a.events.poll()
            full = print_status(f"{processes} watched", a.pid)
            print_rollup(a.pid)
            print_smaps(a.pid)
            print_bpf_fds(a.pid)
            m = a.metrics()
            print(f"  metrics: watched {m.get('credtrace_agent_watched_processes')}, servers "
                  f"{m.get('credtrace_agent_mcp_servers')}, uprobe links {sensor(m, 'tls_uprobe_process_links')}, "
                  f"refused {sensor(m, 'tls_uprobe_links_refused')}, ring drops {drops(m, 'ringbuf_full')}")
            figure(f"agent_rss_{processes}_watched", mb(full["VmRSS"]), "MB", "<=30")
            figure(f"agent_hwm_{processes}_watched", mb(full["VmHWM"]), "MB", "-")
            figure(f"agent_unreported_servers_{processes}", missing_starts, "processes", "-")
            figure(f"agent_unreported_credential_uses_{processes}", missing_uses, "processes", "-")

            # 1b. SIGTERM with a full ring (and the fleet's uprobe links)
            print(f"\n[1b] SIGTERM -> exit of agent A with a full ring buffer and {processes} watched processes")
            foreign.phase()
            os.kill(flooder.pid, signal.SIGUSR1)
            time.sleep(1)
            m = a.metrics()
            drops_before = drops(m, "ringbuf_full")
            os.kill(a.pid, signal.SIGSTOP)
            time.sleep(3)  # the flood goes on at up to the per-process byte budget: several times the ring
            stop_report(a, agents, figure, "sigterm_exit_full_ring", "<=1", quiet=True)
            kill_group(flooder)
            del fleet.slots["flood"]
            health = a.events.health or {}
            drops_after = int(health.get("drops", {}).get("ringbuf_full", 0))
            full_ring = drops_after > drops_before
            ring_size = int(health.get("sensors", {}).get("ring_size_bytes", 0))
            print(f"  ring {ring_size / 1048576:.0f} MiB; ringbuf_full drops {drops_before:.0f} before the stop, "
                  f"{drops_after} in the final agent_health: the ring was {'full' if full_ring else 'NOT seen full'}")
            print(f"  final agent_health: {health_text(health)}")
            print_log(a)
            index = next(i for i, f in enumerate(figures) if f.startswith("FIGURE sigterm_exit_full_ring "))
            figures[index] += f", ring {'full' if full_ring else 'NOT seen full'}"

            # 2. start time with the fleet running
            print(f"\n[2] agent B started with the {processes} processes running")
            foreign.phase()
            b = Agent(agent_binary, work, "b")
            agents.append(b)
            stamped, observed = b.wait_ready()
            ready = b.events.ready.get("agent_ready", {})
            print(f"  exec -> agent_ready: {stamped:.3f} s by the event's time, {observed:.3f} s seen in the file; "
                  f"mcp_servers_running {ready.get('mcp_servers_running')}, {b.events.starts_before_ready} "
                  f"mcp_server_start before it, tls_hold {ready.get('tls_hold')!r}")
            figure(f"agent_ready_{processes}_processes", stamped, "s", "<=1")
            print(f"  tls_attach_pending at agent_ready: {ready.get('tls_attach_pending', 0)} (past "
                  f"tls.start_attach_budget_ms: their links follow the event)")
            drained = None
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                m = b.metrics()
                if sensor(m, "tls_start_attach_pending") == 0:
                    drained = sensor(m, "tls_start_attach_drain_ms")
                    break
                time.sleep(0.2)
            print(f"  deferred {sensor(m, 'tls_start_attach_deferred')}, attached "
                  f"{'unknown' if drained is None else f'{drained / 1000:.3f} s'} after agent_ready; links "
                  f"{sensor(m, 'tls_uprobe_process_links')}")
            figure(f"tls_links_of_{processes}_running_attached_after_ready", None if drained is None else drained / 1000,
                   "s", "-", "each pid-filtered registration visits every process mapping libssl: O(N) each")
            time.sleep(5)
            b.events.poll()
            coverage_line(b, fleet.live_pids(), "running clients (found by the start scan)")
            restarted = print_status(f"{processes} watched, found at start", b.pid)
            print_rollup(b.pid)
            figure(f"agent_rss_{processes}_watched_after_restart", mb(restarted["VmRSS"]), "MB", "<=30")

            # 3. churn soak
            print(f"\n[3] churn soak on agent B: {soak_seconds} s, {churn} of {processes} replaced per second")
            foreign.phase()
            soak_pids = set()
            series = []
            cpu_before = cpu_seconds(b.pid)
            start = time.monotonic()
            next_sample = start
            replaced = 0
            print("  (watched, servers, links, refused: the agent's /metrics, '-' when it did not answer within 3 s; "
                  "held: clients stopped at exec by the agent, not continued yet)")
            print("     t s   VmRSS MB  VmHWM MB  watched  servers  replaced  clients ok  held  links (agent)  refused"
                  "  link fds")
            while True:
                now = time.monotonic()
                if now >= next_sample:
                    s = status_kb(b.pid)
                    m = b.metrics()
                    ok, _ = fleet.ok_count(soak_pids)
                    series.append((now - start, mb(s["VmRSS"])))
                    metric = lambda v: "-" if v is None else f"{v:.0f}"
                    print(f"  {now - start:6.0f}  {mb(s['VmRSS']):8.1f}  {mb(s['VmHWM']):8.1f}  "
                          f"{metric(m.get('credtrace_agent_watched_processes')):>7}  "
                          f"{metric(m.get('credtrace_agent_mcp_servers')):>7}  {replaced:8d}  {ok:10d}  "
                          f"{fleet.stopped():4d}  {metric(sensor(m, 'tls_uprobe_process_links')):>13}  "
                          f"{metric(sensor(m, 'tls_uprobe_links_refused')):>7}  {link_fds(b.pid):8d}",
                          flush=True)
                    next_sample += 10
                    if now - start >= soak_seconds:
                        break
                b.events.poll()
                target = int((now - start) * churn)
                while replaced < target and now - start < soak_seconds:
                    soak_pids.add(fleet.replace(replaced % processes).pid)  # oldest first: each lives ~N/churn s
                    replaced += 1
                time.sleep(max(0.0, min(1.0 / churn, next_sample - time.monotonic())))
            cpu = cpu_seconds(b.pid) - cpu_before
            fleet.wait_ok(soak_pids & fleet.live_pids(), 20)
            wait_reported(b, fleet, soak_pids & fleet.live_pids(), 20)
            b.events.poll()
            ok, errors = fleet.ok_count(soak_pids)
            print(f"  agent CPU during the soak: {cpu:.1f} s = {100 * cpu / max(soak_seconds, 1):.1f}% of one core")
            print(f"  {replaced} replacements; {ok} answered, {errors} failed in all {dict(fleet.errors) or ''}")
            soak_missing_starts, soak_missing_uses = coverage_line(b, soak_pids, "soak clients")
            exits = len(soak_pids & b.events.pids["mcp_server_exit"])
            print(f"  mcp_server_exit for {len(b.events.pids['mcp_server_exit'])} processes in all "
                  f"({exits} of them soak clients)")
            print(f"  agent_health: {health_text(b.events.health)}")
            after = print_status("after the soak", b.pid)
            print_rollup(b.pid)
            print_smaps(b.pid, top=8)
            first, last = series[0][1], series[-1][1]
            peak = max(v for _, v in series)
            print(f"  RSS first {first:.1f} MB, last {last:.1f} MB, max {peak:.1f} MB (VmHWM {mb(after['VmHWM']):.1f})")
            figure("agent_rss_soak_first", first, "MB", "-")
            figure("agent_rss_soak_last", last, "MB", "-")
            figure("agent_rss_soak_max", peak, "MB", "-")
            figure("agent_rss_soak_growth", last - first, "MB", "-", f"over {soak_seconds} s, {replaced} replaced")
            figure("agent_unreported_servers_soak", soak_missing_starts, "processes", "-")
            figure("agent_unreported_credential_uses_soak", soak_missing_uses, "processes", "-")

            print("  the fleet is stopped first (fewer processes mapping libssl: each uprobe detach is cheaper)")
            fleet.stop()
            time.sleep(2)
            stop_report(b, agents, figure, "sigterm_exit_after_soak", "-", note="fleet stopped first")
    finally:
        foreign.stopped = True
        for agent in agents:
            agent.stop(timeout=60)
        if fleet is not None:
            fleet.stop()
        if os.environ.get("KEEP_WORK"):
            print(f"work dir kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
        lock.close()
    print()
    print("\n".join(figures))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(sys.argv[2], sys.argv[3])
    else:
        main()
