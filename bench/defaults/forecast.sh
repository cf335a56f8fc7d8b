#!/usr/bin/env bash
# The evidence behind `train forecast`'s defaults (docs/defaults.md, issue 29): every candidate setting on
# every series the project has, each run as a user would start it (--data, --column, a --time-budget, a
# --seed; lookback, season, relative/seasonal-residual read off the training part), 1-step test MASE next to
# the naive and seasonal-naive baselines. bench/defaults/lodo.py then picks, for each series, the candidate
# best on the OTHER series (leave-one-dataset-out).
#
# Usage: bench/defaults/forecast.sh OUT_DIR   (env: BIN=build/recurrent, BUDGET=300s, SEEDS="1 2 3",
#        CANDIDATES="a b ..." (default all), SETS (default all seven), JOBS=2 parallel runs)
# Needs: scripts/data/fetch.sh sunspots co2 series. Each run uses 1 thread.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
OUT=${1:?usage: forecast.sh OUT_DIR}
BIN=${BIN:-$REPO/build/recurrent}
BUDGET=${BUDGET:-300s}
SEEDS=${SEEDS:-"1 2 3"}
JOBS=${JOBS:-2}
SETS=${SETS:-"sunspots co2 nile elnino realgdp unemp elec_equip"}
D="$REPO/data"

flags_of() {  # candidate name → flags (explicit, so a later change of defaults does not change a candidate)
  case $1 in
    lstm64) echo "--cell lstm --hidden 64" ;;
    gru64) echo "--cell gru --hidden 64" ;;
    lstm32) echo "--cell lstm --hidden 32" ;;
    lstm128) echo "--cell lstm --hidden 128" ;;
    lstm64-d2) echo "--cell lstm --hidden 64 --dropout 0.2" ;;
    lstm64-plain) echo "--cell lstm --hidden 64 --no-seasonal-residual --no-relative" ;;
    search5) echo "--search 5" ;;  # successive halving over the five candidates above in their evidence order
    *) echo "unknown candidate $1" >&2; exit 2 ;;
  esac
}
CANDIDATES=${CANDIDATES:-"lstm64 gru64 lstm32 lstm128 lstm64-d2 lstm64-plain"}

data_of() {  # series name → data options
  case $1 in
    sunspots) echo "--data $D/sunspots/sunspots.csv --column SUNACTIVITY --time-column YEAR" ;;
    co2) echo "--data $D/co2/co2.csv --column co2 --time-column date" ;;
    nile) echo "--data $D/series/nile.csv --column volume --time-column year" ;;
    elnino) echo "--data $D/series/elnino.csv --column temp --time-column month" ;;
    realgdp) echo "--data $D/series/macrodata.csv --column realgdp" ;;
    unemp) echo "--data $D/series/macrodata.csv --column unemp" ;;
    elec_equip) echo "--data $D/series/elec_equip.csv --column orders --time-column date" ;;
    *) echo "unknown series $1" >&2; exit 2 ;;
  esac
}

# shellcheck source=run_candidates.sh
source "$REPO/bench/defaults/run_candidates.sh"
run_candidates forecast
