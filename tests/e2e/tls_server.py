"""Local HTTPS test server for e2e tests: a throwaway CA and localhost certificate, requests recorded in memory."""
import http.server
import json
import os
import ssl
import subprocess
import tempfile
import threading


def make_ca_and_cert(directory):
    """A test CA and a localhost certificate it signs (openssl CLI); returns (ca_path, cert_path, key_path)."""
    ca_key, ca_crt = os.path.join(directory, "ca.key"), os.path.join(directory, "ca.crt")
    key, csr, crt = (os.path.join(directory, n) for n in ("server.key", "server.csr", "server.crt"))
    ext = os.path.join(directory, "san.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run = lambda *args: subprocess.run(["openssl", *args], check=True, capture_output=True)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca_crt, "-days", "2",
        "-subj", "/CN=credtrace e2e test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=localhost")
    run("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial", "-out", crt, "-days", "2",
        "-extfile", ext)
    return ca_crt, crt, key


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK stalls

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.seen.append((self.command, self.path, dict(self.headers)))
        if self.path.startswith("/oauth/token") and self.server.issue_token:
            return self._issue_token_chunked()
        body = b'{"ok":true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _issue_token_chunked(self):
        """A token endpoint's answer, chunked and split mid-token, as real servers stream it."""
        body = json.dumps({"token_type": "bearer", "expires_in": 3600,
                           "data": {"access_token": self.server.issue_token}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        half = len(body) // 2
        for piece in (body[:half], body[half:]):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


class _ThreadingServer(http.server.ThreadingHTTPServer):
    request_queue_size = 128  # clients that open many connections before they use one (listen's backlog: 5)


class HttpsServer:
    """Serves HTTPS (or plain HTTP with tls=False) on 127.0.0.1 (random port) in a thread; .ca is the CA file
    clients must trust."""

    def __init__(self, tls=True, issue_token=None):
        self.tls = tls
        self.issue_token = issue_token  # served as data.access_token by POST /oauth/token

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="credtrace-tls-")
        self.ca, cert, key = make_ca_and_cert(self.dir) if self.tls else ("", "", "")
        self.httpd = _ThreadingServer(("127.0.0.1", 0), _Handler)
        self.httpd.seen = []
        self.httpd.issue_token = self.issue_token
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    @property
    def seen(self):
        return self.httpd.seen

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


class Http2Server:
    """The Node HTTP/2 test server (clients/h2_server.mjs) with a throwaway CA; .port, .ca, .requests()."""

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="credtrace-h2-")
        self.ca, cert, key = make_ca_and_cert(self.dir)
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "clients", "h2_server.mjs")
        self.proc = subprocess.Popen(["node", script, cert, key], stdout=subprocess.PIPE, text=True)
        first = self.proc.stdout.readline().split()
        self.port = int(first[1])
        self.lines = []
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=10)
        self.lines = out.splitlines()
