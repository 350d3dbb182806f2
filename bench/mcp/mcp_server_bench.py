"""Benchmark MCP stdio server: answers initialize, tools/list and every tools/call at once (one write per answer, as
SDK servers do), as fast as it can. Reads newline-delimited JSON-RPC on stdin until EOF."""
import json
import sys


def main():
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        request = json.loads(line)
        method, rid = request.get("method"), request.get("id")
        if rid is None:
            continue
        if method == "initialize":
            result = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                      "serverInfo": {"name": "bench-server", "version": "1.0"}}
        elif method == "tools/list":
            result = {"tools": [{"name": "lookup", "description": "d", "inputSchema": {"type": "object"}}]}
        else:
            result = {"content": [{"type": "text", "text": "result of " + request["params"]["arguments"]["q"]}],
                      "isError": False}
        out.write(json.dumps({"jsonrpc": "2.0", "id": rid, "result": result}).encode() + b"\n")
        out.flush()


if __name__ == "__main__":
    main()
