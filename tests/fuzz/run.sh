#!/usr/bin/env bash
# Run every libFuzzer target of a GW_FUZZ=ON build for a bounded time each
# (`make fuzz-run`; FUZZ_SECONDS, default 20).  Each target starts from its
# corpus in tests/fuzz/corpus/<name>/ (read only); what it finds goes to
# <build>/fuzz-run/<name>/, crash inputs next to it.  Exit status 1 and the
# tail of the log when any target crashes, leaks or times out on an input.
#
# ASan runs with strict_string_checks: a string function reading a view past
# its end (views are never NUL-terminated) counts as a crash.
set -u
build=${1:-build-fuzz}
seconds=${2:-20}
src=$(cd "$(dirname "$0")" && pwd)
out=$build/fuzz-run
mkdir -p "$out"
export ASAN_OPTIONS=${ASAN_OPTIONS:-strict_string_checks=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=0
n_targets=0
for bin in "$build"/tests/fuzz/fuzz_*; do
    [ -x "$bin" ] || continue
    name=${bin##*/fuzz_}
    n_targets=$((n_targets + 1))
    mkdir -p "$out/$name"
    log=$out/$name.log
    "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$out/$name/" "$out/$name" "$src/corpus/$name" >"$log" 2>&1
    rv=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    if [ "$rv" -ne 0 ]; then
        echo "fuzz-run: $name FAILED (exit $rv) after ${runs:-?} runs; log $log"
        tail -40 "$log"
        failed=1
    else
        echo "fuzz-run: $name ok, ${runs:-?} runs in ${seconds} s"
    fi
done
if [ "$n_targets" -eq 0 ]; then
    echo "fuzz-run: no fuzz targets in $build/tests/fuzz (run make fuzz)"
    exit 1
fi
exit $failed
