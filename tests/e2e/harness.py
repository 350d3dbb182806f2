"""End-to-end harness: runs the real credtrace-agent with a temporary config and reads its JSON lines."""
import hashlib
import hmac
import json
import os
import secrets
import shutil
import signal
import string
import subprocess
import tempfile
import time
import unittest

AGENT = os.environ.get("CREDTRACE_AGENT", os.path.join(os.path.dirname(__file__), "../../build/credtrace-agent"))
NPM_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "npm"))
FLEET_KEY = "e2e-fleet-key-0123456789abcdef"

_rng = secrets.SystemRandom()


def _random(charset, n):
    return "".join(_rng.choice(charset) for _ in range(n))


ALNUM = string.ascii_letters + string.digits


def fake_github_pat():
    return "ghp_" + _random(ALNUM, 36)


def fake_openai_key():
    part = string.ascii_letters + string.digits + "_-"
    return "sk-proj-" + _random(part, 74) + "T3BlbkFJ" + _random(part, 74)


def fake_anthropic_key():
    return "sk-ant-api03-" + _random(ALNUM + "_-", 93) + "AA"


def fake_gitlab_pat():
    return "glpat-" + _random(ALNUM + "_-", 20)


def fake_jwt(iat=1790000000, ttl=3600, aud=("mcp-api",)):
    """A realistically shaped (unsigned-for-real) JWT: HS256 header, iss/aud/iat/exp claims, random signature."""
    import base64
    enc = lambda obj: base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    header = enc({"alg": "HS256", "typ": "JWT"})
    payload = enc({"iss": "https://auth.example.test", "aud": list(aud), "iat": iat, "exp": iat + ttl,
                   "sub": "svc-" + _random(ALNUM, 8)})
    return f"{header}.{payload}.{_random(ALNUM + '-_', 43)}"


def fake_password():
    return "Pw-" + _random(ALNUM, 17)


def fake_private_key_pem():
    """A freshly generated EC P-256 private key (PKCS#8 PEM, openssl CLI): (pem_text, body). The agent fingerprints
    the body (the base64 between the BEGIN and END lines, without whitespace); every body line is secret too."""
    pem = subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
                         check=True, capture_output=True, text=True).stdout
    lines = [line for line in pem.splitlines() if line and not line.startswith("-----")]
    return pem, "".join(lines)


def fingerprint(value):
    """What the agent must export for a secret: HMAC-SHA256 under the fleet key, lowercase hex."""
    return hmac.new(FLEET_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


def base_env():
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root")}


class Agent:
    """A running credtrace-agent writing JSON lines to a temp file; stop() sends SIGTERM."""

    def __init__(self, extra_config="", client_patterns=("mcp_client*",), scan_user_homes=False):
        self.dir = tempfile.mkdtemp(prefix="credtrace-e2e-")
        self.events_path = os.path.join(self.dir, "events.jsonl")
        self.log_path = os.path.join(self.dir, "agent.log")
        self.config_path = os.path.join(self.dir, "credtrace.yaml")
        patterns = ", ".join(json.dumps(p) for p in client_patterns)
        with open(self.config_path, "w") as f:
            f.write(
                f"""state_dir: {self.dir}
health_interval_seconds: 2
output:
  json: {self.events_path}
fingerprint:
  key: {FLEET_KEY}
mcp:
  scan_user_homes: {"true" if scan_user_homes else "false"}
  client_patterns: [{patterns}]
{extra_config}
"""
            )
        self.proc = None
        self.returncode = None

    def start(self, timeout=30, env=None, prefix=()):
        """env: the agent's environment (default: this process's); prefix: a command the agent runs under (setpriv)."""
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([*prefix, AGENT, "--config", self.config_path], stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env)
        self.wait_for(lambda e: e["type"] == "agent_ready", timeout=timeout, what="agent_ready")
        return self

    def events(self):
        if not os.path.exists(self.events_path):
            return []
        with open(self.events_path) as f:
            # A last line without its newline is still being written by the agent: read next time.
            return [json.loads(line) for line in f if line.strip() and line.endswith("\n")]

    def wait_for(self, pred, timeout=20, what="event"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for e in self.events():
                if pred(e):
                    return e
            if self.proc and self.proc.poll() is not None:
                raise AssertionError(f"agent exited ({self.proc.returncode}) waiting for {what}: {self.read_log()}")
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; events: {[e['type'] for e in self.events()]}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                # Each uprobe link the agent still holds is unregistered on its way out, serially in the kernel, one RCU
                # grace period each (~0.11 s on this VM): a test that leaves ~200 per-process links takes ~25 s.
                self.returncode = self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.returncode = self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()
        return self.returncode

    def read_log(self):
        with open(self.log_path) as f:
            return f.read()

    def all_output(self):
        """Every byte the agent wrote anywhere in its state dir (events, logs, key file excepted)."""
        blobs = []
        for name in os.listdir(self.dir):
            path = os.path.join(self.dir, name)
            if os.path.isfile(path) and name != "fleet.key":
                with open(path, "rb") as f:
                    blobs.append(f.read())
        return b"\n".join(blobs)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def run_mcp_client(spec, timeout=60):
    """Runs tests/e2e/npm/mcp_client.mjs (an SDK stdio client) with the given launch spec."""
    return subprocess.run(
        ["node", os.path.join(NPM_DIR, "mcp_client.mjs"), json.dumps(spec)],
        cwd=NPM_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=base_env(),
    )


class AgentTestCase(unittest.TestCase):
    """An e2e test with a scratch directory and at most one agent (self.agent); every raw secret registered with
    secret() is asserted absent from everything the agent wrote when the test ends."""
    scratch_prefix = "credtrace-e2e-"

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix=self.scratch_prefix)
        self.raw_secrets = []
        self.agent = None

    def tearDown(self):
        if self.agent:
            self.agent.stop()
            blob = self.agent.all_output()
            for secret in self.raw_secrets:
                self.assertNotIn(secret.encode(), blob, "a raw secret reached the agent's output or log")
            self.agent.cleanup()
        shutil.rmtree(self.dir, ignore_errors=True)

    def secret(self, value_or_factory):
        """Registers a raw test secret (a value, or a factory called for one) and returns it."""
        value = value_or_factory() if callable(value_or_factory) else value_or_factory
        self.raw_secrets.append(value)
        return value
