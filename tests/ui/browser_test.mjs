// Browser test of the collector's web UI in headless Chromium (Debian's), driven by puppeteer-core: log in, open the
// inventory, filter and sort, open a credential and find its graph's nodes and edges, follow an alert to its evidence,
// keyboard navigation, a narrow window, logout. Stored XSS payloads must render as text and no request may leave the
// collector's origin. Screenshots of each page go to the artifacts directory. The scenario (what was ingested) comes
// as JSON in argv[2]; prints one JSON line of results and exits 1 on the first failed check.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import puppeteer from "puppeteer-core";

const scenario = JSON.parse(process.argv[2]);
const {base, token, artifacts} = scenario;
const origin = new URL(base).origin;
const chromium = process.env.CREDTRACE_CHROMIUM || "/usr/bin/chromium";
fs.mkdirSync(artifacts, {recursive: true});

const offOrigin = [];
const consoleErrors = [];
const pageErrors = [];
const results = {checks: []};

async function check(name, fn) {
  results.checks.push(name);
  await fn();
}

async function ready(page, routePrefix) {
  await page.waitForFunction(
    (prefix) => (document.querySelector("main")?.getAttribute("data-ready") || "").startsWith(prefix),
    {timeout: 15000}, routePrefix);
}

async function go(page, hash) {
  await page.evaluate((h) => { window.location.hash = h; }, hash);
  await page.waitForFunction((h) => document.querySelector("main")?.getAttribute("data-ready") === h, {timeout: 15000}, hash);
}

async function shot(page, name) {
  await page.screenshot({path: path.join(artifacts, name + ".png"), fullPage: true});
}

async function cellTexts(page, tableLabel, column) {
  return page.$$eval(`table[aria-label="${tableLabel}"] tbody tr`, (rows, col) =>
    rows.map((r) => r.children[col]?.textContent ?? ""), column);
}

async function timed(page, hash) {
  const start = Date.now();
  await go(page, hash);
  return Date.now() - start;
}

