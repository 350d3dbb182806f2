"""End-to-end tests of MCP over HTTP (root): the real @modelcontextprotocol/server-everything over Streamable HTTP,
driven by the official TypeScript SDK client, both watched; the agent must report each call (side server and side
client) with the transport, the Mcp-Session-Id, the tool and the outcome, count what it could not parse, and never
export a raw value."""
import http.server
import json
import os
import socket
import subprocess
import threading
import time
import unittest
import urllib.error
import urllib.request

from harness import NPM_DIR, AgentTestCase, Agent, base_env, fake_github_pat, fingerprint
from tls_server import make_ca_and_cert

EVERYTHING_JS = os.path.join(NPM_DIR, "node_modules/@modelcontextprotocol/server-everything/dist/index.js")
HTTP_CLIENT = os.path.join(NPM_DIR, "mcp-server-http-client.mjs")
FORWARDING_SERVER = os.path.join(NPM_DIR, "mcp-server-forwarding-probe.mjs")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


class McpOverHttp(AgentTestCase):
    def setUp(self):
        super().setUp()
        self.agent = Agent().start()
        self.port = free_port()
        self.server = subprocess.Popen(["node", EVERYTHING_JS, "streamableHttp"], cwd=NPM_DIR,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                       env=dict(base_env(), PORT=str(self.port)))
        self.agent.wait_for(lambda e: e["type"] == "mcp_server_start" and e["process"]["pid"] == self.server.pid,
                            what="server-everything recognised")
        wait_listening(self.port)

    def tearDown(self):
        self.server.terminate()
        self.server.wait()
        super().tearDown()

    def run_client(self, spec, env=None):
        result = subprocess.run(["node", HTTP_CLIENT, json.dumps(spec)], cwd=NPM_DIR, capture_output=True, text=True,
                                timeout=60, env=dict(base_env(), **(env or {})))
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout.strip().splitlines()[-1])

    def calls(self, side, session_id):
        return [e["mcp_tool_call"] for e in self.agent.events() if e["type"] == "mcp_tool_call"
                and e["mcp_tool_call"]["side"] == side and e["mcp_tool_call"]["session_id"] == session_id]

    def wait_calls(self, side, session_id, n):
        self.agent.wait_for(lambda e: len(self.calls(side, session_id)) >= n, what=f"{n} {side} calls")
        return self.calls(side, session_id)

    def health(self):
        self.agent.wait_for(lambda e: e["type"] == "agent_health", what="agent_health")
        time.sleep(2.5)
        return [e for e in self.agent.events() if e["type"] == "agent_health"][-1]["agent_health"]

    def test_streamable_http_calls_on_the_server_and_the_client_side(self):
        secret = self.secret(fake_github_pat)
        spec = {"url": f"http://127.0.0.1:{self.port}/mcp", "calls": [
            {"name": "echo", "arguments": {"message": secret}},
            {"name": "get-sum", "arguments": {"a": 2, "b": 3}},
            {"name": "echo", "arguments": {"message": "hello"}},
            {"name": "no-such-tool", "arguments": {"x": 1}},
        ], "terminate": True}
        out = self.run_client(spec)
        session = out["sessionId"]
        self.assertTrue(session)
        for side in ("server", "client"):
            calls = self.wait_calls(side, session, 6)
            by_method = {}
            for c in calls:
                self.assertEqual(c["transport"], "http")
                by_method.setdefault(c["method"], []).append(c)
            self.assertIn("initialize", by_method)
            self.assertEqual(by_method["initialize"][0]["outcome"], "ok")
            self.assertEqual(by_method["tools/list"][0]["outcome"], "ok")
            tool_calls = by_method["tools/call"]
            self.assertEqual(sorted(c["tool"] for c in tool_calls), ["echo", "echo", "get-sum", "no-such-tool"])
            for c in tool_calls:
                expected = "ok" if c["tool"] != "no-such-tool" else None
                if expected:
                    self.assertEqual(c["outcome"], "ok", c)
                else:
                    self.assertIn(c["outcome"], ("tool_error", "jsonrpc_error"), c)
            echo = [c for c in tool_calls if c["tool"] == "echo"][0]
            self.assertEqual(echo["arguments_shape"], '{"message":"string"}')
            self.assertEqual(by_method["initialize"][0].get("client_name"), "credtrace-e2e-http-client")
        # The secret echoed through a tool crossed into the model's context: a finding on both sides.
        self.agent.wait_for(lambda e: e["type"] == "secret_in_tool_io", what="secret_in_tool_io")

    def test_sse_answers_are_reported_as_they_arrive(self):
        # server-everything answers POSTs with text/event-stream (its default): the long-running operation sends
        # progress notifications before the result, all on the SSE answer of one POST.
        token = self.secret(fake_github_pat)
        spec = {"url": f"http://127.0.0.1:{self.port}/mcp", "headers": {"Authorization": f"Bearer {token}"},
                "calls": [{"name": "trigger-long-running-operation", "arguments": {"duration": 1, "steps": 2}}]}
        out = self.run_client(spec)
        calls = self.wait_calls("server", out["sessionId"], 3)
        long_ops = [c for c in calls if c.get("tool") == "trigger-long-running-operation"]
        self.assertEqual(len(long_ops), 1)
        self.assertEqual(long_ops[0]["outcome"], "ok")
        self.assertGreater(long_ops[0]["duration_seconds"], 0.5)
        health = self.health()["sensors"]
        self.assertGreater(int(health["mcp_http_server_sse_events"]), 0)
        self.assertGreater(int(health["mcp_http_client_sse_events"]), 0)

    def post(self, body, headers=None):
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/mcp", data=body, method="POST",
                                         headers=dict({"content-type": "application/json",
                                                       "accept": "application/json, text/event-stream"},
                                                      **(headers or {})))
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as err:
            return err.code
        except OSError:
            return None

    def test_bad_input_over_http_is_counted_and_nothing_breaks(self):
        secret = self.secret(fake_github_pat)
        self.post(b"not json " + secret.encode())
        self.post(bytes(range(256)) * 4)
        self.post(b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"x":"\xff\xfe' + secret.encode() + b'"}}')
        self.post(b"[" * 5000 + b"]" * 5000)
        self.post(b'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"m":"'
                  + secret.encode() + b"x" * (10 * 1024 * 1024) + b'"}}}')
        # The server still answers a real client afterwards, and the agent still follows it.
        out = self.run_client({"url": f"http://127.0.0.1:{self.port}/mcp", "calls": [{"name": "echo",
                                                                                     "arguments": {"message": "ok"}}]})
        self.wait_calls("server", out["sessionId"], 3)
        sensors = self.health()["sensors"]
        counted = sum(int(sensors.get(k, 0)) for k in ("mcp_http_server_bodies_not_jsonrpc",
                                                         "mcp_http_server_bodies_truncated",
                                                         "mcp_http_server_capture_gaps",
                                                         "mcp_http_server_truncated_calls"))
        self.assertGreater(counted, 0, sensors)
        self.assertIsNone(self.agent.proc.poll(), "the agent must survive bad input")


