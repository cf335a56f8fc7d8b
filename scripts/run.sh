#!/usr/bin/env bash
# The README's main job: installs dependencies, builds, fetches Moby Dick (npm, as shared/data.md
# says), trains a character-level 2×256 LSTM on it for a short budget (3 minutes by default), then
# prints the test bits/char and a 500-character sample.
#
#   scripts/run.sh                        # defaults
#   BUDGET=30m scripts/run.sh             # longer training
#   scripts/run.sh --hidden 512 --dropout 0.2   # extra arguments go to `recurrent train lm`
# The model, metrics.csv and results.json land in $RUN_DIR (default runs/moby-char).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
scripts/data/fetch.sh moby-dick
out=${RUN_DIR:-runs/moby-char}
rm -rf "$out"
build/recurrent train lm --data data/moby-dick/moby-dick.txt --level char --cell lstm --layers 2 --hidden 256 \
  --embed 64 --seq-len 100 --batch 32 --optimizer adam --lr 2e-3 --clip 5 --time-budget "${BUDGET:-3m}" \
  --out "$out" "$@"
echo
echo "sample (temperature 0.8, seed 1):"
build/recurrent sample --model "$out" --prime "Call me" --length 500 --temperature 0.8 --seed 1
