"""A raw MCP stdio client for the bad-input e2e tests: launches a server, initializes, then writes hostile bytes to the
server's stdin (not JSON, binary, invalid UTF-8, deep nesting, a 10 MB message, a request split into one-byte writes)
before a valid tools/call carrying the token given as argv[1]; prints the answers' ids.
Usage: python3 mcp_client_raw.py TOKEN SERVER_ARGV...   (with GO_FILE set, waits after initialize until it exists)"""
import json
import os
import subprocess
import sys
import time


def main():
    token, server = sys.argv[1], sys.argv[2:]
    proc = subprocess.Popen(server, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    out = proc.stdout

    def send_raw(raw: bytes):
        proc.stdin.write(raw)
        proc.stdin.flush()

    def send(message):
        send_raw((json.dumps(message) + "\n").encode())

    def wait_answer(want_id):
        while True:
            line = out.readline()
            if not line:
                raise SystemExit(f"server closed before answering {want_id}")
            try:
                message = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if isinstance(message, dict) and message.get("id") == want_id:
                return message

    send({"jsonrpc": "2.0", "id": 1, "method": "initialize",
          "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                     "clientInfo": {"name": "raw-client", "version": "0.0.1"}}})
    wait_answer(1)
    send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    go_file = os.environ.get("GO_FILE")
    deadline = time.time() + 30
    while go_file and not os.path.exists(go_file) and time.time() < deadline:
        time.sleep(0.05)
    send_raw(b"not json at all\n")
    send_raw(bytes(range(256)) + b"\n")
    send_raw(b'{"jsonrpc":"2.0","method":"notifications/message","params":{"data":"\xff\xfe"}}\n')
    send_raw(b"[" * 5000 + b"]" * 5000 + b"\n")
    send_raw(b'{"jsonrpc":"2.0","method":"notifications/message","params":{"data":"' + b"y" * (10 * 1024 * 1024)
             + b'"}}\n')
    split = (json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                         "params": {"name": "echo", "arguments": {"text": "split"}}}) + "\n").encode()
    for i in range(len(split)):
        send_raw(split[i:i + 1])
    wait_answer(2)
    send({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
          "params": {"name": "echo", "arguments": {"text": f"token {token}"}}})
    wait_answer(3)
    proc.stdin.close()
    proc.wait(timeout=30)
    print(json.dumps({"answered": [2, 3]}))


if __name__ == "__main__":
    main()
