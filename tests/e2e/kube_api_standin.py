"""A local stand-in for the Kubernetes API server's pod list/watch (HTTPS on 127.0.0.1, test CA made with openssl).

Serves GET /api/v1/pods?fieldSelector=spec.nodeName=NODE (LIST, then watch=true&resourceVersion=RV as chunked,
newline-delimited JSON events ADDED/MODIFIED/DELETED/BOOKMARK/ERROR), checks the bearer token (401 otherwise) and the
field selector (400 otherwise). A plain-HTTP control port on loopback drives it:
  POST /pods (a Pod JSON: ADDED or MODIFIED)   DELETE /pods/UID (DELETED)   POST /bookmark
  POST /expire (open watches get ERROR 410, and older versions stay expired)   POST /gone_http (next watch: HTTP 410)
  POST /drop (open watches are cut without the closing chunk)   POST /token (body: the accepted token)
  GET /requests (every API request: kind, query, authorized)
Usage: kube_api_standin.py --dir DIR --token-file FILE --node NODE --ready-file FILE [--pods FILE]
The ready file gets "API_PORT CONTROL_PORT CA_PATH" once both listen."""
import argparse
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def make_certs(directory):
    directory = os.path.abspath(directory)
    ca_key, ca_crt = os.path.join(directory, "ca.key"), os.path.join(directory, "ca.crt")
    key, csr, crt = (os.path.join(directory, n) for n in ("server.key", "server.csr", "server.crt"))
    ext = os.path.join(directory, "san.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca_key, "-out", ca_crt, "-days", "2",
        "-subj", "/CN=standin-kube-ca")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial", "-out", crt,
        "-days", "2", "-extfile", ext)
    return ca_crt, crt, key


class State:
    def __init__(self, node, token):
        self.node = node
        self.token = token
        self.cond = threading.Condition()
        self.rv = 100
        self.pods = {}           # uid → pod
        self.history = []        # (rv, type, pod)
        self.expired_before = 0  # a watch from a version below this gets ERROR 410
        self.gone_http = False
        self.generation = 0      # bumped by /expire and /drop: open watches act on it
        self.action = None
        self.requests = []

    def record(self, event_type, pod):
        with self.cond:
            self.rv += 1
            pod = json.loads(json.dumps(pod))
            pod.setdefault("metadata", {})["resourceVersion"] = str(self.rv)
            uid = pod["metadata"]["uid"]
            if event_type == "DELETED":
                self.pods.pop(uid, None)
            else:
                event_type = "MODIFIED" if uid in self.pods else "ADDED"
                self.pods[uid] = pod
            self.history.append((self.rv, event_type, pod))
            self.cond.notify_all()

    def bookmark(self):
        with self.cond:
            self.rv += 1
            self.history.append((self.rv, "BOOKMARK", {"kind": "Pod", "apiVersion": "v1",
                                                       "metadata": {"resourceVersion": str(self.rv)}}))
            self.cond.notify_all()

    def act(self, action):
        with self.cond:
            self.generation += 1
            self.action = action
            if action == "expire":  # compaction: the versions so far are gone; a LIST now starts past them
                self.rv += 1
                self.expired_before = self.rv
            self.cond.notify_all()


def on_node(pod, node):
    return pod.get("spec", {}).get("nodeName") == node


