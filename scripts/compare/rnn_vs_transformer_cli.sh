#!/usr/bin/env bash
# scripts/compare/rnn_vs_transformer_cli.sh — issue 8's comparison through the CLI: LSTM vs GRU vs a
# GPT-style transformer of about equal parameter count (≈ 0.88 M) trained by `recurrent train lm` on
# Moby Dick characters (the same 90/5/5 split and vocabulary), batch 32 × 128 characters, the same
# wall-clock budget each (validation included), one after the other; then the generation latency per
# character of each model by timing `recurrent sample` (400 characters minus 20, so loading and the
# prime cancel out), and for the transformer the same without its KV cache (--no-kv-cache).
#
# Usage: scripts/compare/rnn_vs_transformer_cli.sh [BUDGET_SECONDS=480] [THREADS=1]
#   (or scripts/compare/rnn_vs_transformer.sh cli ...). Needs build/recurrent and data/moby-dick.
# Table and figure: /usr/bin/python3 scripts/compare/plot_cli_compare.py runs/compare_cli
set -euo pipefail
cd "$(dirname "$0")/../.."
budget=${1:-480}
threads=${2:-1}
out=runs/compare_cli
bin=build/recurrent
mkdir -p "$out"
export OMP_WAIT_POLICY=passive
common=(--data data/moby-dick/moby-dick.txt --level char --seq-len 128 --batch 32 --time-budget "$budget"
        --log-interval 10 --log-every 30 --seed 1 --threads "$threads")
load() { echo "$1: $(uptime | sed 's/.*load average/load average/')" | tee -a "$out/load.txt"; }
: > "$out/load.txt"
load "before"
# LSTM 2×256, embedding 64: 0.88 M parameters; Adam 2e-3 (char-rnn's step size), clip 5
"$bin" train lm --cell lstm --layers 2 --hidden 256 --embed 64 --lr 2e-3 "${common[@]}" --out "$out/lstm" \
  > "$out/lstm.log" 2>&1
load "after lstm"
# GRU 2×296, embedding 64: 0.88 M
"$bin" train lm --cell gru --layers 2 --hidden 296 --embed 64 --lr 2e-3 "${common[@]}" --out "$out/gru" \
  > "$out/gru.log" 2>&1
load "after gru"
# transformer: 4 pre-LN blocks, d_model 128, 4 heads, ff 576, context 128 = the chunk, learned
# positions, head tied to the embedding: 0.89 M; Adam 1e-3 (nanoGPT's character setting), 100 warm-up steps
"$bin" train lm --arch transformer --layers 4 --d-model 128 --heads 4 --ff 576 --context 128 --warmup 100 \
  --lr 1e-3 "${common[@]}" --out "$out/transformer" > "$out/transformer.log" 2>&1
load "after transformer"

# Generation latency: wall seconds of `sample` for 420 and for 20 characters, each the best of 3.
gen() {  # model-dir extra-args... -> seconds (best of 3)
  local best=""
  for _ in 1 2 3; do
    local t0 t1
    t0=$(date +%s.%N)
    "$bin" sample --model "$@" --prime "Call me Ishmael." --seed 1 --temperature 0.8 --threads "$threads" > /dev/null
    t1=$(date +%s.%N)
    best=$(python3 -c "a='$best'; d=$t1-$t0; print(d if a=='' else min(float(a), d))")
  done
  echo "$best"
}
: > "$out/generation.txt"
for run in lstm gru transformer transformer-no-kv-cache; do
  dir=${run%-no-kv-cache}
  extra=()
  [ "$run" != "$dir" ] && extra=(--no-kv-cache)
  long=$(gen "$out/$dir" --length 420 "${extra[@]}")
  short=$(gen "$out/$dir" --length 20 "${extra[@]}")
  echo "$run $long $short" | tee -a "$out/generation.txt"
done
load "after generation"
"$bin" sample --model "$out/transformer" --prime "Call me Ishmael." --length 300 --temperature 0.8 --seed 1 \
  --threads "$threads" > "$out/transformer.sample.txt"
"$bin" sample --model "$out/gru" --prime "Call me Ishmael." --length 300 --temperature 0.8 --seed 1 \
  --threads "$threads" > "$out/gru.sample.txt"
