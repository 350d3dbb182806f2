"""End-to-end tests (root) of processes that are gone before the agent looks: credential files a watched server (or
its child) opens and then exits at once are still read, in the root and directory that process saw (the kernel
walks the directory at the open; the agent pins each watched mount namespace's root). No raw secret may appear in
any output."""
import os
import shutil
import string
import subprocess
import sys
import tempfile
import unittest

from harness import Agent, AgentTestCase, base_env, fake_github_pat, fingerprint, _random

READ_AND_EXIT = """import os
with open(os.path.expanduser("~/.aws/credentials")) as f:
    f.read()
with open(".env") as f:  # relative: resolved in the cwd the kernel saw, not /proc/PID/cwd (gone by then)
    f.read()
"""


def fake_aws_key_pair():
    return "AKIA" + _random(string.ascii_uppercase + "234567", 16), _random(string.ascii_letters + string.digits + "/+", 40)


class ShortLivedE2E(AgentTestCase):
    scratch_prefix = "credtrace-short-"

    def tearDown(self):
        subprocess.run(["umount", "-l", os.path.join(self.dir, "project")], capture_output=True)
        super().tearDown()

    def reads_of(self, raw):
        return [e for e in self.agent.events() if e["type"] == "secret_read"
                and e.get("credential", {}).get("fingerprint") == fingerprint(raw)]

    def read_of(self, raw, what):
        return self.agent.wait_for(lambda e: e["type"] == "secret_read"
                                   and e.get("credential", {}).get("fingerprint") == fingerprint(raw), what=what)

    def test_server_that_reads_credential_files_and_exits_at_once(self):
        key_id, key_secret = fake_aws_key_pair()
        self.secret(key_id), self.secret(key_secret)
        token = self.secret(fake_github_pat())
        home, project = os.path.join(self.dir, "home"), os.path.join(self.dir, "project")
        os.makedirs(os.path.join(home, ".aws"))
        os.makedirs(project)
        credentials = os.path.join(home, ".aws", "credentials")
        with open(credentials, "w") as f:
            f.write(f"[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {key_secret}\n")
        with open(os.path.join(project, ".env"), "w") as f:
            f.write(f"API_TOKEN={token}\n")
        server = os.path.join(self.dir, "mcp_server_quick_reader.py")
        with open(server, "w") as f:
            f.write(READ_AND_EXIT)
        self.agent = Agent().start()
        result = subprocess.run([sys.executable, server], cwd=project, env=dict(base_env(), HOME=home),
                                capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        aws = self.read_of(key_id, "aws key read")
        self.assertEqual(aws["source"]["path"], credentials)
        self.assertEqual(aws["credential"]["type"], "aws_access_key_id")
        self.assertEqual(aws["workload"]["mcp"]["server_name"], "mcp_server_quick_reader")
        dotenv = self.read_of(token, ".env read")
        self.assertEqual(dotenv["source"]["path"], os.path.join(project, ".env"))
        for read in (aws, dotenv):
            self.assertFalse(read["secret_read"].get("modified_after_open", False))
            self.assertIn("read_delay_ms", read["secret_read"])  # how long after the open the agent read it
        sensors = self.agent.wait_for(lambda e: e["type"] == "agent_health", timeout=6, what="health")["agent_health"]["sensors"]
        self.assertEqual(int(sensors.get("credential_file_roots_unavailable", 0)), 0, sensors)

    def test_environment_of_a_server_and_a_child_that_exit_at_once(self):
        """The kernel reads the environment at exec: a server and its child that are gone before the agent looks
        still have the secrets handed to them in their environment reported."""
        server_token, child_token = self.secret(fake_github_pat()), self.secret(fake_github_pat())
        server = os.path.join(self.dir, "mcp-server-env-only")  # a shell server and child that live ~1 ms each
        with open(server, "w") as f:
            f.write('#!/bin/sh\nCHILD_TOKEN="$SEED" /bin/true\n')
        os.chmod(server, 0o755)
        self.agent = Agent().start()
        result = subprocess.run([server], env=dict(base_env(), GITHUB_TOKEN=server_token, SEED=child_token),
                                capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        exposed = lambda raw, name: self.agent.wait_for(
            lambda e: e["type"] == "secret_exposure" and e["source"] == {"kind": "env", "name": name, "path": "",
                                                                        "key": ""}
            and e["credential"]["fingerprint"] == fingerprint(raw), what=f"{name} exposure")
        start = self.agent.wait_for(lambda e: e["type"] == "mcp_server_start"
                                    and e["workload"]["mcp"]["server_name"] == "mcp-server-env-only", what="start")
        on_server = exposed(server_token, "GITHUB_TOKEN")
        on_child = exposed(child_token, "CHILD_TOKEN")
        self.assertEqual(on_server["process"]["pid"], start["process"]["pid"])
        self.assertNotEqual(on_child["process"]["pid"], start["process"]["pid"])
        self.assertEqual(on_child["workload"]["id"], start["workload"]["id"])
        health = self.agent.wait_for(lambda e: e["type"] == "agent_health", timeout=6, what="health")
        self.assertGreaterEqual(int(health["agent_health"]["sensors"]["exec_environments_used"]), 2)

    def test_child_in_a_private_mount_namespace_reads_the_file_its_namespace_holds(self):
        """The server runs in a mount namespace of its own where project/.env is another file than the host's;
        its child reads it and exits at once. The agent reads the namespace's file through the pinned root."""
        host_token, ns_token = self.secret(fake_github_pat()), self.secret(fake_github_pat())
        project = os.path.join(self.dir, "project")
        os.makedirs(project)
        with open(os.path.join(project, ".env"), "w") as f:
            f.write(f"API_TOKEN={host_token}\n")
        server = os.path.join(self.dir, "mcp_server_in_namespace.py")
        with open(server, "w") as f:
            f.write("import subprocess, sys, time\ntime.sleep(0.5)\n"
                    "subprocess.run([sys.executable, '-c', 'open(\".env\").read()'], check=True)\ntime.sleep(1.5)\n")
        secret_file = os.path.join(self.dir, "ns.env")  # copied into the namespace's tmpfs, then removed
        with open(secret_file, "w") as f:
            f.write(f"API_TOKEN={ns_token}\n")
        self.agent = Agent().start()
        script = (f"mount -t tmpfs none {project} && cp {secret_file} {project}/.env && rm {secret_file} && "
                  f"cd {project} && exec {sys.executable} {server}")
        result = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                                env=base_env(), capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        read = self.read_of(ns_token, "the namespace's .env read")
        self.assertEqual(read["source"]["path"], os.path.join(project, ".env"))
        self.assertNotEqual(read["process"]["pid"], read["workload"]["pid"], "read by the child, not the server")
        self.assertEqual(self.reads_of(host_token), [], "the host's file is not what the process read")


if __name__ == "__main__":
    unittest.main(verbosity=2)