class Downstream(http.server.BaseHTTPRequestHandler):
    """The API a forwarding MCP server calls: answers 200, logs nothing."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


class TokenPassthrough(AgentTestCase):
    """A Node MCP server (the SDK's StreamableHTTPServerTransport) that forwards its SDK client's bearer token to a
    local API, over plain HTTP and over HTTPS (node's OpenSSL: requests through SSL_read, answers through SSL_write)."""

    def run_forwarding(self, tls):
        token = self.secret(fake_github_pat)
        downstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Downstream)
        threading.Thread(target=downstream.serve_forever, daemon=True).start()
        self.agent = Agent().start()
        port = free_port()
        env = dict(base_env(), PORT=str(port), DOWNSTREAM=f"http://127.0.0.1:{downstream.server_port}/v1/data")
        client_env = base_env()
        scheme = "http"
        if tls:
            ca, cert, key = make_ca_and_cert(self.dir)
            env.update(TLS_CERT=cert, TLS_KEY=key)
            client_env.update(NODE_EXTRA_CA_CERTS=ca)
            scheme = "https"
        server = subprocess.Popen(["node", FORWARDING_SERVER], cwd=NPM_DIR, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, env=env)
        try:
            self.agent.wait_for(lambda e: e["type"] == "mcp_server_start" and e["process"]["pid"] == server.pid,
                                what="forwarding server recognised")
            wait_listening(port)
            time.sleep(0.5)  # uprobes attach when the server is attributed
            spec = {"url": f"{scheme}://localhost:{port}/mcp", "headers": {"Authorization": f"Bearer {token}"},
                    "calls": [{"name": "forward"}, {"name": "forward"}]}
            result = subprocess.run(["node", HTTP_CLIENT, json.dumps(spec)], cwd=NPM_DIR, capture_output=True,
                                    text=True, timeout=60, env=client_env)
            self.assertEqual(result.returncode, 0, result.stderr)
            session = json.loads(result.stdout.strip().splitlines()[-1])["sessionId"]
            event = self.agent.wait_for(lambda e: e["type"] == "token_passthrough", what="token_passthrough")
            self.assertEqual(event["process"]["pid"], server.pid)
            self.assertEqual(event["credential"]["fingerprint"], fingerprint(token))
            self.assertEqual(event["destination"]["port"], downstream.server_port)
            detail = event["token_passthrough"]
            self.assertEqual(detail["received_carrier"], "header:authorization")
            self.assertEqual(detail["received_path"], "/mcp")
            if not tls:  # a TLS server's socket is not observed (memory BIOs): no port, no peer
                self.assertEqual(detail["received_port"], port)
                self.assertEqual(detail["received_from_ip"], "127.0.0.1")
            for side in ("server", "client"):
                forward = self.agent.wait_for(lambda e: e["type"] == "mcp_tool_call"
                                              and e["mcp_tool_call"]["side"] == side
                                              and e["mcp_tool_call"].get("tool") == "forward", what=f"{side} call")
                self.assertEqual(forward["mcp_tool_call"]["transport"], "http")
                self.assertEqual(forward["mcp_tool_call"]["session_id"], session)
                self.assertEqual(forward["mcp_tool_call"]["outcome"], "ok")
        finally:
            server.terminate()
            server.wait()
            downstream.shutdown()
            downstream.server_close()

    def test_forwarding_server_passes_its_clients_token_downstream(self):
        self.run_forwarding(tls=False)

    def test_https_server_reads_requests_through_ssl_read(self):
        self.run_forwarding(tls=True)


class LegacySse(AgentTestCase):
    def test_http_plus_sse_transport_of_server_everything(self):
        """The older HTTP+SSE transport: GET /sse names the POST endpoint in its first event; POSTs get 202 and
        the answers arrive as `event: message` on the GET stream. Reported with transport sse and the sessionId."""
        secret = self.secret(fake_github_pat)
        self.agent = Agent().start()
        port = free_port()
        server = subprocess.Popen(["node", EVERYTHING_JS, "sse"], cwd=NPM_DIR, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, env=dict(base_env(), PORT=str(port)))
        try:
            self.agent.wait_for(lambda e: e["type"] == "mcp_server_start" and e["process"]["pid"] == server.pid,
                                what="server-everything (sse) recognised")
            wait_listening(port)
            spec = {"transport": "sse", "url": f"http://127.0.0.1:{port}/sse",
                    "calls": [{"name": "echo", "arguments": {"message": secret}}]}
            result = subprocess.run(["node", HTTP_CLIENT, json.dumps(spec)], cwd=NPM_DIR, capture_output=True,
                                    text=True, timeout=60, env=base_env())
            self.assertEqual(result.returncode, 0, result.stderr)
            session = json.loads(result.stdout.strip().splitlines()[-1])["sessionId"]
            self.assertTrue(session)
            for side in ("server", "client"):
                echo = self.agent.wait_for(lambda e: e["type"] == "mcp_tool_call"
                                           and e["mcp_tool_call"]["side"] == side
                                           and e["mcp_tool_call"].get("tool") == "echo", what=f"{side} echo")
                self.assertEqual(echo["mcp_tool_call"]["transport"], "sse")
                self.assertEqual(echo["mcp_tool_call"]["session_id"], session)
                self.assertEqual(echo["mcp_tool_call"]["outcome"], "ok")
        finally:
            server.terminate()
            server.wait()

if __name__ == "__main__":
    unittest.main()
