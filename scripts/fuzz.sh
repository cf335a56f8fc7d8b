#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz, docs/fuzzing.md) and runs each on its committed seeds
# and dictionary. Exits non-zero on any finding (crash, sanitizer report, leak, timeout, out of memory).
#   scripts/fuzz.sh [SECONDS]            every harness for SECONDS (default 30), $RECURRENT_FUZZ_JOBS at a
#                                        time (default: the number of cores) — what scripts/test.sh runs
#   scripts/fuzz.sh --campaign [SECONDS] the long campaign: each harness until 10 million executions or
#                                        SECONDS (default 3600), whichever comes first
# RECURRENT_FUZZ_ONLY=safetensors,wav runs only those harnesses. Build folder: build-fuzz (clang).
# Each run's log and statistics are in build-fuzz/fuzz-logs/NAME.log; what it found (the input that
# failed) in build-fuzz/fuzz-findings/; the inputs it added, in build-fuzz/fuzz-corpus/NAME/.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=0
if [[ "${1:-}" == "--campaign" ]]; then
  seconds=${2:-3600}
  runs=10000000
else
  seconds=${1:-30}
fi
jobs=${RECURRENT_FUZZ_JOBS:-$(nproc)}
cmake -S . -B build-fuzz -G Ninja -DRECURRENT_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  ${CMAKE_CXX_COMPILER_LAUNCHER:+-DCMAKE_CXX_COMPILER_LAUNCHER=$CMAKE_CXX_COMPILER_LAUNCHER} >/dev/null
ninja -C build-fuzz -j "$(nproc)"

names=()
for f in tests/fuzz/fuzz_*.cpp; do
  n=$(basename "$f" .cpp)
  n=${n#fuzz_}
  if [[ -n "${RECURRENT_FUZZ_ONLY:-}" && ",$RECURRENT_FUZZ_ONLY," != *",$n,"* ]]; then continue; fi
  names+=("$n")
done
mkdir -p build-fuzz/fuzz-logs build-fuzz/fuzz-findings

# One harness: a fresh working corpus (the committed seeds are only read), -fork-free, stats at the end.
run_one() {
  local n=$1 seconds=$2 runs=$3
  local work=build-fuzz/fuzz-corpus/$n
  mkdir -p "$work"
  local dict=()
  [[ -f tests/fuzz/dict/$n.dict ]] && dict=(-dict="tests/fuzz/dict/$n.dict")
  local limit=(-max_total_time="$seconds")
  ((runs > 0)) && limit+=(-runs="$runs")
  local start=$SECONDS status=0
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "build-fuzz/tests/fuzz/fuzz_$n" "${limit[@]}" "${dict[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="build-fuzz/fuzz-findings/$n-" "$work" "tests/fuzz/corpus/$n" \
    >"build-fuzz/fuzz-logs/$n.log" 2>&1 || status=$?
  local execs cov ft corp
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "build-fuzz/fuzz-logs/$n.log" | tail -1)
  read -r cov ft corp < <(grep -E '^#[0-9]+' "build-fuzz/fuzz-logs/$n.log" | tail -1 |
    sed -E 's/.*cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+).*/\1 \2 \3/') || true
  printf '%-12s %s  %10s execs in %4d s  cov %6s  ft %6s  corpus %5s\n' "$n" \
    "$([[ $status == 0 ]] && echo ok || echo "FINDING (exit $status, see build-fuzz/fuzz-logs/$n.log)")" \
    "${execs:-?}" "$((SECONDS - start))" "${cov:-?}" "${ft:-?}" "${corp:-?}"
  return "$status"
}
export -f run_one

echo "fuzz: ${#names[@]} harnesses, ${seconds} s each$( ((runs)) && echo " (or $runs executions)"), $jobs at a time" >&2
printf '%s\n' "${names[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {} "$seconds" "$runs"
