// Page times of the collector's web UI in headless Chromium: logs in, then opens each page of argv[2]'s list
// (hashes) in turn, ROUNDS times, each time from another page; a page's time is from the navigation to the page
// drawn with its data (main[data-ready] naming its hash). Prints one JSON line {hash: [ms, ...]}.
import puppeteer from "puppeteer-core";

const {base, token, pages, rounds} = JSON.parse(process.argv[2]);
const browser = await puppeteer.launch({executablePath: process.env.CREDTRACE_CHROMIUM || "/usr/bin/chromium",
                                        headless: true, args: ["--no-sandbox", "--disable-gpu"]});
try {
  const page = await browser.newPage();
  await page.setViewport({width: 1280, height: 800});
  await page.goto(base + "/ui/login.html");
  await page.type("#token", token);
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  await page.waitForFunction(() => document.querySelector("main")?.getAttribute("data-ready"), {timeout: 60000});
  const times = Object.fromEntries(pages.map((p) => [p, []]));
  for (let round = 0; round < rounds; ++round) {
    for (const hash of pages) {
      const start = Date.now();
      await page.evaluate((h) => { window.location.hash = h; }, hash);
      await page.waitForFunction((h) => document.querySelector("main")?.getAttribute("data-ready") === h,
                                 {timeout: 60000, polling: "mutation"}, hash);
      times[hash].push(Date.now() - start);
    }
  }
  console.log(JSON.stringify(times));
} finally {
  await browser.close();
}
