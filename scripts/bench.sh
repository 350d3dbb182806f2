#!/usr/bin/env bash
# Benchmarks (root): builds, then prints every figure side by side in one run, and ends with one table of the figures
# with a target (bench/figures.py: FIGURE lines), also written as JSON to build/bench-figures.json.
# Usage: scripts/bench.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
log=build/bench.log
: >"$log"
run() { "$@" 2>&1 | tee -a "$log"; }
run build/bench_probe_overhead "${1:-5}"
run build/bench_uprobe_floor
run build/bench_ssl_write
run build/bench_agent_pipeline 50000 5  # agent CPU per captured HTTP/1.1 and HTTP/2 request + response
run build/bench_state_bytes 1000  # heap bytes per watched server of the env secret tables (book, registry)
run build/bench_preload  # LD_PRELOAD sensor: getenv and SSL_write, watched / unwatched / no agent (no root needed)
run python3 bench/https/https_throughput.py build/credtrace-agent 3000 7
run python3 bench/mcp/stdio_calls.py build/credtrace-agent 20000 5
run python3 bench/runtime_tls_bench.py build go 3000 5
run python3 bench/runtime_tls_bench.py build bun 3000 5
run build/bench_run_startup build/credtrace build/credtrace-cli build/bench-lib/libbench_noop_preload.so 200
# event storm: records/s, drops, CPU per record; the agent at the packaged unit's Nice=-10, paced at the stated
# drop-free rate (docs/performance.md)
AGENT_NICE=-10 PACED_RATE=5000 run python3 bench/storm/storm_bench.py build/credtrace-agent 10
run python3 bench/fleet/fleet_bench.py build/credtrace-agent 1000 600  # 1,000 watched: RSS, start, stop, churn soak
run build/bench_collector 1000000 full 4 sqlite  # collector ingest and query figures
run python3 bench/ui/ui_pages_bench.py build 1000000 5  # web UI page times in Chromium at 1M stored events
echo
echo "== figures (targets of issue 18 and earlier) =="
python3 bench/figures.py "$log" build/bench-figures.json
