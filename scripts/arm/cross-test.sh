#!/usr/bin/env bash
# Cross-builds recurrent for aarch64 on a Debian 12 x86-64 host and runs its GoogleTest executables
# under qemu-aarch64 user emulation (docs/arm.md). Root or sudo (installs packages with apt).
#
#   scripts/arm/cross-test.sh [BUILD_DIR] [LAYER...]     # default: build-aarch64, every layer
#   scripts/arm/cross-test.sh build-aarch64 kernels nn   # just those two test executables
#
# Environment: TIMEOUT (seconds per test executable, default 3600); GoogleTest's own variables
# (GTEST_FILTER=...) reach the emulated executables unchanged.
# Prints one line per test executable (passed / skipped / failed, seconds) and a closing
# "aarch64 qemu: N passed, N failed, N skipped" line; exits non-zero if a test executable failed to
# build, failed, crashed or timed out. Logs: BUILD_DIR/qemu-logs/test_LAYER.log.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${1:-build-aarch64}
shift || true
layers=("$@")
((${#layers[@]})) || layers=(kernels nn core data io optim autograd train tasks cli)
timeout_s=${TIMEOUT:-3600}
triple=aarch64-linux-gnu

sudo_cmd=""
[[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"

# ---- 1. packages: the host's build tools and header-only libraries, the cross compiler, qemu, and
# the arm64 (multiarch) builds of the libraries we link. libdnnl-dev:arm64 cannot be co-installed
# with libdnnl-dev:amd64 (their dnnl_config.h differ), so only the arm64 runtime (libdnnl2:arm64) is
# installed and its headers are unpacked into the build tree below.
scripts/install-deps.sh
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "adding the arm64 architecture to dpkg" >&2
  $sudo_cmd dpkg --add-architecture arm64
  $sudo_cmd apt-get update -qq
fi
pkgs=(g++-aarch64-linux-gnu qemu-user libdnnl2:arm64 libgtest-dev:arm64 libgmock-dev:arm64 zlib1g-dev:arm64)
# Google Highway (the SIMD kernels) when the native build uses it.
grep -q 'find_package(hwy' CMakeLists.txt && pkgs+=(libhwy-dev:arm64)
# The audio layer (libsndfile, libsamplerate, FFTW) and serve's cpp-httplib (with the OpenSSL and brotli it was
# built with): the arm64 builds of what install-deps.sh gives the host.
pkgs+=(libsndfile1-dev:arm64 libsamplerate0-dev:arm64 libfftw3-dev:arm64 libcpp-httplib-dev:arm64 libssl-dev:arm64
       libbrotli-dev:arm64)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---- 2. oneDNN's arm64 headers (same version as libdnnl2:arm64), unpacked, not installed.
mkdir -p "$dir/deps"
dnnl_ver=$(dpkg-query -W -f='${Version}' libdnnl2:arm64)
dnnl_inc="$PWD/$dir/deps/libdnnl-dev_${dnnl_ver}_arm64/usr/include"
if [[ ! -f "$dnnl_inc/dnnl.h" ]]; then
  (cd "$dir/deps" && rm -f libdnnl-dev_*_arm64.deb && apt-get download -q "libdnnl-dev:arm64=$dnnl_ver" >/dev/null 2>&1 &&
     dpkg-deb -x libdnnl-dev_*_arm64.deb "libdnnl-dev_${dnnl_ver}_arm64")
fi
dnnl_lib=$(ls /usr/lib/$triple/libdnnl.so.[0-9]* | head -1)

# ---- 3. configure and build: the libraries, the CLI (the CLI tests run it) and the test executables.
cmake -S . -B "$dir" -G Ninja -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/toolchain-aarch64.cmake" \
  -DDNNL_INCLUDE="$dnnl_inc" -DDNNL_LIB="$dnnl_lib" -DRECURRENT_BUILD_BENCH=OFF -DRECURRENT_MPI=OFF \
  -DRECURRENT_PYTHON=OFF >/dev/null
targets=(recurrent)
for l in "${layers[@]}"; do targets+=("test_$l"); done
build_ok=1
ninja -C "$dir" -j "$(nproc)" -k 0 "${targets[@]}" > "$dir/build.log" 2>&1 || build_ok=0
if ((!build_ok)); then
  echo "build errors (all in $dir/build.log):" >&2
  grep -E '^FAILED|error:|undefined reference' "$dir/build.log" | head -40 >&2
fi

# ---- 4. every test executable under qemu-aarch64 (the multiarch loader /lib/ld-linux-aarch64.so.1
# and its libc, see cmake/toolchain-aarch64.cmake for why not -L /usr/aarch64-linux-gnu).
qemu=$(command -v qemu-aarch64 || command -v qemu-aarch64-static)
mkdir -p "$dir/qemu-logs"
total_pass=0 total_fail=0 total_skip=0 bad=0
printf '%-14s %8s %8s %8s %8s  %s\n' executable passed skipped failed seconds status
for l in "${layers[@]}"; do
  exe="$dir/tests/test_$l" log="$dir/qemu-logs/test_$l.log"
  if [[ ! -x "$exe" ]]; then
    printf '%-14s %8s %8s %8s %8s  %s\n' "test_$l" - - - - "NOT BUILT"
    bad=1
    continue
  fi
  t0=$(date +%s)
  rc=0
  timeout "$timeout_s" "$qemu" "$exe" --gtest_brief=1 > "$log" 2>&1 || rc=$?
  secs=$(($(date +%s) - t0))
  ran=$(sed -nE 's/^\[==========\] ([0-9]+) tests? from .* ran\..*/\1/p' "$log" | tail -1)
  pass=$(sed -nE 's/^\[  PASSED  \] ([0-9]+) tests?\..*/\1/p' "$log" | tail -1)
  skip=$(sed -nE 's/^\[  SKIPPED \] ([0-9]+) tests?[,.].*/\1/p' "$log" | tail -1)
  pass=${pass:-0} skip=${skip:-0}
  fail=$(( ${ran:-0} - pass - skip ))  # --gtest_brief prints no FAILED total
  status=ok
  if ((rc == 124)); then status="TIMEOUT after ${timeout_s}s"
  elif [[ -z "$ran" ]]; then status="CRASHED (exit $rc)"
  elif ((rc != 0 || fail > 0)); then status="FAILED"
  fi
  [[ $status == ok ]] || bad=1
  [[ -z "$ran" && $fail == 0 ]] && fail=1  # a crash or timeout counts as one failure
  total_pass=$((total_pass + pass)) total_fail=$((total_fail + fail)) total_skip=$((total_skip + skip))
  printf '%-14s %8s %8s %8s %8s  %s\n' "test_$l" "$pass" "$skip" "$fail" "$secs" "$status"
  [[ $status == ok ]] || grep -E '^\[  FAILED  \] [A-Za-z]' "$log" | sed -E 's/, where GetParam.*//; s/^/    /' | head -20
done
echo "aarch64 qemu: $total_pass passed, $total_fail failed, $total_skip skipped"
((build_ok && !bad))
