"""A stand-in MCP server (its name matches mcp_server_*) that spawns short-lived HTTPS clients one after the other,
each making one request at once with its own token: curl (token in a header file, not argv) and a Python urllib
client (token in its environment). The agent must catch each child's first request, although the child's uprobes
can only be attached after its exec. Usage: mcp_server_spawner.py PORT CA TOKENS_FILE [LIBDIR]
TOKENS_FILE: one token per line; child i uses line i (even: curl, odd: python). LIBDIR: LD_LIBRARY_PATH of the
python children (a copy of libssl the agent learns of only when it is mapped)."""
import os
import subprocess
import sys
import tempfile

PYTHON_CLIENT = """import os, ssl, sys, urllib.request
context = ssl.create_default_context(cafile=sys.argv[2])
request = urllib.request.Request(f"https://localhost:{sys.argv[1]}/child", headers={"Authorization": "Bearer " + os.environ["TOKEN"]})
urllib.request.urlopen(request, context=context).read()
"""

port, ca, tokens_file = sys.argv[1], sys.argv[2], sys.argv[3]
libdir = sys.argv[4] if len(sys.argv) > 4 else ""
with open(tokens_file) as f:
    tokens = [line.strip() for line in f if line.strip()]
failures = 0
with tempfile.TemporaryDirectory(prefix="credtrace-spawner-") as scratch:
    for i, token in enumerate(tokens):
        env = dict(os.environ)
        if i % 2 == 0:
            header = os.path.join(scratch, f"h{i}")
            with open(header, "w") as f:
                f.write(f"Authorization: Bearer {token}\n")
            argv = ["curl", "-s", "-o", "/dev/null", "--cacert", ca, "-H", "@" + header, f"https://localhost:{port}/child"]
        else:
            env["TOKEN"] = token
            if libdir:
                env["LD_LIBRARY_PATH"] = libdir
            argv = [sys.executable, "-c", PYTHON_CLIENT, port, ca]
        if subprocess.run(argv, env=env).returncode != 0:
            failures += 1
sys.exit(1 if failures else 0)
