#!/usr/bin/env bash
# scripts/compare/rnn_vs_transformer.sh — issue 8's comparison on Moby Dick characters: LSTM vs GRU
# vs a GPT-style transformer of about equal parameter count (≈ 0.85 M), the same split, vocabulary,
# batch (32 × 128 characters), Adam schedule shape and wall-clock training budget, run one after
# the other on the same machine. Each run writes runs/compare/<arch>.json (examples/lm_compare.cpp:
# held-out bits/char, training chars/s, generation ms/char, the validation curve) and a sample.
# Then scripts/compare/plot_rnn_vs_transformer.py draws the figures.
#
# Usage: scripts/compare/rnn_vs_transformer.sh [BUDGET_SECONDS=600] [THREADS=2]
# Needs: build/examples/lm_compare (scripts/build.sh), data/moby-dick (scripts/data/fetch.sh moby-dick).
#
# Through the CLI instead (the product path: `recurrent train lm` for all three, then `recurrent
# sample` timed for the generation latency):
#   scripts/compare/rnn_vs_transformer.sh cli [BUDGET_SECONDS=480] [THREADS=1]
# writes runs/compare_cli/<arch>/ (checkpoints, metrics.csv, results.json, train.log),
# runs/compare_cli/generation.txt and load.txt; then
#   /usr/bin/python3 scripts/compare/plot_cli_compare.py runs/compare_cli
# prints the table and draws docs/figures/rnn_vs_transformer_cli.png.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "${1:-}" = cli ]; then
  exec scripts/compare/rnn_vs_transformer_cli.sh "${2:-480}" "${3:-1}"
fi
budget=${1:-600}
threads=${2:-2}
out=runs/compare
mkdir -p "$out"
bin=build/examples/lm_compare
common=(--data data/moby-dick/moby-dick.txt --seq-len 128 --batch 32 --time-budget "$budget" --eval-every 30
        --threads "$threads" --gen-length 400 --seed 1)
export OMP_WAIT_POLICY=passive
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out/load.txt"
# LSTM 2×256 (embed 64): 0.88 M parameters; Adam 2e-3 (char-rnn's default step size)
"$bin" --arch lstm --layers 2 --hidden 256 --embed 64 --lr 2e-3 "${common[@]}" --json "$out/lstm.json"
echo "load after lstm: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/load.txt"
# GRU 2×296 (embed 64): 0.87 M
"$bin" --arch gru --layers 2 --hidden 296 --embed 64 --lr 2e-3 "${common[@]}" --json "$out/gru.json"
echo "load after gru: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/load.txt"
# transformer 4 layers, d_model 128, 4 heads, ff 576, context 128: 0.89 M; Adam 1e-3 (nanoGPT's
# character-level setting), 100 warm-up steps, pre-LN, tied head, no dropout (as the RNNs)
"$bin" --arch transformer --layers 4 --d-model 128 --heads 4 --ff 576 --lr 1e-3 "${common[@]}" --json "$out/transformer.json"
echo "load after transformer: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/load.txt"
