"""A stand-in MCP server process (its name matches mcp_server_*) that gets OAuth tokens over HTTPS and uses them.
Modes: token_exchange (RFC 8693: SUBJECT_TOKEN from the environment buys an access token, which then calls the API),
client_credentials (CLIENT_ID/CLIENT_SECRET by HTTP Basic, then the API), unanswered (REFRESH_TOKEN to an
endpoint that hangs up without answering), bearer (API_JWT sent to the API twice).
Usage: mcp_server_oauth_probe.py MODE PORT CA"""
import base64
import json
import os
import ssl
import sys
import time
import urllib.parse
import urllib.request

mode, port, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3]
context = ssl.create_default_context(cafile=ca)
base = f"https://localhost:{port}"
time.sleep(0.5)  # an MCP server does its API calls after start-up; the agent attaches meanwhile


def post_token(form, headers=None, path="/oauth2/token"):
    data = urllib.parse.urlencode(form).encode()
    request = urllib.request.Request(base + path, data=data, headers=dict(
        {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}, **(headers or {})))
    return json.loads(urllib.request.urlopen(request, context=context).read())


def call_api(token, path="/api/v1/items"):
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    urllib.request.urlopen(request, context=context).read()


if mode == "token_exchange":
    answer = post_token([
        ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
        ("subject_token", os.environ["SUBJECT_TOKEN"]),
        ("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
        ("requested_token_type", "urn:ietf:params:oauth:token-type:access_token"),
        ("audience", "mock-api"),
        ("resource", f"{base}/api"),
        ("scope", "items:read"),
        ("client_id", "mcp-probe"),
    ])
    call_api(answer["access_token"])
elif mode == "client_credentials":
    basic = base64.b64encode(f"{os.environ['CLIENT_ID']}:{os.environ['CLIENT_SECRET']}".encode()).decode()
    answer = post_token([("grant_type", "client_credentials"), ("scope", "api")], {"Authorization": f"Basic {basic}"})
    call_api(answer["access_token"])
elif mode == "unanswered":
    try:
        post_token([("grant_type", "refresh_token"), ("refresh_token", os.environ["REFRESH_TOKEN"])],
                   path="/oauth2/drop")
    except Exception:  # the endpoint hung up: no answer
        pass
elif mode == "bearer":
    call_api(os.environ["API_JWT"])
    call_api(os.environ["API_JWT"], "/api/v1/other")
time.sleep(0.3)
