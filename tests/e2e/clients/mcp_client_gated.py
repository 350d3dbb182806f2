"""A minimal MCP stdio client for the e2e tests: launches a server, waits until GO_FILE exists (the test pauses the
agent meanwhile), then initializes and makes one tools/call ("slow"), and exits 0 whether or not it is answered.
Usage: GO_FILE=PATH python3 mcp_client_gated.py SERVER_ARGV..."""
import json
import os
import subprocess
import sys
import time


def main():
    proc = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    go_file = os.environ["GO_FILE"]
    deadline = time.time() + 30
    while not os.path.exists(go_file) and time.time() < deadline:
        time.sleep(0.05)

    def send(message):
        proc.stdin.write((json.dumps(message) + "\n").encode())
        proc.stdin.flush()

    send({"jsonrpc": "2.0", "id": 1, "method": "initialize",
          "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                     "clientInfo": {"name": "gated-client", "version": "0.0.1"}}})
    proc.stdout.readline()
    send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    send({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "slow", "arguments": {"n": 2}}})
    print("answer:", proc.stdout.readline().decode().strip() or "none")
    proc.wait(timeout=30)


if __name__ == "__main__":
    main()
