#!/usr/bin/env bash
# Benchmarks (root): builds, then prints probe overhead figures for unwatched processes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
build/bench_probe_overhead "${1:-5}"
build/bench_uprobe_floor
build/bench_ssl_write
build/bench_preload  # LD_PRELOAD sensor: getenv and SSL_write, watched / unwatched / no agent (no root needed)
python3 bench/https/https_throughput.py build/credtrace-agent 3000 7
python3 bench/mcp/stdio_calls.py build/credtrace-agent 20000 5
python3 bench/runtime_tls_bench.py build go 3000 5
python3 bench/runtime_tls_bench.py build bun 3000 5
build/bench_run_startup build/credtrace build/credtrace-cli build/bench-lib/libbench_noop_preload.so 200
