// Unit tests of MCP activity in the collector: rows from events, the MCP alert rules, the SQLite store's calls.
#include <gtest/gtest.h>

#include "alerts/alert_rules.h"
#include "ingest/batch_rows.h"
#include "store_test_util.h"

using namespace credtrace::collector;
using namespace credtrace::collector::test_util;
using credtrace::v1::Event;
using credtrace::v1::IngestBatch;

namespace {

const std::string kPat(64, 'b');  // fingerprints, never raw values
const std::string kKey(64, 'c');
const std::string kRawSecret = "ghp_R4wS3cr3tV4lu3N0tT0B3St0r3d0000000";

Event* mcp_event(IngestBatch& b, const std::string& type, int64_t seconds, const std::string& workload = "wl_gh") {
  Event* e = b.add_events();
  e->set_type(type);
  e->mutable_time()->set_seconds(seconds);
  e->set_host("host-1");
  e->mutable_workload()->set_id(workload);
  e->mutable_workload()->mutable_mcp()->set_server_name(workload == "wl_gh" ? "github" : "slack");
  return e;
}

void set_credential(credtrace::v1::Credential* c, const std::string& fp) {
  c->set_fingerprint(fp);
  c->set_type("github_pat");
  c->set_preview("ghp_…0000");
}

Event* add_call(IngestBatch& b, const std::string& call_id, int64_t seconds, const std::string& tool = "create_issue",
                const std::string& outcome = "ok") {
  Event* e = mcp_event(b, "mcp_tool_call", seconds);
  auto* c = e->mutable_mcp_tool_call();
  c->set_call_id(call_id), c->set_tool(tool), c->set_method("tools/call"), c->set_outcome(outcome);
  c->set_server_name("github-mcp-server"), c->set_client_name("claude-code"), c->set_duration_seconds(0.25);
  c->set_transport("stdio"), c->set_session_id("s-1"), c->set_side("server");
  return e;
}

void add_tools(IngestBatch& b, int64_t seconds, const std::string& session, const std::string& tool,
               const std::string& sha, const std::string& workload = "wl_gh") {
  auto* t = mcp_event(b, "mcp_tools", seconds, workload)->mutable_mcp_tools();
  t->set_session_id(session);
  auto* d = t->add_tools();
  d->set_name(tool), d->set_sha256(sha);
}

BatchRows rows(IngestBatch& b, uint64_t sequence) {
  b.set_agent_id("agent-1");
  b.set_sequence(sequence);
  BatchRows out;
  Status s = build_batch_rows(b, 1, BatchLimits{}, out);
  EXPECT_TRUE(s.ok()) << s.message();
  return out;
}

void ingest(Store& store, IngestBatch& b, uint64_t sequence) {
  IngestOutcome out;
  Status s = store.ingest(rows(b, sequence), out);
  ASSERT_TRUE(s.ok()) << s.message();
}

std::vector<AlertSummary> alerts_of(Store& store, const std::string& kind) {
  AlertFilter filter;
  filter.kind = kind;
  AlertPage page;
  EXPECT_TRUE(store.alerts(filter, page).ok());
  return page.alerts;
}

ToolCallPage calls_of(Store& store, ToolCallFilter filter = {}) {
  ToolCallPage page;
  Status s = store.tool_calls(filter, page);
  EXPECT_TRUE(s.ok()) << s.message();
  return page;
}

}  // namespace

TEST(McpRows, CallsLinksSessionsAndDefinitions) {
  IngestBatch b;
  Event* use = mcp_event(b, "credential_use", 100);
  set_credential(use->mutable_credential(), kPat);
  *use->mutable_tool_call()->mutable_call() = credtrace::v1::ToolCallRef();
  use->mutable_tool_call()->mutable_call()->set_call_id("c1");
  Event* call = add_call(b, "c1", 101);
  auto* d = call->mutable_mcp_tool_call()->add_downstream();
  set_credential(d->mutable_credential(), std::string(64, 'B'));  // upper case: lowercased like Event.credential
  d->set_ambiguous(true);
  call->mutable_mcp_tool_call()->add_downstream()->mutable_destination()->set_host("no.credential.example");
  mcp_event(b, "mcp_session", 99)->mutable_mcp_session()->set_session_id("s-1");
  add_tools(b, 102, "s-1", "create_issue", std::string(64, '1'));
  BatchRows r = rows(b, 1);
  ASSERT_EQ(r.mcp.calls.size(), 1u);
  EXPECT_EQ(r.mcp.calls[0].server_name, "github-mcp-server");
  EXPECT_EQ(r.mcp.calls[0].duration_ns, 250'000'000);
  ASSERT_EQ(r.mcp.call_credentials.size(), 2u);  // credential_use and downstream; the bare connection is none
  EXPECT_EQ(r.mcp.call_credentials[0].via, "credential_use");
  EXPECT_FALSE(r.mcp.call_credentials[0].ambiguous);
  EXPECT_EQ(r.mcp.call_credentials[1].via, "downstream");
  EXPECT_EQ(r.mcp.call_credentials[1].fingerprint, kPat);
  EXPECT_TRUE(r.mcp.call_credentials[1].ambiguous);
  ASSERT_EQ(r.mcp.sessions.size(), 1u);
  EXPECT_EQ(r.mcp.sessions[0].server_name, "github");  // no serverInfo: the workload's server name
  ASSERT_EQ(r.mcp.tool_definitions.size(), 1u);
}

