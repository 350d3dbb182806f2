"""End-to-end tests (root) of per-process TLS uprobes (tls.uprobe_mode): a watched server's short-lived children
have their first HTTPS request caught although their uprobes are attached after their exec; a libssl loaded later
(one the agent learns of only when it is mapped) is attached for the process that maps it; an unwatched process
mapping libssl carries no breakpoint in per_process mode, and does in global mode; agent_ready names the mode."""
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import unittest

from harness import Agent, AgentTestCase, base_env, fake_github_pat, fingerprint
from tls_server import HttpsServer

CLIENTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "clients")
CHILDREN = int(os.environ.get("CREDTRACE_RACE_CHILDREN", "24"))
SYSTEM_LIBSSL = "/usr/lib/x86_64-linux-gnu/libssl.so.3"

# An unwatched process that maps libssl and waits: its libssl text is compared with the file.
HOLD_LIBSSL = "import ssl, sys, time; sys.stdout.write('ready\\n'); sys.stdout.flush(); time.sleep(30)"


def breakpoint_bytes(pid, library_name="libssl.so"):
    """Bytes of the process's executable libssl mapping that differ from the file: uprobes' int3s (0 without)."""
    differing = 0
    with open(f"/proc/{pid}/maps") as maps:
        for line in maps:
            fields = line.split()
            if len(fields) < 6 or "x" not in fields[1] or library_name not in os.path.basename(fields[5]):
                continue
            start, end = (int(v, 16) for v in fields[0].split("-"))
            offset = int(fields[2], 16)
            with open(f"/proc/{pid}/mem", "rb") as mem, open(fields[5], "rb") as lib:
                mem.seek(start)
                lib.seek(offset)
                live, disk = mem.read(end - start), lib.read(end - start)
            differing += sum(1 for a, b in zip(live, disk) if a != b)
    return differing


