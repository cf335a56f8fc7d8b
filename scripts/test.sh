#!/usr/bin/env bash
# The README's test command: installs dependencies, builds, runs every test (Release), then the
# sanitizer build (ASan + UBSan) of the same tests, then every fuzzing harness for 30 s (scripts/fuzz.sh,
# docs/fuzzing.md; RECURRENT_FUZZ_SECONDS changes it, 0 skips it). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { echo "test.sh: $1 done at $SECONDS s"; }  # where CI's time goes (it must stay under 30 minutes)
scripts/install-deps.sh
step dependencies
# ctest runs tests in parallel and each uses OpenMP: passive waiting keeps idle threads from
# spinning on the cores the other test needs.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
scripts/build.sh build
step "Release build"
(cd build && ctest --output-on-failure -j "$(nproc)")
step "Release tests"
scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRECURRENT_SANITIZE=ON -DRECURRENT_BUILD_BENCH=OFF
step "sanitizer build"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure -j "$(nproc)" -E "${RECURRENT_ASAN_EXCLUDE:-^$}")
step "sanitizer tests"
seconds=${RECURRENT_FUZZ_SECONDS:-30}
if ((seconds > 0)); then scripts/fuzz.sh "$seconds"; step fuzzing; fi
