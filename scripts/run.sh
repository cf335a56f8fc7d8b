#!/usr/bin/env bash
# The README's main job: installs dependencies, builds, fetches Moby Dick (npm, as shared/data.md
# says) and trains a character-level LSTM on it for a short budget, then prints the held-out
# bits/char and a sample. Extra arguments go to the trainer (e.g. --time-budget 600 --hidden 512).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
scripts/data/fetch.sh moby-dick
exec build/examples/char_lm --data data/moby-dick/moby-dick.txt --time-budget 180 "$@"
