"""The throughput benchmark's HTTPS server as its own process, for the "server not probed" runs: started with
LD_LIBRARY_PATH at private copies of libssl/libcrypto (other inodes than the system's, which the agent probes), it
stands in for a remote API, whose TLS the agent never sees. Prints "PORT CA" and serves until stdin closes."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../tests/e2e"))
from tls_server import HttpsServer  # noqa: E402

with HttpsServer() as server:
    print(server.port, server.ca, flush=True)
    sys.stdin.read()
