#!/usr/bin/env bash
# Main job on a fresh Debian 12 host (root): install deps, build, run the agent on built-in defaults, events on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh >&2
scripts/build.sh
exec build/credtrace-agent --json-out - "$@"
