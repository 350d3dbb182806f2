"""PostgreSQL for the collector tests: a throwaway server from the Debian package binaries (initdb, pg_ctl), run as an
unprivileged user in a temp dir on a free loopback port; one database per test. Installs nothing: when the binaries
are missing the tests skip and say so (scripts/install-deps.sh installs postgresql)."""
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid

BIN_GLOB = "/usr/lib/postgresql/*/bin"
SUPERUSER = "credtrace"


def find_bin_dir():
    """The newest /usr/lib/postgresql/N/bin with initdb and pg_ctl, or None."""
    dirs = [d for d in glob.glob(BIN_GLOB) if all(os.access(os.path.join(d, b), os.X_OK) for b in ("initdb", "pg_ctl", "postgres", "psql"))]
    return sorted(dirs, key=lambda d: int(d.split("/")[-2]) if d.split("/")[-2].isdigit() else 0)[-1] if dirs else None


MISSING = ("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin "
           "(install them with scripts/install-deps.sh: apt packages postgresql libpq-dev)")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _demote():
    """preexec_fn: the server refuses to run as root; run it as nobody when we are root."""
    if os.geteuid() != 0:
        return None
    pw = pwd.getpwnam("nobody")

    def drop():
        os.setgroups([])
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
    return drop


class Server:
    """initdb + pg_ctl start on 127.0.0.1:<free port> (trust auth on loopback only); stop() removes everything."""

    def __init__(self):
        self.bin = find_bin_dir()
        if not self.bin:
            raise FileNotFoundError(MISSING)
        self.dir = tempfile.mkdtemp(prefix="credtrace-pg-")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "postgres.log")
        self.port = _free_port()
        if os.geteuid() == 0:
            pw = pwd.getpwnam("nobody")
            os.chmod(self.dir, 0o755)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self._run("initdb", "-D", self.data, "-U", SUPERUSER, "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C")
        self.options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.dir} "
                   "-c fsync=on -c max_connections=100 -c shared_buffers=128MB -c dynamic_shared_memory_type=mmap")
        self._run("pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", "-o", self.options, "start")

    def pause(self):
        """Stops the server (data kept); resume() starts it again on the same port."""
        self._run("pg_ctl", "-D", self.data, "-w", "-m", "fast", "stop")

    def resume(self):
        self._run("pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", "-o", self.options, "start")

    def restart(self):
        """A fast restart: the server closes every client connection."""
        self._run("pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", "-m", "fast", "-o", self.options,
                  "restart")

    def _run(self, tool, *args, **kw):
        return subprocess.run([os.path.join(self.bin, tool), *args], check=True, capture_output=True,
                              preexec_fn=_demote(), cwd=self.dir, **kw)

    def psql(self, database, sql):
        """Runs SQL; returns rows as tuples of strings (ints converted)."""
        out = self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-d", database,
                        "-v", "ON_ERROR_STOP=1", "-At", "-F", "\t", "-c", sql).stdout.decode()
        rows = []
        for line in out.splitlines():
            rows.append(tuple(int(v) if v.lstrip("-").isdigit() else v for v in line.split("\t")))
        return rows

    def create_database(self):
        name = "ct_" + uuid.uuid4().hex[:12]
        self.psql("postgres", f"CREATE DATABASE {name}")
        return Database(self, name)

    def data_bytes(self):
        """Every byte in the data directory (after a checkpoint, so the tables are on disk too)."""
        self.psql("postgres", "CHECKPOINT")
        data = bytearray()
        for root, _, files in os.walk(self.data):
            for name in files:
                try:
                    with open(os.path.join(root, name), "rb") as f:
                        data += f.read()
                except OSError:
                    pass
        return bytes(data)

    def stop(self):
        try:
            self._run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


class Database:
    def __init__(self, server, name):
        self.server, self.name = server, name
        self.url = f"postgres://{SUPERUSER}@127.0.0.1:{server.port}/{name}"

    def rows(self, sql):
        return self.server.psql(self.name, sql)
