#!/usr/bin/env python3
"""Web UI page times at a large store: fills a SQLite store with bench_collector (EVENTS events, default 1,000,000;
its fleet shape: 5,000 credentials, 2,000 workloads, 200 hosts), starts the collector with --ui on it, and opens each
page in headless Chromium (tests/ui/page_times.mjs) ROUNDS times: the inventory, a credential (its graph reads up to
1,000 of its events), the workloads, a workload, the alerts and an alert with its evidence. A page's time runs from
the navigation to the page drawn with its data. Prints FIGURE lines (target: every page under 200 ms).
Usage: ui_pages_bench.py BUILD_DIR [EVENTS] [ROUNDS]"""
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def query(port, token, path):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
    events = int(sys.argv[2]) if len(sys.argv) > 2 else 1000000
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    fill = subprocess.run([os.path.join(build, "bench_collector"), str(events), "normal", "4", "sqlite", "0"],
                          env=dict(os.environ, CREDTRACE_BENCH_KEEP="1"), capture_output=True, text=True, timeout=3600)
    kept = re.search(r"kept (\S+) ", fill.stdout)
    if fill.returncode != 0 or not kept:
        sys.exit("bench_collector failed: " + fill.stdout[-2000:] + fill.stderr[-2000:])
    store = kept.group(1)
    token = "reader-token-" + secrets.token_hex(16)
    tokens = os.path.join(store, "ui-tokens")
    with open(tokens, "w") as f:
        f.write(token + "\n")
    os.chmod(tokens, 0o600)
    log_path = os.path.join(store, "ui-collector.log")
    log = open(log_path, "w")
    collector = subprocess.Popen([os.path.join(build, "credtrace-collector"), "--listen", "127.0.0.1:0", "--db",
                                  "sqlite:" + os.path.join(store, "bench.db"), "--agent-tokens", tokens,
                                  "--reader-tokens", tokens, "--ui", "--retention-days", "0"],
                                 stdout=log, stderr=subprocess.STDOUT)
    try:
        port = None
        for _ in range(600):
            m = re.search(r"listening on http://[^ ]+:(\d+) ", open(log_path).read())
            if m:
                port = int(m.group(1))
                break
            time.sleep(0.1)
        if not port:
            sys.exit("collector did not start: " + open(log_path).read())
        credentials = query(port, token, "/v1/credentials?limit=1")["credentials"]
        workloads = query(port, token, "/v1/workloads?limit=1")["workloads"]
        alerts = query(port, token, "/v1/alerts?limit=1")["alerts"]
        pages = ["#/credentials", "#/workloads", "#/alerts"]
        if credentials:
            pages.append("#/credential/" + credentials[0]["fingerprint"])
        if workloads:
            pages.append("#/workload/" + workloads[0]["id"])
        if alerts:
            pages.append("#/alert/%d" % alerts[0]["id"])
        ui = os.path.join(ROOT, "tests", "ui")
        result = subprocess.run(["node", os.path.join(ui, "page_times.mjs"),
                                 json.dumps({"base": f"http://127.0.0.1:{port}", "token": token, "pages": pages,
                                             "rounds": rounds})], cwd=ui, capture_output=True, text=True, timeout=1800)
        if result.returncode != 0:
            sys.exit("page_times.mjs failed: " + result.stdout[-2000:] + result.stderr[-2000:])
        times = json.loads(result.stdout.strip().splitlines()[-1])
        print(f"web UI pages at {events} stored events (bench_collector's fleet shape), {rounds} rounds, ms "
              f"from navigation to the page drawn with its data:")
        worst = 0
        for hash_, values in times.items():
            name = hash_.split("/")[1]
            print(f"  {name:12s} median {statistics.median(values):6.0f}  max {max(values):6.0f}   {hash_[:60]}")
            worst = max(worst, max(values))
            print(f"FIGURE ui_page_ms_{name} {max(values):.0f} ms <=200 max of {rounds}, {events} events stored")
        print(f"FIGURE ui_page_ms_worst {worst:.0f} ms <=200 every page, {events} events stored")
    finally:
        collector.terminate()
        collector.wait(10)
        log.close()
        shutil.rmtree(store, ignore_errors=True)


if __name__ == "__main__":
    main()
