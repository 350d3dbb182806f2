"""End-to-end tests (root): the real agent and probes, real MCP servers from npm launched by a real SDK client."""
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import unittest

from harness import (AGENT, NPM_DIR, Agent, base_env, fake_github_pat, fake_gitlab_pat, fake_jwt, fake_openai_key,
                     fake_password, fingerprint, run_mcp_client)

EVERYTHING_JS = os.path.join(NPM_DIR, "node_modules/@modelcontextprotocol/server-everything/dist/index.js")
SHADOW_JS = os.path.join(NPM_DIR, "shadow_tool.mjs")


def loaded_probe_names():
    out = subprocess.run(["bpftool", "prog", "show"], capture_output=True, text=True).stdout
    return set(re.findall(r"name (ct_\w+)", out))


class AgentE2E(unittest.TestCase):
    def setUp(self):
        self.agents = []
        self.raw_secrets = []

    def tearDown(self):
        for agent in self.agents:
            agent.stop()
            blob = agent.all_output()
            for secret in self.raw_secrets:
                self.assertNotIn(secret.encode(), blob, "a raw secret reached the agent's output or log")
            agent.cleanup()

    def start_agent(self, **kwargs):
        agent = Agent(**kwargs)
        self.agents.append(agent)
        return agent.start()

    def secret(self, factory):
        value = factory()
        self.raw_secrets.append(value)
        return value

    def exposures(self, agent, workload_id):
        return {e["source"]["name"]: e for e in agent.events()
                if e["type"] == "secret_exposure" and e["workload"]["id"] == workload_id}

    def assert_exposure(self, exposure, raw, type_, prefix):
        self.assertEqual(exposure["credential"]["type"], type_)
        self.assertEqual(exposure["credential"]["fingerprint"], fingerprint(raw))
        self.assertEqual(exposure["source"]["kind"], "env")
        preview = exposure["credential"]["preview"]
        self.assertTrue(preview.startswith(prefix), preview)
        self.assertTrue(preview.endswith(raw[-4:]), preview)
        self.assertLessEqual(len(preview), len(prefix) + 1 + 4)

    def test_npx_server_found_by_pattern_with_identity_exposures_and_exit(self):
        agent = self.start_agent()
        pat, openai, password = self.secret(fake_github_pat), self.secret(fake_openai_key), self.secret(fake_password)
        jwt = self.secret(fake_jwt)
        spec = {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-everything"], "cwd": NPM_DIR,
                "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": pat, "OPENAI_API_KEY": openai, "DB_PASSWORD": password,
                        "SERVICE_SESSION": jwt, "LOG_LEVEL": "debug"}}
        result = run_mcp_client(spec)
        self.assertEqual(result.returncode, 0, result.stderr)
        start = agent.wait_for(lambda e: e["type"] == "mcp_server_start"
                               and e["workload"]["mcp"]["package"] == "@modelcontextprotocol/server-everything",
                               what="mcp_server_start")
        w = start["workload"]
        self.assertEqual(w["mcp"]["discovered_by"], "pattern")
        self.assertEqual(w["mcp"]["server_name"], "@modelcontextprotocol/server-everything")
        self.assertEqual(w["mcp"]["client"], "mcp_client.mjs")
        self.assertEqual(w["mcp"]["transport"], "stdio")
        self.assertTrue(w["id"].startswith("wl_"))
        self.assertEqual(w["user"], "root")
        self.assertEqual(w["uid"], 0)
        self.assertRegex(w["exe_sha256"], r"^[0-9a-f]{64}$")
        self.assertEqual(w["cwd"], NPM_DIR)
        self.assertTrue(w["cgroup"])
        for key in ("type", "time", "host", "agent_id", "process", "workload"):
            self.assertIn(key, start)
        self.assertRegex(start["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
        proc = start["process"]
        self.assertEqual(proc["pid"], w["pid"])
        self.assertIn("@modelcontextprotocol/server-everything", proc["args"])
        self.assertRegex(proc["start_time"], r"^\d{4}-")

        exposures = agent.wait_for(lambda e: len(self.exposures(agent, w["id"])) >= 4, what="4 exposures") and \
            self.exposures(agent, w["id"])
        self.assert_exposure(exposures["GITHUB_PERSONAL_ACCESS_TOKEN"], pat, "github_pat", "ghp_")
        self.assert_exposure(exposures["OPENAI_API_KEY"], openai, "openai", "sk-proj-")
        self.assertEqual(exposures["DB_PASSWORD"]["credential"]["type"], "password")
        self.assertEqual(exposures["DB_PASSWORD"]["credential"]["fingerprint"], fingerprint(password))
        self.assertTrue(exposures["OPENAI_API_KEY"]["secret_exposure"]["matched_value"])
        token = exposures["SERVICE_SESSION"]["credential"]  # found by value: the name says nothing
        self.assertEqual(token["type"], "jwt")
        self.assertEqual(token["jwt"]["ttl_seconds"], "3600")
        self.assertEqual(token["jwt"]["aud"], ["mcp-api"])
        self.assertEqual(token["jwt"]["iss"], "https://auth.example.test")
        self.assertEqual(token["jwt"]["exp"], "2026-09-21T15:13:20Z")
        for name in ("PATH", "HOME", "LOG_LEVEL"):
            self.assertNotIn(name, exposures)

        exit_event = agent.wait_for(lambda e: e["type"] == "mcp_server_exit" and e["workload"]["id"] == w["id"],
                                    what="mcp_server_exit")
        self.assertGreater(exit_event["mcp_server_exit"]["duration_seconds"], 0)
        self.assertIn("exit_code", exit_event["mcp_server_exit"])

        # The same server started again is the same workload.
        result = run_mcp_client(spec)
        self.assertEqual(result.returncode, 0, result.stderr)
        starts = lambda: [e for e in agent.events() if e["type"] == "mcp_server_start"
                          and e["workload"]["mcp"]["package"] == "@modelcontextprotocol/server-everything"]
        agent.wait_for(lambda e: len(starts()) >= 2, what="second start")
        second = starts()[1]
        self.assertNotEqual(second["process"]["pid"], proc["pid"])
        self.assertEqual(second["workload"]["id"], w["id"])

    def test_config_entry_names_the_server_and_descendants_are_attributed(self):
        project = tempfile.mkdtemp(prefix="credtrace-project-")
        os.makedirs(os.path.join(project, ".cursor"))
        config_path = os.path.join(project, ".cursor", "mcp.json")
        with open(config_path, "w") as f:
            json.dump({"mcpServers": {"shadow-notes": {"command": "node", "args": [SHADOW_JS],
                                                        "env": {"NOTES_API_KEY": "${env:NOTES_API_KEY}"}}}}, f)
        agent = self.start_agent(extra_config=f"  config_paths: [{project}]")
        notes_key, child_token = self.secret(fake_gitlab_pat), self.secret(fake_github_pat)
        spec = {"command": "node", "args": [SHADOW_JS], "cwd": project, "holdMs": 2500,
                "env": {"NOTES_API_KEY": notes_key, "HELPER_CHILD_SECONDS": "3",
                        "CHILD_SERVICE_TOKEN_VALUE": child_token}}
        result = run_mcp_client(spec)
        self.assertEqual(result.returncode, 0, result.stderr)
        start = agent.wait_for(lambda e: e["type"] == "mcp_server_start"
                               and e["workload"]["mcp"]["server_name"] == "shadow-notes", what="config server start")
        w = start["workload"]
        self.assertEqual(w["mcp"]["discovered_by"], "config")
        self.assertEqual(w["mcp"]["client"], "cursor")
        self.assertEqual(w["mcp"]["config_path"], config_path)
        ready = agent.wait_for(lambda e: e["type"] == "agent_ready", what="agent_ready")
        self.assertEqual(ready["agent_ready"]["mcp_config_servers"], 1)

        agent.wait_for(lambda e: "CHILD_SERVICE_TOKEN" in self.exposures(agent, w["id"]), what="descendant exposure")
        exposures = self.exposures(agent, w["id"])
        self.assert_exposure(exposures["NOTES_API_KEY"], notes_key, "gitlab_pat", "glpat-")
        child = exposures["CHILD_SERVICE_TOKEN"]
        self.assert_exposure(child, child_token, "github_pat", "ghp_")
        self.assertNotEqual(child["process"]["pid"], w["pid"])
        self.assertEqual(child["process"]["ppid"], w["pid"])
        self.assertEqual(child["process"]["args"][:2], ["/bin/sh", "-c"])

    def test_shadow_server_found_by_protocol_and_other_children_ignored(self):
        agent = self.start_agent()
        key, argv_token = self.secret(fake_openai_key), self.secret(fake_github_pat)
        spec = {"command": "node", "args": [SHADOW_JS, "--token", argv_token], "cwd": NPM_DIR, "nonMcpChild": True,
                "clientName": "claude-code-e2e", "env": {"SHADOW_API_KEY": key}}
        result = run_mcp_client(spec)
        self.assertEqual(result.returncode, 0, result.stderr)
        start = agent.wait_for(lambda e: e["type"] == "mcp_server_start"
                               and e["workload"]["mcp"]["discovered_by"] == "protocol", what="protocol start")
        w = start["workload"]
        self.assertEqual(w["mcp"]["server_name"], "shadow_tool.mjs")
        self.assertEqual(w["mcp"]["client"], "mcp_client.mjs")
        self.assertEqual(w["mcp"]["client_info"], "claude-code-e2e")
        self.assertEqual(start["process"]["args"][:3], ["node", SHADOW_JS, "--token"])
        self.assertNotIn(argv_token, start["process"]["args"][3])  # argv secrets are redacted
        self.assertIn("redacted", start["process"]["args"][3])
        agent.wait_for(lambda e: "SHADOW_API_KEY" in self.exposures(agent, w["id"]), what="exposure")
        self.assert_exposure(self.exposures(agent, w["id"])["SHADOW_API_KEY"], key, "openai", "sk-proj-")
        time.sleep(1)
        starts = [e for e in agent.events() if e["type"] == "mcp_server_start"]
        self.assertEqual(len(starts), 1, [s["process"]["args"] for s in starts])  # /bin/cat is not an MCP server

    def test_non_mcp_processes_produce_no_events(self):
        agent = self.start_agent()
        token = self.secret(fake_github_pat)
        env = dict(base_env(), GITHUB_TOKEN=token, OPENAI_API_KEY=self.secret(fake_openai_key))
        subprocess.run(["python3", "-c", "import os, time; open('/etc/hostname').read(); time.sleep(0.3)"],
                       env=env, check=True)
        subprocess.run(["/bin/sh", "-c", "cat /etc/hostname > /dev/null; echo mcp"], env=env, check=True)
        time.sleep(2.5)
        types = {e["type"] for e in agent.events()}
        self.assertEqual(types - {"agent_ready", "agent_health"}, set())
        health = agent.wait_for(lambda e: e["type"] == "agent_health", what="agent_health")
        self.assertGreater(int(health["agent_health"]["events"]["exec"]), 0)
        self.assertEqual(int(health["agent_health"]["drops"]["ringbuf_full"]), 0)

    def test_server_running_before_agent_start_is_found_in_proc(self):
        pat = self.secret(fake_github_pat)
        server = subprocess.Popen(["node", EVERYTHING_JS], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, cwd=NPM_DIR,
                                  env=dict(base_env(), GITHUB_PERSONAL_ACCESS_TOKEN=pat))
        try:
            time.sleep(0.5)
            agent = self.start_agent()
            ready = agent.wait_for(lambda e: e["type"] == "agent_ready", what="agent_ready")
            self.assertGreaterEqual(ready["agent_ready"]["mcp_servers_running"], 1)
            start = agent.wait_for(lambda e: e["type"] == "mcp_server_start" and e["process"]["pid"] == server.pid,
                                   what="start from /proc")
            self.assertEqual(start["workload"]["mcp"]["server_name"], "@modelcontextprotocol/server-everything")
            exposure = agent.wait_for(lambda e: e["type"] == "secret_exposure"
                                      and e["workload"]["id"] == start["workload"]["id"], what="exposure")
            self.assert_exposure(exposure, pat, "github_pat", "ghp_")
        finally:
            server.stdin.close()
            server.terminate()
            server.wait()
        agent.wait_for(lambda e: e["type"] == "mcp_server_exit" and e["process"]["pid"] == server.pid, what="exit")

    def test_child_forked_before_the_agent_started_is_watched_with_its_tls(self):
        """A server running before the agent has a child it forked without exec: the start scan finds it in
        /proc (its children files, read after the server's watch), watches it and attaches its TLS links, so the
        child's later HTTPS request is a credential_use of the server's workload, in the child's name."""
        from tls_server import HttpsServer
        token = self.secret(fake_github_pat)
        go = tempfile.mktemp(prefix="credtrace-go-")
        self.addCleanup(lambda: os.path.exists(go) and os.unlink(go))
        with HttpsServer() as server:
            body = f"""import os, ssl, sys, time, urllib.request
context = ssl.create_default_context(cafile={server.ca!r})
child = os.fork()
if child == 0:
    while not os.path.exists({go!r}):
        time.sleep(0.05)
    request = urllib.request.Request("https://localhost:{server.port}/user",
                                     headers={{"Authorization": "Bearer " + os.environ["GITHUB_TOKEN"]}})
    urllib.request.urlopen(request, context=context).read()
    os._exit(0)
print(child, flush=True)
os.waitpid(child, 0)
"""
            script = os.path.join(tempfile.mkdtemp(prefix="credtrace-fork-"), "mcp-server-forked")
            with open(script, "w") as f:
                f.write(f"#!/usr/bin/env python3\n{body}")
            os.chmod(script, 0o755)
            proc = subprocess.Popen([script], env=dict(base_env(), GITHUB_TOKEN=token), stdout=subprocess.PIPE,
                                    text=True)
            try:
                child = int(proc.stdout.readline())
                agent = self.start_agent()
                start = agent.wait_for(lambda e: e["type"] == "mcp_server_start" and e["process"]["pid"] == proc.pid,
                                       what="the running server's start")
                agent.wait_for(lambda e: e["type"] == "agent_ready", what="agent_ready")
                with open(go, "w"):
                    pass
                self.assertEqual(proc.wait(timeout=30), 0)
                use = agent.wait_for(lambda e: e["type"] == "credential_use"
                                     and e["credential"]["fingerprint"] == fingerprint(token), what="the child's use")
                self.assertEqual(use["process"]["pid"], child)
                self.assertEqual(use["workload"]["id"], start["workload"]["id"])
            finally:
                proc.kill()
                proc.wait()
                proc.stdout.close()

    def native_tool(self, name):
        """A native executable (a copy of /bin/sleep) under the given file name."""
        path = os.path.join(tempfile.mkdtemp(prefix="credtrace-tools-"), name)
        shutil.copy("/bin/sleep", path)
        return path

    def test_native_server_named_like_mcp_passes_the_kernel_prefilter(self):
        agent = self.start_agent()
        token = self.secret(fake_gitlab_pat)
        tool = self.native_tool("acme-mcp")
        proc = subprocess.Popen([tool, "3"], env=dict(base_env(), ACME_TOKEN=token))
        start = agent.wait_for(lambda e: e["type"] == "mcp_server_start" and e["process"]["pid"] == proc.pid,
                               timeout=1.5, what="start of acme-mcp before any /proc rescan")
        self.assertEqual(start["workload"]["mcp"]["discovered_by"], "pattern")
        self.assertEqual(start["workload"]["mcp"]["server_name"], "acme-mcp")
        exposure = agent.wait_for(lambda e: e["type"] == "secret_exposure"
                                  and e["workload"]["id"] == start["workload"]["id"], what="exposure")
        self.assert_exposure(exposure, token, "gitlab_pat", "glpat-")
        proc.wait()
        exit_event = agent.wait_for(lambda e: e["type"] == "mcp_server_exit" and e["process"]["pid"] == proc.pid,
                                    what="exit")
        self.assertEqual(exit_event["mcp_server_exit"]["exit_code"], 0)
        self.assertEqual(exit_event["mcp_server_exit"]["outcome"], "exited")
        self.assertGreater(exit_event["mcp_server_exit"]["duration_seconds"], 2.5)

    def test_exit_the_agent_did_not_see_is_unknown_not_a_made_up_code(self):
        """A server named by a pattern but not by "mcp" (so not watched at exec) that exits at once: the agent
        classifies it after it is gone, no exit event can come, and its exit is reported as unknown. (The agent is
        paused while the tool runs: on a busy host an unpaused agent can classify and watch it before it exits, and
        then it reports the exit it saw.)"""
        agent = self.start_agent(extra_config='  extra_server_patterns: ["quick-tool*"]\n'
                                              '  extra_executables: ["quick-tool-x"]')
        tool = os.path.join(tempfile.mkdtemp(prefix="credtrace-tools-"), "quick-tool-x")
        shutil.copy("/bin/true", tool)
        agent.proc.send_signal(signal.SIGSTOP)
        try:
            proc = subprocess.Popen([tool], env=base_env())
            proc.wait()
        finally:
            agent.proc.send_signal(signal.SIGCONT)
        start = agent.wait_for(lambda e: e["type"] == "mcp_server_start" and e["process"]["pid"] == proc.pid,
                               what="start")
        exit_event = agent.wait_for(lambda e: e["type"] == "mcp_server_exit" and e["process"]["pid"] == proc.pid,
                                    timeout=8, what="exit found by the /proc check")
        self.assertEqual(exit_event["mcp_server_exit"], {"outcome": "unknown"})
        self.assertEqual(exit_event["workload"]["id"], start["workload"]["id"])

    def test_server_hidden_by_the_prefilter_is_found_by_the_periodic_rescan(self):
        agent = self.start_agent(extra_config='  extra_server_patterns: ["hidden-tool*"]')
        tool = self.native_tool("hidden-tool-x")
        proc = subprocess.Popen([tool, "8"], env=base_env())
        try:
            start = agent.wait_for(lambda e: e["type"] == "mcp_server_start" and e["process"]["pid"] == proc.pid,
                                   timeout=6, what="start found by rescan")
            self.assertEqual(start["workload"]["mcp"]["server_name"], "hidden-tool-x")
            # The rescan runs at the health tick; its agent_health line may follow the start line.
            agent.wait_for(lambda e: e["type"] == "agent_health" and int(e["agent_health"]["execs_filtered"]) > 0,
                           timeout=6, what="health counting the filtered exec")
        finally:
            proc.kill()
            proc.wait()

    def script(self, name, body, shebang="#!/bin/sh", executable=True):
        """A shell script under the given file name in a fresh directory."""
        path = os.path.join(tempfile.mkdtemp(prefix="credtrace-scripts-"), name)
        with open(path, "w") as f:
            f.write(f"{shebang}\n{body}\n" if shebang else f"{body}\n")
        os.chmod(path, 0o755 if executable else 0o644)
        return path

    def assert_started_by_pattern(self, agent, pid, server_name, token):
        """mcp_server_start of pid within 1.5 s (before any /proc rescan) and the env token exposed."""
        start = agent.wait_for(lambda e: e["type"] == "mcp_server_start" and e["process"]["pid"] == pid,
                               timeout=1.5, what=f"start of {server_name} before any /proc rescan")
        self.assertEqual(start["workload"]["mcp"]["discovered_by"], "pattern")
        self.assertEqual(start["workload"]["mcp"]["server_name"], server_name)
        exposure = agent.wait_for(lambda e: e["type"] == "secret_exposure"
                                  and e["workload"]["id"] == start["workload"]["id"], what="exposure")
        self.assertEqual(exposure["credential"]["fingerprint"], fingerprint(token))
        return start

    def test_shebang_shell_script_server_and_the_curl_it_runs_are_watched(self):
        from tls_server import HttpsServer
        agent = self.start_agent()
        token = self.secret(fake_github_pat)
        with HttpsServer() as server:
            body = (f'sleep 0.5\ncurl -sS --cacert {server.ca} -H "Authorization: Bearer $GITHUB_TOKEN" '
                    f'https://localhost:{server.port}/user >/dev/null\nsleep 2')
            script = self.script("mcp-server-shellwrap", body)
            proc = subprocess.Popen([script], env=dict(base_env(), GITHUB_TOKEN=token))
            start = self.assert_started_by_pattern(agent, proc.pid, "mcp-server-shellwrap", token)
            self.assertEqual(start["process"]["exe"], script)
            use = agent.wait_for(lambda e: e["type"] == "credential_use"
                                 and e["credential"]["fingerprint"] == fingerprint(token), what="curl's use")
            self.assertEqual(os.path.basename(use["process"]["exe"]), "curl")
            self.assertEqual(use["workload"]["id"], start["workload"]["id"])
            self.assertEqual(proc.wait(), 0)

    def test_wrapped_launches_pass_the_kernel_prefilter(self):
        """sh/bash/env wrappers, #! lines with arguments and exec chains, as MCP client configs start servers."""
        agent = self.start_agent()
        cases = [
            ("explicit sh", lambda t: ["sh", t], "mcp-server-viash.sh", "#!/bin/sh", False),
            ("bash -c exec", lambda t: ["bash", "-c", f"exec {t} 2"], "mcp-server-viaexec", "#!/bin/sh", True),
            ("env -S shebang", lambda t: [t], "mcp-server-envs", "#!/usr/bin/env -S bash -e", True),
            ("env launcher", lambda t: ["env", "LOG_LEVEL=debug", t], "mcp-server-viaenv", "#!/bin/dash", True),
        ]
        for label, argv, name, shebang, executable in cases:
            with self.subTest(label):
                token = self.secret(fake_github_pat)
                script = self.script(name, "sleep 2", shebang=shebang, executable=executable)
                proc = subprocess.Popen(argv(script), env=dict(base_env(), GITHUB_TOKEN=token))
                try:
                    self.assert_started_by_pattern(agent, proc.pid, name.removesuffix(".sh"), token)
                finally:
                    proc.wait()

    def test_provisional_watch_is_undone_for_the_children_it_already_forked(self):
        """A shell whose arguments mention mcp is watched by the kernel at exec; its subshell, forked before the agent
        decided it is not MCP, inherited that watch. Both are undone: the programs the subshell runs later are not
        watched (the kernel sends no environment block for them)."""
        agent = self.start_agent()
        first = agent.wait_for(lambda e: e["type"] == "agent_health", timeout=6, what="first health")
        env_blocks = int(first["agent_health"]["events"]["exec_env"])
        # The agent is paused while the shell execs and forks, so the subshell surely inherits the provisional watch
        # (a fast agent could otherwise undo the shell's watch before the fork, and the fork case would go untested).
        agent.proc.send_signal(signal.SIGSTOP)
        try:
            shell = subprocess.Popen(["sh", "-c", ": mcp-notes; (sleep 1.5; cat /etc/hostname; cat /etc/hostname;"
                                      " cat /etc/hostname) >/dev/null; true"])
            time.sleep(0.5)
        finally:
            agent.proc.send_signal(signal.SIGCONT)
        self.assertEqual(shell.wait(timeout=10), 0)
        def healths():
            return [e for e in agent.events() if e["type"] == "agent_health"]
        so_far = len(healths())
        agent.wait_for(lambda e: len(healths()) > so_far + 1, timeout=15, what="two healths after the cats ran")
        later = healths()[-1]
        sensors = later["agent_health"]["sensors"]
        # The shell, and the sleep its subshell may exec before the agent's verdict; never the three cats after it.
        self.assertLessEqual(int(later["agent_health"]["events"]["exec_env"]) - env_blocks, 2)
        self.assertGreaterEqual(int(sensors["execs_watched_provisionally"]), 1)
        self.assertGreaterEqual(int(sensors["provisional_watches_undone"]), 2, "the shell and its subshell")
        self.assertEqual([e for e in agent.events() if e["type"] == "mcp_server_start"], [])

    def test_shell_without_mcp_in_its_arguments_stays_filtered(self):
        agent = self.start_agent()
        before = agent.wait_for(lambda e: e["type"] == "agent_health", timeout=6, what="first health")
        filtered = int(before["agent_health"]["execs_filtered"])
        subprocess.run(["sh", "-c", "true"], check=True)
        agent.wait_for(lambda e: e["type"] == "agent_health" and int(e["agent_health"]["execs_filtered"]) > filtered,
                       timeout=6, what="the shell counted as filtered")
        self.assertEqual([e for e in agent.events() if e["type"] == "mcp_server_start"], [])

    def test_sigterm_flushes_and_detaches_every_probe(self):
        agent = self.start_agent()
        ready = agent.events()[0]
        self.assertEqual(ready["type"], "agent_ready")
        probes = ready["agent_ready"]["probes"]
        self.assertEqual(len([p for p in probes if not p.startswith("uprobe:")]), 29)  # process 5, file 3, net 15, stdio 4, lib_map 2
        tls = [p for p in probes if p.startswith("uprobe:")]
        libssl, node = "@/usr/lib/x86_64-linux-gnu/libssl.so.3+", "@/usr/bin/node+"
        for expected in ("uprobe:SSL_write" + libssl, "uprobe:SSL_write" + node, "uprobe:SSL_read" + node,
                         "uprobe:SSL_read_ex in ssl_read_internal" + libssl,  # both read forms' common callee
                         "uprobe:SSL_read return in ssl_read_internal" + libssl, "uprobe:SSL_new return" + libssl):
            self.assertTrue(any(p.startswith(expected) for p in tls), (expected, tls))
        self.assertTrue(all("emulated)" in p for p in tls), tls)  # no single-stepped probe on this host
        self.assertTrue(loaded_probe_names() >= {"ct_exec", "ct_enter_openat", "ct_ssl_write"})
        self.assertEqual(agent.stop(), 0)
        self.assertEqual(agent.events()[-1]["type"], "agent_health")
        self.assertEqual(loaded_probe_names(), set())


class SystemdNotify(unittest.TestCase):
    def test_ready_watchdog_status_and_stopping_reach_the_notify_socket(self):
        """As a Type=notify unit: READY=1 (with STATUS) once agent_ready is out, WATCHDOG=1 at half WATCHDOG_USEC from
        the main loop, STATUS at each health, STOPPING=1 at SIGTERM."""
        import socket
        directory = tempfile.mkdtemp(prefix="credtrace-notify-")
        self.addCleanup(shutil.rmtree, directory, True)
        path = os.path.join(directory, "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(sock.close)
        sock.bind(path)
        sock.settimeout(20)
        agent = Agent()
        self.addCleanup(agent.cleanup)
        agent.start(env=dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="400000"))
        messages = []
        deadline = time.time() + 20
        while time.time() < deadline and sum(m == "WATCHDOG=1" for m in messages) < 3:
            messages.append(sock.recv(4096).decode())
        self.assertTrue(messages[0].startswith("READY=1\nSTATUS="), messages[0])
        self.assertRegex(messages[0], r"STATUS=\d+ MCP servers watched, \d+ probes, \d+ TLS uprobes")
        self.assertGreaterEqual(sum(m == "WATCHDOG=1" for m in messages), 3)
        while not any(m.startswith("STATUS=") for m in messages[1:]):  # health_interval_seconds: 2
            messages.append(sock.recv(4096).decode())
        self.assertEqual(agent.stop(), 0)
        rest = []
        while "STOPPING=1" not in rest:
            rest.append(sock.recv(4096).decode())


class Reload(unittest.TestCase):
    def test_sighup_applies_what_it_can_names_what_needs_a_restart_and_refuses_a_bad_file(self):
        agent = Agent()
        self.addCleanup(agent.cleanup)
        agent.start()
        with open(agent.config_path) as f:
            text = f.read()
        self.assertIn("health_interval_seconds: 2\n", text)

        def healths():
            return [e for e in agent.events() if e["type"] == "agent_health"]

        with open(agent.config_path, "w") as f:
            f.write(text.replace("health_interval_seconds: 2\n", "health_interval_seconds: 1\n")
                    + "probes:\n  ringbuf_bytes: 16777216\n")
        agent.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while time.time() < deadline and "reload: health_interval_seconds applied" not in agent.read_log():
            time.sleep(0.1)
        log = agent.read_log()
        self.assertIn("reload: health_interval_seconds applied", log)
        self.assertIn("reload: probes.ringbuf_bytes changed in " + agent.config_path
                      + ": it needs a restart; the running value is kept", log)
        before = len(healths())
        time.sleep(3.5)
        self.assertGreaterEqual(len(healths()) - before, 3, "health every second after the reload")
        with open(agent.config_path, "w") as f:
            f.write(text + "log:\n  level: loud\n")
        agent.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while time.time() < deadline and "reload refused" not in agent.read_log():
            time.sleep(0.1)
        self.assertRegex(agent.read_log(), r"reload refused, the running config is kept: .*credtrace\.yaml:\d+:\d+")
        self.assertIsNone(agent.proc.poll())
        self.assertEqual(agent.stop(), 0)


    def test_sighup_reopens_the_output_file_that_logrotate_moved_away(self):
        """logrotate renames the events file and sends SIGHUP (systemctl reload): the agent goes on writing whole
        lines to a new file of the same name, and nothing more to the moved one. Without a config change too."""
        agent = Agent()
        self.addCleanup(agent.cleanup)
        agent.start()
        rotated = agent.events_path + ".1"
        os.rename(agent.events_path, rotated)
        agent.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while time.time() < deadline and not (os.path.exists(agent.events_path)
                                              and any(e["type"] == "agent_health" for e in agent.events())):
            time.sleep(0.1)
        self.assertTrue(any(e["type"] == "agent_health" for e in agent.events()), agent.read_log())
        self.assertEqual(stat.S_IMODE(os.stat(agent.events_path).st_mode), 0o600)
        size = os.path.getsize(rotated)
        time.sleep(2.5)  # another health interval
        self.assertEqual(os.path.getsize(rotated), size, "the agent still writes to the moved file")
        with open(rotated) as f:
            for line in f:
                json.loads(line)  # whole lines only
        with open(agent.events_path) as f:
            for line in f:
                json.loads(line)
        self.assertNotIn("refused", agent.read_log())
        self.assertEqual(agent.stop(), 0)

    def test_sighup_applies_patterns_env_names_prefilter_and_output_without_a_restart(self):
        """A server pattern, an executable name for the kernel prefilter, an env-name pattern and the output file
        changed at a reload take effect for what starts next, with the same process (no restart, probes kept)."""
        agent = Agent()
        self.addCleanup(agent.cleanup)
        agent.start()
        pid_before = agent.proc.pid
        with open(agent.config_path) as f:
            text = f.read()
        second = os.path.join(agent.dir, "events-after-reload.jsonl")
        reloaded = (text.replace(f"  json: {agent.events_path}\n", f"  json: {second}\n")
                    .replace("  client_patterns:", '  extra_server_patterns: ["acme-tool*"]\n'
                             '  extra_executables: ["acme-tool"]\n  client_patterns:')
                    + 'secrets:\n  extra_env_name_patterns: ["ACME_SIGNING_*"]\n')
        self.assertNotEqual(reloaded, text)
        with open(agent.config_path, "w") as f:
            f.write(reloaded)
        agent.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while time.time() < deadline and "reload: secrets.extra_env_name_patterns applied" not in agent.read_log():
            time.sleep(0.1)
        log = agent.read_log()
        for key in ("output.json", "mcp.extra_server_patterns", "mcp.extra_executables",
                    "secrets.extra_env_name_patterns"):
            self.assertIn(f"reload: {key} applied", log)
        self.assertNotIn("needs a restart", log)
        first_file = agent.events_path
        agent.events_path = second
        material = "".join(__import__("random").choice("abcdefghijkmnpqrstuvwxyz23456789") for _ in range(40))
        tool = os.path.join(tempfile.mkdtemp(prefix="credtrace-tools-"), "acme-tool")
        shutil.copy("/bin/sleep", tool)
        proc = subprocess.Popen([tool, "3"], env=dict(base_env(), ACME_SIGNING_MATERIAL=material))
        # Named by the new exec prefilter name: reported at its exec, before any /proc rescan (every 2 s here).
        start = agent.wait_for(lambda e: e["type"] == "mcp_server_start" and e["process"]["pid"] == proc.pid,
                               timeout=1.5, what="acme-tool found by the reloaded pattern at its exec")
        self.assertEqual(start["workload"]["mcp"]["discovered_by"], "pattern")
        exposure = agent.wait_for(lambda e: e["type"] == "secret_exposure"
                                  and e["workload"]["id"] == start["workload"]["id"], what="exposure by new env name")
        self.assertEqual(exposure["credential"]["fingerprint"], fingerprint(material))
        self.assertIn("ACME_SIGNING_MATERIAL", json.dumps(exposure["source"]))
        proc.wait()
        with open(first_file) as f:
            self.assertNotIn(f'"pid": {proc.pid}', f.read().replace('"pid":', '"pid": ').replace("  ", " "))
        self.assertEqual(agent.proc.pid, pid_before)
        self.assertIsNone(agent.proc.poll())
        self.assertEqual(agent.stop(), 0)
        self.assertNotIn(material.encode(), agent.all_output())


class Metrics(unittest.TestCase):
    def test_prometheus_endpoint_on_loopback_when_enabled(self):
        import socket
        import urllib.error
        import urllib.request
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        off = Agent()
        self.addCleanup(off.cleanup)
        off.start()
        with self.assertRaises(urllib.error.URLError):  # off by default
            urllib.request.urlopen(f"http://127.0.0.1:9464/metrics", timeout=2)
        off.stop()
        agent = Agent(extra_config=f"metrics:\n  enabled: true\n  listen: 127.0.0.1:{port}\n")
        self.addCleanup(agent.cleanup)
        agent.start()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            self.assertEqual(response.status, 200)
            self.assertIn("text/plain; version=0.0.4", response.headers["Content-Type"])
            body = response.read().decode()
        for family in ("credtrace_agent_kernel_events_total", "credtrace_agent_kernel_drops_total",
                       "credtrace_agent_errors_total", "credtrace_agent_sensor", "credtrace_agent_watched_processes",
                       "credtrace_agent_uptime_seconds"):
            self.assertIn(f"# TYPE {family} ", body)
        self.assertRegex(body, r'credtrace_agent_kernel_events_total\{type="exec"\} \d+')
        self.assertRegex(body, r'credtrace_agent_sensor\{counter="tls_uprobe_links_refused"\} \d+')
        with self.assertRaises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/other", timeout=5)
        self.assertEqual(missing.exception.code, 404)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            self.assertEqual((response.status, response.read()), (200, b"ready\n"))

    def test_slow_clients_do_not_stall_the_agent(self):
        # Clients that send half a request, or ask and never read, must not hold the main loop: the agent still
        # reports a new server at once, answers other scrapes, and drops the idle ones after its deadline.
        import socket
        import urllib.request
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        agent = Agent(extra_config=f"metrics:\n  enabled: true\n  listen: 127.0.0.1:{port}\n")
        self.addCleanup(agent.cleanup)
        agent.start()
        stalled = []
        for i in range(20):
            c = socket.create_connection(("127.0.0.1", port))
            c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
            c.sendall(b"GET /metrics HTTP/1.0\r\n" if i % 2 else b"GET /metrics HTTP/1.0\r\n\r\n")
            stalled.append(c)
        self.addCleanup(lambda: [c.close() for c in stalled])
        started = time.time()
        tool = os.path.join(tempfile.mkdtemp(prefix="credtrace-tools-"), "acme-mcp")
        shutil.copy("/bin/sleep", tool)
        srv = subprocess.Popen([tool, "30"], env=base_env())
        agent.wait_for(lambda e: e["type"] == "mcp_server_start" and e["process"]["pid"] == srv.pid, timeout=10)
        self.assertLess(time.time() - started, 5)
        time.sleep(6)  # past the deadline: the stalled connections are dropped, the slots free again
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            self.assertEqual(response.status, 200)
        srv.terminate()
        srv.wait()


class CommandLine(unittest.TestCase):
    def run_agent(self, *args):
        return subprocess.run([AGENT, *args], capture_output=True, text=True, timeout=30)

    def test_version_and_help(self):
        self.assertRegex(self.run_agent("--version").stdout, r"^credtrace-agent \d+\.\d+\.\d+")
        help_text = self.run_agent("--help").stdout
        for flag in ("--config", "--json-out", "--check-config", "--version"):
            self.assertIn(flag, help_text)

    def test_bad_config_is_located_and_nothing_starts(self):
        with tempfile.TemporaryDirectory() as d:
            bad = os.path.join(d, "bad.yaml")
            out = os.path.join(d, "events.jsonl")
            with open(bad, "w") as f:
                f.write(f"output:\n  json: {out}\nprobes:\n  ringbuf: 12\n")
            r = self.run_agent("--config", bad, "--check-config")
            self.assertEqual(r.returncode, 2)
            self.assertIn(f"{bad}:4:3: unknown key 'probes.ringbuf'", r.stderr)
            r = self.run_agent("--config", bad)
            self.assertEqual(r.returncode, 2)
            self.assertFalse(os.path.exists(out))
            self.assertEqual(loaded_probe_names(), set())
            good = os.path.join(os.path.dirname(__file__), "../../packaging/config/credtrace.yaml")
            r = self.run_agent("--config", good, "--check-config")
            self.assertEqual(r.returncode, 0, r.stderr)

    def test_check_config_opens_the_files_the_config_names_and_creates_nothing(self):
        """A fleet key file that is refused (not a regular file, readable by others) or a collector token, CA or
        certificate that cannot be read fails --check-config (exit 2, the path named); an absent key file, made at
        the first start, is said in a warning; nothing is created."""
        with tempfile.TemporaryDirectory() as d:
            key, token = os.path.join(d, "fleet.key"), os.path.join(d, "token")
            config = os.path.join(d, "credtrace.yaml")

            def check(text):
                with open(config, "w") as f:
                    f.write(f"state_dir: {d}/state\n" + text)
                return self.run_agent("--config", config, "--check-config")

            r = check("")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertFalse(os.path.exists(os.path.join(d, "state")), "--check-config created the state dir")
            r = check(f"fingerprint:\n  key_file: {key}\n")
            self.assertEqual(r.returncode, 0, r.stderr)  # made at start: said, not refused
            self.assertIn(f"the fleet key file {key} does not exist", r.stderr)
            self.assertFalse(os.path.exists(key), "--check-config created the key file")
            os.mkdir(key)
            r = check(f"fingerprint:\n  key_file: {key}\n")
            self.assertEqual(r.returncode, 2)
            self.assertIn(key, r.stderr)
            os.rmdir(key)
            with open(os.open(key, os.O_WRONLY | os.O_CREAT, 0o644), "w") as f:
                f.write(os.urandom(32).hex() + "\n")
            os.chmod(key, 0o644)
            r = check(f"fingerprint:\n  key_file: {key}\n")
            self.assertEqual(r.returncode, 2)
            self.assertIn(key, r.stderr)  # readable by others: refused as at start
            os.chmod(key, 0o600)
            r = check(f"fingerprint:\n  key_file: {key}\n")
            self.assertEqual(r.returncode, 0, r.stderr)
            collector = f"collector:\n  url: https://127.0.0.1:8787\n  token_file: {token}\n"
            r = check(f"fingerprint:\n  key_file: {key}\n" + collector)
            self.assertEqual(r.returncode, 2)
            self.assertIn(token, r.stderr)
            with open(os.open(token, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
                f.write("ctat_" + "7" * 40 + "\n")
            r = check(f"fingerprint:\n  key_file: {key}\n" + collector + f"  ca_file: {d}/missing-ca.pem\n")
            self.assertEqual(r.returncode, 2)
            self.assertIn("missing-ca.pem", r.stderr)
            r = check(f"fingerprint:\n  key_file: {key}\n" + collector)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertNotIn("7" * 40, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
