"""End-to-end TLS coverage report (root): for every watched server, mcp_server_start lists the TLS implementations
found in it and whether each is probed (with its probe points) or why not, later libraries come as tls_coverage
events, and every event's workload carries the union (tls, tls_coverage). Node (OpenSSL inside the executable),
Python (libssl mapped at `import ssl`, after the start), gnutls-cli as a server's child (GnuTLS: unsupported), a
rustls client built here (unsupported), a Go program without crypto/tls (none_found), Bun from npm (BoringSSL
without symbols: found by its signature and probed; its credential_use seen) and a copy of Bun whose signature was
altered (refused: "signature mismatch"). Each program still runs unharmed; no raw secret is written anywhere."""
import os
import shutil
import subprocess
import textwrap
import unittest

from harness import NPM_DIR, Agent, AgentTestCase, base_env, fake_github_pat, fingerprint
from tls_server import HttpsServer

HERE = os.path.dirname(os.path.abspath(__file__))
GO_PROGRAMS = os.environ.get("CREDTRACE_GO_PROGRAMS", os.path.join(HERE, "../../build/tests/go"))
RUST_PROGRAMS = os.environ.get("CREDTRACE_RUST_PROGRAMS", os.path.join(HERE, "../../build/tests/rust"))
BUN = os.path.join(NPM_DIR, "node_modules", "@oven", "bun-linux-x64", "bin", "bun")
BUN_SSL_WRITE = 0x23ffc30  # bun 1.4.5: SSL_write's file offset (tests/unit/tls/boringssl_locator_test.cpp)
BUN_FETCH = """\
await new Promise(resolve => setTimeout(resolve, 500));  // called some time after its start (see test_go_tls_e2e)
const answer = await fetch(process.argv[2], {headers: {Authorization: "Bearer " + process.env.API_TOKEN}});
console.log(answer.status, (await answer.text()).length > 0);
"""


