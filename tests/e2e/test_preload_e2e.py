"""End-to-end tests (root) of the LD_PRELOAD sensor: the real agent and libcredtrace-preload.so in real processes
(node, python, a C program that forks and reads in a signal handler, a real npm MCP server). Which env secrets a
server reads (secret_env_read) and which it never reads (env_secret_usage), reads of processes that exit at once,
re-registration when the agent comes back, and workloads whose output is the same with and without the preload.
No raw secret may appear in any output."""
import json
import os
import subprocess
import sys
import textwrap
import time
import unittest

from harness import (AGENT, NPM_DIR, Agent, AgentTestCase, base_env, fake_anthropic_key, fake_github_pat,
                     fake_gitlab_pat, fake_openai_key, fingerprint)
from tls_server import HttpsServer

CREDTRACE = os.path.join(os.path.dirname(AGENT), "credtrace")
PRELOAD = os.environ.get("CREDTRACE_PRELOAD_LIB", os.path.join(os.path.dirname(AGENT), "libcredtrace-preload.so"))

NODE_READER = """
// A stdio MCP server stand-in: reads the env variables named in argv (each twice), stays a moment, exits.
for (const name of process.argv.slice(2)) { void process.env[name]; void process.env[name]; }
setTimeout(() => process.exit(0), 700);
"""

PYTHON_READER = """
import os, time
os.environ.get("GITHUB_TOKEN")
time.sleep(0.7)
"""

NODE_SPAWNER = """
// Spawns a child that reads a secret and exits at once; waits for it.
const { spawnSync } = require("node:child_process");
const r = spawnSync(process.execPath, ["-e", "void process.env.GITHUB_TOKEN"], { stdio: "inherit" });
console.log(r.pid);
setTimeout(() => process.exit(r.status), 300);
"""

FORKER_C = r"""
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
static volatile int handled;
static void on_signal(int s) { (void)s; handled = getenv("ALARM_TOKEN") != NULL; }
int main(void) {
  signal(SIGUSR1, on_signal);
  raise(SIGUSR1);
  pid_t child = fork();
  if (child == 0) _exit(getenv("CHILD_TOKEN") ? 0 : 3);
  int status = 0;
  waitpid(child, &status, 0);
  printf("%d %d\n", (int)child, handled);
  fflush(stdout);
  usleep(500000);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 9;
}
"""

LOOPING_READER = """
// Reads MY_TOKEN every 10 ms for a while: a long-lived server the agent starts after, stops and restarts beside.
const end = Date.now() + Number(process.argv[2]);
const timer = setInterval(() => { void process.env.MY_TOKEN; if (Date.now() > end) { clearInterval(timer); } }, 2);
"""

HTTPS_CLIENT_PY = """
import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
req = urllib.request.Request(f"https://127.0.0.1:{sys.argv[1]}/v1/items?x=1", headers={"Authorization": "Bearer " + sys.argv[3]})
print(urllib.request.urlopen(req, context=ctx).read().decode())
"""

CURL_SPAWNER = """
import subprocess, sys
port, ca, token, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
for i in range(n):  # short-lived children, one after the other, each with one request at once
    subprocess.run(["curl", "-s", "--cacert", ca, "-H", "Authorization: Bearer " + token,
                    f"https://localhost:{port}/child/{i}"], check=True, stdout=subprocess.DEVNULL)
"""

HTTPS_CLIENT_NODE = """
const https = require("node:https"); const fs = require("node:fs");
const [port, ca, token] = process.argv.slice(2);
https.get({ host: "127.0.0.1", port, path: "/v1/items", ca: fs.readFileSync(ca), servername: "localhost",
            headers: { authorization: "Bearer " + token } }, (res) => {
  let body = ""; res.on("data", (d) => (body += d)); res.on("end", () => console.log(res.statusCode, body));
});
"""