def children_of(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def process_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return ""


def process_name(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


class UprobeAttachE2E(AgentTestCase):
    scratch_prefix = "credtrace-uprobes-"

    def uses_of(self, raw):
        return [e for e in self.agent.events() if e["type"] == "credential_use"
                and e["credential"]["fingerprint"] == fingerprint(raw)]

    def health(self):
        before = sum(1 for e in self.agent.events() if e["type"] == "agent_health")
        return self.agent.wait_for(lambda e: e["type"] == "agent_health"
                                   and sum(1 for x in self.agent.events() if x["type"] == "agent_health") > before,
                                   timeout=8, what="fresh health")

    def latest_health(self):
        time.sleep(2.5)  # health_interval_seconds: 2
        return [e for e in self.agent.events() if e["type"] == "agent_health"][-1]["agent_health"]["sensors"]

    def spawn_children(self, server, tokens, libdir=""):
        tokens_file = os.path.join(self.dir, "tokens")
        with open(tokens_file, "w") as f:
            f.write("\n".join(tokens) + "\n")
        argv = [sys.executable, os.path.join(CLIENTS, "mcp_server_spawner.py"), str(server.port), server.ca, tokens_file]
        if libdir:
            argv.append(libdir)
        result = subprocess.run(argv, env=base_env(), capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 0, result.stderr)

    def caught(self, tokens, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            missed = [i for i, token in enumerate(tokens) if not self.uses_of(token)]
            if not missed:
                return []
            time.sleep(0.2)
        return missed

    def sleep_then_cat_server(self, name, sleep_s, out):
        """A watched server script that sleeps, then runs cat (held at its exec), then exits 0."""
        script = os.path.join(self.dir, name)
        with open(script, "w") as f:
            # (not the script's last command: dash would run that one in its own process, exec without a fork)
            f.write(f"#!/bin/sh\nsleep {sleep_s}\ncat /etc/hostname > {out}\nexit 0\n")
        os.chmod(script, 0o755)
        return script

    def wait_sleep_continued(self, server, within):
        """The server's sleep is held at its exec too: the agent must have continued it (state S) before a test
        pauses the agent, or the sleep (not the cat) is what stays held (a busy host can delay the agent)."""
        sleeping = None
        deadline = time.time() + within
        while time.time() < deadline and sleeping is None:
            sleeping = next((pid for pid in children_of(server.pid)
                             if process_name(pid) == "sleep" and process_state(pid) == "S"), None)
            time.sleep(0.02)
        self.assertIsNotNone(sleeping, "the server's sleep was not continued by the agent")

    def test_agent_ready_names_the_per_process_mode(self):
        self.agent = Agent().start()
        ready = self.agent.wait_for(lambda e: e["type"] == "agent_ready")["agent_ready"]
        self.assertEqual(ready["tls_uprobe_mode"], "per_process")
        self.assertTrue(any(p.startswith("uprobe:SSL_write@") and p.endswith(", per process")
                            for p in ready["probes"]), ready["probes"])
        self.assertEqual(ready.get("tls_attach_pending", 0), 0)

    def test_a_server_running_before_the_agent_past_the_start_budget_is_attached_after_ready(self):
        """tls.start_attach_budget_ms: 0 defers every running process's TLS links to after agent_ready (on a host with
        many running processes the ones past the budget are): agent_ready counts it pending, its mcp_server_start says
        tls_coverage unknown (not examined yet), a tls_coverage event then reports it covered, and its next request
        is a credential_use."""
        token = self.secret(fake_github_pat)
        go = os.path.join(self.dir, "go")
        script = os.path.join(self.dir, "mcp-server-running")
        with HttpsServer() as server:
            with open(script, "w") as f:
                f.write(f"""#!{sys.executable}
import os, ssl, sys, time, urllib.request
context = ssl.create_default_context(cafile={server.ca!r})
print("mapped", flush=True)
while not os.path.exists({go!r}):
    time.sleep(0.05)
request = urllib.request.Request("https://localhost:{server.port}/user",
                                 headers={{"Authorization": "Bearer " + os.environ["GITHUB_TOKEN"]}})
urllib.request.urlopen(request, context=context).read()
print("sent", flush=True)
time.sleep(30)
""")
            os.chmod(script, 0o755)
            proc = subprocess.Popen([script], env=dict(base_env(), GITHUB_TOKEN=token), stdout=subprocess.PIPE,
                                    text=True)
            self.addCleanup(lambda: (proc.kill(), proc.wait(), proc.stdout.close()))
            self.assertEqual(proc.stdout.readline().strip(), "mapped")
            self.agent = Agent(extra_config="tls:\n  start_attach_budget_ms: 0\n").start()
            ready = self.agent.wait_for(lambda e: e["type"] == "agent_ready")["agent_ready"]
            self.assertGreaterEqual(ready.get("tls_attach_pending", 0), 1, ready)
            start = self.agent.wait_for(lambda e: e["type"] == "mcp_server_start" and e["process"]["pid"] == proc.pid,
                                        what="the running server's start")
            self.assertEqual(start["mcp_server_start"]["tls_coverage"], "unknown", start["mcp_server_start"])
            coverage = self.agent.wait_for(lambda e: e["type"] == "tls_coverage" and e["process"]["pid"] == proc.pid,
                                           what="its coverage once attached after agent_ready")
            self.assertEqual(coverage["tls_coverage"]["tls_coverage"], "covered", coverage["tls_coverage"])
            with open(go, "w"):
                pass
            self.assertEqual(proc.stdout.readline().strip(), "sent")
            self.assertEqual(self.caught([token]), [], "the deferred server's request was not seen")
            sensors = self.latest_health()
            self.assertGreaterEqual(int(sensors["tls_start_attach_deferred"]), 1)
            self.assertEqual(int(sensors["tls_start_attach_pending"]), 0)

    def race(self, label, extra_config=""):
        """N curl and python children of a watched server, each making one request at once."""
        tokens = [self.secret(fake_github_pat) for _ in range(CHILDREN)]
        self.agent = Agent(extra_config=extra_config).start()
        with HttpsServer() as server:
            self.spawn_children(server, tokens)
            self.assertEqual(len(server.seen), CHILDREN)
        missed = self.caught(tokens)
        sensors = self.latest_health()
        print(f"\n[uprobe race, {label}] children={CHILDREN} caught={CHILDREN - len(missed)} missed={missed} "
              f"(even: curl, odd: python) attach latency (exec → links) mean={sensors.get('tls_attach_latency_us_mean')} µs "
              f"max={sensors.get('tls_attach_latency_us_max')} µs samples={sensors.get('tls_attach_latency_samples')} "
              f"processes attached={sensors.get('tls_uprobe_processes_attached')} "
              f"released={sensors.get('tls_uprobe_processes_released')} held={sensors.get('tls_execs_held')} "
              f"links now={sensors.get('tls_uprobe_process_links')}", file=sys.stderr)
        self.assertEqual(int(sensors.get("tls_uprobe_links_refused", 0)), 0)
        return missed, sensors

    def test_first_request_of_each_short_lived_child_held_at_exec(self):
        """tls.hold_exec_until_attached (on by default): each watched child is stopped at exec and when it maps a libssl
        until its uprobes are attached, so every first request is caught."""
        missed, sensors = self.race("held at exec and libssl map (the default)")
        ready = self.agent.wait_for(lambda e: e["type"] == "agent_ready")["agent_ready"]
        self.assertEqual(ready["tls_hold"], "on (ledger /sys/fs/bpf/credtrace/held_processes)")
        self.assertEqual(missed, [], "first requests missed (child index; even: curl, odd: python)")
        self.assertGreaterEqual(int(sensors["tls_uprobe_processes_attached"]), CHILDREN)
        self.assertGreaterEqual(int(sensors["tls_execs_held"]), CHILDREN)
        self.assertEqual(self.agent.stop(), 0)
        self.assertFalse(os.path.exists("/sys/fs/bpf/credtrace/held_processes"), "a clean stop leaves no ledger")

    def test_first_request_of_each_short_lived_child_not_held(self):
        """tls.hold_exec_until_attached: false: attachment races the child. A uprobe registration can wait for an RCU grace period (tens of
        ms to 0.2 s on this VM) while curl's whole life is ~15 ms: misses are measured and printed, not asserted
        (docs/performance.md); the python children (slower start-up) are expected to be caught mostly."""
        missed, sensors = self.race("not held", "tls:\n  hold_exec_until_attached: false\n")
        self.assertEqual(int(sensors.get("tls_execs_held", 0)), 0)
        self.assertLess(len(missed), CHILDREN, "not a single child caught")

    def test_a_process_left_held_by_a_killed_agent_is_continued_by_the_next(self):
        """The agent is paused, then killed (SIGKILL), while a watched child is stopped at its exec: the child stays
        stopped, listed in the pinned ledger, until the next agent starts and continues it (even one whose own hold is
        off); no ledger is left."""
        ledger = "/sys/fs/bpf/credtrace/held_processes"
        token = self.secret(fake_github_pat)
        out = os.path.join(self.dir, "out")
        script = self.sleep_then_cat_server("mcp-server-heldchild", 3, out)
        first = Agent().start()
        self.addCleanup(first.cleanup)
        server = subprocess.Popen([script], env=dict(base_env(), GITHUB_TOKEN=token))
        self.addCleanup(server.kill)
        first.wait_for(lambda e: e["type"] == "mcp_server_start" and e["process"]["pid"] == server.pid,
                       what="the server's start")
        self.assertTrue(os.path.exists(ledger))
        self.wait_sleep_continued(server, 2.5)
        first.proc.send_signal(signal.SIGSTOP)  # the agent cannot continue what the kernel stops from now on
        child = None
        deadline = time.time() + 10
        while time.time() < deadline and child is None:
            for pid in children_of(server.pid):
                if process_state(pid) == "T" and process_name(pid) == "cat":
                    child = pid
            time.sleep(0.1)
        self.assertIsNotNone(child, "the server's cat was not held at its exec")
        first.proc.kill()
        first.proc.wait()
        self.assertNotIn(token.encode(), first.all_output(), "a raw secret reached the killed agent's output or log")
        time.sleep(0.5)
        self.assertEqual(process_state(child), "T", "the held child went on with no agent")
        self.assertTrue(os.path.exists(ledger), "the ledger went away with the killed agent")
        # The next agent continues it whatever its own settings (here: no hold of its own).
        self.agent = Agent(extra_config="tls:\n  hold_exec_until_attached: false\n").start()
        ready = self.agent.wait_for(lambda e: e["type"] == "agent_ready")["agent_ready"]
        # (at least the cat: an exec elsewhere on the host whose arguments mention "mcp", a build step, can be held
        # in the lease's last seconds too, and is continued with it)
        continued = re.fullmatch(r"off \(continued (\d+) left held\)", ready["tls_hold"])
        self.assertIsNotNone(continued, ready["tls_hold"])
        self.assertGreaterEqual(int(continued.group(1)), 1)
        self.assertEqual(server.wait(timeout=10), 0)
        self.assertTrue(os.path.exists(out))
        self.assertEqual(self.agent.stop(), 0)
        self.assertFalse(os.path.exists(ledger), "the old ledger was not removed")

    def test_hold_lapses_while_the_agent_stalls(self):
        """The hold is a lease the agent renews while its loop runs: an agent paused (SIGSTOP) longer than the lease
        (5 s) holds nothing more (a watched exec runs on, counted as drops.hold_lapsed), so a dead or stalled agent
        cannot leave the host's later execs stopped; resumed, it holds again."""
        token = self.secret(fake_github_pat)
        out = os.path.join(self.dir, "out")
        script = self.sleep_then_cat_server("mcp-server-lapse", 9, out)
        self.agent = Agent().start()
        ready = self.agent.wait_for(lambda e: e["type"] == "agent_ready")["agent_ready"]
        self.assertTrue(ready["tls_hold"].startswith("on"), ready["tls_hold"])
        server = subprocess.Popen([script], env=dict(base_env(), GITHUB_TOKEN=token))
        self.addCleanup(server.kill)
        self.agent.wait_for(lambda e: e["type"] == "mcp_server_start" and e["process"]["pid"] == server.pid,
                            what="the server's start")
        self.wait_sleep_continued(server, 3)
        self.agent.proc.send_signal(signal.SIGSTOP)  # from now on nothing renews the lease
        try:
            # The cat execs 9 s after the sleep began, >= 6 s after the pause (the sleep is seen continued within 3 s):
            # past the lease (5 s from its last renewal), it is not held and the server ends.
            self.assertEqual(server.wait(timeout=20), 0, "a watched exec was held by a stalled agent's lapsed lease")
            self.assertTrue(os.path.exists(out))
        finally:
            self.agent.proc.send_signal(signal.SIGCONT)
        health = self.agent.wait_for(lambda e: e["type"] == "agent_health"
                                     and int(e["agent_health"]["drops"].get("hold_lapsed", 0)) >= 1,
                                     timeout=15, what="drops.hold_lapsed")["agent_health"]
        self.assertGreaterEqual(int(health["drops"]["hold_lapsed"]), 1)
        # Resumed, the agent renews the lease: the next watched exec is held again (and continued).
        held_before = int(health["sensors"].get("tls_execs_held", 0))
        again = os.path.join(self.dir, "mcp-server-again")
        with open(again, "w") as f:
            f.write(f"#!/bin/sh\ncat /etc/hostname > {out}.2\nexit 0\n")
        os.chmod(again, 0o755)
        self.assertEqual(subprocess.run([again], env=base_env(), timeout=20).returncode, 0)
        self.assertTrue(os.path.exists(out + ".2"))
        self.agent.wait_for(lambda e: e["type"] == "agent_health"
                            and int(e["agent_health"]["sensors"].get("tls_execs_held", 0)) > held_before,
                            timeout=15, what="a hold after the agent resumed")
        self.assertEqual(self.agent.stop(), 0)
        self.assertNotIn(token.encode(), self.agent.all_output(), "a raw secret reached the agent's output or log")

    def test_library_loaded_later_from_an_unknown_place(self):
        """Python children load a copy of libssl (LD_LIBRARY_PATH) at `import ssl`: only the kernel's lib_map
        record tells the agent of that file; with the hold (the process stopped at the map until attached) each
        child's first request is caught."""
        libdir = os.path.join(self.dir, "lib")
        os.makedirs(libdir)
        shutil.copy(SYSTEM_LIBSSL, os.path.join(libdir, "libssl.so.3"))
        tokens = [self.secret(fake_github_pat) for _ in range(6)]
        self.agent = Agent(extra_config="tls:\n  hold_exec_until_attached: true\n").start()
        with HttpsServer() as server:
            self.spawn_children(server, tokens, libdir)
        missed = self.caught(tokens)
        sensors = self.latest_health()
        print(f"\n[uprobe lib_map] children=6 (3 python with a copied libssl) caught={6 - len(missed)} "
              f"libraries mapped={sensors.get('tls_libraries_mapped')} "
              f"attach latency mean={sensors.get('tls_attach_latency_us_mean')} µs "
              f"max={sensors.get('tls_attach_latency_us_max')} µs", file=sys.stderr)
        self.assertEqual(missed, [])
        self.assertGreaterEqual(int(sensors.get("tls_libraries_mapped", 0)), 3)

    def hold_unwatched_libssl(self):
        holder = subprocess.Popen([sys.executable, "-c", HOLD_LIBSSL], stdout=subprocess.PIPE, env=base_env())
        self.addCleanup(holder.wait)
        self.addCleanup(holder.kill)
        self.assertEqual(holder.stdout.readline().strip(), b"ready")
        return holder

    def test_unwatched_process_carries_no_breakpoint(self):
        self.agent = Agent(extra_config="tls:\n  hold_exec_until_attached: true\n").start()
        holder = self.hold_unwatched_libssl()
        token = self.secret(fake_github_pat)
        with HttpsServer() as server:  # a watched process attached meanwhile
            self.spawn_children(server, [token])
        self.assertEqual(self.caught([token]), [])
        self.assertEqual(breakpoint_bytes(holder.pid), 0, "an unwatched process's libssl was patched")

    def test_global_mode(self):
        self.agent = Agent(extra_config="tls:\n  uprobe_mode: global\n").start()
        ready = self.agent.wait_for(lambda e: e["type"] == "agent_ready")["agent_ready"]
        self.assertEqual(ready["tls_uprobe_mode"], "global")
        holder = self.hold_unwatched_libssl()
        self.assertGreater(breakpoint_bytes(holder.pid), 0, "global mode: every process mapping libssl is patched")
        tokens = [self.secret(fake_github_pat) for _ in range(4)]
        with HttpsServer() as server:
            self.spawn_children(server, tokens)
        self.assertEqual(self.caught(tokens), [])


if __name__ == "__main__":
    unittest.main()
