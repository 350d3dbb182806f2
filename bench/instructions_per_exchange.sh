#!/usr/bin/env bash
# Instructions the agent executes per captured HTTP request + response (valgrind's callgrind, counted only inside
# TlsSensor::on_tls_data, difference of two runs so set-up cancels): a figure this VM's noisy clock cannot blur, for
# comparing parser changes. Usage: bench/instructions_per_exchange.sh [BENCH_BINARY] (default build/bench_agent_pipeline)
set -euo pipefail
bench=${1:-build/bench_agent_pipeline}
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
count() {  # exchanges mode -> instructions inside on_tls_data
  valgrind --tool=callgrind --callgrind-out-file=/dev/null '--toggle-collect=*TlsSensor::on_tls_data*' \
    "$bench" "$1" 1 "$2" 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
for mode in http1 h2; do
  small=$(count 2000 "$mode")
  large=$(count 6000 "$mode")
  echo "$mode instructions per request + response: $(((large - small) / 4000))"
done