class TlsCoverage(AgentTestCase):
    scratch_prefix = "credtrace-coverage-"

    def setUp(self):
        super().setUp()
        self.agent = Agent().start()

    def script(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(textwrap.dedent(text))
        os.chmod(path, 0o755)
        return path

    def server_start(self, pid):
        return self.agent.wait_for(lambda e: e["type"] == "mcp_server_start" and e["process"]["pid"] == pid,
                                   what=f"mcp_server_start of {pid}")

    def coverage_event(self, pred, what):
        return self.agent.wait_for(lambda e: e["type"] == "tls_coverage" and pred(e), what=what)

    def test_node_openssl_is_covered_at_start(self):
        """node holds OpenSSL in its executable: probed at its start, with its probe points."""
        server = self.script("mcp-server-cov-node.mjs", "setTimeout(() => {}, 1500);\n")
        proc = subprocess.Popen(["node", server], env=base_env())
        start = self.server_start(proc.pid)
        self.assertEqual(proc.wait(timeout=30), 0)
        detail = start["mcp_server_start"]
        self.assertEqual(detail["tls_coverage"], "covered", detail)
        node = [t for t in detail["tls"] if t["implementation"] == "openssl"]
        self.assertEqual(len(node), 1, detail)
        self.assertTrue(node[0]["probed"])
        self.assertEqual(os.path.realpath(node[0]["file"]), os.path.realpath(shutil.which("node")))
        self.assertTrue(any(p.startswith("SSL_write") for p in node[0]["probes"]), node[0])
        self.assertEqual(start["workload"]["tls_coverage"], "covered")
        self.assertEqual(start["workload"]["tls"][0].get("probes", []), [])  # the workload carries no probe points

    def test_python_libssl_mapped_later_comes_as_tls_coverage(self):
        """python3 maps libssl at `import ssl`, after its start: none found at start, then a tls_coverage event, and
        the credential_use it makes carries the covered workload."""
        token = fake_github_pat()
        self.raw_secrets.append(token)
        server = self.script("mcp-server-cov.py", """\
            import os, sys, time, urllib.request
            time.sleep(0.5)
            import ssl
            context = ssl.create_default_context(cafile=os.environ["CA_FILE"])
            request = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + os.environ["API_TOKEN"]})
            urllib.request.urlopen(request, context=context).read()
            """)
        with HttpsServer() as https:
            proc = subprocess.Popen(["python3", server, f"https://localhost:{https.port}/api/v3/user"],
                                    env=dict(base_env(), API_TOKEN=token, CA_FILE=https.ca))
            self.assertEqual(proc.wait(timeout=30), 0)
        start = self.server_start(proc.pid)
        self.assertEqual(start["mcp_server_start"]["tls_coverage"], "none_found", start["mcp_server_start"])
        self.assertEqual(start["mcp_server_start"].get("tls", []), [])
        later = self.coverage_event(lambda e: e["process"]["pid"] == proc.pid, "python's libssl in tls_coverage")
        libssl = [t for t in later["tls_coverage"]["tls"] if t["implementation"] == "openssl"]
        self.assertEqual(len(libssl), 1, later)
        self.assertIn("libssl.so", libssl[0]["file"])
        self.assertTrue(libssl[0]["probed"])
        self.assertEqual(later["tls_coverage"]["tls_coverage"], "covered")
        self.assertEqual(later["workload"]["tls_coverage"], "covered")
        use = self.agent.wait_for(lambda e: e["type"] == "credential_use"
                                  and e["credential"]["fingerprint"] == fingerprint(token), what="python's use")
        self.assertEqual(use["workload"]["tls_coverage"], "covered")

    def test_gnutls_child_is_reported_unsupported_and_runs_unharmed(self):
        """A server's child speaks TLS through GnuTLS, which nothing probes: its tls_coverage says so, the workload
        is not covered, and the request it sends still gets its answer."""
        gnutls_cli = shutil.which("gnutls-cli")
        self.assertIsNotNone(gnutls_cli, "gnutls-cli missing (apt gnutls-bin: scripts/install-deps.sh)")
        token = fake_github_pat()
        self.raw_secrets.append(token)
        server = self.script("mcp-server-cov-gnutls.sh", """\
            #!/bin/bash
            printf 'GET /api/v3/user HTTP/1.1\\r\\nHost: localhost\\r\\nAuthorization: Bearer %s\\r\\nConnection: close\\r\\n\\r\\n' "$API_TOKEN" |
              gnutls-cli --x509cafile "$CA_FILE" -p "$1" localhost > "$2" 2>/dev/null
            """)
        answer = os.path.join(self.dir, "answer.txt")
        with HttpsServer() as https:
            proc = subprocess.Popen(["bash", server, str(https.port), answer],
                                    env=dict(base_env(), API_TOKEN=token, CA_FILE=https.ca))
            self.assertEqual(proc.wait(timeout=30), 0)
            self.assertEqual([seen[:2] for seen in https.seen], [("GET", "/api/v3/user")])
        with open(answer) as f:
            self.assertIn("HTTP/1.1 200", f.read())
        event = self.coverage_event(lambda e: e["workload"]["pid"] == proc.pid and any(
            t["implementation"] == "gnutls" for t in e["tls_coverage"]["tls"]), "gnutls-cli's tls_coverage")
        gnutls = [t for t in event["tls_coverage"]["tls"] if t["implementation"] == "gnutls"][0]
        self.assertFalse(gnutls["probed"])
        self.assertEqual(gnutls["reason"], "unsupported: gnutls")
        self.assertIn("libgnutls.so", gnutls["file"])
        self.assertEqual(event["tls_coverage"]["tls_coverage"], "not_covered")
        self.assertEqual(event["workload"]["tls_coverage"], "not_covered")
        self.assertEqual(os.path.basename(event["process"]["exe"]), "gnutls-cli")

    def test_go_program_without_crypto_tls_reports_none_found(self):
        source = os.path.join(GO_PROGRAMS, "no_tls")
        self.assertTrue(os.access(source, os.X_OK), f"{source} missing: build the tree (tests/go/build.sh)")
        binary = os.path.join(self.dir, "mcp-server-go-notls")
        shutil.copy(source, binary)
        result = subprocess.run([binary, "300ms"], env=dict(base_env(), API_TOKEN="not-a-secret"),
                                capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("token length 12", result.stdout)
        pid = self.agent.wait_for(lambda e: e["type"] == "mcp_server_start" and e["process"]["exe"] == binary,
                                  what="the Go server's start")["process"]["pid"]
        start = self.server_start(pid)
        self.assertEqual(start["mcp_server_start"]["tls_coverage"], "none_found")
        self.assertEqual(start["workload"]["tls_coverage"], "none_found")

    def test_rustls_server_is_reported_unsupported_and_runs_unharmed(self):
        source = os.path.join(RUST_PROGRAMS, "rustls_client")
        self.assertTrue(os.access(source, os.X_OK), f"{source} missing: build the tree (tests/rust/build.sh)")
        binary = os.path.join(self.dir, "mcp-server-rustls")
        shutil.copy(source, binary)
        token = fake_github_pat()
        self.raw_secrets.append(token)
        with HttpsServer() as https:
            result = subprocess.run([binary, str(https.port), "/api/v3/user"], capture_output=True, text=True,
                                    env=dict(base_env(), API_TOKEN=token, CA_FILE=https.ca), timeout=30)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual([seen[:2] for seen in https.seen], [("GET", "/api/v3/user")])
        self.assertIn("HTTP/1.1 200", result.stdout)
        start = self.agent.wait_for(lambda e: e["type"] == "mcp_server_start" and e["process"]["exe"] == binary,
                                    what="the rustls server's start")
        detail = start["mcp_server_start"]
        self.assertEqual(detail["tls"], [{"implementation": "rustls", "file": binary, "version": "", "probed": False,
                                          "reason": "unsupported: rustls", "probes": []}])
        self.assertEqual(detail["tls_coverage"], "not_covered")
        self.assertEqual(start["workload"]["tls_coverage"], "not_covered")

    def bun_fetch(self, bun, token):
        script = self.script("mcp-server-bun-fetch.mjs", BUN_FETCH)
        with HttpsServer() as https:
            proc = subprocess.run([bun, script, f"https://localhost:{https.port}/v1/chat/completions"],
                                  env=dict(base_env(), API_TOKEN=token, NODE_EXTRA_CA_CERTS=https.ca),
                                  capture_output=True, text=True, timeout=60)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertEqual(proc.stdout.strip(), "200 true")
            self.assertEqual([seen[:2] for seen in https.seen], [("GET", "/v1/chat/completions")])
        start = self.agent.wait_for(lambda e: e["type"] == "mcp_server_start" and e["process"]["exe"] == bun,
                                    what="bun's start")
        return start, https.port

    def test_bun_boringssl_found_by_signature_and_its_fetch_seen(self):
        self.assertTrue(os.access(BUN, os.X_OK), f"{BUN} missing: npm ci in tests/e2e/npm")
        token = fake_github_pat()
        self.raw_secrets.append(token)
        start, port = self.bun_fetch(BUN, token)
        detail = start["mcp_server_start"]
        self.assertEqual(detail["tls_coverage"], "covered", detail)
        [boringssl] = [t for t in detail["tls"] if t["implementation"] == "boringssl"]
        self.assertTrue(boringssl["probed"], boringssl)
        self.assertEqual(boringssl["file"], BUN)
        kinds = sorted(p.split("@")[0] for p in boringssl["probes"])
        self.assertEqual(kinds, ["SSL_read", "SSL_read return", "SSL_write"], boringssl["probes"])
        self.assertIn(f"+{BUN_SSL_WRITE:#x} (push %rbp, emulated", " ".join(boringssl["probes"]))
        use = self.agent.wait_for(lambda e: e["type"] == "credential_use"
                                  and e["credential"]["fingerprint"] == fingerprint(token), what="bun's fetch")
        self.assertEqual(use["request"]["carrier"], "header:authorization")
        self.assertEqual(use["request"]["protocol"], "http/1.1")
        self.assertEqual(use["request"]["path"], "/v1/chat/completions")
        self.assertEqual((use["destination"]["ip"], use["destination"]["port"]), ("127.0.0.1", port), use)
        self.assertEqual(use["destination"]["sni"], "localhost")  # from the ClientHello Bun wrote to the socket
        self.assertIn({"kind": "env", "name": "API_TOKEN", "path": "", "key": ""}, use["sources"])
        self.assertEqual(use["workload"]["tls_coverage"], "covered")

    def test_bun_with_an_altered_signature_is_refused_and_runs_unharmed(self):
        """A copy of Bun whose SSL_write has one error reason changed (226 → 227): the signature does not match, so
        nothing is probed there; the report says why, and the fetch still works."""
        self.assertTrue(os.access(BUN, os.X_OK), f"{BUN} missing: npm ci in tests/e2e/npm")
        altered = os.path.join(self.dir, "bun")
        shutil.copy(BUN, altered)
        with open(altered, "r+b") as f:
            f.seek(BUN_SSL_WRITE)
            code = f.read(0x200)
            at = code.find(bytes.fromhex("bae2000000"))  # mov edx, 226 (SSL_R_UNINITIALIZED)
            self.assertGreater(at, 0)
            f.seek(BUN_SSL_WRITE + at + 1)
            f.write(bytes([0xe3]))
        token = fake_github_pat()
        self.raw_secrets.append(token)
        start, _ = self.bun_fetch(altered, token)
        detail = start["mcp_server_start"]
        [boringssl] = [t for t in detail["tls"] if t["implementation"] == "boringssl"]
        self.assertFalse(boringssl["probed"])
        self.assertTrue(boringssl["reason"].startswith("signature mismatch: "), boringssl)
        self.assertEqual(detail["tls_coverage"], "not_covered")
        self.assertFalse([e for e in self.agent.events() if e["type"] == "credential_use"
                          and e["credential"]["fingerprint"] == fingerprint(token)])


if __name__ == "__main__":
    unittest.main(verbosity=2)