const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-default-apps", "--disable-sync", "--metrics-recording-only", "--no-default-browser-check"],
});
try {
  const page = await browser.newPage();
  await page.setViewport({width: 1280, height: 800});
  page.on("request", (request) => {
    const url = request.url();
    if (!url.startsWith(origin + "/") && !url.startsWith("data:") && url !== "about:blank") offOrigin.push(url);
  });
  page.on("console", (message) => { if (message.type() === "error") consoleErrors.push(message.text()); });
  page.on("pageerror", (error) => pageErrors.push(String(error)));
  page.on("dialog", async (dialog) => { pageErrors.push("dialog opened: " + dialog.message()); await dialog.dismiss(); });

  // Not logged in: the UI sends the browser to its login page; a wrong token is refused.
  await page.goto(base + "/ui/", {waitUntil: "domcontentloaded"});
  await check("unauthenticated /ui/ goes to the login page", () => assert.equal(new URL(page.url()).pathname, "/ui/login.html"));
  await shot(page, "01-login");
  await page.type("#token", "reader-token-not-this-one");
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  await page.waitForSelector("#login-failed:not([hidden])");
  await check("a wrong token is refused", () => assert.match(page.url(), /failed=1/));
  const cookiesAfterFailure = await page.cookies();
  await check("no session cookie after a refused login", () => assert.equal(cookiesAfterFailure.length, 0));

  // Log in.
  await page.type("#token", token);
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  await ready(page, "#/credentials");
  const cookies = await page.cookies();
  const session = cookies.find((c) => c.name === "ct_session");
  await check("the session cookie is HttpOnly, Secure, SameSite=Strict", () => {
    assert.ok(session, "no ct_session cookie");
    assert.equal(session.httpOnly, true);
    assert.equal(session.secure, true);
    assert.equal(session.sameSite, "Strict");
  });
  await check("scripts cannot read the session cookie", async () => assert.equal(await page.evaluate(() => document.cookie), ""));
  await shot(page, "02-credentials");

  // Inventory.
  const previews = await cellTexts(page, "Credentials", 1);
  await check("the inventory lists every credential ingested", () => {
    for (const p of scenario.previews) assert.ok(previews.includes(p), `missing ${p} in ${previews}`);
  });
  // Filter by type.
  await page.$eval('form.filters input[name="type"]', (input, value) => { input.value = value; }, scenario.filter_type);
  await page.click("form.filters button[type=submit]");
  await ready(page, "#/credentials?type=");
  const filteredTypes = await cellTexts(page, "Credentials", 0);
  await check("the type filter keeps only that type", () => {
    assert.ok(filteredTypes.length > 0);
    for (const t of filteredTypes) assert.equal(t, scenario.filter_type);
  });
  await shot(page, "03-credentials-filtered");
  // Sort by uses, both ways.
  await go(page, "#/credentials");
  const usesHeader = 'table[aria-label="Credentials"] thead th:nth-child(6) button';
  await page.click(usesHeader);
  const ascending = (await cellTexts(page, "Credentials", 5)).map(Number);
  await page.click(usesHeader);
  const descending = (await cellTexts(page, "Credentials", 5)).map(Number);
  await check("a column sorts both ways", () => {
    assert.deepEqual(ascending, [...ascending].sort((a, b) => a - b));
    assert.deepEqual(descending, [...descending].sort((a, b) => b - a));
  });
  // Paging on the API's cursors.
  await go(page, "#/credentials?limit=25");
  const firstPage = await cellTexts(page, "Credentials", 1);
  const nextLink = await page.$("nav.pager a:last-of-type");
  await check("a full page offers the next one", () => assert.ok(nextLink && firstPage.length === 25, `rows ${firstPage.length}`));
  await nextLink.click();
  await page.waitForFunction(() => (document.querySelector("main")?.getAttribute("data-ready") || "").includes("cursor="));
  const secondPage = await cellTexts(page, "Credentials", 1);
  await check("the next page continues without repeating", () => {
    assert.ok(secondPage.length > 0);
    for (const p of secondPage) assert.ok(!firstPage.includes(p), `${p} on both pages`);
  });

  // One credential: graph nodes and edges, tool calls, timeline.
  await go(page, "#/credentials");
  const credentialLink = await page.$(`a[href="#/credential/${scenario.graph.fingerprint}"]`);
  await check("the inventory links the credential", () => assert.ok(credentialLink));
  await credentialLink.click();
  await ready(page, "#/credential/");
  for (const node of scenario.graph.nodes) {
    const found = await page.$(`svg g.node[data-node="${CSS_escape(node)}"]`);
    await check("graph node " + node, () => assert.ok(found, `no node ${node}`));
  }
  for (const [from, to] of scenario.graph.edges) {
    const found = await page.$(`svg path.edge[data-from="${CSS_escape(from)}"][data-to="${CSS_escape(to)}"]`);
    await check(`graph edge ${from} -> ${to}`, () => assert.ok(found, `no edge ${from} -> ${to}`));
  }
  const timelineRows = await cellTexts(page, "Timeline", 1);
  await check("the timeline lists the credential's events", () => assert.ok(timelineRows.length >= scenario.graph.min_events));
  const toolRows = await cellTexts(page, "Tool calls", 1);
  await check("the credential's tool calls are listed", () => {
    for (const tool of scenario.graph.tools) assert.ok(toolRows.includes(tool), `no tool ${tool} in ${toolRows}`);
  });
  await shot(page, "04-credential");
  // Keyboard: a workload node takes focus and Enter opens the workload.
  const workloadNode = `svg g.node[data-node="${CSS_escape(scenario.graph.keyboard_workload)}"]`;
  await page.$eval(workloadNode, (node) => node.focus());  // an SVG element: ElementHandle.focus takes HTML only
  await check("a graph node takes keyboard focus", async () =>
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("data-node")), scenario.graph.keyboard_workload));
  await page.keyboard.press("Enter");
  await ready(page, "#/workload/");
  await check("Enter on a graph node opens its workload", () => assert.ok(page.url().includes("#/workload/")));
  await shot(page, "05-workload");

  // Alerts: open one and follow its evidence to the credential.
  await go(page, "#/alerts");
  await shot(page, "06-alerts");
  const kinds = await page.$eval('nav[aria-label="Alerts by kind"]', (nav) => nav.textContent);
  await check("the alerts page counts alerts by kind", () => assert.match(kinds, /shared_key 1/));
  const alertLink = await page.$(`a[href="#/alert/${scenario.alert.id}"]`);
  await check("the alerts page lists the alert", () => assert.ok(alertLink));
  await alertLink.click();
  await ready(page, "#/alert/");
  const evidenceIds = (await cellTexts(page, "Evidence events", 6)).map(Number);
  await check("the alert's evidence events are shown", () => {
    for (const id of scenario.alert.evidence) assert.ok(evidenceIds.includes(id), `evidence ${id} not in ${evidenceIds}`);
  });
  await shot(page, "07-alert");
  await Promise.all([page.waitForFunction(() => window.location.hash.startsWith("#/credential/")),
                     page.click("dl.facts a[href^='#/credential/']")]);
  await ready(page, "#/credential/");
  await check("the alert links its credential", () => assert.ok(page.url().endsWith(scenario.alert.fingerprint)));

  // Workloads.
  await go(page, "#/workloads");
  await shot(page, "08-workloads");
  const workloadNames = await cellTexts(page, "Workloads", 0);
  await check("the workloads page lists the workloads", () => assert.ok(workloadNames.length >= scenario.min_workloads));

  // Stored payloads render as text: none ran, none became markup.
  await go(page, "#/credentials?type=" + encodeURIComponent(scenario.xss.type));
  await page.click(`a[href="#/credential/${scenario.xss.fingerprint}"]`);
  await ready(page, "#/credential/");
  await shot(page, "09-xss-as-text");
  const xss = await page.evaluate((payloads) => ({
    fired: window.__credtrace_xss === 1,
    injected: document.querySelectorAll("main script, main img, main iframe, main object, main embed").length,
    javascriptLinks: [...document.querySelectorAll("a")].filter((a) => a.getAttribute("href").toLowerCase().startsWith("javascript")).length,
    shown: payloads.filter((p) => document.querySelector("main").textContent.includes(p)).length,
  }), scenario.xss.payloads);
  await check("an XSS payload stored through ingest renders as text", () => {
    assert.equal(xss.fired, false);
    assert.equal(xss.injected, 0);
    assert.equal(xss.javascriptLinks, 0);
    assert.ok(xss.shown >= 1, "the payload text is not shown at all");
  });
  results.xss = xss;

  // Page times at this store's size.
  results.page_ms = {
    credentials: await timed(page, "#/credentials"),
    credential: await timed(page, "#/credential/" + scenario.graph.fingerprint),
    workloads: await timed(page, "#/workloads"),
    alerts: await timed(page, "#/alerts"),
  };

  // Keyboard: Tab from the top reaches the skip link, then the sections.
  await go(page, "#/credentials");
  await page.reload({waitUntil: "domcontentloaded"});  // focus starts at the top of a fresh page
  await ready(page, "#/credentials");
  await page.keyboard.press("Tab");
  const firstFocus = await page.evaluate(() => document.activeElement?.textContent || document.activeElement?.outerHTML.slice(0, 80));
  await page.keyboard.press("Tab");
  const secondFocus = await page.evaluate(() => document.activeElement?.textContent);
  await check("Tab reaches the skip link, then the sections", () => {
    assert.equal(firstFocus, "Skip to content");
    assert.equal(secondFocus, "Credentials");
  });

  // A narrow window: nothing but the tables scrolls sideways.
  await page.setViewport({width: 480, height: 800});
  await go(page, "#/alerts");
  await go(page, "#/credentials");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await check("a narrow window does not scroll the page sideways", () => assert.ok(overflow <= 0, `overflow ${overflow}px`));
  await shot(page, "10-narrow");
  await page.setViewport({width: 1280, height: 800});

  // Logout ends the session: the query API refuses the old cookie.
  await go(page, "#/credentials");
  await page.waitForFunction(() => document.getElementById("csrf").value.length === 64);
  await Promise.all([page.waitForNavigation(), page.click("#logout button")]);
  await check("logout lands on the login page", () => assert.equal(new URL(page.url()).pathname, "/ui/login.html"));
  const after = await page.evaluate(async () => (await fetch("/v1/credentials", {credentials: "same-origin"})).status);
  await check("after logout the query API refuses the browser", () => assert.equal(after, 401));
  const reuse = await page.evaluate(async () => (await fetch("/ui/session")).status);
  await check("the old session is gone", () => assert.equal(reuse, 401));

  await check("no request left the collector's origin", () => assert.deepEqual(offOrigin, []));
  await check("no script error on any page", () => assert.deepEqual(pageErrors, []));
  const cspViolations = consoleErrors.filter((m) => /Content Security Policy/i.test(m));
  await check("no Content-Security-Policy violation", () => assert.deepEqual(cspViolations, []));
  results.console_errors = consoleErrors;
  results.ok = true;
  console.log(JSON.stringify(results));
} catch (error) {
  results.ok = false;
  results.error = String(error && error.stack || error);
  results.off_origin = offOrigin;
  results.page_errors = pageErrors;
  console.log(JSON.stringify(results));
  process.exitCode = 1;
} finally {
  await browser.close();
}

function CSS_escape(value) {
  return String(value).replace(/["\\]/g, "\\$&");
}