TEST(McpRows, TokensPresentedAndIssuedDuringACallAreTiedToIt) {
  IngestBatch b;
  Event* e = mcp_event(b, "token_exchange", 5);
  e->mutable_tool_call()->mutable_call()->set_call_id("c4");
  auto* x = e->mutable_token_exchange();
  x->set_grant_type("client_credentials");
  set_credential(x->add_presented()->mutable_credential(), kKey);
  set_credential(x->add_issued()->mutable_credential(), kPat);
  x->add_issued();  // no credential: nothing to tie
  BatchRows r = rows(b, 1);
  ASSERT_EQ(r.mcp.call_credentials.size(), 2u);
  EXPECT_EQ(r.mcp.call_credentials[0].fingerprint, kPat);
  EXPECT_EQ(r.mcp.call_credentials[0].via, kViaTokenIssued);
  EXPECT_EQ(r.mcp.call_credentials[1].via, kViaTokenPresented);
}

TEST(McpRows, UnknownOutcomesAndHugeFieldsAreBoundedNotRefused) {
  IngestBatch b;
  add_call(b, std::string(10000, 'x'), 1, std::string(70000, 'y') + "\xc3\xa9", "exploded");
  add_call(b, "", 2);
  BatchRows r = rows(b, 1);
  ASSERT_EQ(r.mcp.calls.size(), 2u);
  EXPECT_EQ(r.mcp.calls[1].call_id.size(), kMaxMcpColumn);
  EXPECT_EQ(r.mcp.calls[1].outcome, kOutcomeUnknown);
  EXPECT_LE(r.mcp.calls[1].tool.size(), kMaxMcpColumn);
  EXPECT_EQ(r.mcp.calls[0].call_id, "");  // the writer stores it under its event id
  EXPECT_EQ(mcp_column(std::string(255, 'a') + "\xc3\xa9"), std::string(255, 'a'));  // not cut inside a character
}

TEST(McpRows, RawValuesInNestedCredentialsAreRefused) {
  IngestBatch b;
  auto* d = add_call(b, "c1", 1)->mutable_mcp_tool_call()->add_downstream();
  d->mutable_credential()->set_fingerprint(kRawSecret);
  b.set_agent_id("agent-1");
  BatchRows out;
  Status s = build_batch_rows(b, 1, BatchLimits{}, out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("event 0: mcp_tool_call.downstream[0].credential.fingerprint"), std::string::npos);
  EXPECT_EQ(s.message().find(kRawSecret), std::string::npos);
}

TEST(McpAlertRules, FindingsNameTheirCallAndWorkload) {
  IngestBatch b;
  Event* e = mcp_event(b, "secret_in_tool_io", 1);
  set_credential(e->mutable_credential(), kKey);
  auto* s = e->mutable_secret_in_tool_io();
  s->set_direction("arguments"), s->set_sender("client");
  s->mutable_call()->set_call_id("c7"), s->mutable_call()->set_tool("search");
  Event* m = mcp_event(b, "audience_mismatch", 2);
  set_credential(m->mutable_credential(), kKey);
  m->mutable_destination()->set_host("api.other.example");
  m->mutable_audience_mismatch()->add_aud("api.example.com");
  BatchRows r = rows(b, 1);
  auto hits = event_alerts(r.events[0], 0, AlertConfig{});
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].kind, kAlertSecretInToolIo);
  EXPECT_EQ(hits[0].subject, "github search arguments");
  EXPECT_EQ(hits[0].workload_id, "wl_gh");
  EXPECT_NE(hits[0].detail.find("\"call_id\":\"c7\""), std::string::npos);
  hits = event_alerts(r.events[1], 1, AlertConfig{});
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].kind, kAlertAudienceMismatch);
  EXPECT_EQ(hits[0].subject, "api.other.example");
}

