#!/usr/bin/env bash
# scripts/compare/rnn_vs_transformer_cli.sh — issue 8's comparison through the CLI: LSTM vs GRU vs a
# GPT-style transformer of about equal parameter count trained by `recurrent train lm` on the same
# corpus, split and vocabulary, the same batch shape and the same wall-clock budget each (validation
# included), one after the other; then the generation latency per token of each model by timing
# `recurrent sample` (420 tokens minus 20, so loading and the prime cancel out), and for the
# transformer the same without its KV cache (--no-kv-cache).
#   CORPUS=moby  (default) Moby Dick characters, 90/5/5 split, batch 32 × 128 characters, ≈ 0.88 M
#                parameters each, no dropout;
#   CORPUS=brown Brown words (scripts/data/fetch.sh brown: split by file), lower-cased, the 10,000 most
#                frequent, batch 20 × 64 words, embeddings tied to the output layer, dropout 0.2,
#                ≈ 3.6 M parameters each (2.6–2.7 M of them the tied embedding).
#
# Usage: [CORPUS=moby|brown] scripts/compare/rnn_vs_transformer_cli.sh [BUDGET_SECONDS=480] [THREADS=1]
#   (or scripts/compare/rnn_vs_transformer.sh cli ...). Needs build/recurrent and the data.
# Writes runs/compare_cli (moby) or runs/compare_cli_brown. Table and figure:
#   /usr/bin/python3 scripts/compare/plot_cli_compare.py runs/compare_cli[_brown]
set -euo pipefail
cd "$(dirname "$0")/../.."
budget=${1:-480}
threads=${2:-1}
corpus=${CORPUS:-moby}
bin=build/recurrent
export OMP_WAIT_POLICY=passive
case "$corpus" in
  moby)
    out=runs/compare_cli
    common=(--data data/moby-dick/moby-dick.txt --level char --seq-len 128 --batch 32)
    # LSTM 2×256, embedding 64: 0.88 M parameters; Adam 2e-3 (char-rnn's step size), clip 5
    lstm=(--cell lstm --layers 2 --hidden 256 --embed 64 --lr 2e-3)
    # GRU 2×296, embedding 64: 0.88 M
    gru=(--cell gru --layers 2 --hidden 296 --embed 64 --lr 2e-3)
    # transformer: 4 pre-LN blocks, d_model 128, 4 heads, ff 576, context 128 = the chunk, learned
    # positions, head tied to the embedding: 0.89 M; Adam 1e-3 (nanoGPT's character setting), 100 warm-up steps
    tf=(--layers 4 --d-model 128 --heads 4 --ff 576 --context 128 --warmup 100 --lr 1e-3)
    prime="Call me Ishmael."
    ;;
  brown)
    out=runs/compare_cli_brown
    common=(--data data/brown/train.txt --valid data/brown/valid.txt --test data/brown/test.txt --level word
            --lower --max-vocab 10000 --seq-len 64 --batch 20 --dropout 0.2)
    # LSTM 2×256, tied embedding 256: 3.63 M parameters (2.56 M embedding); Adam 1e-3
    lstm=(--cell lstm --layers 2 --hidden 256 --embed 256 --tie-weights --lr 1e-3)
    # GRU 2×272, tied embedding 272: 3.61 M
    gru=(--cell gru --layers 2 --hidden 272 --embed 272 --tie-weights --lr 1e-3)
    # transformer: 2 pre-LN blocks, d_model 256, 4 heads, ff 512, context 64 = the chunk, tied head: 3.63 M;
    # Adam 1e-3, 100 warm-up steps
    tf=(--layers 2 --d-model 256 --heads 4 --ff 512 --context 64 --warmup 100 --lr 1e-3)
    prime="the"
    ;;
  *) echo "CORPUS: expected moby or brown, got '$corpus'" >&2; exit 2 ;;
esac
common+=(--time-budget "$budget" --log-interval 10 --log-every 30 --seed 1 --threads "$threads")
mkdir -p "$out"
echo "$corpus" > "$out/corpus.txt"
load() { echo "$1: $(uptime | sed 's/.*load average/load average/')" | tee -a "$out/load.txt"; }
: > "$out/load.txt"
load "before"
"$bin" train lm "${lstm[@]}" "${common[@]}" --out "$out/lstm" > "$out/lstm.log" 2>&1
load "after lstm"
"$bin" train lm "${gru[@]}" "${common[@]}" --out "$out/gru" > "$out/gru.log" 2>&1
load "after gru"
"$bin" train lm --arch transformer "${tf[@]}" "${common[@]}" --out "$out/transformer" > "$out/transformer.log" 2>&1
load "after transformer"

# Generation latency: wall seconds of `sample` for 420 and for 20 tokens, each the best of 3.
gen() {  # model-dir extra-args... -> seconds (best of 3)
  local best=""
  for _ in 1 2 3; do
    local t0 t1
    t0=$(date +%s.%N)
    "$bin" sample --model "$@" --prime "$prime" --seed 1 --temperature 0.8 --threads "$threads" > /dev/null
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
"$bin" sample --model "$out/transformer" --prime "$prime" --length 300 --temperature 0.8 --seed 1 \
  --threads "$threads" > "$out/transformer.sample.txt"
"$bin" sample --model "$out/gru" --prime "$prime" --length 300 --temperature 0.8 --seed 1 \
  --threads "$threads" > "$out/gru.sample.txt"
