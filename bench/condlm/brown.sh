#!/usr/bin/env bash
# bench/condlm/brown.sh — genre-conditioned sentence generation on Brown with `recurrent train condlm`
# (docs/tag.md, "Conditional generation"): the same network trained with the genre of each sentence
# (label embedding at every input step) and without it (--no-condition), with the same budget (the
# same sentences, epochs and so the same steps); held-out perplexity of both, then samples per genre.
#
#   scripts/data/fetch.sh brown && bench/condlm/brown.sh [OUT_DIR] [extra train options]
# Data: label<TAB>sentence from data/brown/{split}.genre.txt + {split}.txt (split by file, 450/25/25
# files). Training uses every STRIDE-th training sentence (default 3: 17,251) for EPOCHS=1 epoch — a budget this shared
# 2-core machine can afford; validation and test are complete.
# Model: LSTM 128, word embedding 64, genre embedding 16, lower-cased words, vocabulary 5,000 (incl.
# <unk>, <eos>), dropout 0.1, Adam 2e-3, clip 5, batch 32, seed 1, 1 thread.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="${BIN:-$REPO/build/recurrent}"
D="${DATA_DIR:-$REPO/data}/brown"
OUT="${1:-$REPO/runs/bench-condlm}"
shift || true
[[ -f "$D/train.genre.txt" ]] || { echo "no $D/train.genre.txt: run scripts/data/fetch.sh brown" >&2; exit 1; }
mkdir -p "$OUT"
paste "$D/train.genre.txt" "$D/train.txt" | awk -v s="${STRIDE:-3}" '(NR - 1) % s == 0' >"$OUT/train.tsv"
paste "$D/valid.genre.txt" "$D/valid.txt" >"$OUT/valid.tsv"
paste "$D/test.genre.txt" "$D/test.txt" >"$OUT/test.tsv"
export OMP_WAIT_POLICY=passive
COMMON=(--data "$OUT/train.tsv" --valid "$OUT/valid.tsv" --test "$OUT/test.tsv" --lower --max-vocab 5000
        --cell lstm --hidden 128 --embed 64 --label-embed 16 --dropout 0.1 --batch 32 --lr 2e-3 --clip 5
        --epochs "${EPOCHS:-1}" --threads 1 --seed 1 --log-every 60 "$@")
"$BIN" train condlm "${COMMON[@]}" --out "$OUT/genre" 2>"$OUT/genre.log"
"$BIN" train condlm "${COMMON[@]}" --no-condition --out "$OUT/none" 2>"$OUT/none.log"
echo "| model | valid perplexity | test perplexity | steps | train s |"
echo "|---|---|---|---|---|"
for m in genre none; do
  python3 - "$OUT/$m/results.json" "$m" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
name = "genre-conditioned" if sys.argv[2] == "genre" else "unconditioned (--no-condition)"
print(f"| {name} | {r['valid']['perplexity']:.2f} | {r['test']['perplexity']:.2f} | {r['steps']} | {r['train_seconds']:.0f} |")
PY
done
for m in genre none; do
  echo "eval $m on test: $("$BIN" eval --model "$OUT/$m" --data "$OUT/test.tsv" --json --threads 1)"
done
echo
seed=0  # one seed per genre: with one seed every genre would draw the same uniform numbers
for g in $(cut -f1 "$OUT/train.tsv" | sort -u); do
  seed=$((seed + 1))
  "$BIN" sample --model "$OUT/genre" --condition "$g" --sentences 2 --temperature 0.8 --seed $seed --threads 1 | sed "s/^/$g: /"
done
