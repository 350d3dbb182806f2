#!/usr/bin/env bash
# Configures and builds credtrace into build/ (agent, tests, benchmarks).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
cmake --build build -j"$(nproc)" >&2  # stdout stays pure JSON for run-agent.sh