def make_api_handler(state):
    class Api(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def status(self, code, reason, message):
            self.reply(code, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message,
                              "reason": reason, "code": code})

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(url.query)
            watch = query.get("watch", [""])[0] == "true"
            authorized = self.headers.get("Authorization") == "Bearer " + state.token
            with state.cond:
                state.requests.append({"kind": "watch" if watch else "list", "path": url.path,
                                       "query": {k: v[0] for k, v in query.items()}, "authorized": authorized})
            if url.path != "/api/v1/pods":
                return self.status(404, "NotFound", "not found")
            if not authorized:
                return self.status(401, "Unauthorized", "Unauthorized")
            if query.get("fieldSelector", [""])[0] != "spec.nodeName=" + state.node:
                return self.status(400, "BadRequest", "this stand-in serves one node's pods only")
            if not watch:
                with state.cond:
                    items = [p for p in state.pods.values() if on_node(p, state.node)]
                    rv = state.rv
                return self.reply(200, {"kind": "PodList", "apiVersion": "v1",
                                        "metadata": {"resourceVersion": str(rv)}, "items": items})
            self.watch(int(query.get("resourceVersion", ["0"])[0] or 0),
                       int(query.get("timeoutSeconds", ["300"])[0]))

        def chunk(self, obj):
            data = (json.dumps(obj) + "\n").encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def watch(self, since, timeout):
            with state.cond:
                if state.gone_http:
                    state.gone_http = False
                    return self.status(410, "Expired", "too old resource version")
                generation = state.generation
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            deadline = time.time() + timeout
            with state.cond:
                expired = since < state.expired_before
            if expired:
                self.chunk({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                                        "message": "too old resource version", "reason": "Expired",
                                                        "code": 410}})
                return self.end_chunks()
            sent = since
            while time.time() < deadline:
                with state.cond:
                    pending = [(rv, t, p) for rv, t, p in state.history if rv > sent]
                    if not pending and state.generation == generation:
                        state.cond.wait(timeout=0.2)
                        continue
                    action = state.action if state.generation != generation else None
                if action == "drop":
                    self.connection.shutdown(socket.SHUT_RDWR)  # no closing chunk: a cut connection
                    self.close_connection = True
                    return
                if action == "close":
                    return self.end_chunks()
                if action == "expire":
                    self.chunk({"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired",
                                                            "message": "too old resource version"}})
                    return self.end_chunks()
                for rv, event_type, pod in pending:
                    if event_type == "BOOKMARK" or on_node(pod, state.node):
                        self.chunk({"type": event_type, "object": pod})
                    sent = rv
            self.end_chunks()

        def end_chunks(self):
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    return Api


def make_control_handler(state):
    class Control(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def done(self, body=b"ok"):
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def body(self):
            return self.rfile.read(int(self.headers.get("Content-Length", "0")))

        def do_GET(self):
            with state.cond:
                self.done(json.dumps(state.requests).encode())

        def do_DELETE(self):
            uid = self.path.rsplit("/", 1)[1]
            with state.cond:
                pod = state.pods.get(uid)
            if pod:
                state.record("DELETED", pod)
            self.done()

        def do_POST(self):
            body = self.body()
            if self.path == "/pods":
                state.record("ADDED", json.loads(body))
            elif self.path == "/bookmark":
                state.bookmark()
            elif self.path in ("/expire", "/drop"):
                state.act(self.path[1:])
            elif self.path == "/gone_http":
                with state.cond:
                    state.gone_http = True
                state.act("close")
            elif self.path == "/token":
                with state.cond:
                    state.token = body.decode().strip()
            self.done()

    return Control


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--node", required=True)
    ap.add_argument("--ready-file", required=True)
    ap.add_argument("--pods", help="a JSON list of pods to start with")
    args = ap.parse_args()
    with open(args.token_file) as f:
        state = State(args.node, f.read().strip())
    if args.pods:
        with open(args.pods) as f:
            for pod in json.load(f):
                state.record("ADDED", pod)
    ca, crt, key = make_certs(args.dir)
    api = ThreadingHTTPServer(("127.0.0.1", 0), make_api_handler(state))
    api.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(crt, key)
    api.socket = context.wrap_socket(api.socket, server_side=True)
    control = ThreadingHTTPServer(("127.0.0.1", 0), make_control_handler(state))
    control.daemon_threads = True
    threading.Thread(target=control.serve_forever, daemon=True).start()
    with open(args.ready_file + ".tmp", "w") as f:
        f.write(f"{api.server_address[1]} {control.server_address[1]} {ca}\n")
    os.rename(args.ready_file + ".tmp", args.ready_file)
    try:
        api.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
