"""A local OpenTelemetry logs receiver for tests (stdlib only): accepts OTLP/HTTP JSON POSTs on /v1/logs, decodes and
checks each ExportLogsServiceRequest (resourceLogs -> scopeLogs -> logRecords, AnyValue attributes), and keeps the
records with their resource's attributes. Behaviours for outage tests: answer with a chosen status for the first N
requests (with Retry-After), delay every answer (a slow receiver), or say some records were rejected (partial
success). Start/stop can be repeated on the same port (an outage in the middle)."""
import http.server
import json
import socket
import threading
import time


def any_value(value):
    """The Python value of an OTLP AnyValue (JSON encoding); raises on a value OTLP does not define."""
    (kind, v), = value.items()
    if kind == "stringValue":
        return v
    if kind == "intValue":
        return int(v)
    if kind in ("boolValue", "doubleValue"):
        return v
    if kind == "arrayValue":
        return [any_value(x) for x in v.get("values", [])]
    if kind == "kvlistValue":
        return {kv["key"]: any_value(kv["value"]) for kv in v.get("values", [])}
    raise ValueError("not an AnyValue: " + kind)


def attributes(pairs):
    out = {}
    for kv in pairs:
        if kv["key"] in out:
            raise ValueError("attribute twice: " + kv["key"])
        out[kv["key"]] = any_value(kv["value"])
    return out


class OtlpReceiver:
    def __init__(self, port=0, fail_first=0, fail_status=503, retry_after=None, delay=0.0, reject=0):
        self.port = port
        self.fail_first, self.fail_status, self.retry_after = fail_first, fail_status, retry_after
        self.delay, self.reject = delay, reject
        self.records = []      # one dict per log record: its fields, "attributes", "resource" (attributes)
        self.requests = []     # (status answered, headers) per request
        self.raw = []          # every request body as received
        self.errors = []       # decoding problems: a test fails on any
        self.lock = threading.Lock()
        self.server = None

    def start(self):
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status, reply = receiver.handle(self.path, dict(self.headers), body)
                if receiver.delay:
                    time.sleep(receiver.delay)
                data = json.dumps(reply).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    if status in (429, 503) and receiver.retry_after is not None:
                        self.send_header("Retry-After", str(receiver.retry_after))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its timeout)

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def handle(self, path, headers, body):
        with self.lock:
            self.raw.append(body)
            n = len(self.requests)
            if path != "/v1/logs":
                status = 404
            elif headers.get("Content-Type") != "application/json":
                status = 415
            elif n < self.fail_first:
                status = self.fail_status
            else:
                status = 200
            self.requests.append((status, headers))
            if status != 200:
                return status, {}
            try:
                request = json.loads(body)
                count = 0
                for resource_logs in request["resourceLogs"]:
                    resource = attributes(resource_logs["resource"]["attributes"])
                    for scope_logs in resource_logs["scopeLogs"]:
                        for record in scope_logs["logRecords"]:
                            decoded = dict(record)
                            decoded["attributes"] = attributes(record.get("attributes", []))
                            decoded["resource"] = resource
                            decoded["scope"] = scope_logs.get("scope", {})
                            int(record["timeUnixNano"])
                            self.records.append(decoded)
                            count += 1
            except (KeyError, ValueError, TypeError) as e:
                self.errors.append(f"{type(e).__name__}: {e}")
                return 400, {}
            if self.reject:
                rejected = min(self.reject, count)
                return 200, {"partialSuccess": {"rejectedLogRecords": str(rejected), "errorMessage": "test rejects"}}
            return 200, {}

    def wait_for(self, predicate, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if predicate(self.records):
                    return list(self.records)
            time.sleep(0.05)
        with self.lock:
            raise AssertionError(f"timed out; {len(self.records)} records, {len(self.requests)} requests, "
                                 f"errors {self.errors}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
