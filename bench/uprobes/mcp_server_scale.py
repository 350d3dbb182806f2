"""A stand-in MCP server (its name matches mcp_server_*) that starts N children mapping libssl (ssl_holder) and keeps
them until its stdin closes; prints one line per started child batch. Usage: mcp_server_scale.py HOLDER N"""
import subprocess
import sys

holder, count = sys.argv[1], int(sys.argv[2])
children = []
for _ in range(count):
    child = subprocess.Popen([holder], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    child.stdout.readline()  # "up": mapped libssl and running
    children.append(child)
print("all up", flush=True)
sys.stdin.read()  # until the benchmark says stop
for child in children:
    child.stdin.close()
for child in children:
    child.wait()
print("all down", flush=True)
