"""End-to-end Go TLS tests (root): Go programs built from source in the test build (tests/go/build.sh: with symbols,
stripped, PIE, PIE stripped) and watched as MCP servers make HTTPS calls with an env token on loopback. The agent
finds crypto/tls through the Go function table, probes (*Conn).Write and (*Conn).Read (entry and each RET, never a
uretprobe) and reports each credential use with its destination and env source, over HTTP/1.1 and HTTP/2 (Go's own
HPACK). The real Nomad MCP server from npm (Go 1.26, as shipped and stripped here) is called through MCP and its
token is seen in its tool call. The raw token appears in no output, and every program exits 0: probing never harms
it."""
import os
import socket
import shutil
import subprocess
import unittest

import uuid

from harness import NPM_DIR, Agent, AgentTestCase, base_env, fake_github_pat, fake_jwt, fingerprint, run_mcp_client
from tls_server import Http2Server, HttpsServer

HERE = os.path.dirname(os.path.abspath(__file__))
GO_PROGRAMS = os.environ.get("CREDTRACE_GO_PROGRAMS", os.path.join(HERE, "../../build/tests/go"))
NOMAD = os.path.join(NPM_DIR, "node_modules", "@kocierik", "mcp-nomad-linux-x64", "bin", "mcp-nomad")
# Shipped stripped by its publisher (Go 1.25): found through its function table only.
PROMETHEUS = os.path.join(NPM_DIR, "node_modules", "mcp-prometheus-linux-amd64", "bin", "mcp-prometheus-linux-amd64")


