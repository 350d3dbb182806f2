#!/usr/bin/env bash
# Runs one test command for ctest: a failure stays a failure; a run that skipped anything (GoogleTest "[  SKIPPED ]",
# unittest "skipped=") exits 77, which ctest reports as skipped (SKIP_RETURN_CODE), never as passed.
set -o pipefail
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$@" 2>&1 | tee "$log"
rc=$?
if [[ $rc -ne 0 ]]; then
  [[ $rc -eq 77 ]] && rc=1  # a failure must never read as a skip
  exit "$rc"
fi
if grep -qE '^\[  SKIPPED \]|[(, ]skipped=[0-9]+' "$log"; then
  echo "run_test.sh: some tests were skipped: reported as skipped, not passed" >&2
  exit 77
fi
exit 0
