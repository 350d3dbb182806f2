"""End-to-end TLS tests (root): watched processes make real HTTPS calls on loopback with a test CA; the agent must
report each credential use with its destination and its env source, and never the raw value."""
import os
import subprocess
import sys
import unittest

from harness import (NPM_DIR, Agent, base_env, fake_anthropic_key, fake_github_pat, fake_gitlab_pat, fake_jwt,
                     fake_openai_key, fingerprint, run_mcp_client)
from tls_server import Http2Server, HttpsServer

CLIENTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "clients")


class TlsCredentialUse(unittest.TestCase):
    def setUp(self):
        self.agent = Agent().start()
        self.raw_secrets = []

    def tearDown(self):
        self.agent.stop()
        blob = self.agent.all_output()
        for secret in self.raw_secrets:
            self.assertNotIn(secret.encode(), blob, "a raw secret reached the agent's output or log")
        self.agent.cleanup()

    def secret(self, factory):
        value = factory()
        self.raw_secrets.append(value)
        return value

    def uses(self, raw):
        return [e for e in self.agent.events() if e["type"] == "credential_use"
                and e["credential"]["fingerprint"] == fingerprint(raw)]

    def run_client(self, argv, env):
        result = subprocess.run(argv, env=dict(base_env(), **env), capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)

    def assert_env_source(self, use, name):
        self.assertIn({"kind": "env", "name": name, "path": "", "key": ""}, use["sources"])

    def python_probe(self, mode, server, token, env_name="GITHUB_TOKEN"):
        self.run_client([sys.executable, os.path.join(CLIENTS, "mcp_server_tls_probe.py"), mode, str(server.port),
                         server.ca], {env_name: token})

    def assert_connected_address(self, use, port):
        """ip and port are what the socket the request went out on connected to, and say so."""
        destination = use["destination"]
        self.assertEqual((destination["ip"], destination["port"]), ("127.0.0.1", port), destination)
        self.assertEqual(destination["address_source"], "connect", destination)

    def test_python_urllib_bearer_and_query_token(self):
        token = self.secret(fake_github_pat)
        with HttpsServer() as server:
            self.python_probe("urllib", server, token)
            self.assertEqual(server.seen[0][2]["Authorization"], f"Bearer {token}")  # the call really happened
        self.agent.wait_for(lambda e: len(self.uses(token)) >= 2, what="header and query uses")
        by_carrier = {u["request"]["carrier"]: u for u in self.uses(token)}
        use = by_carrier["header:authorization"]
        self.assertEqual(use["credential"]["type"], "github_pat")
        self.assertEqual(use["request"]["scheme"], "Bearer")
        self.assertEqual(use["request"]["method"], "GET")
        self.assertEqual(use["request"]["protocol"], "http/1.1")
        self.assertEqual(use["request"]["path"], "/api/v3/user?token=&page=")
        self.assertEqual(use["destination"]["sni"], "localhost")
        self.assert_connected_address(use, server.port)  # the socket urllib's SSL_write wrote its ciphertext to
        self.assertEqual(use["destination"]["host_port"], server.port)  # Host named it too
        self.assertEqual(use["destination"]["host_source"], "host_header")
        self.assertTrue(use["destination"]["tls"])
        self.assertTrue(use["destination"]["host"].startswith("localhost"))
        self.assert_env_source(use, "GITHUB_TOKEN")
        self.assertIn("query:token", by_carrier)
        self.assertEqual(use["workload"]["mcp"]["server_name"], "mcp_server_tls_probe")

    def test_repeats_are_aggregated_with_a_count(self):
        self.agent.stop()
        self.agent.cleanup()
        self.agent = Agent(extra_config="credential_use:\n  aggregation_window_seconds: 3").start()
        token = self.secret(fake_github_pat)
        with HttpsServer() as server:
            for _ in range(3):
                self.python_probe("asyncio", server, token)
        first = self.agent.wait_for(lambda e: e["type"] == "credential_use"
                                    and e["credential"]["fingerprint"] == fingerprint(token), what="first use")
        self.assertEqual(int(first["credential_use"]["count"]), 1)
        repeats = self.agent.wait_for(lambda e: e["type"] == "credential_use"
                                      and e["credential"]["fingerprint"] == fingerprint(token)
                                      and int(e["credential_use"]["count"]) > 1, timeout=10, what="aggregated repeats")
        self.assertEqual(int(repeats["credential_use"]["count"]), 2)
        self.assertEqual(repeats["credential_use"]["window_seconds"], 3)
        self.assertLess(repeats["credential_use"]["first_seen"], repeats["credential_use"]["last_seen"])

    def test_python_asyncio_memory_bio(self):
        token = self.secret(fake_github_pat)
        with HttpsServer() as server:
            self.python_probe("asyncio", server, token)
        use = self.agent.wait_for(lambda e: e["type"] == "credential_use"
                                  and e["credential"]["fingerprint"] == fingerprint(token), what="asyncio use")
        self.assertEqual(use["request"]["scheme"], "token")
        self.assertEqual(use["request"]["path"], "/api/v3/repos")
        self.assertEqual(use["destination"]["sni"], "localhost")
        self.assert_connected_address(use, server.port)
        self.assert_env_source(use, "GITHUB_TOKEN")

    def test_python_asyncio_host_without_port_reports_the_socket_not_a_default(self):
        """Issue 11.2: asyncio (memory BIO: SSL_write has no fd) to https://localhost:<random port> with a Host header
        that names no port. The port is the connected socket's, learned from the ciphertext the thread wrote after
        SSL_write; never 443 guessed from the scheme."""
        key = self.secret(fake_anthropic_key)
        with HttpsServer() as server:
            self.python_probe("asyncio_bare_host", server, key, env_name="ANTHROPIC_API_KEY")
            self.assertEqual(server.seen[0][2]["x-api-key"], key)  # the call really happened
        use = self.agent.wait_for(lambda e: e["type"] == "credential_use"
                                  and e["credential"]["fingerprint"] == fingerprint(key), what="asyncio use")
        self.assertEqual(use["request"]["carrier"], "header:x-api-key")
        self.assertNotEqual(server.port, 443)
        self.assert_connected_address(use, server.port)
        self.assertEqual(use["destination"]["host"], "localhost")
        self.assertEqual(use["destination"]["host_port"], 0)  # Host named none: nothing is made up
        self.assertEqual(use["destination"]["host_source"], "host_header")
        self.assert_env_source(use, "ANTHROPIC_API_KEY")

    def test_python_requests_socket_bio(self):
        """python-requests: OpenSSL writes the ciphertext itself (socket BIO), inside SSL_write."""
        token = self.secret(fake_github_pat)
        with HttpsServer() as server:
            self.python_probe("requests", server, token)
        use = self.agent.wait_for(lambda e: e["type"] == "credential_use"
                                  and e["credential"]["fingerprint"] == fingerprint(token), what="requests use")
        self.assertEqual(use["request"]["carrier"], "header:authorization")
        self.assert_connected_address(use, server.port)
        self.assertEqual(use["destination"]["host_port"], server.port)
        self.assert_env_source(use, "GITHUB_TOKEN")

    def test_curl_child_of_a_watched_server(self):
        token = self.secret(fake_github_pat)
        with HttpsServer() as server:
            self.python_probe("curl", server, token)
        use = self.agent.wait_for(lambda e: e["type"] == "credential_use"
                                  and e["credential"]["fingerprint"] == fingerprint(token), what="curl use")
        self.assertEqual(os.path.basename(use["process"]["exe"]), "curl")
        self.assertNotEqual(use["process"]["pid"], use["workload"]["pid"])
        self.assert_connected_address(use, server.port)
        self.assert_env_source(use, "GITHUB_TOKEN")

    def test_real_gitlab_mcp_server_from_npm_calling_a_local_api(self):
        token = self.secret(fake_gitlab_pat)
        with HttpsServer() as server:
            spec = {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-gitlab"], "cwd": NPM_DIR,
                    "env": {"GITLAB_PERSONAL_ACCESS_TOKEN": token, "NODE_EXTRA_CA_CERTS": server.ca,
                            "GITLAB_API_URL": f"https://localhost:{server.port}/api/v4"},
                    "callTool": {"name": "search_repositories", "arguments": {"search": "credtrace"}}}
            result = run_mcp_client(spec)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertTrue(any(path.startswith("/api/v4/projects") for _, path, _ in server.seen), server.seen)
        use = self.agent.wait_for(lambda e: e["type"] == "credential_use"
                                  and e["credential"]["fingerprint"] == fingerprint(token), what="gitlab use")
        self.assertEqual(use["credential"]["type"], "gitlab_pat")
        self.assertEqual(use["request"]["carrier"], "header:authorization")
        self.assertEqual(use["request"]["scheme"], "Bearer")
        self.assertEqual(use["request"]["path"], "/api/v4/projects?search=&page=&per_page=")
        self.assertEqual(use["destination"]["sni"], "localhost")
        self.assert_connected_address(use, server.port)
        self.assertEqual(use["workload"]["mcp"]["server_name"], "@modelcontextprotocol/server-gitlab")
        self.assert_env_source(use, "GITLAB_PERSONAL_ACCESS_TOKEN")

    def test_plain_http_on_a_tcp_socket(self):
        token = self.secret(fake_github_pat)
        with HttpsServer(tls=False) as server:
            self.python_probe("plain", server, token)
            self.assertEqual(server.seen[0][0], "POST")
        self.agent.wait_for(lambda e: len(self.uses(token)) >= 2, what="plain header and query uses")
        by_carrier = {u["request"]["carrier"]: u for u in self.uses(token)}
        use = by_carrier["header:x-api-key"]
        self.assertFalse(use["destination"]["tls"])
        self.assert_connected_address(use, server.port)
        self.assertEqual(use["destination"]["sni"], "")
        self.assertEqual(use["request"]["path"], "/v1/tokens?api_key=")
        self.assertIn("query:api_key", by_carrier)
        self.assert_env_source(use, "GITHUB_TOKEN")

    def test_plain_http_gathered_writes_sendmsg_and_node_writev(self):
        token, key = self.secret(fake_github_pat), self.secret(fake_openai_key)
        with HttpsServer(tls=False) as server:
            self.python_probe("plain_sendmsg", server, token)
            self.run_client(["node", os.path.join(CLIENTS, "mcp-server-plain-probe.mjs"), str(server.port)],
                            {"OPENAI_API_KEY": key})
            self.assertEqual([s[1] for s in server.seen], ["/v1/items", "/v1/embeddings"])
        for raw, carrier, env_name in ((token, "header:authorization", "GITHUB_TOKEN"),
                                       (key, "header:authorization", "OPENAI_API_KEY")):
            use = self.agent.wait_for(lambda e: e["type"] == "credential_use"
                                      and e["credential"]["fingerprint"] == fingerprint(raw), what=env_name + " use")
            self.assertEqual(use["request"]["carrier"], carrier)
            self.assertFalse(use["destination"]["tls"])
            self.assertEqual((use["destination"]["ip"], use["destination"]["port"]), ("127.0.0.1", server.port))
            self.assert_env_source(use, env_name)

    def test_node_http2_client_with_hpack_indexed_headers(self):
        key = self.secret(fake_anthropic_key)
        with Http2Server() as server:
            self.run_client(["node", os.path.join(CLIENTS, "mcp-server-h2-probe.mjs"), str(server.port), server.ca],
                            {"ANTHROPIC_API_KEY": key})
        self.assertEqual(server.lines, ["GET /v1/models?limit=5", "GET /v1/models?limit=6"])
        self.agent.wait_for(lambda e: sum(int(u["credential_use"]["count"]) for u in self.uses(key)) >= 1,
                            what="h2 use")
        use = self.uses(key)[0]
        self.assertEqual(use["credential"]["type"], "anthropic")
        self.assertEqual(use["request"]["protocol"], "h2")
        self.assertEqual(use["request"]["carrier"], "header:x-api-key")
        self.assertEqual(use["request"]["path"], "/v1/models?limit=")
        self.assertEqual(use["destination"]["host"], f"localhost:{server.port}")
        self.assertEqual(use["destination"]["host_source"], "authority")
        self.assertEqual(use["destination"]["sni"], "localhost")
        self.assert_connected_address(use, server.port)  # HTTP/2 frames' ciphertext, paired the same way
        self.assert_env_source(use, "ANTHROPIC_API_KEY")
        # The second request's x-api-key was an HPACK dynamic-table index: decoded, counted as a repeat at flush.
        self.agent.stop()
        self.assertEqual(sum(int(u["credential_use"]["count"]) for u in self.uses(key)), 2)

    def node_probe_use(self, *variant):
        key = self.secret(fake_openai_key)
        with HttpsServer() as server:
            self.run_client(["node", os.path.join(CLIENTS, "mcp-server-tls-probe.mjs"), str(server.port), server.ca,
                             *variant], {"OPENAI_API_KEY": key})
        use = self.agent.wait_for(lambda e: e["type"] == "credential_use"
                                  and e["credential"]["fingerprint"] == fingerprint(key), what="node use")
        self.assertEqual(use["credential"]["type"], "openai")
        self.assertEqual(use["request"]["carrier"], "header:x-api-key")
        self.assertEqual(use["request"]["method"], "POST")
        self.assertEqual(use["destination"]["sni"], "localhost")
        self.assert_connected_address(use, server.port)  # node's memory BIO: flushed by the same thread
        self.assert_env_source(use, "OPENAI_API_KEY")
        return use, server

    def test_node_https_api_key_header(self):
        use, server = self.node_probe_use()
        self.assertEqual(use["destination"]["host_port"], server.port)
        # node repeats its first SSL_write while the handshake completes (OpenSSL's retry rule): one request the
        # server received is one use, never three.
        key_fingerprint = use["credential"]["fingerprint"]
        self.agent.stop()
        uses = [e for e in self.agent.events() if e["type"] == "credential_use"
                and e["credential"]["fingerprint"] == key_fingerprint]
        self.assertEqual(sum(int(u["credential_use"]["count"]) for u in uses), len(server.seen))

    def test_node_https_host_without_port_reports_the_socket_not_a_default(self):
        use, _ = self.node_probe_use("bare-host")
        self.assertEqual((use["destination"]["host"], use["destination"]["host_port"]), ("localhost", 0))

    def assert_issued_then_used(self, issued, port):
        """The token a server issued (read from its response by the SSL_read probes) is a source of its next use."""
        exposure = self.agent.wait_for(lambda e: e["type"] == "secret_exposure"
                                       and e["credential"]["fingerprint"] == fingerprint(issued), what="issued token")
        source = exposure["source"]
        self.assertEqual(source["kind"], "http_response")
        self.assertEqual(source["path"], f"https://localhost:{port}/oauth/token")
        self.assertTrue(source["name"].startswith("response:") and "access_token" in source["name"], source)
        self.assertEqual(exposure["credential"]["type"], "jwt")
        self.assertEqual(exposure["credential"]["jwt"]["ttl_seconds"], "3600")
        use = self.agent.wait_for(lambda e: e["type"] == "credential_use"
                                  and e["credential"]["fingerprint"] == fingerprint(issued), what="issued token use")
        self.assertEqual(use["request"]["carrier"], "header:authorization")
        self.assertIn(source, use["sources"])
        return use

    def test_python_token_exchange_read_through_ssl_read(self):
        secret, issued = self.secret(fake_github_pat), self.secret(fake_jwt)
        with HttpsServer(issue_token=issued) as server:
            self.python_probe("token_exchange", server, secret)
            self.assertEqual(server.seen[-1][2]["Authorization"], f"Bearer {issued}")
        self.assert_issued_then_used(issued, server.port)
        secret_use = self.agent.wait_for(lambda e: e["type"] == "credential_use"
                                         and e["credential"]["fingerprint"] == fingerprint(secret), what="secret use")
        self.assertEqual(secret_use["request"]["carrier"], "body:client_secret")
        self.assert_env_source(secret_use, "GITHUB_TOKEN")

    def test_node_token_exchange_read_through_ssl_read(self):
        secret, issued = self.secret(fake_openai_key), self.secret(fake_jwt)
        with HttpsServer(issue_token=issued) as server:
            self.run_client(["node", os.path.join(CLIENTS, "mcp-server-token-probe.mjs"), str(server.port), server.ca],
                            {"CLIENT_SECRET": secret})
            self.assertEqual(server.seen[-1][2]["authorization"], f"Bearer {issued}")
        self.assert_issued_then_used(issued, server.port)


if __name__ == "__main__":
    unittest.main(verbosity=2)
