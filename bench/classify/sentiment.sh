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
# the bag-of-n-grams baseline (bench/classify/bow_baseline.py, same folds), SEEDS ("1"; e.g. "1 2 3"):
# in-domain, train one model per seed and fold (seed 1 in DOMAIN/fF, seed s in DOMAIN/fF-sS) and also
# report the per-fold seed ensemble: fold f is predicted by the mean class probabilities of fold f's
# models (`recurrent eval --ensemble`), none of which saw fold f. The sd/se columns are across folds.
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
read -r -a SEED_LIST <<<"${SEEDS:-1}"
COMMON=("${MODEL[@]}" --threads 1 --quiet "$@")
train() {  # train OUT_SUBDIR SEED ARGS...: skips a finished run
  local dir="$OUT/$1" seed="$2"
  shift 2
  [[ -f "$dir/results.json" ]] && return 0
  "$BIN" train classify "$@" "${COMMON[@]}" --seed "$seed" --out "$dir" >/dev/null
}
seed_dir() { [[ $2 == 1 ]] && echo "$1" || echo "$1-s$2"; }  # seed 1 keeps the single-seed layout
for s in $SETTINGS; do
  case "$s" in
    in-domain)
      for d in "${DOMAINS[@]}"; do
        for ((f = 0; f < K; f++)); do
          members=()
          for seed in "${SEED_LIST[@]}"; do
            train "$(seed_dir "$d/f$f" "$seed")" "$seed" --data "$S/$d.tsv" --folds "$K" --fold "$f"
            members+=("$OUT/$(seed_dir "$d/f$f" "$seed")")
          done
          # Per-fold seed ensemble: the models of fold f (all trained without fold f) vote on fold f by
          # averaged class probabilities (recurrent eval --ensemble).
          ens="$OUT/$d/f$f-ensemble-$(IFS=-; echo "${SEED_LIST[*]}").json"
          if (( ${#members[@]} > 1 )) && [[ ! -f "$ens" ]]; then
            awk -v k="$K" -v f="$f" 'NF && (n++ % k) == f' "$S/$d.tsv" >"$OUT/$d/f$f-test.tsv"
            extra=()
            for m in "${members[@]:1}"; do extra+=(--ensemble "$m"); done
            "$BIN" eval --model "${members[0]}" "${extra[@]}" --data "$OUT/$d/f$f-test.tsv" --json --threads 1 >"$ens"
          fi
        done
      done ;;
    joint)
      for ((f = 0; f < K; f++)); do
        dir="$OUT/joint/f$f"
        train "joint/f$f" 1 --data "$S/amazon.tsv" --data "$S/imdb.tsv" --data "$S/yelp.tsv" --folds "$K" --fold "$f"
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
        train "x-$d" 1 "${others[@]}" --test "$S/$d.tsv"
      done ;;
    *) echo "unknown setting '$s' (in-domain, joint, cross)" >&2; exit 1 ;;
  esac
done
[[ "${BASELINE:-0}" == 1 && ! -f "$OUT/bow_baseline.jsonl" ]] &&
  OPENBLAS_NUM_THREADS=1 "$REPO/bench/classify/bow_baseline.py" "$S" "$K" >"$OUT/bow_baseline.jsonl"
python3 - "$OUT" "$K" "$SETTINGS" "${SEED_LIST[*]}" <<'PY'
import json, math, os, statistics, sys
out, k, settings, seeds = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), sys.argv[4].split()
doms = ("amazon", "imdb", "yelp")
load = lambda p: json.load(open(os.path.join(out, p)))
base = {}
if os.path.exists(os.path.join(out, "bow_baseline.jsonl")):
    for line in open(os.path.join(out, "bow_baseline.jsonl")):
        j = json.loads(line)
        base[j["setting"]] = j["accuracy"]
def row(name, accs, f1s, secs):  # mean ± sd across folds (standard error of the mean = sd / sqrt(folds))
    sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
    se = sd / math.sqrt(len(accs))
    b = base.get(name)
    spread = f" ± {100 * sd:.1f} (se {100 * se:.1f})" if len(accs) > 1 else ""
    print(f"| {name} | {100 * statistics.mean(accs):.1f}%{spread} | {statistics.mean(f1s):.3f} | "
          f"{'' if b is None else f'{100 * b:.1f}%'} | {secs:.0f} |")
    return statistics.mean(accs), (se if len(accs) > 1 else None)
def seed_dir(p, s):
    return p if s == "1" else f"{p}-s{s}"
print(f"{k}-fold cross-validation (mean over folds ± sd across folds, se = sd / sqrt({k}))\n")
print("| setting | RNN accuracy | macro-F1 | bag-of-n-grams | train s |\n|---|---|---|---|---|")
means = {}
if "in-domain" in settings:
    for d in doms:
        for s in seeds:
            rs = [load(f"{seed_dir(f'{d}/f{f}', s)}/results.json") for f in range(k)]
            tag = "" if len(seeds) == 1 else f" (seed {s})"
            means[f"in{tag}", d] = row("in-domain " + d + tag, [r["test"]["accuracy"] for r in rs],
                                       [r["test"]["macro_f1"] for r in rs], sum(r["train_seconds"] for r in rs))
        if len(seeds) > 1:
            es = [load(f"{d}/f{f}-ensemble-{'-'.join(seeds)}.json") for f in range(k)]
            means["in-ens", d] = row(f"in-domain {d} (per-fold ensemble of {len(seeds)} seeds)",
                                     [e["accuracy"] for e in es], [e["macro_f1"] for e in es], 0)
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
keys = [("in" if len(seeds) == 1 else f"in (seed {s})", "in-domain" + ("" if len(seeds) == 1 else f" (seed {s})"))
        for s in seeds]
keys += [("in-ens", f"in-domain, per-fold ensemble of {len(seeds)} seeds"), ("joint", "joint"), ("x", "cross-domain")]
for key, name in keys:
    if all((key, d) in means for d in doms):
        bk = {"x": "cross-domain -> "}.get(key, "in-domain " if key.startswith("in") else None)
        bm = [base.get(bk + d) for d in doms] if bk else [None]
        extra = f" (bag-of-n-grams {100 * sum(bm) / 3:.1f}%)" if None not in bm else ""
        m = sum(means[key, d][0] for d in doms) / 3
        ses = [means[key, d][1] for d in doms]  # folds independent across domains
        se = "" if None in ses else f" (se {100 * math.sqrt(sum(x * x for x in ses)) / 3:.1f})"
        print(f"{name} mean accuracy over the three domains: {100 * m:.1f}%{se}{extra}")
PY
