"""End-to-end tests (root) of where credentials come from: credential files a watched process opens (secret_read)
and MCP client configs that hard-code credentials (config_exposure, at start and on change); a later use lists
the file or config among its sources. No raw secret may appear in any output."""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

from harness import Agent, AgentTestCase, base_env, fake_github_pat, fake_openai_key, fake_private_key_pem, fingerprint
from tls_server import HttpsServer

CLIENTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "clients")


# A watched Python MCP server calling an HTTPS API as real clients do: the default context (OpenSSL's default CA
# file), certifi's bundle when installed, system CA .pem files, and the private CA it is given; then it reads a key
# file. Prints every CA file it loaded. Usage: mcp_server_https_client.py PORT PRIVATE_CA [SYSTEM_PEM…]
HTTPS_CLIENT = """import os, ssl, sys, time, urllib.request
time.sleep(0.5)  # the agent attaches meanwhile
port, private_ca, system_pems = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
context = ssl.create_default_context()
loaded = [ssl.get_default_verify_paths().cafile or ""]  # what the default context loaded (SSL_CERT_FILE or cert.pem)
try:
    import certifi
    loaded.append(certifi.where())
except ImportError:
    pass
if os.path.exists("/etc/ssl/certs/ca-certificates.crt"):
    loaded.append("/etc/ssl/certs/ca-certificates.crt")
for path in loaded[1:] + system_pems + [private_ca]:
    context.load_verify_locations(cafile=path)
urllib.request.urlopen(f"https://localhost:{port}/api/v3/user", context=context).read()
with open(os.environ["KEY_FILE"]) as f:
    f.read()
print(" ".join(p for p in loaded + system_pems + [private_ca] if os.path.exists(p)))
time.sleep(0.3)
"""


