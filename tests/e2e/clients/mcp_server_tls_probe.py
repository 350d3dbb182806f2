"""A stand-in MCP server process (its name matches mcp_server_*) that calls an API over HTTPS with a token from
its environment: urllib (sync), asyncio streams (asyncio_bare_host: no port in Host), python-requests, a curl
child, plain HTTP, or an OAuth exchange (token_exchange:
the env secret buys an access token, which the next call uses). Usage: mcp_server_tls_probe.py MODE PORT CA"""
import json
import asyncio
import os
import ssl
import subprocess
import sys
import time
import urllib.request

mode, port, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3]
token = os.environ.get("GITHUB_TOKEN", "")
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
elif mode == "asyncio_bare_host":
    # An x-api-key through asyncio's memory BIO with a Host header that names no port: only the socket knows it.
    async def call():
        context = ssl.create_default_context(cafile=ca)
        reader, writer = await asyncio.open_connection("localhost", port, ssl=context)
        api_key = os.environ["ANTHROPIC_API_KEY"]
        writer.write(f"POST /v1/messages HTTP/1.1\r\nHost: localhost\r\nx-api-key: {api_key}\r\n"
                     f"Content-Length: 2\r\nConnection: close\r\n\r\n{{}}".encode())
        await writer.drain()
        await reader.read()
        writer.close()
    asyncio.run(call())
elif mode == "requests":
    import requests  # socket BIO: OpenSSL writes the ciphertext itself, inside SSL_write
    requests.get(f"https://localhost:{port}/api/v3/user", headers={"Authorization": f"Bearer {token}"},
                 verify=ca, timeout=10).raise_for_status()
elif mode == "plain":
    import http.client
    connection = http.client.HTTPConnection("127.0.0.1", port)
    connection.request("POST", "/v1/tokens?api_key=" + token, body='{"client_secret": "not-a-secret"}',
                       headers={"X-Api-Key": token, "Content-Type": "application/json"})
    connection.getresponse().read()
elif mode == "plain_sendmsg":
    import socket
    with socket.create_connection(("127.0.0.1", port)) as sock:
        head = f"GET /v1/items HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        sock.sendmsg([head.encode(), f"Authorization: token {token}\r\n".encode(), b"Connection: close\r\n\r\n"])
        while sock.recv(65536):
            pass
elif mode == "token_exchange":
    context = ssl.create_default_context(cafile=ca)
    form = f"grant_type=client_credentials&client_id=probe&client_secret={token}".encode()
    answer = urllib.request.urlopen(urllib.request.Request(
        f"https://localhost:{port}/oauth/token", data=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"}), context=context).read()
    access_token = json.loads(answer)["data"]["access_token"]
    urllib.request.urlopen(urllib.request.Request(f"https://localhost:{port}/api/v3/user",
                                                  headers={"Authorization": f"Bearer {access_token}"}),
                           context=context).read()
elif mode == "file_token":
    # The token comes from a dotenv file (TOKEN_FILE), opened by a relative path from its directory.
    os.chdir(os.path.dirname(os.environ["TOKEN_FILE"]))
    with open(os.path.basename(os.environ["TOKEN_FILE"])) as f:
        file_token = dict(line.strip().split("=", 1) for line in f if "=" in line)["API_TOKEN"]
    with open(".env.local") as f:  # a credential-path match that holds no credential
        f.read()
    context = ssl.create_default_context(cafile=ca)
    urllib.request.urlopen(urllib.request.Request(f"https://localhost:{port}/api/v3/user",
                                                  headers={"Authorization": f"Bearer {file_token}"}),
                           context=context).read()
    urllib.request.urlopen(urllib.request.Request(f"https://localhost:{port}/api/v3/repos",
                                                  headers={"Authorization": f"Bearer {token}"}),
                           context=context).read()
elif mode == "curl":
    subprocess.run(["curl", "-sS", "--cacert", ca, "-H", f"Authorization: Bearer {token}",
                    f"https://localhost:{port}/api/v3/user"], check=True, stdout=subprocess.DEVNULL)
time.sleep(0.3)
