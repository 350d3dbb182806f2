"""A stand-in MCP server process (its name matches mcp_server_*) that calls an API over HTTPS with a token from
its environment: urllib (sync), asyncio streams, or a curl child. Usage: mcp_server_tls_probe.py MODE PORT CA"""
import asyncio
import os
import ssl
import subprocess
import sys
import time
import urllib.request

mode, port, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3]
token = os.environ["GITHUB_TOKEN"]
time.sleep(0.5)  # an MCP server does its API calls after start-up; the agent attaches meanwhile

if mode == "urllib":
    context = ssl.create_default_context(cafile=ca)
    request = urllib.request.Request(f"https://localhost:{port}/api/v3/user?token={token}&page=2",
                                     headers={"Authorization": f"Bearer {token}", "User-Agent": "probe"})
    urllib.request.urlopen(request, context=context).read()
elif mode == "asyncio":
    async def call():
        context = ssl.create_default_context(cafile=ca)
        reader, writer = await asyncio.open_connection("localhost", port, ssl=context, server_hostname="localhost")
        writer.write(f"GET /api/v3/repos HTTP/1.1\r\nHost: localhost:{port}\r\nAuthorization: token {token}\r\n"
                     f"Connection: close\r\n\r\n".encode())
        await writer.drain()
        await reader.read()
        writer.close()
    asyncio.run(call())
elif mode == "plain":
    import http.client
    connection = http.client.HTTPConnection("127.0.0.1", port)
    connection.request("POST", "/v1/tokens?api_key=" + token, body='{"client_secret": "not-a-secret"}',
                       headers={"X-Api-Key": token, "Content-Type": "application/json"})
    connection.getresponse().read()
elif mode == "curl":
    subprocess.run(["curl", "-sS", "--cacert", ca, "-H", f"Authorization: Bearer {token}",
                    f"https://localhost:{port}/api/v3/user"], check=True, stdout=subprocess.DEVNULL)
time.sleep(0.3)
