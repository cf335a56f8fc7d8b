#!/usr/bin/env bash
# bench/seq2seq/bible_transformer.sh — English → Spanish (KJV → Reina-Valera 1909, split by book):
# the transformer encoder-decoder (`--arch transformer`) against the RNN encoder-decoder with
# Bahdanau attention, same data, vocabularies, optimiser, batch and wall-clock budget, about the
# same parameter count (4.85 M vs 4.82 M), one run after the other on one thread.
#
#   scripts/data/fetch.sh bible-es && bench/seq2seq/bible_transformer.sh [BUDGET] [OUT_DIR]
#   (RUNS="transformer bahdanau" to choose; the RNN settings are bench/seq2seq/bible.sh's)
#
# Shared: verses of at most 20 words on both sides (train, valid, test), vocabularies capped at 8000,
# dropout 0.1, Adam, clip 5, batch 32, validation (greedy BLEU) every 100 steps, seed 1, 1 thread;
# test BLEU greedy and with beam 5 from the best validation checkpoint.
# RNN: embedding 128, 1-layer LSTM 256 (bidirectional encoder), Bahdanau attention, lr 2e-3.
# Transformer: 2 encoder + 2 decoder pre-LN blocks, d_model 192, 4 heads, feed-forward 768, GELU,
# sinusoidal positions, output tied to the target embedding; lr 1e-3 with 200 warm-up steps.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="${BIN:-$REPO/build/recurrent}"
D="${DATA_DIR:-$REPO/data}/bible"
BUDGET="${1:-14m}"
OUT="${2:-$REPO/runs/bench-seq2seq-tf}"
RUNS="${RUNS:-transformer bahdanau}"
[[ -f "$D/train.tsv" ]] || { echo "no $D/train.tsv: run scripts/data/fetch.sh bible-es" >&2; exit 1; }
export OMP_WAIT_POLICY=passive
COMMON=(--data "$D/train.tsv" --valid "$D/valid.tsv" --test "$D/test.tsv" --max-len 20 --eval-max-len 20
        --src-vocab 8000 --tgt-vocab 8000 --dropout 0.1 --optimizer adam --clip 5 --batch 32 --valid-every 100
        --time-budget "$BUDGET" --threads 1 --seed 1 --log-every 30 --beam 5)
mkdir -p "$OUT"
uptime >>"$OUT/load.txt"
for r in $RUNS; do
  case "$r" in
    transformer) ARGS=(--arch transformer --layers 2 --d-model 192 --heads 4 --ff 768 --lr 1e-3 --warmup 200) ;;
    *) ARGS=(--attention "$r" --cell lstm --hidden 256 --embed 128 --bidirectional --lr 2e-3) ;;
  esac
  nice -n 5 "$BIN" train seq2seq "${COMMON[@]}" "${ARGS[@]}" --out "$OUT/$r" 2>"$OUT/$r.log" >"$OUT/$r.out"
  uptime >>"$OUT/load.txt"
done
/usr/bin/python3 - "$OUT" $RUNS <<'PY'
import json, os, sys
out, runs = sys.argv[1], sys.argv[2:]
print("| model | parameters | steps | train s | valid BLEU | test BLEU (greedy) | test BLEU (beam 5) | test exact match | test ppl |")
print("|---|---|---|---|---|---|---|---|---|")
for a in runs:
    r = json.load(open(os.path.join(out, a, "results.json")))
    t, tb = r["test"], r.get("test_beam", r["test"])
    print(f"| {a} | {r['parameters']/1e6:.2f} M | {r['steps']} | {r['train_seconds']:.0f} | {r['valid']['bleu']:.2f} | "
          f"{t['bleu']:.2f} | {tb['bleu']:.2f} | {100*t['exact_match']:.1f}% | {t['perplexity']:.1f} |")
PY
