#!/usr/bin/env bash
# scripts/compare/bf16_vs_fp32_lm.sh — issue 4's accuracy cost of bf16 on a real training run: the same
# character LM (Moby Dick, contiguous 90/5/5 split, LSTM 2×H with embedding 64, batch B × 100, Adam
# 2e-3, clip 5, lr × 0.5 on a validation plateau, seed 1) trained for the same number of epochs with
# --precision fp32 and with --precision bf16, side by side on one thread each; each run reports the
# test loss of its best-validation model. Needs build/recurrent, data/moby-dick (scripts/data/fetch.sh
# moby-dick) and a CPU with AVX512_BF16.
#
# Usage: scripts/compare/bf16_vs_fp32_lm.sh [EPOCHS=6] [H=256] [B=64]   → runs/bf16_vs_fp32/{fp32,bf16}.log
set -euo pipefail
cd "$(dirname "$0")/../.."
epochs=${1:-6}
H=${2:-256}
B=${3:-64}
out=runs/bf16_vs_fp32
mkdir -p "$out"
export OMP_WAIT_POLICY=passive
for p in fp32 bf16; do
  build/recurrent --threads 1 train lm --data data/moby-dick/moby-dick.txt --level char --cell lstm --layers 2 \
    --hidden "$H" --embed 64 --lr 2e-3 --seq-len 100 --batch "$B" --epochs "$epochs" --seed 1 --precision "$p" \
    --log-interval 50 --out "$out/$p" > "$out/$p.log" 2>&1 &
done
wait
for p in fp32 bf16; do
  echo "== $p"
  grep -E "tok/s|valid|test" "$out/$p.log" | tail -4
done
