#!/usr/bin/env bash
# bench/classify/sentiment.sh — UCI Sentiment Labelled Sentences (Amazon, IMDB, Yelp; 1000 sentences
# each) with `recurrent train classify`, K-fold cross-validation.
#
#   scripts/data/fetch.sh sentiment && bench/classify/sentiment.sh [OUT_DIR] [extra train options]
#
# Protocol (K = $FOLDS, default 10): item i of a domain file is in fold i % K. For each fold f the
# model trains on the other K−2 folds, picks its best epoch on fold f−1 (mod K) and is tested on fold f
# (`--folds K --fold f`); the figure is the mean test accuracy over the K folds, so every sentence is
# tested exactly once.
#   in-domain   each domain alone;
#   joint       (in-domain, more data) the three domains' training folds together, one model per fold,
#               tested on each domain's fold f separately (`recurrent eval`);
#   cross       train on two domains (valid: items i % 10 == 8 of their concatenation), test on all
#               1000 sentences of the third; one run per target domain.
# Runs whose results.json exists are skipped, so an interrupted benchmark continues where it stopped.
# Default model (MODEL="..." replaces it, extra options are added): word level, embedding 64,
# BiLSTM 64 per direction, max pooling, dropout 0.5, word dropout 0.2, Adam 2e-3, clip 5, batch 32,
# up to 20 epochs with patience 5 (the best validation epoch is tested), seed 1, 1 thread.
# Environment: FOLDS (10), SETTINGS ("in-domain joint cross"), BIN, DATA_DIR, BASELINE=1 to also print
# the bag-of-n-grams baseline (bench/classify/bow_baseline.py, same folds).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="${BIN:-$REPO/build/recurrent}"
S="${DATA_DIR:-$REPO/data}/sentiment"
OUT="${1:-$REPO/runs/bench-classify}"
shift || true
K="${FOLDS:-10}"
SETTINGS="${SETTINGS:-in-domain joint cross}"
DOMAINS=(amazon imdb yelp)
[[ -f "$S/amazon.tsv" ]] || { echo "no $S/amazon.tsv: run scripts/data/fetch.sh sentiment" >&2; exit 1; }
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
# MODEL replaces the default model options; extra arguments are added to them.
read -r -a MODEL <<<"${MODEL:---cell lstm --bidirectional --hidden 64 --embed 64 --pool max --dropout 0.5 --word-dropout 0.2 --epochs 20 --patience 5}"
COMMON=("${MODEL[@]}" --threads 1 --quiet --seed 1 "$@")
train() {  # train OUT_SUBDIR ARGS...: skips a finished run
  local dir="$OUT/$1"
  shift
  [[ -f "$dir/results.json" ]] && return 0
  "$BIN" train classify "$@" "${COMMON[@]}" --out "$dir" >/dev/null
}
for s in $SETTINGS; do
  case "$s" in
    in-domain)
      for d in "${DOMAINS[@]}"; do
        for ((f = 0; f < K; f++)); do train "$d/f$f" --data "$S/$d.tsv" --folds "$K" --fold "$f"; done
      done ;;
    joint)
      for ((f = 0; f < K; f++)); do
        dir="$OUT/joint/f$f"
        train "joint/f$f" --data "$S/amazon.tsv" --data "$S/imdb.tsv" --data "$S/yelp.tsv" --folds "$K" --fold "$f"
        for d in "${DOMAINS[@]}"; do  # each domain's fold f (1000 = a multiple of K keeps folds aligned)
          [[ -f "$dir/test-$d.json" ]] && continue
          awk -v k="$K" -v f="$f" 'NF && (n++ % k) == f' "$S/$d.tsv" >"$dir/test-$d.tsv"
          "$BIN" eval --model "$dir" --data "$dir/test-$d.tsv" --json --threads 1 >"$dir/test-$d.json"
        done
      done ;;
    cross)
      for d in "${DOMAINS[@]}"; do
        others=()
        for o in "${DOMAINS[@]}"; do [[ $o == "$d" ]] || others+=(--data "$S/$o.tsv"); done
        train "x-$d" "${others[@]}" --test "$S/$d.tsv"
      done ;;
    *) echo "unknown setting '$s' (in-domain, joint, cross)" >&2; exit 1 ;;
  esac
done
[[ "${BASELINE:-0}" == 1 && ! -f "$OUT/bow_baseline.jsonl" ]] &&
  OPENBLAS_NUM_THREADS=1 "$REPO/bench/classify/bow_baseline.py" "$S" "$K" >"$OUT/bow_baseline.jsonl"
python3 - "$OUT" "$K" "$SETTINGS" <<'PY'
import json, os, statistics, sys
out, k, settings = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()
doms = ("amazon", "imdb", "yelp")
load = lambda p: json.load(open(os.path.join(out, p)))
base = {}
if os.path.exists(os.path.join(out, "bow_baseline.jsonl")):
    for line in open(os.path.join(out, "bow_baseline.jsonl")):
        j = json.loads(line)
        base[j["setting"]] = j["accuracy"]
def row(name, accs, f1s, secs):
    sd = f" ± {100 * statistics.stdev(accs):.1f}" if len(accs) > 1 else ""
    b = base.get(name)
    print(f"| {name} | {100 * statistics.mean(accs):.1f}%{sd} | {statistics.mean(f1s):.3f} | "
          f"{'' if b is None else f'{100 * b:.1f}%'} | {secs:.0f} |")
    return statistics.mean(accs)
print(f"{k}-fold cross-validation (in-domain: mean over folds ± sd across folds)\n")
print("| setting | RNN accuracy | macro-F1 | bag-of-n-grams | train s |\n|---|---|---|---|---|")
means = {}
if "in-domain" in settings:
    for d in doms:
        rs = [load(f"{d}/f{f}/results.json") for f in range(k)]
        means["in", d] = row("in-domain " + d, [r["test"]["accuracy"] for r in rs], [r["test"]["macro_f1"] for r in rs],
                             sum(r["train_seconds"] for r in rs))
if "joint" in settings:
    secs = sum(load(f"joint/f{f}/results.json")["train_seconds"] for f in range(k))
    for d in doms:
        es = [load(f"joint/f{f}/test-{d}.json") for f in range(k)]
        means["joint", d] = row("joint (3 domains) -> " + d, [e["accuracy"] for e in es], [e["macro_f1"] for e in es],
                                secs if d == "amazon" else 0)
if "cross" in settings:
    for d in doms:
        r = load(f"x-{d}/results.json")
        means["x", d] = row("cross-domain -> " + d, [r["test"]["accuracy"]], [r["test"]["macro_f1"]], r["train_seconds"])
print()
for key, name in (("in", "in-domain"), ("joint", "joint"), ("x", "cross-domain")):
    if all((key, d) in means for d in doms):
        bk = {"in": "in-domain ", "x": "cross-domain -> "}.get(key)
        bm = [base.get(bk + d) for d in doms] if bk else [None]
        extra = f" (bag-of-n-grams {100 * sum(bm) / 3:.1f}%)" if None not in bm else ""
        print(f"{name} mean accuracy over the three domains: {100 * sum(means[key, d] for d in doms) / 3:.1f}%{extra}")
PY
