"""Python HTTPS client for the throughput benchmark (its name matches mcp_server_* so the agent can watch it):
N keep-alive POSTs of 1 KiB with a bearer token, prints requests per second. Usage: ... PORT CA N"""
import http.client
import os
import ssl
import sys
import time

port, ca, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
context = ssl.create_default_context(cafile=ca)
connection = http.client.HTTPSConnection("localhost", port, context=context)
body = b"x" * 1024
headers = {"Authorization": "Bearer " + os.environ["BENCH_TOKEN"], "Content-Type": "application/octet-stream"}
time.sleep(0.5)  # let the agent classify this process before measuring
start = time.perf_counter()
for _ in range(n):
    connection.request("POST", "/v1/echo", body=body, headers=headers)
    connection.getresponse().read()
print(f"{n / (time.perf_counter() - start):.1f}")
