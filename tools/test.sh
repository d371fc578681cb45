#!/bin/sh
# test.sh — set up, build and run every test; the last line is "N passed, N failed".
# Tests run with the Khronos validation layer on (any message fails a test).
set -u
cd "$(dirname "$0")/.."
sh tools/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
build=${VC_BUILD_DIR:-build}
if [ -d "$build" ]; then meson setup --reconfigure "$build" >/dev/null; else meson setup "$build" >/dev/null; fi || {
  echo "meson setup failed"; echo "0 passed, 1 failed"; exit 1; }
if ! ninja -C "$build"; then echo "build failed"; echo "0 passed, 1 failed"; exit 1; fi
jobs=$(nproc 2>/dev/null || echo 2)
meson test -C "$build" --num-processes "$jobs" --print-errorlogs "$@"
status=$?
log="$build/meson-logs/testlog.json"
if [ -f "$log" ]; then
  passed=$(grep -c '"result": "OK"' "$log")
  failed=$(grep -c '"result": "\(FAIL\|TIMEOUT\|ERROR\|UNEXPECTEDPASS\)"' "$log")
else
  passed=0; failed=1
fi
[ "$status" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