class PreloadE2E(AgentTestCase):
    scratch_prefix = "credtrace-preload-"

    def setUp(self):
        super().setUp()
        self.assertTrue(os.path.exists(PRELOAD), PRELOAD)
        self.socket = os.path.join(self.dir, "preload.sock")

    def start_agent(self, extra=""):
        self.agent = Agent(extra_config=f"preload:\n  socket: {self.socket}\n{extra}").start()
        ready = self.agent.wait_for(lambda e: e["type"] == "agent_ready")
        self.assertEqual(ready["agent_ready"]["preload"], "listening " + self.socket)
        return self.agent

    def preload_env(self, **extra):
        return dict(base_env(), LD_PRELOAD=PRELOAD, CREDTRACE_PRELOAD_SOCKET=self.socket, **extra)

    def script(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(textwrap.dedent(text))
        return path

    def run_ok(self, argv, env, timeout=60):
        result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result

    def reads(self, name=None):
        return [e for e in self.agent.events()
                if e["type"] == "secret_env_read" and (name is None or e["secret_env_read"]["name"] == name)]

    def usage_of(self, server_pid, timeout=20):
        event = self.agent.wait_for(lambda e: e["type"] == "env_secret_usage" and e["workload"]["pid"] == server_pid,
                                    timeout=timeout, what="env_secret_usage")
        return event["env_secret_usage"], {s["name"]: s for s in event["env_secret_usage"]["secrets"]}

    def test_node_server_reads_one_secret_and_never_the_other(self):
        read_token, unused_key = self.secret(fake_github_pat), self.secret(fake_openai_key)
        self.start_agent()
        reader = self.script("mcp_server_env_reader.js", NODE_READER)
        server = subprocess.Popen(["node", reader, "GITHUB_TOKEN", "HOME"],
                                  env=self.preload_env(GITHUB_TOKEN=read_token, OPENAI_API_KEY=unused_key))
        self.assertEqual(server.wait(timeout=30), 0)
        read = self.agent.wait_for(lambda e: e["type"] == "secret_env_read", what="secret_env_read")
        self.assertEqual(read["secret_env_read"]["name"], "GITHUB_TOKEN")
        self.assertEqual(read["secret_env_read"]["sensor"], "preload")
        self.assertEqual(read["secret_env_read"]["count"], "1")  # the first read; the second is counted, not sent
        self.assertEqual(read["credential"]["fingerprint"], fingerprint(read_token))
        self.assertEqual(read["process"]["pid"], server.pid)
        self.assertEqual(read["source"]["kind"], "env")
        usage, secrets = self.usage_of(server.pid)
        self.assertEqual(usage["observability"], "observed", usage)
        self.assertEqual(secrets["GITHUB_TOKEN"]["status"], "read")
        self.assertEqual(secrets["GITHUB_TOKEN"]["reads"], "2")
        self.assertEqual(secrets["GITHUB_TOKEN"]["pids"], [server.pid])
        self.assertEqual(secrets["OPENAI_API_KEY"]["status"], "never_read")
        self.assertEqual(secrets["OPENAI_API_KEY"]["credential"]["fingerprint"], fingerprint(unused_key))
        self.assertEqual(self.reads("OPENAI_API_KEY"), [])

    def test_python_reads_are_not_observable_and_never_called_unused(self):
        token = self.secret(fake_github_pat)
        self.start_agent()
        reader = self.script("mcp_server_env_reader.py", PYTHON_READER)
        server = subprocess.Popen([sys.executable, reader], env=self.preload_env(GITHUB_TOKEN=token))
        self.assertEqual(server.wait(timeout=30), 0)
        usage, secrets = self.usage_of(server.pid)
        self.assertEqual(usage["observability"], "not_observable", usage)
        self.assertIn("python copies the environment at start", " ".join(usage["not_observable"]))
        self.assertEqual(secrets["GITHUB_TOKEN"]["status"], "not_observed")

    def test_server_without_the_preload_is_not_observable(self):
        token = self.secret(fake_github_pat)
        self.start_agent()
        reader = self.script("mcp_server_env_reader.js", NODE_READER)
        server = subprocess.Popen(["node", reader, "GITHUB_TOKEN"], env=dict(base_env(), GITHUB_TOKEN=token))
        self.assertEqual(server.wait(timeout=30), 0)
        usage, secrets = self.usage_of(server.pid)
        self.assertEqual(usage["observability"], "not_observable", usage)
        self.assertIn("no preload", " ".join(usage["not_observable"]))
        self.assertEqual(secrets["GITHUB_TOKEN"]["status"], "not_observed")
        self.assertEqual(self.reads(), [])

    def test_child_that_reads_and_exits_at_once(self):
        token = self.secret(fake_github_pat)
        self.start_agent()
        spawner = self.script("mcp_server_spawner.js", NODE_SPAWNER)
        result = self.run_ok(["node", spawner], self.preload_env(GITHUB_TOKEN=token))
        child = int(result.stdout.split()[0])
        read = self.agent.wait_for(lambda e: e["type"] == "secret_env_read" and e["process"]["pid"] == child,
                                   what="the child's read")
        self.assertEqual(read["credential"]["fingerprint"], fingerprint(token))
        self.assertNotEqual(read["workload"]["pid"], child)

    def test_forked_child_registers_and_signal_handler_reads(self):
        alarm_token, child_token = self.secret(fake_github_pat), self.secret(fake_anthropic_key)
        source = self.script("forker.c", FORKER_C)
        binary = os.path.join(self.dir, "mcp_server_forker")
        subprocess.run(["gcc", "-O1", "-o", binary, source], check=True)
        self.start_agent()
        result = self.run_ok([binary], self.preload_env(ALARM_TOKEN=alarm_token, CHILD_TOKEN=child_token))
        child, handled = (int(x) for x in result.stdout.split())
        self.assertEqual(handled, 1)
        read = self.agent.wait_for(lambda e: e["type"] == "secret_env_read" and e["secret_env_read"]["name"] == "CHILD_TOKEN",
                                   what="the forked child's read")
        self.assertEqual(read["process"]["pid"], child)  # registered on its own, not in its parent's name
        alarm = self.agent.wait_for(lambda e: e["type"] == "secret_env_read" and e["secret_env_read"]["name"] == "ALARM_TOKEN",
                                    what="the signal handler's read")
        self.assertNotEqual(alarm["process"]["pid"], child)

    def test_agent_absent_then_started_stopped_and_restarted(self):
        token = self.secret(fake_github_pat)
        looper = self.script("mcp_server_looping_reader.js", LOOPING_READER)
        server = subprocess.Popen(["node", looper, "30000"], env=self.preload_env(MY_TOKEN=token))
        try:
            time.sleep(1.0)  # no agent yet: the process runs, its hooks pass through
            self.start_agent()
            first = self.agent.wait_for(lambda e: e["type"] == "secret_env_read" and e["process"]["pid"] == server.pid,
                                        timeout=25, what="a read once the agent is up")
            self.assertEqual(first["credential"]["fingerprint"], fingerprint(token))
            self.agent.stop()
            blob = self.agent.all_output()
            self.assertNotIn(token.encode(), blob)
            self.agent.cleanup()
            self.start_agent()  # a new agent: the process registers again (its ring was closed at stop)
            again = self.agent.wait_for(lambda e: e["type"] == "secret_env_read" and e["process"]["pid"] == server.pid,
                                        timeout=25, what="a read after the agent restarted")
            self.assertEqual(again["credential"]["fingerprint"], fingerprint(token))
            self.assertIsNone(server.poll(), "the workload kept running")
        finally:
            server.kill()
            server.wait()

    def test_agent_killed_without_closing_is_noticed_and_a_new_agent_gets_the_process(self):
        token = self.secret(fake_github_pat)
        looper = self.script("mcp_server_looping_reader.js", LOOPING_READER)
        self.start_agent()
        server = subprocess.Popen(["node", looper, "40000"], env=self.preload_env(MY_TOKEN=token))
        try:
            self.agent.wait_for(lambda e: e["type"] == "secret_env_read" and e["process"]["pid"] == server.pid,
                                what="a read")
            self.agent.proc.kill()  # SIGKILL: its rings stay "active", nobody drains them
            self.agent.proc.wait()
            self.assertNotIn(token.encode(), self.agent.all_output())
            self.agent.cleanup()
            self.start_agent()
            again = self.agent.wait_for(lambda e: e["type"] == "secret_env_read" and e["process"]["pid"] == server.pid,
                                        timeout=30, what="a read reported by the new agent")
            self.assertEqual(again["credential"]["fingerprint"], fingerprint(token))
            self.assertIsNone(server.poll(), "the workload kept running")
        finally:
            server.kill()
            server.wait()

    def preload_uses(self, raw):
        return [e for e in self.agent.events() if e["type"] == "credential_use"
                and e["credential"]["fingerprint"] == fingerprint(raw)]

    def test_tls_through_the_preload_makes_the_same_credential_use(self):
        token = self.secret(fake_github_pat)
        self.start_agent()
        with HttpsServer() as https:
            client = self.script("mcp_server_https_client.py", HTTPS_CLIENT_PY)
            result = self.run_ok([sys.executable, client, str(https.port), https.ca, token], self.preload_env())
            self.assertIn('"ok":true', result.stdout)
        use = self.agent.wait_for(lambda e: e["type"] == "credential_use"
                                  and e["credential"]["fingerprint"] == fingerprint(token), what="the use")
        self.assertEqual(use["credential_use"]["sensor"], "preload")
        self.assertEqual(use["request"]["carrier"], "header:authorization")
        self.assertEqual(use["request"]["path"], "/v1/items?x=")
        self.assertEqual((use["destination"]["ip"], use["destination"]["port"]), ("127.0.0.1", https.port))
        self.assertEqual(use["destination"]["address_source"], "connect")
        time.sleep(1.5)
        uses = self.preload_uses(token)
        self.assertEqual(len(uses), 1, uses)  # captured once: no uprobe on this process's libssl
        self.assertEqual(uses[0]["credential_use"]["count"], "1")

    def test_node_static_openssl_stays_with_the_uprobes(self):
        token = self.secret(fake_github_pat)
        self.start_agent()
        with HttpsServer() as https:
            client = self.script("mcp_server_https_client.js", HTTPS_CLIENT_NODE)
            self.run_ok(["node", client, str(https.port), https.ca, token], self.preload_env())
        use = self.agent.wait_for(lambda e: e["type"] == "credential_use"
                                  and e["credential"]["fingerprint"] == fingerprint(token), what="node's use")
        self.assertEqual(use["credential_use"]["sensor"], "ebpf")

    def test_short_lived_curl_children_of_a_preloaded_server_are_all_caught(self):
        token = self.secret(fake_github_pat)
        self.start_agent("credential_use:\n  aggregation_window_seconds: 0\n")  # one event per request
        children = 10
        with HttpsServer() as https:
            spawner = self.script("mcp_server_curl_spawner.py", CURL_SPAWNER)
            self.run_ok([sys.executable, spawner, str(https.port), https.ca, token, str(children)],
                        self.preload_env())
            self.assertEqual(len([p for _, p, _ in https.seen if p.startswith("/child/")]), children)
        deadline = time.time() + 20
        while time.time() < deadline:
            paths = {e["request"]["path"] for e in self.preload_uses(token)}
            if len(paths) == children:
                break
            time.sleep(0.2)
        uses = self.preload_uses(token)
        health = self.agent.wait_for(lambda e: e["type"] == "agent_health", what="health")["agent_health"]
        self.assertEqual({e["request"]["path"] for e in uses}, {f"/child/{i}" for i in range(children)},
                         (health["agent_errors"], {k: v for k, v in health["sensors"].items()
                                                   if (k.startswith("preload") or k.startswith("tls")) and v != "0"}))
        for use in uses:
            self.assertEqual(use["credential_use"]["sensor"], "preload")
            self.assertEqual(os.path.basename(use["process"]["exe"]), "curl")

    def identical(self, argv, env):
        """The workload's output and exit status with the preload equal those without."""
        plain = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
        preloaded = subprocess.run(argv, env=dict(env, LD_PRELOAD=PRELOAD, CREDTRACE_PRELOAD_SOCKET=self.socket),
                                   capture_output=True, text=True, timeout=120)
        self.assertEqual(plain.returncode, 0, plain.stderr)
        self.assertEqual((preloaded.returncode, preloaded.stdout), (plain.returncode, plain.stdout))
        return preloaded

    def test_https_clients_and_npm_server_identical_with_and_without_the_preload(self):
        token = self.secret(fake_github_pat)
        self.start_agent()
        with HttpsServer() as https:
            python_client = self.script("mcp_server_https_client.py", HTTPS_CLIENT_PY)
            self.identical([sys.executable, python_client, str(https.port), https.ca, token], base_env())
            node_client = self.script("mcp_server_https_client.js", HTTPS_CLIENT_NODE)
            self.identical(["node", node_client, str(https.port), https.ca, token], base_env())
        spec = {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-everything"], "cwd": NPM_DIR,
                "env": dict(base_env(), GITHUB_TOKEN=token), "callTool": {"name": "echo", "arguments": {"message": "hi"}}}
        client = ["node", os.path.join(NPM_DIR, "mcp_client.mjs")]
        plain = subprocess.run(client + [json.dumps(spec)], cwd=NPM_DIR, capture_output=True, text=True, timeout=120,
                               env=base_env())
        spec["env"].update(LD_PRELOAD=PRELOAD, CREDTRACE_PRELOAD_SOCKET=self.socket)
        preloaded = subprocess.run(client + [json.dumps(spec)], cwd=NPM_DIR, capture_output=True, text=True,
                                   timeout=120, env=base_env())
        self.assertEqual(plain.returncode, 0, plain.stderr)
        self.assertEqual((preloaded.returncode, preloaded.stdout), (plain.returncode, plain.stdout))
        health = self.agent.wait_for(lambda e: e["type"] == "agent_health"
                                     and int(e["agent_health"]["sensors"].get("preload_registrations", "0")) >= 3,
                                     what="registrations of the npm server's processes")
        self.assertEqual(health["agent_health"]["sensors"]["preload_refused_identity"], "0")

    def test_wrapped_client_config_launches_a_real_npm_server_through_credtrace_run(self):
        token, unused = self.secret(fake_gitlab_pat), self.secret(fake_openai_key)
        self.start_agent()
        with HttpsServer() as https:
            config = os.path.join(self.dir, "claude_desktop_config.json")
            entry = {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-gitlab"],
                     "env": {"GITLAB_PERSONAL_ACCESS_TOKEN": token, "OPENAI_API_KEY": unused,
                             "NODE_EXTRA_CA_CERTS": https.ca, "GITLAB_API_URL": f"https://localhost:{https.port}/api/v4"}}
            with open(config, "w") as f:
                json.dump({"mcpServers": {"gitlab": entry}}, f, indent=2)
            with open(config) as f:
                original = f.read()
            self.run_ok([CREDTRACE, "wrap", config], base_env())
            with open(config) as f:
                wrapped = json.load(f)["mcpServers"]["gitlab"]
            self.assertEqual(wrapped["args"][:4], ["run", "--name", "gitlab", "--"])
            # Launched exactly as the client would launch the wrapped entry.
            spec = {"command": wrapped["command"], "args": wrapped["args"], "cwd": NPM_DIR,
                    "env": dict(base_env(), CREDTRACE_PRELOAD_SOCKET=self.socket, **wrapped["env"]),
                    "callTool": {"name": "search_repositories", "arguments": {"search": "credtrace"}}}
            result = subprocess.run(["node", os.path.join(NPM_DIR, "mcp_client.mjs"), json.dumps(spec)], cwd=NPM_DIR,
                                    capture_output=True, text=True, timeout=120, env=base_env())
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertTrue(any(path.startswith("/api/v4/projects") for _, path, _ in https.seen), https.seen)
        read = self.agent.wait_for(lambda e: e["type"] == "secret_env_read"
                                   and e["secret_env_read"]["name"] == "GITLAB_PERSONAL_ACCESS_TOKEN", what="token read")
        self.assertEqual(read["credential"]["fingerprint"], fingerprint(token))
        self.assertEqual(os.path.basename(read["process"]["exe"]), "node")
        usage_event = self.agent.wait_for(lambda e: e["type"] == "env_secret_usage"
                                          and e["workload"]["pid"] == read["workload"]["pid"], what="usage", timeout=30)
        secrets = {s["name"]: s for s in usage_event["env_secret_usage"]["secrets"]}
        self.assertEqual(secrets["GITLAB_PERSONAL_ACCESS_TOKEN"]["status"], "read")
        # npx reads every variable to pass the environment on; `sh -c mcp-server-gitlab` names none; the server reads
        # its token only: the key it was given for nothing is passed on, never used.
        self.assertEqual(usage_event["env_secret_usage"]["observability"], "observed", usage_event)
        self.assertEqual(secrets["OPENAI_API_KEY"]["status"], "passed_on", usage_event)
        self.run_ok([CREDTRACE, "wrap", "--undo", config], base_env())
        with open(config) as f:
            self.assertEqual(json.load(f), json.loads(original))


if __name__ == "__main__":
    unittest.main()
