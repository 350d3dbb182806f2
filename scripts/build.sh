#!/usr/bin/env bash
# Configures and builds credtrace into build/ (agent, tests, benchmarks) as packagers do: CMAKE_BUILD_TYPE=Release (-O3),
# so the whole suite and the packages test run on the build that is shipped.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >&2
cmake --build build -j"$(nproc)" >&2  # stdout stays pure JSON for run-agent.sh