class GoTls(AgentTestCase):
    scratch_prefix = "credtrace-go-"

    def setUp(self):
        super().setUp()
        self.agent = Agent().start()

    def server_binary(self, variant):
        """The Go HTTPS client of this variant under a name the agent's server patterns match."""
        source = os.path.join(GO_PROGRAMS, "https_client" + variant)
        self.assertTrue(os.access(source, os.X_OK), f"{source} missing: build the tree (tests/go/build.sh)")
        path = os.path.join(self.dir, "mcp-server-go" + variant)
        shutil.copy(source, path)
        return path

    def run_go(self, variant, url, server, token, *flags):
        binary = self.server_binary(variant)
        # -wait: as an MCP server is called some time after its start (a process's first milliseconds race the agent's
        # attach: the kernel holds only processes already watched, see docs/agent.md).
        result = subprocess.run([binary, "-wait", "300ms", *flags, url], env=dict(base_env(), API_TOKEN=token, CA_FILE=server.ca),
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        return binary, result.stdout

    def use_of(self, token, what):
        return self.agent.wait_for(lambda e: e["type"] == "credential_use"
                                   and e["credential"]["fingerprint"] == fingerprint(token), what=what)

    def assert_use(self, use, port, protocol, path, binary):
        self.assertEqual(use["credential"]["type"], "github_pat")
        self.assertEqual(use["request"]["carrier"], "header:authorization")
        self.assertEqual(use["request"]["scheme"], "Bearer")
        self.assertEqual(use["request"]["protocol"], protocol)
        self.assertEqual(use["request"]["path"], path)
        destination = use["destination"]
        self.assertEqual((destination["ip"], destination["port"]), ("127.0.0.1", port), destination)
        self.assertEqual(destination["address_source"], "connect", destination)
        self.assertTrue(destination["tls"])
        self.assertIn({"kind": "env", "name": "API_TOKEN", "path": "", "key": ""}, use["sources"])
        self.assertEqual(use["process"]["exe"], binary)

    def assert_go_covered(self, binary, version_prefix):
        """The server's start lists Go crypto/tls as probed, with its toolchain and probe points."""
        start = self.agent.wait_for(lambda e: e["type"] == "mcp_server_start" and e["process"]["exe"] == binary,
                                    what=f"the start of {binary}")
        detail = start["mcp_server_start"]
        self.assertEqual(detail["tls_coverage"], "covered", detail)
        [go] = [t for t in detail["tls"] if t["implementation"] == "go crypto/tls"]
        self.assertTrue(go["probed"], go)
        self.assertTrue(go["version"].startswith(version_prefix), go)
        self.assertEqual(go["file"], binary)
        kinds = {p.split("@")[0] for p in go["probes"]}
        self.assertTrue({"crypto/tls.(*Conn).Write", "crypto/tls.(*Conn).Read", "crypto/tls.(*Conn).Read RET"} <= kinds,
                        go["probes"])

    def test_http1_in_every_build_variant(self):
        for variant in ("", "-stripped", "-pie", "-pie-stripped"):
            with self.subTest(variant=variant):
                token = fake_github_pat()
                self.raw_secrets.append(token)
                with HttpsServer() as server:
                    binary, out = self.run_go(variant, f"https://localhost:{server.port}/api/v3/user?page=2",
                                              server, token)
                    self.assertEqual(out.split()[:2], ["HTTP/1.1", "200"], out)
                    self.assertEqual(server.seen[0][2]["Authorization"], f"Bearer {token}")
                use = self.use_of(token, f"credential_use of the Go client{variant}")
                self.assert_use(use, server.port, "http/1.1", "/api/v3/user?page=", binary)
                self.assertEqual(use["destination"]["host"], f"localhost:{server.port}")
                # No probe reads Go's server name: the ClientHello the client wrote to the socket says it.
                self.assertEqual(use["destination"]["sni"], "localhost")
                self.assert_go_covered(binary, "go1.")
                self.assertEqual(use["workload"]["tls_coverage"], "covered")

    def test_http2_with_go_hpack_in_every_build_variant(self):
        tokens = {}
        for variant in ("", "-stripped", "-pie", "-pie-stripped"):
            with self.subTest(variant=variant):
                token = tokens[variant] = fake_github_pat()
                self.raw_secrets.append(token)
                with Http2Server() as server:
                    binary, out = self.run_go(variant, f"https://localhost:{server.port}/v1/models?limit=5", server,
                                              token, "-http2", "-n", "2")
                self.assertEqual(out.split()[:2], ["HTTP/2.0", "200"], out)
                self.assertEqual(len(out.splitlines()), 2, out)
                use = self.use_of(token, f"h2 credential_use of the Go client{variant}")
                self.assert_use(use, server.port, "h2", "/v1/models?limit=", binary)
                self.assertEqual(use["destination"]["host"], f"localhost:{server.port}")
                self.assertEqual(use["destination"]["host_source"], "authority")
                self.assert_go_covered(binary, "go1.")
        # The second request's authorization header is an HPACK dynamic-table index in Go's encoder: decoded from the
        # state of the whole stream, a repeat at flush.
        self.agent.stop()
        for variant, token in tokens.items():
            with self.subTest(variant=variant, what="both requests"):
                uses = [e for e in self.agent.events() if e["type"] == "credential_use"
                        and e["credential"]["fingerprint"] == fingerprint(token)]
                self.assertEqual(sum(int(u["credential_use"]["count"]) for u in uses), 2)

    def test_a_write_whose_goroutine_resumes_on_another_thread(self):
        """Each connection's one request is written by a tls.Conn.Write that runs the handshake itself: the goroutine
        parks for the server's answer between the Write's entry (probed) and the write(2) of its record, and resumes on
        whichever thread is free (spinning goroutines keep them moving). Paired by the socket under the *Conn, not by
        the thread, every one of them has its destination."""
        token = fake_github_pat()
        self.raw_secrets.append(token)
        connections = 24
        with HttpsServer() as server:
            binary, out = self.run_go("-stripped", f"https://localhost:{server.port}/api/v3/user", server, token,
                                      "-handshake-in-write", str(connections), "-busy", "3")
            self.assertEqual(out.split(), ["requests", str(connections)], out)
        self.assert_every_use_has_its_destination(token, connections, server.port, "connect")

    def assert_every_use_has_its_destination(self, token, connections, port, address_source):
        """Once the agent has stopped: one use per connection, each with the server's address, learned that way."""
        self.use_of(token, "a use of the handshake-in-write client")
        self.agent.stop()
        uses = [e for e in self.agent.events() if e["type"] == "credential_use"
                and e["credential"]["fingerprint"] == fingerprint(token)]
        self.assertEqual(sum(int(u["credential_use"]["count"]) for u in uses), connections, uses)
        for use in uses:
            destination = use["destination"]
            self.assertEqual((destination["ip"], destination["port"], destination["address_source"]),
                             ("127.0.0.1", port, address_source), destination)

    def test_a_write_on_a_socket_connected_before_the_watch_whose_goroutine_moves(self):
        """As above, on TCP connections made before the process was watched (here by its parent, which passes them on
        as fds 3, 4, ...; a server's connection made in its first milliseconds is another such): no connect() is seen,
        so the Write's probe lists the socket's peer itself, and the write is paired by its socket whichever thread
        makes the write(2). (Paired by the thread, the first write on each such socket lost its destination whenever
        its goroutine moved.)"""
        token = fake_github_pat()
        self.raw_secrets.append(token)
        connections = 24
        with HttpsServer() as server:
            binary = self.server_binary("-stripped")
            sockets = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(connections)]
            try:
                fds = [s.fileno() for s in sockets]
                # each socket to its fd 3 + i in the child (dup2 in order: none of ours is below 3)
                def place():
                    for i, fd in enumerate(fds):
                        os.dup2(fd, 100 + i)
                    for i in range(connections):
                        os.dup2(100 + i, 3 + i)
                        os.close(100 + i)
                result = subprocess.run([binary, "-wait", "300ms", "-handshake-in-write", str(connections), "-busy", "3",
                                         "-inherited", f"https://localhost:{server.port}/api/v3/user"],
                                        env=dict(base_env(), API_TOKEN=token, CA_FILE=server.ca), preexec_fn=place,
                                        pass_fds=range(3, 3 + connections), capture_output=True, text=True,
                                        timeout=60)
            finally:
                for s in sockets:
                    s.close()
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(result.stdout.split(), ["requests", str(connections)], result.stdout)
        self.assert_every_use_has_its_destination(token, connections, server.port, "socket")

    def test_a_request_larger_than_gos_first_records(self):
        """Go's crypto/tls sends a connection's first records at ~1.2 KB (one TCP segment): the first record of a 3 KB
        request carries only part of it, and it still pairs the stream with its socket."""
        token = fake_github_pat()
        self.raw_secrets.append(token)
        body = "q=" + "x" * 3000
        with HttpsServer() as server:
            binary, out = self.run_go("", f"https://localhost:{server.port}/api/v3/search", server, token, "-body", body)
            self.assertEqual(out.split()[:2], ["HTTP/1.1", "200"], out)
        use = self.use_of(token, "the large request's credential_use")
        self.assert_use(use, server.port, "http/1.1", "/api/v3/search", binary)
        self.assertEqual(use["request"]["method"], "POST")

    def test_go_stdio_mcp_server_built_here_calls_an_api_in_a_tool_call(self):
        """tests/go/mcp_server, PIE and stripped, started by an MCP client: its tools/call makes the HTTPS call."""
        token = fake_github_pat()
        self.raw_secrets.append(token)
        binary = os.path.join(self.dir, "go-mcp-server")
        shutil.copy(os.path.join(GO_PROGRAMS, "mcp_server-pie-stripped"), binary)
        with HttpsServer() as server:
            spec = {"command": binary, "args": [], "cwd": self.dir,
                    "env": {"API_URL": f"https://localhost:{server.port}/api/v3/user", "API_TOKEN": token,
                            "CA_FILE": server.ca},
                    "callTool": {"name": "fetch_user", "arguments": {}}}
            result = run_mcp_client(spec)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual([seen[:2] for seen in server.seen], [("GET", "/api/v3/user")])
        use = self.use_of(token, "the Go MCP server's credential_use")
        self.assert_use(use, server.port, "http/1.1", "/api/v3/user", binary)
        self.assertEqual(use["tool_call"]["call"]["tool"], "fetch_user")
        call = self.agent.wait_for(lambda e: e["type"] == "mcp_tool_call" and e["mcp_tool_call"].get("tool") ==
                                   "fetch_user", what="the fetch_user call")
        self.assertEqual(use["tool_call"]["call"]["call_id"], call["mcp_tool_call"]["call_id"])
        self.assert_go_covered(binary, "go1.")
        self.assertEqual(use["workload"]["tls_coverage"], "covered")
        # Not asserted: serverInfo. A native server answers initialize within a millisecond of its exec, before the
        # agent lists its stdio pipe, so that answer can be missed (a node server takes far longer to start).
        downstream = [d for d in call["mcp_tool_call"].get("downstream", [])
                      if d.get("credential", {}).get("fingerprint") == fingerprint(token)]
        self.assertTrue(downstream, call["mcp_tool_call"])

    def test_a_token_read_from_the_response_through_read_and_its_rets(self):
        """A token request's answer is read by (*Conn).Read: the plaintext captured at its RETs names the token it
        issued as an http_response source."""
        token, issued = fake_github_pat(), fake_jwt()
        self.raw_secrets += [token, issued]
        with HttpsServer(issue_token=issued) as server:
            self.run_go("-stripped", f"https://localhost:{server.port}/oauth/token", server, token,
                        "-body", "grant_type=client_credentials&client_id=credtrace-test")
        exposure = self.agent.wait_for(lambda e: e["type"] == "secret_exposure"
                                       and e["credential"]["fingerprint"] == fingerprint(issued),
                                       what="the issued token, read from the response")
        self.assertEqual(exposure["source"]["kind"], "http_response")
        self.assertEqual(exposure["source"]["path"], f"https://localhost:{server.port}/oauth/token")
        self.assertEqual(exposure["credential"]["type"], "jwt")

    def nomad_tool_call(self, binary):
        """The real Nomad MCP server from npm (Go 1.26), started by an MCP client over stdio, lists jobs through the
        Nomad HTTP API (the mock) with its NOMAD_TOKEN in X-Nomad-Token, inside a tools/call."""
        token = str(uuid.uuid4())  # Nomad ACL tokens are UUIDs
        self.raw_secrets.append(token)
        with HttpsServer() as server:
            spec = {"command": binary, "args": [], "cwd": self.dir,
                    "env": {"NOMAD_ADDR": f"https://localhost:{server.port}", "NOMAD_TOKEN": token,
                            "SSL_CERT_FILE": server.ca},
                    "callTool": {"name": "list_jobs", "arguments": {}}}
            result = run_mcp_client(spec)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn(("GET", "/v1/jobs"), [seen[:2] for seen in server.seen])
        use = self.agent.wait_for(lambda e: e["type"] == "credential_use"
                                  and e["credential"]["fingerprint"] == fingerprint(token)
                                  and e["request"]["path"] == "/v1/jobs", what="the Nomad server's credential_use")
        self.assertEqual(use["credential"]["type"], "generic_token")
        self.assertEqual(use["request"]["carrier"], "header:x-nomad-token")
        self.assertEqual(use["request"]["protocol"], "http/1.1")
        destination = use["destination"]
        self.assertEqual((destination["ip"], destination["port"]), ("127.0.0.1", server.port), destination)
        # Its keep-alive connection may be older than the probes (the server calls the API at its start): then the
        # address is the socket's peer, read from the kernel.
        self.assertIn(destination["address_source"], ("connect", "socket"), destination)
        self.assertEqual(destination["host"], f"localhost:{server.port}")
        self.assertIn({"kind": "env", "name": "NOMAD_TOKEN", "path": "", "key": ""}, use["sources"])
        self.assertEqual(use["process"]["exe"], binary)
        self.assertEqual(use["tool_call"]["call"]["tool"], "list_jobs")
        self.assert_go_covered(binary, "go1.26.")

    def test_real_go_mcp_server_from_npm_in_a_tool_call(self):
        self.nomad_tool_call(NOMAD)

    def test_the_same_server_stripped(self):
        stripped = os.path.join(self.dir, "mcp-nomad")
        subprocess.run(["objcopy", "--strip-all", NOMAD, stripped], check=True)
        symbols = subprocess.run(["nm", stripped], capture_output=True, text=True)
        self.assertIn("no symbols", symbols.stderr)
        self.nomad_tool_call(stripped)

    def test_a_go_server_npm_ships_stripped_in_a_tool_call(self):
        """mcp-prometheus from npm, stripped as published: its PROMETHEUS_URL carries a password in its userinfo,
        which Go's http.Client sends as Basic auth on the query a tools/call makes."""
        symbols = subprocess.run(["nm", PROMETHEUS], capture_output=True, text=True)
        self.assertIn("no symbols", symbols.stderr)  # as published: nothing stripped here
        password = "FAKEpw-" + uuid.uuid4().hex
        self.raw_secrets.append(password)
        with HttpsServer() as server:
            spec = {"command": PROMETHEUS, "args": [], "cwd": self.dir,
                    "env": {"PROMETHEUS_URL": f"https://svc:{password}@localhost:{server.port}",
                            "SSL_CERT_FILE": server.ca},
                    "callTool": {"name": "query", "arguments": {"promql": "up"}}}
            result = run_mcp_client(spec)
            self.assertEqual(result.returncode, 0, result.stderr)
            queries = [seen for seen in server.seen if seen[1].startswith("/api/v1/query")]
            self.assertTrue(queries, server.seen)
            self.assertTrue(queries[0][2]["Authorization"].startswith("Basic "))
        use = self.agent.wait_for(lambda e: e["type"] == "credential_use" and e["process"]["exe"] == PROMETHEUS
                                  and e["request"]["path"].startswith("/api/v1/query"),
                                  what="the stripped Prometheus server's credential_use")
        self.assertEqual(use["request"]["carrier"], "header:authorization")
        self.assertEqual(use["request"]["scheme"], "Basic")
        # The env var the password came from, though its value is a URL: the credential is the userinfo password.
        self.assertIn({"kind": "env", "name": "PROMETHEUS_URL", "path": "", "key": ""}, use["sources"])
        self.assertEqual(use["credential"]["type"], "basic_auth")
        self.assertEqual(use["request"]["protocol"], "http/1.1")
        destination = use["destination"]
        self.assertEqual((destination["ip"], destination["port"]), ("127.0.0.1", server.port), destination)
        self.assertEqual(use["tool_call"]["call"]["tool"], "query")
        self.assert_go_covered(PROMETHEUS, "go1.25.")
        self.assertEqual(use["workload"]["tls_coverage"], "covered")


if __name__ == "__main__":
    unittest.main(verbosity=2)
