"""End-to-end OAuth tests (root): a watched stand-in MCP server gets tokens from a local mock authorization server over
TLS (RFC 8693 token exchange; client_credentials with HTTP Basic) and uses them against a local mock API; a JWT whose
aud names another host is sent to the API. The agent must report token_exchange (presented and issued credentials as
fingerprints), list the exchange as the source of the issued token's use, report audience_mismatch once, and never
let a raw secret reach its events, log or collector spool."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import zlib

from harness import Agent, base_env, fake_jwt, fingerprint, _random, ALNUM
from oauth_server import OAuthServer

CLIENTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "clients")
PROBE = os.path.join(CLIENTS, "mcp_server_oauth_probe.py")
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"

# The collector sink points at a closed loopback port: every event is spooled, so the spool is checked too.
SPOOLING = """collector:
  url: http://127.0.0.1:9
  token_file: {token_file}
  flush_interval_ms: 200
  retry_initial_ms: 100
  retry_max_ms: 1000
"""


def fake_client_secret():
    return "cs_" + _random(ALNUM, 40)


def fake_opaque_access_token():
    return "at-" + _random(ALNUM + "-_", 46)


class TokenExchange(unittest.TestCase):
    def setUp(self):
        self.agent = Agent(extra_config=SPOOLING.format(token_file=self.write_token_file()))
        self.agent.start()
        self.raw_secrets = []

    def write_token_file(self):
        self.token_dir = tempfile.mkdtemp(prefix="credtrace-oauth-token-")
        path = os.path.join(self.token_dir, "token")
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write("e2e-agent-token-" + _random(ALNUM, 16) + "\n")
        return path

    def tearDown(self):
        self.agent.stop()
        spooled = self.spool_blobs()
        if self.raw_secrets:  # the spool really holds the events (inflated), so its check below means something
            self.assertTrue(any(fingerprint(self.raw_secrets[0]).encode() in blob for blob in spooled),
                            "no spooled batch holds the test's events")
        blobs = [self.agent.all_output()] + spooled
        for secret in self.raw_secrets:
            for blob in blobs:
                self.assertNotIn(secret.encode(), blob, "a raw secret reached the agent's output, log or spool")
        self.agent.cleanup()
        shutil.rmtree(self.token_dir, ignore_errors=True)

    def spool_blobs(self):
        """Every spool file, as stored and (zlib batches) inflated."""
        blobs = []
        spool = os.path.join(self.agent.dir, "spool")
        for root, _, names in os.walk(spool):
            for name in names:
                with open(os.path.join(root, name), "rb") as f:
                    data = f.read()
                blobs.append(data)
                for offset in range(0, min(len(data), 64)):  # a batch header may precede the zlib stream
                    try:
                        blobs.append(zlib.decompressobj().decompress(data[offset:]))
                        break
                    except zlib.error:
                        continue
        return blobs

    def secret(self, value):
        self.raw_secrets.append(value)
        return value

    def run_probe(self, mode, server, env):
        result = subprocess.run([sys.executable, PROBE, mode, str(server.port), server.ca],
                                env=dict(base_env(), **env), capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)

    def exchange(self, grant):
        return self.agent.wait_for(lambda e: e["type"] == "token_exchange"
                                   and e["token_exchange"]["grant_type"] == grant, what=f"token_exchange {grant}")

    def use_of(self, raw):
        return self.agent.wait_for(lambda e: e["type"] == "credential_use"
                                   and e["credential"]["fingerprint"] == fingerprint(raw), what="use of issued token")

    @staticmethod
    def by_role(credentials):
        return {c["role"]: c for c in credentials}

    def test_rfc8693_token_exchange_then_the_issued_token_is_used(self):
        subject = self.secret(fake_jwt(aud=("https://mcp.example.test/",)))
        issued = self.secret(fake_jwt(aud=("https://localhost/",), ttl=900))
        with OAuthServer(subject_token=subject, exchanged_token=issued) as server:
            self.run_probe("token_exchange", server, {"SUBJECT_TOKEN": subject})
            self.assertEqual(server.seen[-1][2]["Authorization"], f"Bearer {issued}")  # the exchange really worked
        event = self.exchange("token_exchange")
        detail = event["token_exchange"]
        self.assertEqual(detail["status"], 200)
        self.assertEqual(detail["client_id"], "mcp-probe")
        self.assertEqual(detail["audience"], ["mock-api"])
        self.assertEqual(detail["resource"], [f"https://localhost:{server.port}/api"])
        self.assertEqual(detail["scope"], "items:read")
        self.assertEqual(detail["requested_token_type"], ACCESS_TOKEN_TYPE)
        presented = self.by_role(detail["presented"])["subject_token"]
        self.assertEqual(presented["credential"]["fingerprint"], fingerprint(subject))
        self.assertEqual(presented["credential"]["type"], "jwt")
        self.assertEqual(presented["token_type"], "urn:ietf:params:oauth:token-type:jwt")
        access = self.by_role(detail["issued"])["access_token"]
        self.assertEqual(access["credential"]["fingerprint"], fingerprint(issued))
        self.assertEqual(access["expires_in"], "900")
        self.assertEqual(access["token_type"], ACCESS_TOKEN_TYPE)
        self.assertEqual(event["destination"]["host"], f"localhost:{server.port}")
        self.assertEqual(event["destination"]["port"], server.port)
        self.assertEqual(event["request"]["path"], "/oauth2/token")
        self.assertEqual(event["workload"]["mcp"]["server_name"], "mcp_server_oauth_probe")
        use = self.use_of(issued)
        self.assertIn({"kind": "token_exchange", "name": "", "path": f"localhost:{server.port}/oauth2/token",
                       "key": "token_exchange"}, use["sources"])
        # The subject token went in the body: handed over, not presented to the endpoint; its aud is not judged.
        health = self.agent.wait_for(lambda e: e["type"] == "agent_health"
                                     and e["agent_health"]["sensors"].get("token_requests_answered") == "1",
                                     what="token counters in agent_health")
        self.assertEqual(health["agent_health"]["sensors"].get("audience_mismatches", "0"), "0")
        self.assertFalse([e for e in self.agent.events() if e["type"] == "audience_mismatch"])

    def test_node_token_exchange_with_a_json_body(self):
        subject = self.secret(fake_jwt(aud=("mcp-node",)))
        issued = self.secret(fake_opaque_access_token())
        with OAuthServer(subject_token=subject, exchanged_token=issued) as server:
            result = subprocess.run(["node", os.path.join(CLIENTS, "mcp-server-oauth-probe.mjs"), str(server.port),
                                     server.ca], env=dict(base_env(), SUBJECT_TOKEN=subject), capture_output=True,
                                    text=True, timeout=60)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(server.seen[-1][2]["authorization"], f"Bearer {issued}")
        detail = self.exchange("token_exchange")["token_exchange"]
        self.assertEqual(detail["status"], 200)
        self.assertEqual(detail["client_id"], "mcp-node-probe")
        self.assertEqual(detail["audience"], ["mock-api", "mock-api-2"])
        self.assertEqual(self.by_role(detail["presented"])["subject_token"]["credential"]["fingerprint"],
                         fingerprint(subject))
        access = self.by_role(detail["issued"])["access_token"]
        self.assertEqual(access["credential"]["fingerprint"], fingerprint(issued))
        self.assertEqual(access["expires_in"], "900")
        use = self.use_of(issued)
        self.assertIn({"kind": "token_exchange", "name": "", "path": f"localhost:{server.port}/oauth2/token",
                       "key": "token_exchange"}, use["sources"])

    def test_client_credentials_with_basic_auth(self):
        client_secret = self.secret(fake_client_secret())
        issued = self.secret(fake_opaque_access_token())
        with OAuthServer(basic_credentials=f"svc-client:{client_secret}", client_token=issued) as server:
            self.run_probe("client_credentials", server, {"CLIENT_ID": "svc-client", "CLIENT_SECRET": client_secret})
            self.assertEqual(server.seen[-1][2]["Authorization"], f"Bearer {issued}")
        detail = self.exchange("client_credentials")["token_exchange"]
        self.assertEqual(detail["status"], 200)
        self.assertEqual(detail["client_id"], "svc-client")
        self.assertEqual(detail["scope"], "api")
        basic = self.by_role(detail["presented"])["basic_auth"]
        self.assertEqual(basic["credential"]["fingerprint"], fingerprint(client_secret))
        self.assertEqual(basic["credential"]["type"], "oauth_client_secret")
        access = self.by_role(detail["issued"])["access_token"]
        self.assertEqual(access["credential"]["fingerprint"], fingerprint(issued))
        self.assertEqual(access["expires_in"], "3600")
        self.assertEqual(access["token_type"], "Bearer")
        use = self.use_of(issued)
        self.assertIn({"kind": "token_exchange", "name": "", "path": f"localhost:{server.port}/oauth2/token",
                       "key": "client_credentials"}, use["sources"])
        # The client secret's own use (the Basic header) names its environment variable.
        secret_use = self.use_of(client_secret)
        self.assertIn({"kind": "env", "name": "CLIENT_SECRET", "path": "", "key": ""}, secret_use["sources"])

    def test_a_request_never_answered_is_reported_without_an_answer(self):
        refresh = self.secret("rt_" + _random(ALNUM, 44))
        with OAuthServer() as server:
            self.run_probe("unanswered", server, {"REFRESH_TOKEN": refresh})
            self.assertEqual(server.seen[-1][1], "/oauth2/drop")
        event = self.exchange("refresh_token")
        detail = event["token_exchange"]
        self.assertEqual(detail["status"], 0)
        self.assertEqual(detail["issued"], [])
        self.assertEqual(self.by_role(detail["presented"])["refresh_token"]["credential"]["fingerprint"],
                         fingerprint(refresh))
        self.assertEqual(event["request"]["path"], "/oauth2/drop")
        self.agent.wait_for(lambda e: e["type"] == "agent_health"
                            and e["agent_health"]["sensors"].get("token_requests_unanswered") == "1",
                            what="token_requests_unanswered in agent_health")

    def test_jwt_sent_where_its_audience_does_not_point(self):
        jwt = self.secret(fake_jwt(aud=("https://other.example",)))
        with OAuthServer() as server:
            self.run_probe("bearer", server, {"API_JWT": jwt})
            self.assertEqual(len([s for s in server.seen if s[2].get("Authorization") == f"Bearer {jwt}"]), 2)
        finding = self.agent.wait_for(lambda e: e["type"] == "audience_mismatch", what="audience_mismatch")
        self.assertEqual(finding["credential"]["fingerprint"], fingerprint(jwt))
        self.assertEqual(finding["credential"]["jwt"]["aud"], ["https://other.example"])
        self.assertEqual(finding["audience_mismatch"]["aud"], ["https://other.example"])
        self.assertEqual(finding["audience_mismatch"]["destination_host"], "localhost")
        self.assertEqual(finding["destination"]["port"], server.port)
        self.assertEqual(finding["request"]["carrier"], "header:authorization")
        self.assertIn({"kind": "env", "name": "API_JWT", "path": "", "key": ""}, finding["sources"])
        health = self.agent.wait_for(lambda e: e["type"] == "agent_health"
                                     and e["agent_health"]["sensors"].get("audience_mismatch_repeats") == "1",
                                     what="the second request counted as a repeat")
        self.assertEqual(health["agent_health"]["sensors"]["audience_mismatches"], "1")
        self.assertEqual(len([e for e in self.agent.events() if e["type"] == "audience_mismatch"]), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