class SourcesE2E(AgentTestCase):
    scratch_prefix = "credtrace-sources-"

    def events_of(self, kind, raw=None):
        return [e for e in self.agent.events() if e["type"] == kind
                and (raw is None or e.get("credential", {}).get("fingerprint") == fingerprint(raw))]

    def test_credential_file_read_by_a_watched_process_is_a_source_of_its_use(self):
        file_token, env_token = self.secret(fake_github_pat), self.secret(fake_github_pat)
        project = os.path.join(self.dir, "project")
        os.makedirs(project)
        token_file = os.path.join(project, ".env")
        with open(token_file, "w") as f:
            f.write(f"# service settings\nAPI_TOKEN={file_token}\nLOG_LEVEL=debug\n")
        with open(os.path.join(project, ".env.local"), "w") as f:
            f.write("LOG_LEVEL=debug\nREGION=eu-west-1\n")
        self.agent = Agent().start()
        with HttpsServer() as server:
            result = subprocess.run([sys.executable, os.path.join(CLIENTS, "mcp_server_tls_probe.py"), "file_token",
                                     str(server.port), server.ca],
                                    env=dict(base_env(), GITHUB_TOKEN=env_token, TOKEN_FILE=token_file),
                                    capture_output=True, text=True, timeout=60)
            self.assertEqual(result.returncode, 0, result.stderr)
        read = self.agent.wait_for(lambda e: e["type"] == "secret_read" and e.get("credential"), what="secret_read")
        self.assertEqual(read["credential"]["fingerprint"], fingerprint(file_token))
        self.assertEqual(read["credential"]["type"], "github_pat")
        self.assertEqual(read["source"], {"kind": "file", "path": token_file, "key": "API_TOKEN", "name": ""})
        self.assertEqual(read["secret_read"]["format"], "dotenv")
        self.assertEqual(read["secret_read"]["line"], 2)
        self.assertEqual(read["workload"]["mcp"]["server_name"], "mcp_server_tls_probe")
        # A matched file read without error that holds no credential is not news: counted, not reported.
        self.agent.wait_for(lambda e: e["type"] == "agent_health"
                            and int(e["agent_health"]["sensors"].get("credential_files_without_secrets", 0)) >= 1,
                            what="file without credential counted")
        self.assertEqual([e for e in self.events_of("secret_read") if e["source"]["path"].endswith("/.env.local")], [])
        use = self.agent.wait_for(lambda e: e["type"] == "credential_use"
                                  and e["credential"]["fingerprint"] == fingerprint(file_token), what="file token use")
        self.assertIn(read["source"], use["sources"])
        env_use = self.agent.wait_for(lambda e: e["type"] == "credential_use"
                                      and e["credential"]["fingerprint"] == fingerprint(env_token), what="env use")
        self.assertNotIn(read["source"], env_use["sources"])
        self.assertEqual(len(self.events_of("secret_read", file_token)), 1, "the same file version is read once")

    def test_oversized_and_binary_credential_files_are_reported_as_errors_and_counted(self):
        token = self.secret(fake_github_pat)
        project = os.path.join(self.dir, "big")
        os.makedirs(project)
        big = os.path.join(project, ".env")
        with open(big, "w") as f:
            f.write(f"API_TOKEN={token}\n" + "# padding\n" * 2000)  # ~20 KiB, over the 4 KiB cap below
        with open(os.path.join(project, ".env.local"), "wb") as f:
            f.write(b"API_TOKEN=\x00\x01binary")
        self.agent = Agent(extra_config="secrets:\n  max_file_bytes: 4096\n").start()
        script = ("import os\nos.chdir(os.environ['DIR'])\nfor name in ('.env', '.env.local'):\n"
                  "    open(name, 'rb').read()\n")
        launcher = os.path.join(self.dir, "mcp_server_reader.py")  # the name makes it a watched MCP server
        with open(launcher, "w") as f:
            f.write("import time\ntime.sleep(0.5)\n" + script)
        result = subprocess.run([sys.executable, launcher], env=dict(base_env(), DIR=project), capture_output=True,
                                text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        too_large = self.agent.wait_for(lambda e: e["type"] == "secret_read" and e["source"]["path"] == big,
                                        what="oversized file")
        self.assertEqual(too_large["secret_read"]["error"], "too_large")
        self.assertNotIn("credential", too_large)
        binary = self.agent.wait_for(lambda e: e["type"] == "secret_read"
                                     and e["source"]["path"].endswith("/.env.local"), what="binary file")
        self.assertEqual(binary["secret_read"]["error"], "binary_content")
        health = self.agent.wait_for(lambda e: e["type"] == "agent_health"
                                     and "credential_file_too_large" in e["agent_health"]["agent_errors"],
                                     what="health counter")
        errors = health["agent_health"]["agent_errors"]
        self.assertGreaterEqual(int(errors["credential_file_too_large"]), 1, errors)
        self.assertGreaterEqual(int(errors["credential_file_binary_content"]), 1, errors)

    def test_public_ca_bundles_are_counted_not_reported_and_a_private_key_pem_is(self):
        """Every Python HTTPS client opens CA bundles (OpenSSL's default cert.pem, certifi's cacert.pem,
        /etc/ssl/certs/*.pem): certificates only, nothing secret. They are counted in agent_health, never a
        secret_read; a .pem holding a private key still is one."""
        pem, key_body = fake_private_key_pem()
        self.raw_secrets.append(key_body)
        self.raw_secrets.extend(line for line in pem.splitlines() if line and not line.startswith("-----"))
        key_file = os.path.join(self.dir, "deploy-key.pem")
        with open(key_file, "w") as f:
            f.write(pem)
        os.chmod(key_file, 0o600)
        self.agent = Agent().start()
        with HttpsServer() as server:
            private_ca = os.path.join(self.dir, "trust", "corp-root-ca.pem")  # a company CA shipped as a .pem
            os.makedirs(os.path.dirname(private_ca))
            shutil.copy(server.ca, private_ca)
            system_pems = sorted(glob.glob("/etc/ssl/certs/*.pem"))[:3]
            script = os.path.join(self.dir, "mcp_server_https_client.py")  # the name makes it a watched MCP server
            with open(script, "w") as f:
                f.write(HTTPS_CLIENT)
            result = subprocess.run([sys.executable, script, str(server.port), private_ca, *system_pems],
                                    env=dict(base_env(), KEY_FILE=key_file), capture_output=True, text=True,
                                    timeout=60)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertTrue(server.seen, "the HTTPS request did not reach the server")
        bundles = set(result.stdout.split())  # every CA file the client loaded (certifi's if installed)
        self.assertIn(private_ca, bundles)
        self.agent.wait_for(lambda e: e["type"] == "secret_read" and e["source"]["path"] == key_file
                            and e.get("credential", {}).get("fingerprint") == fingerprint(key_body),
                            what="private key in a .pem")
        counted = [p for p in bundles if p.endswith(".pem")]  # the credential pattern is *.pem
        health = self.agent.wait_for(
            lambda e: e["type"] == "agent_health"
            and int(e["agent_health"]["sensors"].get("credential_files_without_secrets", 0)) >= len(counted),
            what=f"{len(counted)} CA bundles counted")
        sensors = health["agent_health"]["sensors"]
        self.assertGreaterEqual(int(sensors["credential_files_read"]), len(counted) + 1, sensors)
        reads = self.events_of("secret_read")
        self.assertEqual([e["source"]["path"] for e in reads if e["source"]["path"] != key_file], [],
                         "a CA bundle (or other file without a secret) was reported")
        key_reads = [e for e in reads if e["source"]["path"] == key_file]
        self.assertEqual(len(key_reads), 1, key_reads)
        self.assertEqual(key_reads[0]["credential"]["type"], "private_key")
        self.assertEqual(key_reads[0]["secret_read"]["error"], "")

    def write_config(self, path, servers):
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"mcpServers": servers}, f, indent=2)
        os.rename(tmp, path)  # editors save by rename: the directory watch must see it

    def test_mcp_config_exposures_at_start_and_on_change_and_as_sources(self):
        hard_coded, later, used = self.secret(fake_openai_key), self.secret(fake_github_pat), self.secret(fake_github_pat)
        config = os.path.join(self.dir, "claude_desktop_config.json")
        self.write_config(config, {
            "openai-tools": {"command": "npx", "args": ["-y", "openai-mcp"], "env": {"OPENAI_API_KEY": hard_coded}},
            "github": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"],
                       "env": {"GITHUB_TOKEN": "${env:GITHUB_TOKEN}"}},
        })
        self.agent = Agent(extra_config=f"  config_paths: [{json.dumps(config)}]\n").start()
        exposure = self.agent.wait_for(lambda e: e["type"] == "config_exposure" and e.get("credential"),
                                       what="hard-coded key")
        self.assertEqual(exposure["credential"]["fingerprint"], fingerprint(hard_coded))
        self.assertEqual(exposure["credential"]["type"], "openai")
        detail = exposure["config_exposure"]
        self.assertEqual((detail["server_name"], detail["field"]), ("openai-tools", "mcpServers.openai-tools.env.OPENAI_API_KEY"))
        self.assertEqual(exposure["source"]["path"], config)
        reference = self.agent.wait_for(lambda e: e["type"] == "config_exposure" and not e.get("credential"),
                                        what="reference")
        self.assertEqual(reference["config_exposure"]["reference"], "${env:GITHUB_TOKEN}")
        # The file changes: the new hard-coded token is reported, the unchanged findings are not repeated.
        self.write_config(config, {
            "openai-tools": {"command": "npx", "args": ["-y", "openai-mcp"], "env": {"OPENAI_API_KEY": hard_coded}},
            "github": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"],
                       "env": {"GITHUB_TOKEN": later}},
        })
        self.agent.wait_for(lambda e: e["type"] == "config_exposure"
                            and e.get("credential", {}).get("fingerprint") == fingerprint(later), what="change")
        # A watched process that uses a credential held in the config lists the config among its sources.
        self.write_config(config, {"tools": {"command": "npx", "args": ["-y", "x"], "env": {"API_KEY": used}}})
        self.agent.wait_for(lambda e: e["type"] == "config_exposure"
                            and e.get("credential", {}).get("fingerprint") == fingerprint(used), what="used key")
        with HttpsServer() as server:
            result = subprocess.run([sys.executable, os.path.join(CLIENTS, "mcp_server_tls_probe.py"), "urllib",
                                     str(server.port), server.ca], env=dict(base_env(), GITHUB_TOKEN=used),
                                    capture_output=True, text=True, timeout=60)
            self.assertEqual(result.returncode, 0, result.stderr)
        use = self.agent.wait_for(lambda e: e["type"] == "credential_use"
                                  and e["credential"]["fingerprint"] == fingerprint(used), what="use")
        self.assertIn({"kind": "config", "path": config, "key": "mcpServers.tools.env.API_KEY", "name": "tools"},
                      use["sources"])
        self.assertIn({"kind": "env", "name": "GITHUB_TOKEN", "path": "", "key": ""}, use["sources"])

    def test_absent_mcp_config_directories_are_not_watch_failures_and_are_picked_up_when_created(self):
        """On this host, with every home's client config locations: directories of clients that are not installed
        are counted as absent, not as watch failures (which must be 0 here). A client installed after the agent
        started (its directory created later) has its config read when it appears."""
        late_key = self.secret(fake_github_pat)
        config = os.path.join(self.dir, "later", "project", ".cursor", "mcp.json")
        self.agent = Agent(scan_user_homes=True, extra_config=f"  config_paths: [{json.dumps(config)}]\n").start()
        health = self.agent.wait_for(lambda e: e["type"] == "agent_health", what="health")
        sensors = health["agent_health"]["sensors"]
        self.assertEqual(int(sensors["mcp_config_watch_failures"]), 0, sensors)
        self.assertGreater(int(sensors["mcp_config_dirs_absent"]), 0, sensors)
        absent_before = int(sensors["mcp_config_dirs_absent"])
        os.makedirs(os.path.dirname(config))
        self.write_config(config, {"github": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"],
                                              "env": {"GITHUB_TOKEN": late_key}}})
        exposure = self.agent.wait_for(lambda e: e["type"] == "config_exposure"
                                       and e.get("credential", {}).get("fingerprint") == fingerprint(late_key),
                                       what="config in a directory created after the start")
        self.assertEqual(exposure["source"]["path"], config)
        health = self.agent.wait_for(lambda e: e["type"] == "agent_health"
                                     and int(e["agent_health"]["sensors"]["mcp_config_dirs_appeared"]) >= 1,
                                     what="appeared directory counted")
        sensors = health["agent_health"]["sensors"]
        self.assertLess(int(sensors["mcp_config_dirs_absent"]), absent_before, sensors)
        self.assertEqual(int(sensors["mcp_config_watch_failures"]), 0, sensors)

    def test_user_config_symlinked_to_a_file_the_user_cannot_read_is_not_read(self):
        """The agent reads as root; a user's config is read only as far as that user could read it: a symlink from
        their ~/.cursor/mcp.json to a root-only file is counted as permission_denied and none of its keys is
        reported, while their own (0600) Claude Desktop config is read."""
        root_only_key, own_key = self.secret(fake_openai_key), self.secret(fake_github_pat)
        home = os.path.join(self.dir, "home", "nobody")
        os.makedirs(os.path.join(home, ".cursor"))
        os.makedirs(os.path.join(home, ".config", "Claude"))
        private = os.path.join(self.dir, "private-mcp.json")
        with open(private, "w") as f:
            json.dump({"mcpServers": {"ops": {"command": "ops-mcp", "env": {"OPENAI_API_KEY": root_only_key}}}}, f)
        os.chmod(private, 0o600)
        link = os.path.join(home, ".cursor", "mcp.json")
        os.symlink(private, link)
        own = os.path.join(home, ".config", "Claude", "claude_desktop_config.json")
        with open(own, "w") as f:
            json.dump({"mcpServers": {"gh": {"command": "gh-mcp", "env": {"GITHUB_TOKEN": own_key}}}}, f)
        os.chmod(own, 0o600)
        for path in (os.path.join(self.dir, "home"), home, os.path.dirname(link), os.path.dirname(own),
                     os.path.dirname(os.path.dirname(own)), own):
            os.chown(path, 65534, 65534)
        os.lchown(link, 65534, 65534)
        os.chmod(self.dir, 0o755)
        passwd = os.path.join(self.dir, "passwd")
        with open(passwd, "w") as f:
            f.write(f"nobody:x:65534:65534:nobody:{home}:/usr/sbin/nologin\n")
        self.agent = Agent(scan_user_homes=True, extra_config=f"  passwd_file: {json.dumps(passwd)}\n").start()
        health = self.agent.wait_for(lambda e: e["type"] == "agent_health"
                                     and "mcp_config_permission_denied" in e["agent_health"]["agent_errors"],
                                     what="refusal counted")
        self.assertEqual(int(health["agent_health"]["agent_errors"]["mcp_config_permission_denied"]), 1)
        read = self.agent.wait_for(lambda e: e["type"] == "config_exposure" and e.get("credential")
                                   and e["source"]["path"] == own, what="own config")
        self.assertEqual(read["credential"]["fingerprint"], fingerprint(own_key))
        self.assertEqual(self.events_of("config_exposure", root_only_key), [])
        self.assertEqual([e for e in self.agent.events() if e["type"] == "config_exposure"
                          and e["source"]["path"] == link], [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
