#!/usr/bin/env bash
# Whole test suite on a fresh Debian 12 host (root): deps, build, npm ci of the e2e MCP servers, ASan/UBSan unit
# tests, libFuzzer targets (20 s each), then unit + BPF + e2e tests with ctest. Ends with ctest's summary and a
# combined "N passed, N failed, N skipped" line (a group that skipped anything counts as skipped).
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh || exit 1
scripts/build.sh || exit 1
(cd tests/e2e/npm && npm ci --no-audit --no-fund --loglevel=error) || exit 1

echo "== unit tests under ASan/UBSan (build-asan) =="
cmake -S . -B build-asan -DCREDTRACE_UNIT_ONLY=ON -DCREDTRACE_SANITIZE=ON -DCREDTRACE_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug >/dev/null &&
  cmake --build build-asan -j"$(nproc)" >/dev/null || exit 1
(cd build-asan && ctest --output-on-failure -j"$(nproc)") | tee /tmp/credtrace-ctest-asan.log
asan_rc=${PIPESTATUS[0]}

echo "== fuzz targets, 20 s each under libFuzzer + ASan/UBSan (build-fuzz) =="
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCREDTRACE_UNIT_ONLY=ON -DCREDTRACE_FUZZ=ON -DCREDTRACE_TESTS=ON \
  -DCREDTRACE_BENCH=OFF -DCREDTRACE_SANITIZE=ON >/dev/null &&
  cmake --build build-fuzz -j"$(nproc)" --target credtrace_fuzz >/dev/null || exit 1
(cd build-fuzz && ctest -L fuzz --output-on-failure -j"$(nproc)") | tee /tmp/credtrace-ctest-fuzz.log
fuzz_rc=${PIPESTATUS[0]}

echo "== unit, BPF and e2e tests (build) =="
(cd build && ctest --output-on-failure) | tee /tmp/credtrace-ctest.log
main_rc=${PIPESTATUS[0]}

# ctest counts a skipped test among the passed ones: skips (SKIP_RETURN_CODE 77 from tests/run_test.sh) are
# taken out of the passed count and reported on their own.
count() {
  local failed_total skipped
  failed_total=$(grep -Eo "tests passed, [0-9]+ tests failed out of [0-9]+" "$1" | awk '{print $3, $8}') || return 1
  skipped=$(grep -cE "^[[:space:]]*[0-9]+ - .* \(Skipped\)$" "$1")
  echo "$failed_total $skipped"
}
read -r asan_failed asan_total asan_skipped < <(count /tmp/credtrace-ctest-asan.log || echo "1 1 0")
read -r fuzz_failed fuzz_total fuzz_skipped < <(count /tmp/credtrace-ctest-fuzz.log || echo "1 1 0")
read -r main_failed main_total main_skipped < <(count /tmp/credtrace-ctest.log || echo "1 1 0")
failed=$((asan_failed + fuzz_failed + main_failed))
skipped=$((asan_skipped + fuzz_skipped + main_skipped))
total=$((asan_total + fuzz_total + main_total))
echo "$((total - failed - skipped)) passed, ${failed} failed, ${skipped} skipped"
[[ $asan_rc -eq 0 && $fuzz_rc -eq 0 && $main_rc -eq 0 ]]
