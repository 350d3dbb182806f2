"""A local mock OAuth authorization server and API for e2e tests (HTTPS on 127.0.0.1, throwaway CA): the token
endpoint answers token-exchange (RFC 8693) and client_credentials (HTTP Basic) requests with the tokens a test
chooses; the API accepts any bearer token. Requests are recorded in memory."""
import base64
import http.server
import json
import ssl
import tempfile
import threading
import urllib.parse

from tls_server import make_ca_and_cert

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def _json(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _token(self, form):
        grant = form.get("grant_type", [""])[0]
        server = self.server
        if grant == TOKEN_EXCHANGE and form.get("subject_token", [""])[0] == server.subject_token:
            return self._json(200, {"access_token": server.exchanged_token, "issued_token_type": ACCESS_TOKEN_TYPE,
                                    "token_type": "Bearer", "expires_in": 900})
        if grant == "client_credentials":
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Basic ") and base64.b64decode(auth[6:]).decode() == server.basic_credentials:
                return self._json(200, {"access_token": server.client_token, "token_type": "Bearer",
                                        "expires_in": 3600, "scope": "api"})
        return self._json(400, {"error": "invalid_grant", "error_description": "unknown grant or credentials"})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        self.server.seen.append((self.command, self.path, dict(self.headers), body))
        if self.path == "/oauth2/drop":  # a token endpoint that closes the connection without answering
            self.close_connection = True
            return
        if self.path == "/oauth2/token":
            if "json" in self.headers.get("Content-Type", ""):
                fields = json.loads(body)
                return self._token({k: v if isinstance(v, list) else [v] for k, v in fields.items()})
            return self._token(urllib.parse.parse_qs(body))
        self._json(404, {"error": "not_found"})

    def do_GET(self):
        self.server.seen.append((self.command, self.path, dict(self.headers), ""))
        self._json(200, {"items": []})

    def log_message(self, *args):
        pass


class OAuthServer:
    """Token endpoint POST /oauth2/token (POST /oauth2/drop closes the connection unanswered) and API GET /api/… on https://localhost:<port>; .ca is the CA to trust.
    subject_token: the one token exchange accepts, for exchanged_token; basic_credentials "id:secret": the one
    client_credentials accepts, for client_token."""

    def __init__(self, subject_token="", exchanged_token="", basic_credentials="", client_token=""):
        self.settings = dict(subject_token=subject_token, exchanged_token=exchanged_token,
                             basic_credentials=basic_credentials, client_token=client_token)

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="credtrace-oauth-")
        self.ca, cert, key = make_ca_and_cert(self.dir)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.seen = []
        for name, value in self.settings.items():
            setattr(self.httpd, name, value)
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
