"""MCP tool-call scenarios through the real collector (shared by the SQLite and PostgreSQL e2e tests): hand-built
mcp_tool_call, mcp_session, mcp_tools, mcp_tool_changed and finding events are ingested; /v1/tool-calls, the
credential detail and /v1/alerts must show the calls, the credentials tied to them and the MCP alerts."""
import time

from collector_harness import batch_body, fake_github_pat, fake_openai_key, fingerprint, preview
from test_collector import all_pages

AGENT = "agent-mcp"
GITHUB = {"id": "wl_github01", "host": "host-a", "exe": "/usr/bin/node",
          "mcp": {"server_name": "github", "client": "claude_code", "transport": "stdio"}}
SLACK = {"id": "wl_slack01", "host": "host-a", "exe": "/usr/bin/node",
         "mcp": {"server_name": "slack", "client": "claude_code", "transport": "stdio"}}
SHA = {name: (name * 64)[:64] for name in "abcdef"}  # fake tool definition hashes


def at(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def event(kind, workload, seconds, **fields):
    ev = {"type": kind, "time": at(seconds), "host": "host-a", "workload": workload}
    ev.update(fields)
    return ev


def credential(secret, kind):
    return {"type": kind, "fingerprint": fingerprint(secret), "preview": preview(secret)}


def ref(call_id, tool="create_issue", server="github-mcp-server"):
    return {"call_id": call_id, "jsonrpc_id": "7", "method": "tools/call", "tool": tool, "server_name": server}


def call(call_id, seconds, tool="create_issue", outcome="ok", workload=GITHUB, **extra):
    c = {"transport": "stdio", "method": "tools/call", "tool": tool, "jsonrpc_id": "7", "requester": "client",
         "arguments_shape": '{"owner":"string","repo":"string","title":"string"}', "outcome": outcome,
         "duration_seconds": 0.042, "request_bytes": "311", "response_bytes": "1870", "client_name": "claude-code",
         "client_version": "2.0.14", "server_name": "github-mcp-server", "server_version": "0.9.1",
         "protocol_version": "2025-06-18", "call_id": call_id, "session_id": "s-1", "side": "server"}
    c.update(extra)
    return event("mcp_tool_call", workload, seconds, process={"pid": 4242, "exe": "/usr/bin/node"}, mcp_tool_call=c)


def tools(workload, seconds, session, definitions):
    return event("mcp_tools", workload, seconds,
                 mcp_tools={"session_id": session, "tools": [{"name": n, "sha256": h} for n, h in definitions]})


class ToolCallScenarios:
    """Mixin: needs self.make_collector() returning a new (not started) Collector on its own database."""

    def setUp(self):
        self.collectors = []

    def tearDown(self):
        for c in self.collectors:
            c.cleanup()

    def new_collector(self):
        c = self.make_collector()
        self.collectors.append(c)
        return c.start()

    def restart(self, collector):
        collector.stop()
        return collector.start()

    def ingest_all(self, c, batches, first_sequence=1):
        for seq, events in enumerate(batches, start=first_sequence):
            r = c.ingest(batch_body(AGENT, seq, events))
            self.assertEqual(r.status, 200, r.body)

    def test_tool_calls_their_credentials_findings_and_alerts(self):
        c = self.new_collector()
        pat, key, bearer, jwt, relayed = (fake_github_pat(), fake_openai_key(), fake_openai_key(),
                                          "eyJ" + fake_openai_key(), fake_github_pat())
        secrets = (pat, key, bearer, jwt, relayed)
        now = int(time.time()) - 600
        use = event("credential_use", GITHUB, now, credential=credential(pat, "github_pat"),
                    destination={"host": "api.github.com", "port": 443, "tls": True},
                    request={"protocol": "h2", "method": "POST", "path": "/repos/o/r/issues",
                             "carrier": "header:authorization", "scheme": "Bearer"},
                    credential_use={"count": "1"}, tool_call={"call": ref("c0001")})
        ambiguous = event("credential_use", GITHUB, now + 2, credential=credential(key, "openai"),
                          destination={"host": "api.openai.com", "port": 443, "tls": True}, credential_use={"count": "1"},
                          tool_call={"ambiguous": True, "candidates": [ref("c0001"), ref("c0002", "search")]})
        downstream = [{"credential": credential(pat, "github_pat"),
                       "destination": {"host": "api.github.com", "port": 443, "tls": True}, "pid": 4242},
                      {"destination": {"host": "uploads.github.com", "port": 443, "tls": True}, "pid": 4242}]
        finding = event("secret_in_tool_io", GITHUB, now + 3, credential=credential(key, "openai"),
                        sources=[{"kind": "tool_result", "key": "c0002", "name": "search"}],
                        secret_in_tool_io={"direction": "result", "sender": "server", "call": ref("c0002", "search"),
                                           "transport": "stdio", "session_id": "s-1"})
        passthrough = event("token_passthrough", GITHUB, now + 4, credential=credential(bearer, "bearer"),
                            destination={"host": "api.partner.example", "port": 443, "tls": True},
                            tool_call={"call": ref("c0001")},
                            token_passthrough={"received_carrier": "header:authorization", "received_port": 8931,
                                               "received_path": "/mcp"})
        audience = event("audience_mismatch", GITHUB, now + 5, credential=credential(jwt, "jwt"),
                         destination={"host": "api.other.example", "port": 443, "tls": True},
                         audience_mismatch={"aud": ["api.partner.example"], "destination_host": "api.other.example"})
        relay = event("credential_relayed", SLACK, now + 6, credential=credential(relayed, "github_pat"),
                      destination={"host": "api.github.com", "port": 443, "tls": True},
                      credential_relayed={"carried_by": ref("c0002", "search"), "carried_by_workload_id": GITHUB["id"],
                                          "carried_by_server": "github", "relay": "credential_use",
                                          "carried_direction": "result"})
        session = event("mcp_session", GITHUB, now - 1, mcp_session={
            "transport": "stdio", "session_id": "s-1", "protocol_version": "2025-06-18", "client_name": "claude-code",
            "client_version": "2.0.14", "server_name": "github-mcp-server", "server_version": "0.9.1", "side": "server",
            "client_capabilities": ["roots"], "server_capabilities": ["tools"]})
        huge_tool = "t" * 60000  # under limits.max_string_bytes (64 KiB): stored, the column cut
        batches = [
            [session, use, ambiguous, tools(GITHUB, now, "s-1", [("create_issue", SHA["a"]), ("search", SHA["b"])])],
            [call("c0001", now + 1, downstream=downstream),
             call("c0002", now + 7, tool="search", outcome="tool_error"), finding, passthrough, audience, relay],
            [call("c0003", now + 8, tool="", method="resources/read", outcome="jsonrpc_error", error_code="-32601"),
             call("c0004", now + 9, tool="slow", outcome="no_answer", no_answer="timeout"),
             call("c0005", now + 10, tool="odd", outcome="cancelled_by_future_agent"),
             call("", now + 11, tool="no_id"),
             call("c0007", now + 12, tool=huge_tool, client_name="", workload=SLACK, server_name="")],
        ]
        self.ingest_all(c, batches)
        self.assertTrue(c.ingest(batch_body(AGENT, 2, batches[1])).json()["duplicate"])  # a replay adds nothing

        calls, pages = all_pages(c, "/v1/tool-calls", "tool_calls", 2)
        self.assertEqual(pages, 4)
        self.assertEqual(len(calls), 7)
        ids = [x["event_id"] for x in calls]
        self.assertEqual(ids, sorted(ids, reverse=True))  # newest first
        by = {x["call_id"]: x for x in calls}
        first = by["c0001"]
        self.assertEqual((first["server"], first["client"], first["tool"], first["method"], first["outcome"]),
                         ("github-mcp-server", "claude-code", "create_issue", "tools/call", "ok"))
        self.assertEqual((first["workload_id"], first["session_id"], first["transport"], first["side"]),
                         (GITHUB["id"], "s-1", "stdio", "server"))
        self.assertAlmostEqual(first["duration_seconds"], 0.042, places=6)
        self.assertEqual((first["request_bytes"], first["response_bytes"]), (311, 1870))
        ties = {(x["fingerprint"], x["via"], x["ambiguous"]) for x in first["credentials"]}
        self.assertEqual(ties, {(fingerprint(pat), "downstream", False), (fingerprint(pat), "credential_use", False),
                                (fingerprint(key), "credential_use", True),
                                (fingerprint(bearer), "token_passthrough", False)})
        self.assertEqual({x["preview"] for x in first["credentials"] if x["fingerprint"] == fingerprint(pat)},
                         {preview(pat)})
        second = {(x["fingerprint"], x["via"]) for x in by["c0002"]["credentials"]}
        self.assertEqual(second, {(fingerprint(key), "credential_use"), (fingerprint(key), "secret_in_tool_io"),
                                  (fingerprint(relayed), "carried")})
        self.assertEqual((by["c0003"]["outcome"], by["c0003"]["error_code"], by["c0003"]["method"]),
                         ("jsonrpc_error", -32601, "resources/read"))
        self.assertEqual((by["c0004"]["outcome"], by["c0004"]["no_answer"]), ("no_answer", "timeout"))
        self.assertEqual(by["c0005"]["outcome"], "unknown")  # an outcome this collector does not know
        no_id = [x for x in calls if x["tool"] == "no_id"]
        self.assertEqual(len(no_id), 1)
        self.assertEqual(no_id[0]["call_id"], f"event-{no_id[0]['event_id']}")  # stored under its event
        self.assertEqual(by["c0007"]["tool"], "t" * 256)  # cut to the column size; the event keeps all of it
        self.assertEqual((by["c0007"]["server"], by["c0007"]["client"]), ("slack", "claude_code"))

        def call_ids(query):
            reply = c.query("/v1/tool-calls?" + query)
            self.assertEqual(reply.status, 200, reply.body)
            return sorted(x["call_id"] for x in reply.json()["tool_calls"])

        self.assertEqual(call_ids("tool=create_issue"), ["c0001"])
        self.assertEqual(call_ids("server=slack"), ["c0007"])
        self.assertEqual(len(call_ids("server=github-mcp-server&client=claude-code")), 6)
        self.assertEqual(call_ids("workload=slack"), ["c0007"])  # a workload name
        self.assertEqual(len(call_ids("workload=" + GITHUB["id"])), 6)
        self.assertEqual(call_ids("outcome=no_answer"), ["c0004"])
        self.assertEqual(call_ids("outcome=unknown"), ["c0005"])
        self.assertEqual(call_ids("fingerprint=" + fingerprint(pat)), ["c0001"])
        self.assertEqual(call_ids("fingerprint=" + fingerprint(key).upper()), ["c0001", "c0002"])
        self.assertEqual(call_ids(f"since={now + 8}&until={now + 10}"), ["c0003", "c0004"])
        self.assertEqual(call_ids("tool=create_issue&outcome=tool_error"), [])
        for bad, message in (("outcome=bogus", "outcome must be one of"), ("fingerprint=abc", "64 hex digits"),
                             ("since=yesterday", "since must be"), ("limit=0", "limit must be"),
                             ("cursor=x", "bad cursor"), ("server_name=github", "unknown query parameter")):
            reply = c.query("/v1/tool-calls?" + bad)
            self.assertEqual(reply.status, 400, bad)
            self.assertIn(message, reply.json()["error"])
        self.assertEqual(c.query("/v1/tool-calls", token=None).status, 401)

        detail = c.query("/v1/credentials/" + fingerprint(pat)).json()
        self.assertEqual(detail["tool_calls_total"], 2)
        self.assertEqual({(x["call_id"], x["via"]) for x in detail["tool_calls"]},
                         {("c0001", "downstream"), ("c0001", "credential_use")})
        stored = detail["tool_calls"][0]
        self.assertEqual((stored["outcome"], stored["tool"], stored["workload_id"], stored["agent_id"]),
                         ("ok", "create_issue", GITHUB["id"], AGENT))
        ambiguous_calls = c.query("/v1/credentials/" + fingerprint(key)).json()["tool_calls"]
        self.assertEqual({(x["call_id"], x["via"], x["ambiguous"]) for x in ambiguous_calls},
                         {("c0001", "credential_use", True), ("c0002", "credential_use", True),
                          ("c0002", "secret_in_tool_io", False)})

        alerts = {a["kind"]: a for a in all_pages(c, "/v1/alerts", "alerts", 100)[0]}
        events = {e["id"]: e for e in all_pages(c, "/v1/events", "events", 1000)[0]}
        a = alerts["secret_in_tool_io"]
        self.assertEqual((a["fingerprint"], a["preview"], a["subject"]), (fingerprint(key), preview(key),
                                                                          "github-mcp-server search result"))
        self.assertEqual((a["detail"]["call"]["call_id"], a["detail"]["direction"], a["workload"]),
                         ("c0002", "result", GITHUB["id"]))
        self.assertEqual(events[a["evidence_events"][0]]["type"], "secret_in_tool_io")
        a = alerts["credential_relayed"]
        self.assertEqual((a["subject"], a["detail"]["carried_by_call"], a["workload"]),
                         ("github -> slack", "c0002", SLACK["id"]))
        a = alerts["token_passthrough"]
        self.assertEqual((a["subject"], a["detail"]["received_port"], a["detail"]["call"]["call_id"]),
                         (GITHUB["id"] + " api.partner.example", 8931, "c0001"))
        a = alerts["audience_mismatch"]
        self.assertEqual((a["subject"], a["detail"]["aud"]), ("api.other.example", ["api.partner.example"]))
        self.assertNotIn("tool_definition_changed", alerts)  # the first definitions are the baseline
        self.assertEqual(len(c.query("/v1/alerts?kind=token_passthrough&workload=github").json()["alerts"]), 1)

        c.stop()
        data = c.db_bytes()
        for secret in secrets:
            self.assertNotIn(secret.encode(), data)
            self.assertNotIn(secret, c.read_log())

    def test_a_redefined_tool_alerts_across_sessions_and_restarts(self):
        c = self.new_collector()
        now = int(time.time()) - 600
        self.ingest_all(c, [[tools(GITHUB, now, "s-1", [("create_issue", SHA["a"]), ("search", SHA["b"])])],
                            [tools(GITHUB, now + 1, "s-2", [("create_issue", SHA["a"])])]])  # same: no alert
        self.assertEqual(c.query("/v1/alerts?kind=tool_definition_changed").json()["alerts"], [])
        c = self.restart(c)  # the baseline is the database's, not the process's
        changed = event("mcp_tool_changed", GITHUB, now + 3, mcp_tool_changed={
            "tool": "search", "previous_sha256": SHA["b"], "sha256": SHA["d"], "previous_session_id": "s-1",
            "session_id": "s-3", "previous_seen": at(now)})
        # The agent restarted too: its first tools/list is its own new baseline, so only the collector sees the change
        # of create_issue; search changed within the agent's run, and both report it.
        self.ingest_all(c, [[tools(GITHUB, now + 2, "s-3", [("create_issue", SHA["c"]), ("search", SHA["d"])]),
                             changed]], first_sequence=3)
        alerts = c.query("/v1/alerts?kind=tool_definition_changed").json()["alerts"]
        by_tool = {a["detail"]["tool"]: a for a in alerts}
        self.assertEqual(set(by_tool), {"create_issue", "search"})
        a = by_tool["create_issue"]
        self.assertEqual((a["fingerprint"], a["workload"], a["hits"]), ("", GITHUB["id"], 1))
        self.assertEqual((a["detail"]["previous_sha256"], a["detail"]["sha256"], a["detail"]["reported_by"]),
                         (SHA["a"], SHA["c"], "collector"))
        self.assertEqual((a["detail"]["previous_session_id"], a["detail"]["session_id"]), ("s-2", "s-3"))
        events = {e["id"]: e for e in all_pages(c, "/v1/events", "events", 1000)[0]}
        self.assertEqual([events[i]["mcp_tools"]["session_id"] for i in a["evidence_events"]], ["s-2", "s-3"])
        a = by_tool["search"]
        self.assertEqual(a["hits"], 2)  # the collector's and the agent's report of one change
        self.assertEqual([events[i]["type"] for i in a["evidence_events"]],
                         ["mcp_tools", "mcp_tools", "mcp_tool_changed"])  # the old definition's, then the reports
        self.assertEqual(a["subject"], f"{GITHUB['id']} search {SHA['d']}")
        self.assertEqual((a["detail"]["previous_sha256"], a["detail"]["previous_seen"]), (SHA["b"], at(now)))
        self.assertEqual(len(c.query("/v1/alerts?workload=github&kind=tool_definition_changed").json()["alerts"]), 2)
        self.assertEqual(c.query("/v1/alerts?workload=slack&kind=tool_definition_changed").json()["alerts"], [])
        # Back to the old definition is a change too; the same definition again is not.
        self.ingest_all(c, [[tools(GITHUB, now + 4, "s-4", [("create_issue", SHA["a"])])],
                            [tools(GITHUB, now + 5, "s-5", [("create_issue", SHA["a"])])]], first_sequence=4)
        alerts = c.query("/v1/alerts?kind=tool_definition_changed").json()["alerts"]
        self.assertEqual(len(alerts), 3)
        # Another workload defining the same tool differently is its own baseline.
        self.ingest_all(c, [[tools(SLACK, now + 6, "s-9", [("create_issue", SHA["e"])])]], first_sequence=6)
        self.assertEqual(len(c.query("/v1/alerts?kind=tool_definition_changed").json()["alerts"]), 3)

    def test_bad_mcp_input_is_refused_or_stored_never_crashes(self):
        c = self.new_collector()
        now = int(time.time()) - 600
        raw = fake_github_pat()
        bad = call("c1", now, downstream=[{"credential": {"type": "github_pat", "fingerprint": raw}}])
        r = c.ingest(batch_body(AGENT, 1, [bad]))
        self.assertEqual(r.status, 400)
        self.assertIn("downstream[0].credential.fingerprint must be 64 hex digits", r.json()["error"])
        long_preview = event("token_exchange", GITHUB, now, token_exchange={
            "grant_type": "client_credentials", "issued": [{"role": "access_token", "credential": {
                "type": "bearer", "fingerprint": fingerprint(raw), "preview": raw * 3}}]})
        r = c.ingest(batch_body(AGENT, 2, [long_preview]))
        self.assertEqual(r.status, 400)
        self.assertIn("token_exchange.issued[0].credential.preview", r.json()["error"])
        odd = [event("mcp_tool_call", GITHUB, now, mcp_tool_call={}),  # nothing at all: stored under its event
               event("mcp_tool_call", GITHUB, now, mcp_tool_call={"call_id": "x" * 5000, "duration_seconds": 1e300,
                                                                 "request_bytes": "18446744073709551615"}),
               event("mcp_session", GITHUB, now, mcp_session={}),
               event("mcp_tools", GITHUB, now, mcp_tools={"tools": [{"name": "", "sha256": ""}, {"name": "a"}]}),
               event("mcp_tool_changed", GITHUB, now, mcp_tool_changed={}),
               event("secret_in_tool_io", GITHUB, now, secret_in_tool_io={"call": {"call_id": "c9"}})]
        r = c.ingest(batch_body(AGENT, 3, odd))
        self.assertEqual(r.status, 200, r.body)
        calls = c.query("/v1/tool-calls").json()["tool_calls"]
        self.assertEqual(len(calls), 2)
        self.assertEqual(sorted(len(x["call_id"]) for x in calls)[-1], 256)
        self.assertEqual({x["outcome"] for x in calls}, {"unknown"})
        self.assertEqual(c.query("/v1/alerts").json()["alerts"], [])
        self.assertEqual(c.request("GET", "/healthz").status, 200)
        r = c.ingest(batch_body(AGENT, 4, [call("c-dup", now), call("c-dup", now + 1, tool="other")]))
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual([x["tool"] for x in c.query("/v1/tool-calls?cursor=999999").json()["tool_calls"]
                          if x["call_id"] == "c-dup"], ["create_issue"])  # the first report is kept
        m = c.metrics()
        self.assertEqual((m["credtrace_collector_tool_calls_total"], m["credtrace_collector_tool_calls_repeated_total"],
                          m["credtrace_collector_tool_calls_without_id_total"],
                          m["credtrace_collector_tool_calls_unknown_outcome_total"]), (3, 1, 1, 2))
        self.assertEqual(m['credtrace_collector_ingest_rejects_total{reason="invalid_batch"}'], 2)
        c.stop()
        self.assertNotIn(raw.encode(), c.db_bytes())