TEST(McpStore, CallsPageFilterAndCarryTheirCredentials) {
  auto store = open_sqlite(temp_db("mcp"));
  IngestBatch b1, b2;
  Event* use = mcp_event(b1, "credential_use", 100);  // the use comes before its call's event
  set_credential(use->mutable_credential(), kPat);
  use->mutable_tool_call()->mutable_call()->set_call_id("c1");
  ingest(*store, b1, 1);
  add_call(b2, "c1", 101);
  add_call(b2, "c2", 102, "search", "tool_error");
  add_call(b2, "c3", 103, "search", "no_answer");
  ingest(*store, b2, 2);
  ToolCallFilter filter;
  filter.limit = 2;
  ToolCallPage page = calls_of(*store, filter);
  ASSERT_EQ(page.calls.size(), 2u);
  EXPECT_EQ(page.calls[0].call_id, "c3");
  filter.before_id = page.next_before_id;
  page = calls_of(*store, filter);
  ASSERT_EQ(page.calls.size(), 1u);
  EXPECT_EQ(page.next_before_id, 0);
  ASSERT_EQ(page.calls[0].credentials.size(), 1u);
  EXPECT_EQ(page.calls[0].credentials[0].fingerprint, kPat);
  EXPECT_EQ(page.calls[0].credentials[0].preview, "ghp_…0000");
  filter = {};
  filter.fingerprint = kPat;
  EXPECT_EQ(calls_of(*store, filter).calls.size(), 1u);
  filter = {};
  filter.tool = "search", filter.outcome = "tool_error";
  EXPECT_EQ(calls_of(*store, filter).calls.size(), 1u);
  std::optional<CredentialSummary> detail;
  ASSERT_TRUE(store->credential(kPat, 10, detail).ok());
  ASSERT_TRUE(detail);
  ASSERT_EQ(detail->calls.size(), 1u);
  EXPECT_TRUE(detail->calls[0].stored);
  EXPECT_EQ(detail->calls[0].outcome, "ok");
  EXPECT_EQ(detail->calls_total, 1);
}

TEST(McpStore, ToolDefinitionChangesAlertAcrossReopensAndNotOnTheBaseline) {
  std::string path = temp_db("mcp-tools");
  {
    auto store = open_sqlite(path);
    IngestBatch b;
    add_tools(b, 10, "s-1", "create_issue", std::string(64, '1'));
    add_tools(b, 11, "s-2", "create_issue", std::string(64, '1'));
    ingest(*store, b, 1);
    EXPECT_TRUE(alerts_of(*store, kAlertToolChanged).empty());
  }
  auto store = open_sqlite(path);  // a restarted collector compares with what the database holds
  IngestBatch b;
  add_tools(b, 12, "s-3", "create_issue", std::string(64, '2'));
  add_tools(b, 13, "s-3", "create_issue", std::string(64, '2'), "wl_slack");  // another workload: its baseline
  ingest(*store, b, 2);
  auto alerts = alerts_of(*store, kAlertToolChanged);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].workload_id, "wl_gh");
  EXPECT_EQ(alerts[0].fingerprint, "");
  EXPECT_EQ(alerts[0].evidence.size(), 2u);  // the last event of the old definition, the first of the new
  EXPECT_NE(alerts[0].detail.find("\"previous_session_id\":\"s-2\""), std::string::npos);
  AlertFilter by_workload;
  by_workload.workload = "github";
  AlertPage page;
  ASSERT_TRUE(store->alerts(by_workload, page).ok());
  EXPECT_EQ(page.alerts.size(), 1u);
}

TEST(McpStore, RetentionDeletesOldCallsAndDefinitions) {
  auto store = open_sqlite(temp_db("mcp-prune"));
  IngestBatch b;
  add_call(b, "c1", 10);
  add_tools(b, 10, "s-1", "create_issue", std::string(64, '1'));
  ingest(*store, b, 1);
  PruneResult result;
  ASSERT_TRUE(store->prune(20'000'000'000, result).ok());
  EXPECT_EQ(result.tool_calls, 1u);
  EXPECT_EQ(result.tool_definitions, 1u);
  EXPECT_TRUE(calls_of(*store).calls.empty());
}

TEST(McpStore, UpgradeFromVersion5KeepsAlertsAndAddsTheMcpTables) {
  std::string path = temp_db("mcp-upgrade");
  old_database(path, 5, [](SqlSession& session) {
    ASSERT_TRUE(session.run("INSERT INTO alerts (kind, fingerprint, subject, credential_type, detail, first_ns, "
                            "last_ns, hits, evidence) VALUES ('plain_http', $1, 'h:80', 'openai', '{}', 5, 5, 1, 0)",
                            {kKey}).ok());
  });
  auto store = open_sqlite(path);  // version 6 over the stored rows
  auto alerts = alerts_of(*store, "plain_http");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].workload_id, "");
  IngestBatch b;
  add_call(b, "c1", 10);
  ingest(*store, b, 1);
  EXPECT_EQ(calls_of(*store).calls.size(), 1u);
}
