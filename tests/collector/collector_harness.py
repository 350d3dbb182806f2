"""Collector test harness: runs the real credtrace-collector (unprivileged when started as root), builds
IngestBatch bodies with the collector_encode_batch helper, talks HTTP(S) with urllib (stdlib only), and makes test
PKIs for mTLS with the openssl CLI."""
import hashlib
import hmac
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import sqlite3
import ssl
import string
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
COLLECTOR = os.environ.get("CREDTRACE_COLLECTOR", os.path.join(HERE, "../../build/credtrace-collector"))
ENCODE = os.environ.get("CREDTRACE_ENCODE_BATCH", os.path.join(HERE, "../../build/tests/collector/collector_encode_batch"))
FLEET_KEY = b"collector-test-fleet-key"
AGENT_TOKEN = "agent-token-" + secrets.token_hex(16)
READER_TOKEN = "reader-token-" + secrets.token_hex(16)
_rng = secrets.SystemRandom()
ALNUM = string.ascii_letters + string.digits


def fake_github_pat():
    return "ghp_" + "".join(_rng.choice(ALNUM) for _ in range(36))


def fake_openai_key():
    return "sk-proj-" + "".join(_rng.choice(ALNUM) for _ in range(48))


def fingerprint(secret):
    return hmac.new(FLEET_KEY, secret.encode(), hashlib.sha256).hexdigest()


def preview(secret):
    return secret[:4] + "…" + secret[-4:]


def use_event(secret, cred_type, workload, host="host-a", dest="api.github.com", count=1, seconds=None, env="GITHUB_TOKEN"):
    """A credential_use event as the agent exports it: fingerprint and preview only, never the secret."""
    ev = {
        "type": "credential_use",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds if seconds is not None else time.time())),
        "host": host,
        "workload": {"id": workload, "host": host, "exe": "/usr/bin/node", "mcp": {"server_name": workload + "-server"}},
        "credential": {"type": cred_type, "fingerprint": fingerprint(secret), "preview": preview(secret)},
        "sources": [{"kind": "env", "name": env}],
        "destination": {"host": dest, "port": 443, "tls": True},
        "request": {"protocol": "h2", "method": "GET", "path": "/user", "carrier": "header:authorization", "scheme": "Bearer"},
        "credentialUse": {"count": str(count)},
    }
    return ev


def health_event(host="host-a"):
    return {"type": "agent_health", "host": host, "agentHealth": {"uptimeSeconds": 1.5}}


