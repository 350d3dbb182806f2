// The web UI's pages (credentials, one credential's graph and timeline, workloads, alerts), drawn from the query API.
// Every string from events is set as text (textContent, createTextNode, setAttribute on inert attributes): nothing
// from the collector's data is ever parsed as markup or followed as a link.
"use strict";

const LIMITS = [25, 50, 100, 200];
const GRAPH_EVENTS = 1000;  // the credential's most recent events read for its graph's edges
const TIMELINE_ROWS = 100;

class NotLoggedIn extends Error {}

// ---------- building the page safely ----------

function safeHref(href) {
  return typeof href === "string" && (href.startsWith("#/") || href.startsWith("/ui/")) ? href : "#/";
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  setProps(node, props);
  appendChildren(node, children);
  return node;
}

function svg(tag, props = {}, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  setProps(node, props);
  appendChildren(node, children);
  return node;
}

function setProps(node, props) {
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "href") node.setAttribute("href", safeHref(value));
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
}

function appendChildren(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

function text(value) {
  return value === undefined || value === null || value === "" ? "—" : String(value);
}

function shortTime(value) {
  return value ? String(value).replace("T", " ").replace(/\.\d+/, "").replace("Z", " UTC") : "—";
}

function shortFingerprint(fp) {
  return fp ? String(fp).slice(0, 12) + "…" : "—";
}

function link(href, label) {
  return el("a", {href}, label);
}

function credentialHref(fp) {
  return "#/credential/" + encodeURIComponent(fp);
}

function workloadHref(id) {
  return "#/workload/" + encodeURIComponent(id);
}

// ---------- the query API ----------

async function api(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== "") query.set(key, value);
  const url = path + (query.toString() ? "?" + query.toString() : "");
  const response = await fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}});
  if (response.status === 401) {
    window.location.assign("/ui/login.html");
    throw new NotLoggedIn();
  }
  let body = {};
  try {
    body = await response.json();
  } catch (error) {
    body = {};
  }
  if (!response.ok) throw new Error(body.error || "HTTP " + response.status);
  return body;
}

// ---------- routing (state in the hash: back and forward work, a page can be linked) ----------

function currentRoute() {
  const hash = window.location.hash || "#/credentials";
  const [path, query = ""] = hash.split("?");
  return {path, params: new URLSearchParams(query)};
}

function routeHref(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value) query.set(key, value);
  return path + (query.toString() ? "?" + query.toString() : "");
}

