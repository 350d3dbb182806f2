"""The agent with exactly its systemd unit's user and capabilities (read from packaging/systemd/credtrace-agent.service,
applied with setpriv after the unit's root preparation step): it still finds an MCP server, its env secret and the TLS
credential use of the curl it runs, with the TLS hold on."""
import os
import pwd
import re
import shutil
import subprocess
import unittest

from harness import Agent, AgentTestCase, base_env, fake_github_pat, fingerprint
from tls_server import HttpsServer

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
UNIT = os.path.join(ROOT, "packaging", "systemd", "credtrace-agent.service")
PREPARE = os.path.join(ROOT, "packaging", "systemd", "credtrace-agent-prepare")


def unit_setting(name):
    with open(UNIT) as f:
        values = re.findall(rf"^{name}=(.*)$", f.read(), re.M)
    if len(values) != 1:
        raise AssertionError(f"{name}= appears {len(values)} times in {UNIT}")
    return values[0].strip()


class LeastPrivilegeE2E(AgentTestCase):
    scratch_prefix = "credtrace-leastpriv-"

    def setUp(self):
        super().setUp()
        self.user = unit_setting("User")
        self.assertEqual(unit_setting("Group"), self.user)
        try:
            pwd.getpwnam(self.user)
        except KeyError:  # as the package's postinst makes it
            subprocess.run(["adduser", "--system", "--group", "--no-create-home", "--quiet", self.user], check=True)
            self.addCleanup(subprocess.run, ["deluser", "--system", "--quiet", self.user], capture_output=True)

    def test_unit_user_and_capabilities_still_see_server_secret_and_tls_use(self):
        capabilities = unit_setting("AmbientCapabilities").split()
        self.assertEqual(sorted(capabilities), sorted(unit_setting("CapabilityBoundingSet").split()))
        subprocess.run([PREPARE, self.user], check=True)
        token = self.secret(fake_github_pat)
        agent = Agent(extra_config=f"preload:\n  socket: {self.dir}/run/preload.sock\n")
        os.makedirs(os.path.join(self.dir, "run"))
        shutil.chown(os.path.join(self.dir, "run"), self.user, self.user)
        for path in (agent.dir, agent.config_path):
            shutil.chown(path, self.user, self.user)
        caps = ",".join(["-all"] + ["+" + c.removeprefix("CAP_").lower() for c in capabilities])
        self.agent = agent.start(prefix=["setpriv", f"--reuid={self.user}", f"--regid={self.user}", "--clear-groups",
                                         f"--inh-caps={caps}", f"--ambient-caps={caps}", "--no-new-privs"])
        ready = agent.wait_for(lambda e: e["type"] == "agent_ready")["agent_ready"]
        self.assertTrue(ready["tls_hold"].startswith("on (ledger "), ready["tls_hold"])
        status = open(f"/proc/{agent.proc.pid}/status").read()
        self.assertRegex(status, rf"Uid:\s+{pwd.getpwnam(self.user).pw_uid}\s")
        with HttpsServer() as server:
            script = os.path.join(self.dir, "mcp-server-leastpriv")
            with open(script, "w") as f:
                f.write(f'#!/bin/sh\nsleep 0.5\ncurl -sS --cacert {server.ca} -H "Authorization: Bearer $GITHUB_TOKEN" '
                        f'https://localhost:{server.port}/user >/dev/null\n')
            os.chmod(script, 0o755)
            proc = subprocess.Popen([script], env=dict(base_env(), GITHUB_TOKEN=token))
            start = agent.wait_for(lambda e: e["type"] == "mcp_server_start" and e["process"]["pid"] == proc.pid,
                                   what="the server's start")
            exposure = agent.wait_for(lambda e: e["type"] == "secret_exposure"
                                      and e["workload"]["id"] == start["workload"]["id"], what="its env secret")
            self.assertEqual(exposure["credential"]["fingerprint"], fingerprint(token))
            try:
                use = agent.wait_for(lambda e: e["type"] == "credential_use"
                                     and e["credential"]["fingerprint"] == fingerprint(token), what="curl's TLS use")
            except AssertionError:
                health = [e for e in agent.events() if e["type"] == "agent_health"][-1]["agent_health"]
                raise AssertionError((health.get("agent_errors"), {k: v for k, v in health["sensors"].items()
                                      if k.startswith("tls") and v != "0"}, agent.read_log()[-3000:]))
            self.assertEqual(os.path.basename(use["process"]["exe"]), "curl")
            self.assertEqual(proc.wait(timeout=20), 0)


if __name__ == "__main__":
    unittest.main()
