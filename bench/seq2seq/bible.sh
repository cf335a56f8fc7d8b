#!/usr/bin/env bash
# bench/seq2seq/bible.sh — English → Spanish (KJV → Reina-Valera 1909, split by book) with
# `recurrent train seq2seq`: the same encoder-decoder and the same wall-clock budget with no
# attention, Bahdanau (additive) and Luong (general, dot) attention, one run after the other.
# Prints a table of test BLEU (greedy and beam 5) / exact match and writes an attention heat map.
#
#   scripts/data/fetch.sh bible-es && bench/seq2seq/bible.sh [BUDGET] [OUT_DIR] [extra train options]
#   (ATTENTIONS="none bahdanau luong-general luong-dot" to choose the variants)
#
# Default model (picked to learn something in ~15 min per model on one loaded core): word units
# (lower-cased), verses of at most 20 words on both sides (training, validation and test alike),
# vocabularies capped at 8000 (source: all 6,416 training words; target: the 8,000 most frequent), embedding
# 128, 1-layer LSTM 256 (bidirectional encoder: 128 per direction), dropout 0.1, Adam 2e-3, clip 5,
# batch 32, seed 1, 1 thread; best checkpoint by validation greedy BLEU (validated every 100 steps
# and at the end of the budget); test BLEU greedy and with beam 5.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="${BIN:-$REPO/build/recurrent}"
D="${DATA_DIR:-$REPO/data}/bible"
BUDGET="${1:-15m}"
OUT="${2:-$REPO/runs/bench-seq2seq}"
shift 2 || shift $# || true
ATTENTIONS="${ATTENTIONS:-none bahdanau luong-general}"
[[ -f "$D/train.tsv" ]] || { echo "no $D/train.tsv: run scripts/data/fetch.sh bible-es" >&2; exit 1; }
export OMP_WAIT_POLICY=passive
COMMON=(--data "$D/train.tsv" --valid "$D/valid.tsv" --test "$D/test.tsv" --max-len 20 --eval-max-len 20
        --src-vocab 8000 --tgt-vocab 8000 --cell lstm --hidden 256 --embed 128 --bidirectional --dropout 0.1
        --optimizer adam --lr 2e-3 --clip 5 --batch 32 --valid-every 100 --time-budget "$BUDGET" --threads 1
        --seed 1 --log-every 60 "$@")
mkdir -p "$OUT"
uptime >"$OUT/load.txt"
for a in $ATTENTIONS; do
  nice -n 5 "$BIN" train seq2seq "${COMMON[@]}" --attention "$a" --beam 5 --out "$OUT/$a" 2>"$OUT/$a.log" >"$OUT/$a.out"
  uptime >>"$OUT/load.txt"
done
# The attention of one test verse (I Kings 2:10; reference: "Y David durmió con sus padres, y fué
# sepultado en la ciudad de David."), drawn as a heat map.
SENT="${SENT:-So David slept with his fathers, and was buried in the city of David.}"
for a in $ATTENTIONS; do
  [[ "$a" == none ]] && continue
  echo "$SENT" | "$BIN" translate --model "$OUT/$a" --attention-out "$OUT/$a.attention.csv" --threads 1 >"$OUT/$a.example.txt"
  /usr/bin/python3 "$REPO/scripts/seq2seq/plot_attention.py" "$OUT/$a.attention.csv" "$OUT/$a.attention.png" \
    --title "$a: $(cat "$OUT/$a.example.txt")"
done
/usr/bin/python3 - "$OUT" $ATTENTIONS <<'PY'
import json, os, sys
out, atts = sys.argv[1], sys.argv[2:]
print("| attention | parameters | steps | train s | valid BLEU | test BLEU (greedy) | test BLEU (beam 5) | test exact match | test ppl |")
print("|---|---|---|---|---|---|---|---|---|")
for a in atts:
    r = json.load(open(os.path.join(out, a, "results.json")))
    t, tb = r["test"], r.get("test_beam", r["test"])
    print(f"| {a} | {r['parameters']/1e6:.2f} M | {r['steps']} | {r['train_seconds']:.0f} | {r['valid']['bleu']:.2f} | "
          f"{t['bleu']:.2f} | {tb['bleu']:.2f} | {100*t['exact_match']:.1f}% | {t['perplexity']:.1f} |")
PY