const ROUTES = [
  [/^#\/credentials$/, "credentials", (m, params) => viewCredentials(params)],
  [/^#\/credential\/([^/]+)$/, "credentials", (m) => viewCredential(decodeURIComponent(m[1]))],
  [/^#\/workloads$/, "workloads", (m, params) => viewWorkloads(params)],
  [/^#\/workload\/([^/]+)$/, "workloads", (m) => viewWorkload(decodeURIComponent(m[1]))],
  [/^#\/alerts$/, "alerts", (m, params) => viewAlerts(params)],
  [/^#\/alert\/(\d+)$/, "alerts", (m) => viewAlert(Number(m[1]))],
];

let renderSerial = 0;

async function render() {
  const serial = ++renderSerial;
  const {path, params} = currentRoute();
  const hash = window.location.hash || "#/credentials";
  const main = document.getElementById("main");
  main.removeAttribute("data-ready");
  let view = null, section = "";
  for (const [pattern, name, build] of ROUTES) {
    const m = path.match(pattern);
    if (m) {
      view = () => build(m, params);
      section = name;
      break;
    }
  }
  for (const a of document.querySelectorAll("header nav a")) {
    if (a.dataset.section === section) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  main.replaceChildren(el("p", {class: "muted"}, "Loading…"));
  try {
    const content = view ? await view() : el("p", {class: "error"}, "No such page.");
    if (serial !== renderSerial) return;  // a newer navigation won
    main.replaceChildren(content);
    document.title = "credtrace — " + (main.querySelector("h1")?.textContent || "");
    main.setAttribute("data-ready", hash);  // tests wait for the page of this very hash
  } catch (error) {
    if (error instanceof NotLoggedIn || serial !== renderSerial) return;
    main.replaceChildren(el("h1", {}, "Could not load this page"), el("p", {class: "error"}, error.message));
  }
}

// ---------- pieces shared by the pages ----------

// A table whose header buttons sort the rows shown (this page of the listing); `columns`: [label, value(row), cell(row)].
function sortableTable(label, columns, rows, emptyText) {
  if (!rows.length) return el("p", {class: "muted"}, emptyText);
  const state = {column: -1, ascending: true};
  const tbody = el("tbody");
  const headers = columns.map(([name, , , opts = {}], index) =>
    el("th", {scope: "col", class: opts.wide ? "wide-only" : null, "aria-sort": "none"},
       el("button", {type: "button", onclick: () => sortBy(index)}, name)));
  function draw() {
    const ordered = rows.slice();
    if (state.column >= 0) {
      const value = columns[state.column][1];
      ordered.sort((a, b) => {
        const x = value(a), y = value(b);
        const order = typeof x === "number" && typeof y === "number" ? x - y : String(x ?? "").localeCompare(String(y ?? ""));
        return state.ascending ? order : -order;
      });
    }
    tbody.replaceChildren(...ordered.map((row) =>
      el("tr", {}, columns.map(([, , cell, opts = {}]) => el("td", {class: opts.wide ? "wide-only" : null}, cell(row))))));
    headers.forEach((th, index) =>
      th.setAttribute("aria-sort", index === state.column ? (state.ascending ? "ascending" : "descending") : "none"));
  }
  function sortBy(index) {
    state.ascending = state.column === index ? !state.ascending : true;
    state.column = index;
    draw();
  }
  draw();
  return el("div", {class: "table-wrap"}, el("table", {"aria-label": label}, el("thead", {}, el("tr", {}, headers)), tbody));
}

function filterForm(path, params, fields) {
  const inputs = {};
  const form = el("form", {class: "filters", role: "search"},
    fields.map(([name, label, options]) => {
      const input = options
        ? el("select", {name}, options.map((o) => el("option", {value: o, selected: params.get(name) === o ? true : null}, o || "any")))
        : el("input", {name, value: params.get(name) || "", spellcheck: "false"});
      inputs[name] = input;
      return el("label", {}, label, input);
    }),
    el("label", {}, "Rows",
       inputs.limit = el("select", {name: "limit"}, LIMITS.map((n) =>
         el("option", {value: n, selected: String(n) === (params.get("limit") || "50") ? true : null}, n)))),
    el("button", {type: "submit"}, "Filter"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = {};
    for (const [name, input] of Object.entries(inputs)) next[name] = input.value.trim();
    window.location.hash = routeHref(path, next);
  });
  return form;
}

function pager(path, params, nextCursor, shown) {
  const base = Object.fromEntries(params.entries());
  delete base.cursor;
  return el("nav", {class: "pager", "aria-label": "Pages"},
    params.get("cursor") ? link(routeHref(path, base), "First page") : null,
    nextCursor ? link(routeHref(path, {...base, cursor: nextCursor}), "Next page") : null,
    el("span", {class: "muted"}, shown + " shown" + (nextCursor ? ", more on the next page" : "")));
}

function facts(pairs) {
  return el("dl", {class: "facts"}, pairs.map(([name, value]) => [el("dt", {}, name), el("dd", {}, value)]));
}

function sourceLabel(source) {
  const where = source.name || source.path || source.key || source.value || "";
  return (source.kind || "source") + (where ? ": " + where : "");
}

function destinationLabel(destination) {
  if (!destination || !destination.host && !destination.ip) return "";
  return (destination.host || destination.ip) + (destination.port ? ":" + destination.port : "");
}

function workloadName(workload) {
  if (!workload) return "";
  const mcp = workload.mcp || {};
  const k8s = workload.k8s || workload.kubernetes || {};
  return mcp.server_name || mcp.serverName || (k8s.pod ? k8s.namespace + "/" + k8s.pod : "") ||
    workload.systemd_unit || workload.systemdUnit || (workload.exe ? workload.exe.split("/").pop() : "") || workload.id || "";
}

function eventSummary(event) {
  const parts = [];
  if (event.request) parts.push([event.request.method, event.request.path].filter(Boolean).join(" "));
  const dest = destinationLabel(event.destination);
  if (dest) parts.push("→ " + dest);
  if (event.sources?.length) parts.push("from " + event.sources.map(sourceLabel).join(", "));
  if (event.tool_call?.tool) parts.push("tool " + event.tool_call.tool);
  return parts.join(" ");
}

function eventsTable(label, events) {
  return sortableTable(label, [
    ["Time", (e) => e.time || "", (e) => shortTime(e.time)],
    ["Event", (e) => e.type, (e) => text(e.type)],
    ["Workload", (e) => workloadName(e.workload), (e) => e.workload?.id ? link(workloadHref(e.workload.id), workloadName(e.workload)) : "—"],
    ["Host", (e) => e.host || "", (e) => text(e.host), {wide: true}],
    ["Credential", (e) => e.credential?.preview || "", (e) => e.credential?.fingerprint
      ? link(credentialHref(e.credential.fingerprint), text(e.credential.preview)) : "—"],
    ["What", (e) => eventSummary(e), (e) => text(eventSummary(e))],
    ["Id", (e) => e.id, (e) => text(e.id), {wide: true}],
  ], events, "No events.");
}

// ---------- credentials ----------

async function alertCounts() {
  const page = await api("/v1/alerts", {limit: 1000});
  const counts = new Map();
  for (const alert of page.alerts || []) counts.set(alert.fingerprint, (counts.get(alert.fingerprint) || 0) + 1);
  return {counts, partial: Boolean(page.next_cursor)};
}

async function viewCredentials(params) {
  const [page, alerts] = await Promise.all([
    api("/v1/credentials", {type: params.get("type"), workload: params.get("workload"), host: params.get("host"),
                            limit: params.get("limit") || 50, cursor: params.get("cursor")}),
    alertCounts(),
  ]);
  const rows = page.credentials || [];
  const alertsOf = (c) => alerts.counts.get(c.fingerprint) || 0;
  return el("section", {},
    el("h1", {}, "Credentials"),
    filterForm("#/credentials", params, [["type", "Type"], ["workload", "Workload (id or name)"], ["host", "Host"]]),
    sortableTable("Credentials", [
      ["Type", (c) => c.type, (c) => text(c.type)],
      ["Preview", (c) => c.preview, (c) => link(credentialHref(c.fingerprint), text(c.preview))],
      ["Fingerprint", (c) => c.fingerprint, (c) => el("span", {class: "mono", title: c.fingerprint}, shortFingerprint(c.fingerprint)), {wide: true}],
      ["First seen", (c) => c.first_seen || "", (c) => shortTime(c.first_seen), {wide: true}],
      ["Last seen", (c) => c.last_seen || "", (c) => shortTime(c.last_seen)],
      ["Uses", (c) => c.counts?.uses ?? 0, (c) => text(c.counts?.uses ?? 0)],
      ["Workloads", (c) => c.workloads_total ?? 0, (c) => text(c.workloads_total ?? 0)],
      ["Hosts", (c) => c.hosts_total ?? 0, (c) => text(c.hosts_total ?? 0)],
      ["Alerts", alertsOf, (c) => alertsOf(c) ? link(routeHref("#/alerts", {fingerprint: c.fingerprint}), String(alertsOf(c)))
                                               : "0"],
    ], rows, "No credential matches."),
    alerts.partial ? el("p", {class: "muted"}, "Alert counts are from the 1,000 most recent alerts.") : null,
    pager("#/credentials", params, page.next_cursor, rows.length));
}

// ---------- one credential: facts, graph, tool calls, timeline ----------

// Nodes: the credential's sources, workloads and destinations (all it is known to have), and the tool calls tied to
// it; edges source → workload → destination and workload → tool, from its most recent events and calls.
function credentialGraph(detail, events) {
  const columns = {source: new Map(), workload: new Map(), destination: new Map(), tool: new Map()};
  const edges = new Map();
  const names = new Map();
  for (const event of events) if (event.workload?.id) names.set(event.workload.id, workloadName(event.workload));
  const node = (column, key, label, href) => {
    if (!key) return null;
    if (!columns[column].has(key)) columns[column].set(key, {key, label: label || key, href});
    return column + ":" + key;
  };
  const edge = (from, to) => {
    if (from && to) edges.set(from + "→" + to, {from, to});
  };
  for (const s of detail.sources || []) node("source", sourceLabel(s), sourceLabel(s));
  for (const w of detail.workloads || []) node("workload", w.id, names.get(w.id) || w.id, workloadHref(w.id));
  for (const d of detail.destinations || []) node("destination", destinationLabel(d), destinationLabel(d));
  for (const event of events) {
    const workload = event.workload?.id ? node("workload", event.workload.id, names.get(event.workload.id), workloadHref(event.workload.id)) : null;
    for (const s of event.sources || []) edge(node("source", sourceLabel(s), sourceLabel(s)), workload);
    const dest = destinationLabel(event.destination);
    if (dest) edge(workload, node("destination", dest, dest));
  }
  for (const call of detail.tool_calls || []) {
    const label = (call.server ? call.server + " / " : "") + (call.tool || call.method || "call");
    const tool = node("tool", label, label);
    if (call.workload_id) edge(node("workload", call.workload_id, names.get(call.workload_id), workloadHref(call.workload_id)), tool);
  }
  return drawGraph(columns, [...edges.values()]);
}

function drawGraph(columns, edges) {
  const titles = {source: "Where it came from", workload: "Workloads", destination: "Where it went", tool: "Tool calls"};
  const order = ["source", "workload", "destination", "tool"].filter((c) => c !== "tool" || columns.tool.size);
  const width = 230, gap = 70, rowHeight = 36, top = 30;
  const tallest = Math.max(1, ...order.map((c) => columns[c].size));
  const place = new Map();
  const nodes = [];
  order.forEach((column, ci) => {
    const x = 10 + ci * (width + gap);
    nodes.push(svg("text", {class: "column-title", x, y: 18}, titles[column]));
    if (!columns[column].size) nodes.push(svg("text", {x, y: top + 18, class: "column-title"}, "none known"));
    [...columns[column].values()].forEach((n, ri) => {
      const y = top + ri * rowHeight;
      const id = column + ":" + n.key;
      place.set(id, {x, y});
      const label = n.label.length > 32 ? n.label.slice(0, 31) + "…" : n.label;
      const group = svg("g", {class: "node " + column, "data-node": id, tabindex: "0", role: n.href ? "link" : "img",
                              "aria-label": titles[column] + ": " + n.label},
        svg("title", {}, n.label),
        svg("rect", {x, y, width, height: 26, rx: 4}),
        svg("text", {x: x + 8, y: y + 17}, label));
      if (n.href) {
        const go = () => { window.location.hash = n.href; };
        group.addEventListener("click", go);
        group.addEventListener("keydown", (event) => { if (event.key === "Enter") go(); });
      }
      nodes.push(group);
    });
  });
  const lines = edges.filter((e) => place.has(e.from) && place.has(e.to)).map((e) => {
    const a = place.get(e.from), b = place.get(e.to);
    const x1 = a.x + width, y1 = a.y + 13, x2 = b.x, y2 = b.y + 13, mid = (x1 + x2) / 2;
    return svg("path", {class: "edge", "data-from": e.from, "data-to": e.to, d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`});
  });
  const totalWidth = 20 + order.length * width + (order.length - 1) * gap;
  const height = top + tallest * rowHeight + 10;
  return el("div", {class: "graph"},
    svg("svg", {width: totalWidth, height, viewBox: `0 0 ${totalWidth} ${height}`, role: "group", "aria-label": "Credential graph"},
        lines, nodes));
}

async function viewCredential(fp) {
  if (!/^[0-9a-f]{64}$/.test(fp)) return el("p", {class: "error"}, "Not a fingerprint.");
  const [detail, eventsPage] = await Promise.all([
    api("/v1/credentials/" + fp),
    api("/v1/events", {fingerprint: fp, limit: GRAPH_EVENTS}),
  ]);
  const events = eventsPage.events || [];
  return el("section", {},
    el("h1", {}, text(detail.type) + " " + text(detail.preview)),
    facts([
      ["Fingerprint", el("span", {class: "mono"}, text(detail.fingerprint))],
      ["First seen", shortTime(detail.first_seen)],
      ["Last seen", shortTime(detail.last_seen)],
      ["Uses", text(detail.counts?.uses ?? 0)],
      ["Exposures", text(detail.counts?.exposures ?? 0)],
      ["Events", text(detail.counts?.events ?? 0)],
      ["Sources / workloads / destinations / hosts",
       [detail.sources_total, detail.workloads_total, detail.destinations_total, detail.hosts_total].map((n) => n ?? 0).join(" / ")],
      ["Alerts", link(routeHref("#/alerts", {fingerprint: fp}), "alerts on this credential")],
    ]),
    el("h2", {}, "Graph"),
    el("p", {class: "muted"}, "Every known source, workload and destination; edges from the " +
       (events.length < GRAPH_EVENTS ? "credential's " + events.length : GRAPH_EVENTS + " most recent") + " events" +
       ((detail.tool_calls || []).length ? " and its tool calls." : ".")),
    credentialGraph(detail, events),
    el("h2", {}, "Tool calls"),
    sortableTable("Tool calls", [
      ["Server", (c) => c.server || "", (c) => text(c.server)],
      ["Tool", (c) => c.tool || "", (c) => text(c.tool)],
      ["Tied by", (c) => c.via || "", (c) => text(c.via) + (c.ambiguous ? " (ambiguous)" : "")],
      ["Outcome", (c) => c.outcome || "", (c) => text(c.outcome)],
      ["Time", (c) => c.time || c.last_seen || "", (c) => shortTime(c.time || c.last_seen)],
      ["Workload", (c) => c.workload_id || "", (c) => c.workload_id ? link(workloadHref(c.workload_id), c.workload_id) : "—"],
    ], detail.tool_calls || [], "No tool call is tied to this credential."),
    el("h2", {}, "Timeline"),
    eventsTable("Timeline", events.slice(0, TIMELINE_ROWS)),
    events.length > TIMELINE_ROWS ? el("p", {class: "muted"}, `The ${TIMELINE_ROWS} most recent events are shown.`) : null);
}

// ---------- workloads ----------

async function viewWorkloads(params) {
  const page = await api("/v1/workloads", {host: params.get("host"), workload: params.get("workload"),
                                           tls_coverage: params.get("tls_coverage"), limit: params.get("limit") || 50,
                                           cursor: params.get("cursor")});
  const rows = page.workloads || [];
  return el("section", {},
    el("h1", {}, "Workloads and MCP servers"),
    filterForm("#/workloads", params, [["workload", "Workload (id or name)"], ["host", "Host"],
                                       ["tls_coverage", "TLS coverage", ["", "covered", "partial", "not_covered", "unknown"]]]),
    sortableTable("Workloads", [
      ["Name", (w) => w.name || w.id, (w) => link(workloadHref(w.id), text(w.name || w.id))],
      ["Id", (w) => w.id, (w) => el("span", {class: "mono"}, text(w.id)), {wide: true}],
      ["Host", (w) => w.host || "", (w) => text(w.host)],
      ["Credentials", (w) => w.credentials ?? 0, (w) => text(w.credentials ?? 0)],
      ["Events", (w) => w.events ?? 0, (w) => text(w.events ?? 0)],
      ["TLS coverage", (w) => w.tls_coverage || "", (w) => text(w.tls_coverage)],
      ["Last seen", (w) => w.last_seen || "", (w) => shortTime(w.last_seen)],
    ], rows, "No workload matches."),
    pager("#/workloads", params, page.next_cursor, rows.length));
}

async function viewWorkload(id) {
  const [workloads, credentials, calls, events] = await Promise.all([
    api("/v1/workloads", {workload: id, limit: 10}),
    api("/v1/credentials", {workload: id, limit: 200}),
    api("/v1/tool-calls", {workload: id, limit: 100}),
    api("/v1/events", {workload: id, limit: TIMELINE_ROWS}),
  ]);
  const w = (workloads.workloads || []).find((x) => x.id === id) || (workloads.workloads || [])[0];
  if (!w) return el("section", {}, el("h1", {}, "Workload " + id), el("p", {class: "muted"}, "No such workload stored."));
  const tls = w.tls || [];
  return el("section", {},
    el("h1", {}, "Workload " + text(w.name || w.id)),
    facts([
      ["Id", el("span", {class: "mono"}, text(w.id))],
      ["Host", text(w.host)],
      ["Executable", text(w.workload?.exe)],
      ["MCP server", text(w.workload?.mcp?.server_name)],
      ["First seen", shortTime(w.first_seen)],
      ["Last seen", shortTime(w.last_seen)],
      ["TLS coverage", text(w.tls_coverage)],
    ]),
    el("h2", {}, "Credentials it holds, reads or uses"),
    sortableTable("Credentials of the workload", [
      ["Type", (c) => c.type, (c) => text(c.type)],
      ["Preview", (c) => c.preview, (c) => link(credentialHref(c.fingerprint), text(c.preview))],
      ["Uses", (c) => c.counts?.uses ?? 0, (c) => text(c.counts?.uses ?? 0)],
      ["Exposures", (c) => c.counts?.exposures ?? 0, (c) => text(c.counts?.exposures ?? 0)],
      ["Sources", (c) => (c.sources || []).map(sourceLabel).join(", "), (c) => text((c.sources || []).map(sourceLabel).join(", "))],
      ["Last seen", (c) => c.last_seen || "", (c) => shortTime(c.last_seen)],
    ], credentials.credentials || [], "No credential seen in this workload."),
    el("h2", {}, "TLS libraries"),
    sortableTable("TLS coverage", [
      ["Library", (t) => t.library || t.implementation || "", (t) => text(t.library || t.implementation)],
      ["State", (t) => t.state || t.coverage || "", (t) => text(t.state || t.coverage)],
      ["Detail", (t) => JSON.stringify(t), (t) => text(Object.entries(t).map(([k, v]) => k + "=" + (typeof v === "object" ? JSON.stringify(v) : v)).join(" "))],
    ], tls, "No TLS report stored for this workload."),
    el("h2", {}, "Tool calls"),
    sortableTable("Tool calls of the workload", [
      ["Time", (c) => c.time || "", (c) => shortTime(c.time)],
      ["Tool", (c) => c.tool || "", (c) => text(c.tool)],
      ["Client", (c) => c.client || "", (c) => text(c.client)],
      ["Outcome", (c) => c.outcome || "", (c) => text(c.outcome)],
      ["Credentials", (c) => (c.credentials || []).length, (c) => (c.credentials || []).length
        ? (c.credentials || []).map((k, i) => [i ? ", " : "", link(credentialHref(k.fingerprint), text(k.preview) + " (" + text(k.via) + ")")])
        : "—"],
    ], calls.tool_calls || [], "No tool call stored for this workload."),
    el("h2", {}, "Recent events"),
    eventsTable("Recent events of the workload", events.events || []));
}

// ---------- alerts ----------

function alertDetail(alert) {
  return Object.entries(alert.detail || {}).map(([k, v]) => k + ": " + (typeof v === "object" ? JSON.stringify(v) : v)).join(", ");
}

async function viewAlerts(params) {
  const page = await api("/v1/alerts", {kind: params.get("kind"), type: params.get("type"), fingerprint: params.get("fingerprint"),
                                        workload: params.get("workload"), limit: params.get("limit") || 50,
                                        cursor: params.get("cursor")});
  const rows = page.alerts || [];
  return el("section", {},
    el("h1", {}, "Alerts"),
    await alertKinds(params),
    filterForm("#/alerts", params, [["kind", "Kind"], ["type", "Credential type"], ["workload", "Workload"], ["fingerprint", "Fingerprint"]]),
    sortableTable("Alerts", [
      ["Kind", (a) => a.kind, (a) => link("#/alert/" + Number(a.id), text(a.kind))],
      ["Credential", (a) => a.preview || "", (a) => a.fingerprint ? link(credentialHref(a.fingerprint), text(a.preview)) : "—"],
      ["Type", (a) => a.credential_type || "", (a) => text(a.credential_type), {wide: true}],
      ["About", (a) => a.subject || "", (a) => text(a.subject)],
      ["Detail", (a) => alertDetail(a), (a) => text(alertDetail(a)), {wide: true}],
      ["Hits", (a) => a.hits ?? 0, (a) => text(a.hits)],
      ["Last seen", (a) => a.last_seen || "", (a) => shortTime(a.last_seen)],
      ["Evidence", (a) => a.evidence_total ?? 0, (a) => text(a.evidence_total)],
    ], rows, "No alert matches."),
    pager("#/alerts", params, page.next_cursor, rows.length));
}

// How many alerts of each kind (the 1,000 most recent), each a link to that kind's list.
async function alertKinds(params) {
  const recent = await api("/v1/alerts", {limit: 1000});
  const counts = new Map();
  for (const alert of recent.alerts || []) counts.set(alert.kind, (counts.get(alert.kind) || 0) + 1);
  if (!counts.size) return null;
  const base = Object.fromEntries(params.entries());
  delete base.cursor;
  return el("nav", {class: "kinds", "aria-label": "Alerts by kind"},
    el("span", {class: "muted"}, recent.next_cursor ? "By kind (of the 1,000 most recent): " : "By kind: "),
    [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([kind, n], i) => [
      i ? " · " : "",
      link(routeHref("#/alerts", {...base, kind}), kind + " " + n),
    ]));
}

// One event by id: the newest event older than id + 1 (listings are newest first; the cursor is an id bound).
async function eventById(id) {
  const page = await api("/v1/events", {cursor: id + 1, limit: 1});
  const event = (page.events || [])[0];
  return event && event.id === id ? event : null;
}

async function viewAlert(id) {
  const page = await api("/v1/alerts", {cursor: id + 1, limit: 1});
  const alert = (page.alerts || [])[0];
  if (!alert || alert.id !== id) return el("section", {}, el("h1", {}, "Alert " + id), el("p", {class: "muted"}, "No such alert stored."));
  const ids = (alert.evidence_events || []).slice(0, 50);
  const evidence = (await Promise.all(ids.map(eventById))).filter(Boolean);
  return el("section", {},
    el("h1", {}, "Alert: " + text(alert.kind)),
    facts([
      ["Credential", alert.fingerprint ? link(credentialHref(alert.fingerprint), text(alert.credential_type) + " " + text(alert.preview)) : "—"],
      ["About", text(alert.subject)],
      ["Detail", text(alertDetail(alert))],
      ["Hits", text(alert.hits)],
      ["First seen", shortTime(alert.first_seen)],
      ["Last seen", shortTime(alert.last_seen)],
    ]),
    el("h2", {}, "Evidence"),
    el("p", {class: "muted"}, `${evidence.length} of ${alert.evidence_total ?? ids.length} evidence events` +
       (evidence.length < ids.length ? " (the others are past retention)" : "")),
    eventsTable("Evidence events", evidence));
}

// ---------- start ----------

async function fillLogoutToken() {
  try {
    const session = await api("/ui/session");
    document.getElementById("csrf").value = session.csrf_token || "";
  } catch (error) {
    // not logged in: api() has gone to the login page
  }
}

document.addEventListener("DOMContentLoaded", () => {
  fillLogoutToken();
  window.addEventListener("hashchange", render);
  render();
});
