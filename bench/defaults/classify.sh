#!/usr/bin/env bash
# The evidence behind `train classify`'s defaults (docs/defaults.md, issue 29): every candidate setting on
# every labelled set the project has, each run as a user would start it (--data, a --time-budget, a --seed,
# early stopping), test macro-F1 next to the bag-of-n-grams baseline the run prints. Then
# bench/defaults/lodo.py picks, for each set, the candidate best on the OTHER sets (leave-one-dataset-out).
#
# Usage: bench/defaults/classify.sh OUT_DIR      (env: BIN=build/recurrent, BUDGET=300s, SEEDS="1",
#        CANDIDATES="a b ..." (default all), SETS="amazon imdb yelp brown-news", JOBS=2 parallel runs)
# Needs: scripts/data/fetch.sh sentiment brown. Each run uses 1 thread; JOBS runs go side by side.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
OUT=${1:?usage: classify.sh OUT_DIR}
BIN=${BIN:-$REPO/build/recurrent}
BUDGET=${BUDGET:-300s}
SEEDS=${SEEDS:-1}
JOBS=${JOBS:-2}
SETS=${SETS:-"amazon imdb yelp brown-news"}
D="$REPO/data"

flags_of() {  # candidate name → flags (explicit, so a later change of defaults does not change a candidate)
  local base="--hidden 128 --class-weight balanced --patience 5"
  case $1 in
    lstm-last) echo "$base --cell lstm --no-bidirectional --pool last --dropout 0 --word-dropout 0" ;;
    bilstm-max-d5) echo "$base --cell lstm --bidirectional --pool max --dropout 0.5 --word-dropout 0" ;;
    bilstm-max-d5-wd2) echo "$base --cell lstm --bidirectional --pool max --dropout 0.5 --word-dropout 0.2" ;;
    bilstm-mean-d5) echo "$base --cell lstm --bidirectional --pool mean --dropout 0.5 --word-dropout 0" ;;
    bigru-max-d5-wd2) echo "$base --cell gru --bidirectional --pool max --dropout 0.5 --word-dropout 0.2" ;;
    bilstm64-max-d5-wd2) echo "--hidden 64 --class-weight balanced --patience 5 --cell lstm --bidirectional --pool max --dropout 0.5 --word-dropout 0.2" ;;
    search3) echo "--class-weight balanced --patience 5 --search 3" ;;  # successive halving over the first three of the evidence table
    *) echo "unknown candidate $1" >&2; exit 2 ;;
  esac
}
CANDIDATES=${CANDIDATES:-"lstm-last bilstm-max-d5 bilstm-max-d5-wd2 bilstm-mean-d5 bigru-max-d5-wd2 bilstm64-max-d5-wd2"}

data_of() {  # set name → data options
  case $1 in
    amazon|imdb|yelp) echo "--data $D/sentiment/$1.tsv" ;;
    brown-news) echo "--data $D/brown/news/train.tsv --valid $D/brown/news/valid.tsv --test $D/brown/news/test.tsv" ;;
    *) echo "unknown set $1" >&2; exit 2 ;;
  esac
}

# shellcheck source=run_candidates.sh
source "$REPO/bench/defaults/run_candidates.sh"
run_candidates classify
