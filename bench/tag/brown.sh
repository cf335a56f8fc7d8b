#!/usr/bin/env bash
# bench/tag/brown.sh — Brown corpus tagging with `recurrent train tag` (docs/tag.md):
#   collapsed  part-of-speech, 92 collapsed tags (scripts/data/prepare.py collapse_tag)  ← acceptance: >= 95%
#   full       part-of-speech, the raw Brown tags
#   np         proper-noun spans (np, np$, nps, nps$ runs) in BIO, span P/R/F1 as conlleval counts them
# Split by file (scripts/data/fetch.sh brown: 450 / 25 / 25 files). The best-validation epoch is
# evaluated on test, beside the most-frequent-tag baseline. Prints a Markdown table.
#
#   scripts/data/fetch.sh brown && bench/tag/brown.sh [OUT_DIR] [extra train options]
# Env: TASKS="collapsed full np" (any subset), BUDGET_collapsed=18m BUDGET_full=15m BUDGET_np=10m.
# Model: BiLSTM 128 per direction, word embedding 100 (words seen once in training → <unk>),
# suffix-1/2/3 + shape embeddings 16, dropout 0.2, Adam 2e-3, clip 5, batch 32, seed 1, 1 thread.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="${BIN:-$REPO/build/recurrent}"
D="${DATA_DIR:-$REPO/data}/brown"
OUT="${1:-$REPO/runs/bench-tag}"
shift || true
[[ -f "$D/train.tags.txt" ]] || { echo "no $D/train.tags.txt: run scripts/data/fetch.sh brown" >&2; exit 1; }
[[ -f "$D/tag/test.np.conll" ]] || python3 "$REPO/scripts/data/prepare.py" brown-tag "$D"
export OMP_WAIT_POLICY=passive
COMMON=(--cell lstm --bidirectional --hidden 128 --embed 100 --feature-embed 16 --min-count 2 --dropout 0.2
        --batch 32 --lr 2e-3 --clip 5 --threads 1 --seed 1 --log-every 60 "$@")
for t in ${TASKS:-collapsed full np}; do
  budget_var="BUDGET_$t"
  default=18m; [[ $t == full ]] && default=15m; [[ $t == np ]] && default=10m
  "$BIN" train tag --data "$D/tag/train.$t.conll" --valid "$D/tag/valid.$t.conll" --test "$D/tag/test.$t.conll" \
    --time-budget "${!budget_var:-$default}" "${COMMON[@]}" --out "$OUT/$t" 2>"$OUT.$t.log" || { cat "$OUT.$t.log" >&2; exit 1; }
done
python3 - "$OUT" ${TASKS:-collapsed full np} <<'PY'
import json, sys, os
out = sys.argv[1]
print("| task | tags | test tokens | accuracy | most-frequent-tag baseline | unknown-word accuracy | span P / R / F1 (baseline F1) | epochs | train s |")
print("|---|---|---|---|---|---|---|---|---|")
for t in sys.argv[2:]:
    r = json.load(open(os.path.join(out, t, "results.json")))
    e = r["test"]
    spans = f"{e['precision']:.4f} / {e['recall']:.4f} / {e['f1']:.4f} ({e['baseline_f1']:.4f})" if e["f1_kind"] == "span" else "—"
    print(f"| {t} | {r['tags']} | {e['tokens']} | {100*e['accuracy']:.2f}% | {100*e['baseline_accuracy']:.2f}% | "
          f"{100*e['oov_accuracy']:.1f}% of {e['oov_tokens']} | {spans} | {r['epochs_completed']} | {r['train_seconds']:.0f} |")
PY
