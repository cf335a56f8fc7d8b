#!/usr/bin/env bash
# Builds and installs recurrent: the C++ library (headers, libraries, CMake package config,
# recurrent.pc), the `recurrent` CLI and the Python package for Debian's /usr/bin/python3.
# Usage: scripts/install.sh [PREFIX]   (default /usr/local; root or sudo to write there)
#   PREFIX=/usr/local puts the Python package in /usr/local/lib/python3.X/dist-packages, which
#   Debian's python3 searches; PREFIX=/usr puts it in /usr/lib/python3/dist-packages.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:-/usr/local}
scripts/install-deps.sh
scripts/build.sh build -DRECURRENT_PYTHON=ON -DCMAKE_INSTALL_PREFIX="$prefix"
sudo_cmd=""
[[ $(id -u) -ne 0 && ! -w "$prefix" ]] && sudo_cmd="sudo"
$sudo_cmd cmake --install build
echo "installed into $prefix; check: /usr/bin/python3 -c 'import recurrent, recurrent.torch'" >&2