def rfc3339(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def full_health_event(host, seconds, batches_sent, **sensors):
    """An agent_health event as the agent exports it (proto3 JSON): kernel, error and sensor counters, gauges."""
    return {"type": "agent_health", "time": rfc3339(seconds), "host": host, "agentHealth": {
        "events": {"exec": "40", "tls_data": "7"}, "drops": {"ringbuf_full": "3"}, "truncations": {"tls_data": "1"},
        "agentErrors": {"ringbuf_poll": "2"},
        "sensors": dict({"collector_batches_sent": str(batches_sent), "collector_send_failures": "4",
                         "collector_spool_bytes": "8192", "tls_uprobe_attach_failures": "1"}, **sensors),
        "watchedProcesses": 5, "mcpServers": 2, "uptimeSeconds": 61.5, "execsFiltered": "12",
        "execPrefilterNames": 9, "kubeApiState": "watching"}}


_SERIES = re.compile(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(?:,|$)')


def parse_metrics(text):
    """[(name, {label: value}, value)] of a Prometheus text page; raises on a line outside the format, a bad escape,
    or a family whose TYPE line is missing or repeated."""
    out, types = [], {}
    for line in text.split("\n"):
        if not line or line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            name = line.split(" ")[2]
            if name in types:
                raise ValueError("TYPE twice: " + line)
            types[name] = line.split(" ")[3]
            continue
        m = _SERIES.fullmatch(line)
        if not m:
            raise ValueError("not a series: " + repr(line))
        name, label_text, value = m.groups()
        if name not in types and name.rsplit("_", 1)[0] not in types:  # summaries: NAME_sum, NAME_count
            raise ValueError("series without TYPE: " + line)
        labels, pos = {}, 0
        while label_text and pos < len(label_text):
            lm = _LABEL.match(label_text, pos)
            if not lm:
                raise ValueError("bad labels: " + repr(line))
            labels[lm.group(1)] = re.sub(r'\\(.)', lambda e: "\n" if e.group(1) == "n" else e.group(1), lm.group(2))
            pos = lm.end()
        out.append((name, labels, float(value)))
    return out


def encode(agent_id, sequence, events):
    """Uncompressed protobuf IngestBatch bytes."""
    lines = "".join(json.dumps(e) + "\n" for e in events).encode()
    return subprocess.run([ENCODE, agent_id, str(sequence)], input=lines, stdout=subprocess.PIPE, check=True).stdout


def batch_body(agent_id, sequence, events):
    return zlib.compress(encode(agent_id, sequence, events))


class Reply:
    def __init__(self, status, body, headers):
        self.status, self.body, self.headers = status, body, headers

    def json(self):
        return json.loads(self.body)


def _unprivileged_user():
    """(uid, gid) of nobody when running as root, else None (already unprivileged)."""
    if os.geteuid() != 0:
        return None
    pw = pwd.getpwnam("nobody")
    return pw.pw_uid, pw.pw_gid


class Collector:
    """A running credtrace-collector on 127.0.0.1:<free port> with a SQLite database in a temp dir."""

    def __init__(self, workdir=None, extra_args=(), listen="127.0.0.1:0", postgres=None, agent_tokens=True):
        self.dir = workdir or tempfile.mkdtemp(prefix="credtrace-collector-")
        self.db_path = os.path.join(self.dir, "collector.db")
        self.postgres = postgres  # a postgres_harness.Database, else SQLite in self.dir
        self.db_url = postgres.url if postgres else "sqlite:" + self.db_path
        self.extra_args = list(extra_args)
        self.agent_tokens = agent_tokens  # False: no --agent-tokens (agents authenticate with client certificates)
        self.listen = listen
        self.proc = None
        self.port = None
        self.scheme = "http"
        self.log_path = os.path.join(self.dir, "collector.log")
        for name, token in (("agents", AGENT_TOKEN), ("readers", READER_TOKEN)):
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(f"# test tokens\n{token}\n")
        self._chown()

    def _chown(self):
        user = _unprivileged_user()
        if user is None:
            return
        os.chmod(self.dir, 0o700)
        for root, dirs, files in os.walk(self.dir):
            for name in [root] + [os.path.join(root, n) for n in files]:
                os.chown(name, *user)

    def command(self):
        cmd = [COLLECTOR, "--listen", self.listen]
        if self.agent_tokens:
            cmd += ["--agent-tokens", os.path.join(self.dir, "agents")]
        cmd += ["--reader-tokens", os.path.join(self.dir, "readers"), "--db", self.db_url] + self.extra_args
        if _unprivileged_user() is not None:
            cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"] + cmd
        return cmd

    def start(self, expect_ready=True):
        """Starts the collector; a restart listens on the port of the previous run (as agents expect)."""
        self._chown()
        if self.port:
            self.listen = f"127.0.0.1:{self.port}"
        offset = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen(self.command(), stdout=self.log, stderr=subprocess.STDOUT)
        if not expect_ready:
            return self
        deadline = time.time() + 20
        while time.time() < deadline:
            m = re.findall(r"listening on (https?)://[^ ]+:(\d+) ", self.read_log()[offset:])
            if m:
                self.scheme, self.port = m[-1][0], int(m[-1][1])
                return self
            if self.proc.poll() is not None:
                raise RuntimeError("collector exited: " + self.read_log())
            time.sleep(0.05)
        raise RuntimeError("collector did not start: " + self.read_log())

    def wait_exit(self, timeout=10):
        return self.proc.wait(timeout)

    def read_log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
        if getattr(self, "log", None):
            self.log.close()

    def stop(self):
        self.kill(signal.SIGTERM)

    def cleanup(self):
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, path):
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def request(self, method, path, body=None, headers=None, context=None, timeout=30):
        req = urllib.request.Request(self.url(path), data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=context) as r:
                return Reply(r.status, r.read(), dict(r.headers))
        except urllib.error.HTTPError as e:
            return Reply(e.code, e.read(), dict(e.headers))

    def ingest(self, body, token=AGENT_TOKEN, encoding="deflate", accept="application/json", context=None):
        headers = {"Content-Type": "application/x-protobuf"}
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        if encoding:
            headers["Content-Encoding"] = encoding
        if accept:
            headers["Accept"] = accept
        return self.request("POST", "/v1/ingest", body, headers, context=context)

    def query(self, path, token=READER_TOKEN, context=None):
        headers = {"Authorization": "Bearer " + token} if token else {}
        return self.request("GET", path, None, headers, context=context)

    def metrics_text(self, context=None):
        reply = self.request("GET", "/metrics", context=context)
        assert reply.status == 200, reply.body
        return reply.body.decode()

    def metrics(self, context=None):
        out = {}
        for line in self.metrics_text(context).splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out

    def db_rows(self, sql):
        """Rows of a query run directly on the database (SQLite: read-only, call after stop())."""
        if self.postgres:
            return self.postgres.rows(sql)
        db = sqlite3.connect(f"file:{self.db_path}?immutable=1", uri=True)
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()

    def db_bytes(self):
        """Every byte the database holds on disk (main file, WAL, shared memory; PostgreSQL: its data directory)."""
        if self.postgres:
            return self.postgres.server.data_bytes()
        data = b""
        for suffix in ("", "-wal", "-shm"):
            path = self.db_path + suffix
            if os.path.exists(path):
                with open(path, "rb") as f:
                    data += f.read()
        return data


_CA_CONFIG = """[ca]
default_ca = test_ca
[test_ca]
database = {dir}/index.txt
new_certs_dir = {dir}
serial = {dir}/serial
default_md = sha256
policy = policy_any
unique_subject = no
[policy_any]
commonName = supplied
[client_ext]
basicConstraints = critical,CA:FALSE
extendedKeyUsage = clientAuth
[server_ext]
basicConstraints = critical,CA:FALSE
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
"""


class CertAuthority:
    """A test certificate authority (openssl CLI, P-256 keys) in its own directory; `openssl ca` signs, so a
    certificate can be given any validity period (expired, not yet valid) without faking the clock."""

    def __init__(self, directory, name):
        self.dir = os.path.join(directory, name)
        os.makedirs(self.dir)
        self.cert, self.key = os.path.join(self.dir, "ca.pem"), os.path.join(self.dir, "ca.key")
        self.config = os.path.join(self.dir, "ca.cnf")
        with open(self.config, "w") as f:
            f.write(_CA_CONFIG.format(dir=self.dir))
        open(os.path.join(self.dir, "index.txt"), "w").close()
        with open(os.path.join(self.dir, "serial"), "w") as f:
            f.write("1000\n")
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                 "-subj", f"/CN=credtrace test {name}", "-keyout", self.key, "-out", self.cert)

    def issue(self, name, kind="client", dates=("-days", "2")):
        """(cert, key) for CN=name; kind client (EKU clientAuth) or server (serverAuth, SAN localhost/127.0.0.1);
        dates: openssl ca validity arguments, e.g. ("-startdate", "200101000000Z", "-enddate", "200102000000Z")."""
        key, csr, cert = (os.path.join(self.dir, name + ext) for ext in (".key", ".csr", ".pem"))
        _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-subj", "/CN=" + name, "-keyout", key, "-out", csr)
        _openssl("ca", "-batch", "-notext", "-config", self.config, "-cert", self.cert, "-keyfile", self.key,
                 "-extensions", kind + "_ext", "-in", csr, "-out", cert, *dates)
        return cert, key


def _openssl(*args):
    result = subprocess.run(["openssl", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError("openssl " + " ".join(args) + ": " + result.stderr)


def tls_context(ca, cert=None, key=None):
    """A client TLS context that trusts `ca` and, given cert/key, presents that client certificate."""
    context = ssl.create_default_context(cafile=ca)
    if cert:
        context.load_cert_chain(cert, key)
    return context
