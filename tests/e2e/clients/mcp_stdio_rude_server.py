"""A minimal MCP stdio server (newline-delimited JSON-RPC) that misbehaves on purpose, for the tool-call e2e tests.
Modes: exit-on-call (exits without answering a tools/call), garbage (before each answer writes non-JSON, binary,
invalid UTF-8, a deeply nested line, a 10 MB line, and the answer itself one byte per write), echo (answers every
tools/call with its arguments' text)."""
import json
import os
import sys

MODE = sys.argv[1] if len(sys.argv) > 1 else "echo"
TOOLS = [{"name": "slow", "description": "Answers slowly, or never", "inputSchema": {"type": "object"}},
         {"name": "echo", "description": "Echoes its text", "inputSchema": {"type": "object",
                                                                            "properties": {"text": {"type": "string"}}}}]


def write(raw: bytes):
    os.write(1, raw)


def send(message, one_byte_writes=False):
    raw = (json.dumps(message) + "\n").encode()
    if one_byte_writes:
        for i in range(len(raw)):
            write(raw[i:i + 1])
    else:
        write(raw)


def garbage():
    write(b"this is not json at all\n")
    write(bytes(range(256)) + b"\n")
    write(b'{"jsonrpc":"2.0","method":"notifications/message","params":{"data":"\xff\xfe bad utf8"}}\n')
    write(b"[" * 5000 + b"]" * 5000 + b"\n")
    write(b'{"jsonrpc":"2.0","method":"notifications/message","params":{"data":"' + b"x" * (10 * 1024 * 1024) + b'"}}\n')


def answer(request):
    method = request.get("method")
    if method == "initialize":
        return {"protocolVersion": request["params"].get("protocolVersion", "2025-06-18"),
                "capabilities": {"tools": {}}, "serverInfo": {"name": "rude-server", "version": "0.1.0"}}
    if method == "tools/list":
        return {"tools": TOOLS}
    if method == "tools/call":
        if MODE == "exit-on-call":
            sys.exit(0)
        text = json.dumps(request["params"].get("arguments", {}))
        return {"content": [{"type": "text", "text": text}], "isError": False}
    return None


def main():
    buffered = b""
    while True:
        chunk = os.read(0, 65536)
        if not chunk:
            return
        buffered += chunk
        while b"\n" in buffered:
            line, buffered = buffered.split(b"\n", 1)
            try:
                request = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if not isinstance(request, dict) or "id" not in request or "method" not in request:
                continue
            result = answer(request)
            if MODE == "garbage" and request["method"] == "tools/call":
                garbage()
                send({"jsonrpc": "2.0", "id": request["id"], "result": result}, one_byte_writes=True)
            elif result is not None:
                send({"jsonrpc": "2.0", "id": request["id"], "result": result})
            else:
                send({"jsonrpc": "2.0", "id": request["id"], "error": {"code": -32601, "message": "no such method"}})


if __name__ == "__main__":
    main()
