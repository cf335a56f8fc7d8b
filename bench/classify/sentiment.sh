#!/usr/bin/env bash
# bench/classify/sentiment.sh — UCI Sentiment Labelled Sentences with `recurrent train classify`:
# in-domain (each of amazon, imdb, yelp; fixed positional 80/10/10 split: item i is test if
# i % 10 == 9, valid if i % 10 == 8) and cross-domain (train on two domains, 90% for training and
# every 10th item from 8 for validation; test on all 1000 sentences of the third).
# The best-validation-accuracy epoch is evaluated on test. Prints a table of test accuracy / macro-F1.
#
#   scripts/data/fetch.sh sentiment && bench/classify/sentiment.sh [OUT_DIR] [extra train options]
# Default model: word level, embedding 64, BiLSTM 64 per direction, last-state pooling, dropout 0.3,
# Adam 2e-3, clip 5, batch 32, 6 epochs, seed 1, 2 threads.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="${BIN:-$REPO/build/recurrent}"
S="${DATA_DIR:-$REPO/data}/sentiment"
OUT="${1:-$REPO/runs/bench-classify}"
shift || true
[[ -f "$S/amazon.tsv" ]] || { echo "no $S/amazon.tsv: run scripts/data/fetch.sh sentiment" >&2; exit 1; }
COMMON=(--cell lstm --bidirectional --hidden 64 --embed 64 --dropout 0.3 --epochs 6 --threads 2 --quiet --seed 1 "$@")
for d in amazon imdb yelp; do
  "$BIN" train classify --data "$S/$d.tsv" "${COMMON[@]}" --out "$OUT/$d" >/dev/null
done
"$BIN" train classify --data "$S/amazon.tsv" --data "$S/imdb.tsv" --test "$S/yelp.tsv" "${COMMON[@]}" --out "$OUT/x-yelp" >/dev/null
"$BIN" train classify --data "$S/amazon.tsv" --data "$S/yelp.tsv" --test "$S/imdb.tsv" "${COMMON[@]}" --out "$OUT/x-imdb" >/dev/null
"$BIN" train classify --data "$S/imdb.tsv" --data "$S/yelp.tsv" --test "$S/amazon.tsv" "${COMMON[@]}" --out "$OUT/x-amazon" >/dev/null
python3 - "$OUT" <<'PY'
import json, sys, os
out = sys.argv[1]
print("| setting | test n | accuracy | macro-F1 | train s |\n|---|---|---|---|---|")
rows = [("in-domain " + d, d) for d in ("amazon", "imdb", "yelp")] + \
       [("cross-domain -> " + d, "x-" + d) for d in ("amazon", "imdb", "yelp")]
acc = {}
for name, d in rows:
    r = json.load(open(os.path.join(out, d, "results.json")))
    t = r["test"]
    acc[d] = t["accuracy"]
    print(f"| {name} | {t['n']} | {100*t['accuracy']:.1f}% | {t['macro_f1']:.3f} | {r['train_seconds']:.0f} |")
print(f"\nin-domain mean accuracy {100*sum(acc[d] for d in ('amazon','imdb','yelp'))/3:.1f}%, "
      f"cross-domain mean {100*sum(acc['x-'+d] for d in ('amazon','imdb','yelp'))/3:.1f}%")
PY
