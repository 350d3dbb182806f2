"""End-to-end MCP tool-call tests (root): real MCP servers from npm over stdio, driven by the official TypeScript SDK
client; the agent must report every call (method, tool, shape, outcome, session), secrets crossing the model boundary,
and downstream credential uses linked to the call in flight — never a raw value."""
import json
import os
import signal
import subprocess
import sys
import time
import unittest

from harness import NPM_DIR, AgentTestCase, Agent, base_env, fake_github_pat, fake_gitlab_pat, fake_openai_key, \
    fingerprint
from tls_server import HttpsServer

CLIENTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "clients")
EVERYTHING = {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-everything"], "cwd": NPM_DIR}


def run_calls_client(spec, timeout=90):
    """Runs tests/e2e/npm/mcp_client_calls.mjs (SDK stdio client making tool calls); returns its JSON result."""
    result = subprocess.run(["node", os.path.join(NPM_DIR, "mcp_client_calls.mjs"), json.dumps(spec)], cwd=NPM_DIR,
                            capture_output=True, text=True, timeout=timeout, env=base_env())
    if result.returncode != 0:
        raise AssertionError(f"mcp_client_calls failed: {result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


class ToolCallsOverStdio(AgentTestCase):
    def setUp(self):
        super().setUp()
        self.agent = Agent().start()

    def of_type(self, kind, **where):
        return [e for e in self.agent.events() if e["type"] == kind
                and all(e.get(kind, {}).get(k) == v for k, v in where.items())]

    def wait_calls(self, count, what, **where):
        self.agent.wait_for(lambda e: len(self.of_type("mcp_tool_call", **where)) >= count, what=what)
        return self.of_type("mcp_tool_call", **where)

    def test_server_everything_calls_reported_with_shape_outcome_and_session(self):
        token = self.secret(fake_github_pat)
        spec = dict(EVERYTHING, env={"PATH": base_env()["PATH"]}, calls=[
            {"name": "echo", "arguments": {"message": "hello"}},
            {"name": "get-sum", "arguments": {"a": 2, "b": 3}},
            {"name": "no-such-tool", "arguments": {}},
            {"name": "echo", "arguments": {"message": f"use {token} for the repo"}},
        ])
        out = run_calls_client(spec)
        self.assertIn("echo", out["tools"])
        calls = self.wait_calls(4, "four tools/call", method="tools/call")
        by_tool = {}
        for call in calls:
            by_tool.setdefault(call["mcp_tool_call"]["tool"], []).append(call["mcp_tool_call"])
        echo = by_tool["echo"][0]
        self.assertEqual(echo["transport"], "stdio")
        self.assertEqual(echo["side"], "server")
        self.assertEqual(echo["requester"], "client")
        self.assertEqual(echo["outcome"], "ok")
        self.assertEqual(echo["arguments_shape"], '{"message":"string"}')
        self.assertEqual(echo["client_name"], "credtrace-calls-client")
        self.assertEqual(echo["client_version"], "2.5.0")
        self.assertTrue(echo["server_name"])
        self.assertTrue(echo["call_id"].startswith("call_"))
        self.assertGreater(echo["duration_seconds"], 0)
        self.assertGreater(int(echo["request_bytes"]), 0)
        self.assertGreater(int(echo["response_bytes"]), 0)
        self.assertEqual(by_tool["get-sum"][0]["arguments_shape"], '{"a":"number","b":"number"}')
        failed = by_tool["no-such-tool"][0]
        self.assertIn(failed["outcome"], ("tool_error", "jsonrpc_error"), failed)
        self.assertEqual(len({c["mcp_tool_call"]["session_id"] for c in calls}), 1)
        self.assertEqual(len({c["mcp_tool_call"]["call_id"] for c in calls}), 4)
        listed = self.wait_calls(1, "tools/list", method="tools/list")[0]["mcp_tool_call"]
        self.assertEqual(listed["outcome"], "ok")
        session = self.agent.wait_for(lambda e: e["type"] == "mcp_session", what="mcp_session")["mcp_session"]
        self.assertEqual(session["session_id"], echo["session_id"])
        self.assertEqual(session["client_name"], "credtrace-calls-client")
        self.assertTrue(session["protocol_version"])
        self.assertIn("tools", session["server_capabilities"])
        tools = self.agent.wait_for(lambda e: e["type"] == "mcp_tools", what="mcp_tools")["mcp_tools"]
        self.assertIn("echo", [t["name"] for t in tools["tools"]])
        self.assertTrue(all(len(t["sha256"]) == 64 for t in tools["tools"]))
        # The token the client put in the echo arguments crossed into the server: a finding, fingerprint only.
        finding = self.agent.wait_for(lambda e: e["type"] == "secret_in_tool_io"
                                      and e["secret_in_tool_io"]["direction"] == "arguments",
                                      what="secret in arguments")
        self.assertEqual(finding["credential"]["fingerprint"], fingerprint(token))
        self.assertEqual(finding["credential"]["type"], "github_pat")
        self.assertEqual(finding["secret_in_tool_io"]["sender"], "client")
        self.assertEqual(finding["secret_in_tool_io"]["call"]["tool"], "echo")
        # echo returns its message: the same token crossed back into the model's context in the result.
        back = self.agent.wait_for(lambda e: e["type"] == "secret_in_tool_io"
                                   and e["secret_in_tool_io"]["direction"] == "result", what="secret in result")
        self.assertEqual(back["credential"]["fingerprint"], fingerprint(token))
        self.assertEqual(back["secret_in_tool_io"]["sender"], "server")

    def test_env_secret_returned_by_a_tool_names_its_env_source(self):
        key = self.secret(fake_openai_key)
        spec = dict(EVERYTHING, env={"PATH": base_env()["PATH"], "OPENAI_API_KEY": key},
                    calls=[{"name": "get-env", "arguments": {}}])
        run_calls_client(spec)
        finding = self.agent.wait_for(lambda e: e["type"] == "secret_in_tool_io"
                                      and e["credential"]["fingerprint"] == fingerprint(key), what="env in result")
        self.assertEqual(finding["secret_in_tool_io"]["direction"], "result")
        self.assertEqual(finding["secret_in_tool_io"]["call"]["tool"], "get-env")
        self.assertIn({"kind": "env", "name": "OPENAI_API_KEY", "path": "", "key": ""}, finding["sources"])

    def test_filesystem_server_reading_a_dotenv_reports_the_file_as_source(self):
        token = self.secret(fake_gitlab_pat)
        project = os.path.join(self.dir, "project")
        os.makedirs(project)
        dotenv = os.path.join(project, ".env")
        with open(dotenv, "w") as f:
            f.write(f"GITLAB_TOKEN={token}\nLOG_LEVEL=debug\n")
        spec = {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", project], "cwd": NPM_DIR,
                "env": {"PATH": base_env()["PATH"]},
                "calls": [{"name": "read_text_file", "arguments": {"path": dotenv}}]}
        out = run_calls_client(spec)
        self.assertEqual(out["results"][0].get("isError"), False, out)
        finding = self.agent.wait_for(lambda e: e["type"] == "secret_in_tool_io"
                                      and e["credential"]["fingerprint"] == fingerprint(token), what="dotenv result")
        self.assertEqual(finding["secret_in_tool_io"]["direction"], "result")
        self.assertEqual(finding["secret_in_tool_io"]["call"]["tool"], "read_text_file")
        self.assertTrue(any(s["kind"] == "file" and s["path"].endswith("/project/.env") for s in finding["sources"]),
                        finding["sources"])

    def test_a_large_tool_result_is_reassembled_whole(self):
        token = self.secret(fake_openai_key)
        project = os.path.join(self.dir, "logs")
        os.makedirs(project)
        log = os.path.join(project, "build.log")
        filler = "".join(f"step {i}: compiled module {i} in 12 ms\n" for i in range(2500))  # ~95 KB around it
        with open(log, "w") as f:
            f.write(filler + f"export OPENAI_API_KEY={token}\n" + filler)
        out = run_calls_client({"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", project],
                                "cwd": NPM_DIR, "env": {"PATH": base_env()["PATH"]},
                                "calls": [{"name": "read_text_file", "arguments": {"path": log}}]})
        self.assertEqual(out["results"][0].get("isError"), False, out)
        call = self.wait_calls(1, "read_text_file", tool="read_text_file")[0]["mcp_tool_call"]
        self.assertEqual(call["outcome"], "ok")
        self.assertGreater(int(call["response_bytes"]), 190000)
        finding = self.agent.wait_for(lambda e: e["type"] == "secret_in_tool_io"
                                      and e["credential"]["fingerprint"] == fingerprint(token), what="key mid-result")
        self.assertEqual(finding["secret_in_tool_io"]["direction"], "result")

    def test_secret_read_through_one_server_and_passed_to_another_is_relayed(self):
        token = self.secret(fake_gitlab_pat)
        project = os.path.join(self.dir, "notes")
        os.makedirs(project)
        notes = os.path.join(project, "handover.md")
        with open(notes, "w") as f:
            f.write(f"# Handover\nThe deploy token is {token} (rotate monthly).\n")
        run_calls_client({"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", project],
                          "cwd": NPM_DIR, "env": {"PATH": base_env()["PATH"]},
                          "calls": [{"name": "read_text_file", "arguments": {"path": notes}}]})
        self.agent.wait_for(lambda e: e["type"] == "secret_in_tool_io"
                            and e["secret_in_tool_io"]["direction"] == "result", what="token in the file's result")
        # The model then hands the token to another server's tool.
        run_calls_client(dict(EVERYTHING, env={"PATH": base_env()["PATH"]},
                              calls=[{"name": "echo", "arguments": {"message": f"deploy with {token}"}}]))
        relayed = self.agent.wait_for(lambda e: e["type"] == "credential_relayed", what="credential_relayed")
        detail = relayed["credential_relayed"]
        self.assertEqual(relayed["credential"]["fingerprint"], fingerprint(token))
        self.assertEqual(detail["relay"], "tool_arguments")
        self.assertEqual(detail["carried_by"]["tool"], "read_text_file")
        self.assertEqual(detail["carried_direction"], "result")
        self.assertEqual(relayed["tool_call"]["call"]["tool"], "echo")
        self.assertNotEqual(detail["carried_by_workload_id"], relayed["workload"]["id"])

    def test_gitlab_tool_call_lists_its_downstream_use_and_the_use_names_the_call(self):
        token = self.secret(fake_gitlab_pat)
        with HttpsServer() as server:
            spec = {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-gitlab"], "cwd": NPM_DIR,
                    "env": {"PATH": base_env()["PATH"], "GITLAB_PERSONAL_ACCESS_TOKEN": token,
                            "NODE_EXTRA_CA_CERTS": server.ca,
                            "GITLAB_API_URL": f"https://localhost:{server.port}/api/v4"},
                    "calls": [{"name": "search_repositories", "arguments": {"search": "credtrace"}}]}
            run_calls_client(spec)
        use = self.agent.wait_for(lambda e: e["type"] == "credential_use"
                                  and e["credential"]["fingerprint"] == fingerprint(token), what="gitlab use")
        call = self.wait_calls(1, "search_repositories", tool="search_repositories")[0]["mcp_tool_call"]
        self.assertEqual(use["tool_call"]["call"]["call_id"], call["call_id"])
        self.assertEqual(use["tool_call"]["call"]["tool"], "search_repositories")
        self.assertFalse(use["tool_call"].get("ambiguous", False))
        downstream = [d for d in call["downstream"] if d.get("credential", {}).get("fingerprint") == fingerprint(token)]
        self.assertTrue(downstream, call["downstream"])
        self.assertEqual(downstream[0]["destination"]["port"], server.port)
        self.assertEqual(downstream[0]["request"]["carrier"], "header:authorization")

    def test_a_call_unanswered_when_the_server_exits_is_reported_as_no_answer(self):
        script = os.path.join(CLIENTS, "mcp_stdio_rude_server.py")
        spec = {"command": sys.executable, "args": [script, "exit-on-call"], "env": {"PATH": base_env()["PATH"]},
                "calls": [{"name": "slow", "arguments": {"n": 1}}]}
        out = run_calls_client(spec)
        self.assertIn("error", out["results"][0])
        call = self.wait_calls(1, "unanswered call", tool="slow")[0]["mcp_tool_call"]
        self.assertEqual(call["outcome"], "no_answer")
        self.assertEqual(call["no_answer"], "session_end")

    def test_a_call_to_a_server_gone_before_the_agent_read_its_first_message_is_reported(self):
        """The agent is paused from just before a server reads its first message until after it answered initialize,
        took a call and exited: /proc no longer tells its pipes when the agent catches up, but the kernel listed them
        at that first message (a JSON-RPC line on the stdin of a client's child), so the call is captured and
        reported. With tls.hold_exec_until_attached on (the default) the kernel stops a client's child at its exec and
        at that first message until the agent has handled them, so this happens only with the hold off (or for a
        process with a controlling terminal, which is never held)."""
        self.agent.stop()
        self.agent.cleanup()
        self.agent = Agent(extra_config="tls:\n  hold_exec_until_attached: false\n").start()
        go_file = os.path.join(self.dir, "go")
        server = [sys.executable, os.path.join(CLIENTS, "mcp_stdio_rude_server.py"), "exit-on-call"]
        client = subprocess.Popen([sys.executable, os.path.join(CLIENTS, "mcp_client_gated.py")] + server,
                                  stdout=subprocess.PIPE, text=True, env=dict(base_env(), GO_FILE=go_file))
        time.sleep(1.5)  # the agent reads the client's and the server's execs (the server is a candidate)
        self.agent.proc.send_signal(signal.SIGSTOP)
        try:
            open(go_file, "w").close()
            out, _ = client.communicate(timeout=60)
        finally:
            self.agent.proc.send_signal(signal.SIGCONT)
        self.assertEqual(client.returncode, 0)
        self.assertIn("answer: none", out)
        call = self.wait_calls(1, "the call of the gone server", tool="slow")[0]["mcp_tool_call"]
        self.assertEqual(call["outcome"], "no_answer")
        self.assertEqual(call["no_answer"], "session_end")

    def test_a_server_that_never_speaks_on_its_stdio_holds_no_session_until_one_that_does(self):
        quiet_script = os.path.join(self.dir, "mcp-server-quiet.sh")
        with open(quiet_script, "w") as f:
            f.write("#!/bin/sh\nexec sleep 60\n")  # a watched server whose stdio carries nothing
        os.chmod(quiet_script, 0o755)
        quiet = subprocess.Popen([quiet_script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=base_env())
        self.addCleanup(quiet.stdout.close)
        self.addCleanup(quiet.stdin.close)
        self.addCleanup(quiet.wait)
        self.addCleanup(quiet.kill)
        self.agent.wait_for(lambda e: e["type"] == "mcp_server_start" and e["process"]["pid"] == quiet.pid,
                            what="the quiet server's start")

        def sessions(e):
            sensors = e["agent_health"].get("sensors", {})
            return int(sensors.get("mcp_stdio_sessions", 0)), int(sensors.get("mcp_sessions_open", 0))
        self.agent.wait_for(lambda e: e["type"] == "agent_health" and sessions(e)[0] >= 1 and
                            e["time"] > self.of_type("mcp_server_start")[-1]["time"], what="a health after its start")
        listed, open_sessions = sessions(self.of_type("agent_health")[-1])
        self.assertGreaterEqual(listed, 1)  # its pipes are listed,
        self.assertEqual(open_sessions, 0)  # but it holds no session in the call book
        spec = dict(EVERYTHING, env={"PATH": base_env()["PATH"]}, calls=[{"name": "echo", "arguments": {"message": "hi"}}],
                    holdMs=4500)  # the session stays open across a health interval
        run_calls_client(spec)
        call = self.wait_calls(1, "the speaking server's call", tool="echo")[0]
        self.assertEqual(call["mcp_tool_call"]["outcome"], "ok")
        self.assertNotEqual(call["process"]["pid"], quiet.pid)
        self.assertTrue(call["mcp_tool_call"]["session_id"].startswith("ses_"))
        self.assertTrue(any(sessions(e)[1] >= 1 for e in self.of_type("agent_health")), "the speaking session counted")
        self.assertFalse(any(e["process"]["pid"] == quiet.pid for e in self.of_type("mcp_session")))

    def health_sensors(self):
        healths = [e for e in self.agent.events() if e["type"] == "agent_health"]
        return healths[-1]["agent_health"].get("sensors", {}) if healths else {}

    def run_raw_client(self, token, server_mode):
        """The raw client sends its hostile bytes once the agent reported the server (so its pipes are listed)."""
        server = [sys.executable, os.path.join(CLIENTS, "mcp_stdio_rude_server.py"), server_mode]
        go_file = os.path.join(self.dir, "go")
        client = subprocess.Popen([sys.executable, os.path.join(CLIENTS, "mcp_client_raw.py"), token] + server,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=dict(base_env(), GO_FILE=go_file))
        try:
            self.agent.wait_for(lambda e: e["type"] == "mcp_server_start"
                                and "mcp_stdio_rude_server.py" in " ".join(e["process"]["args"]), what="server start")
        finally:
            open(go_file, "w").close()
        _, err = client.communicate(timeout=120)
        self.assertEqual(client.returncode, 0, err)

    def assert_calls_survive_hostile_bytes(self, token, counters):
        calls = self.wait_calls(2, "the two echo calls", tool="echo")
        self.assertEqual(sorted(c["mcp_tool_call"]["jsonrpc_id"] for c in calls), ["2", "3"])
        self.assertTrue(all(c["mcp_tool_call"]["outcome"] == "ok" for c in calls), calls)
        self.agent.wait_for(lambda e: e["type"] == "secret_in_tool_io"
                            and e["credential"]["fingerprint"] == fingerprint(token), what="token finding")
        try:
            self.agent.wait_for(lambda e: e["type"] == "agent_health"
                                and all(int(e["agent_health"].get("sensors", {}).get(c, 0)) > 0 for c in counters),
                                timeout=30, what=f"health counting {counters}")
        except AssertionError:
            raise AssertionError(f"counters {counters} not all counted: "
                                 f"{ {k: v for k, v in self.health_sensors().items() if k.startswith('mcp_stdio')} }")
        self.assertIsNone(self.agent.proc.poll(), "the agent must survive hostile input")

    def test_hostile_bytes_on_the_servers_stdin_are_counted_and_later_calls_reported(self):
        token = self.secret(fake_github_pat)
        self.run_raw_client(token, "echo")
        self.assert_calls_survive_hostile_bytes(token, ["mcp_stdio_not_json", "mcp_stdio_too_deep",
                                                        "mcp_stdio_invalid_utf8"])
        sensors = self.health_sensors()
        self.assertGreater(int(sensors.get("mcp_stdio_oversize_lines", 0)) + int(sensors.get("mcp_stdio_in_gaps", 0)), 0,
                           sensors)

    def test_hostile_bytes_on_the_servers_stdout_are_counted_and_the_answer_in_one_byte_writes_pairs(self):
        token = self.secret(fake_github_pat)
        self.run_raw_client(token, "garbage")
        self.assert_calls_survive_hostile_bytes(token, ["mcp_stdio_not_json", "mcp_stdio_too_deep",
                                                        "mcp_stdio_invalid_utf8"])


if __name__ == "__main__":
    unittest.main()
