#!/usr/bin/env bash
# bench/forecast/run.sh — the forecasting figures of docs/forecast.md: yearly sunspots (one-step and
# 10-step) and weekly Mauna Loa CO2 (one-step and 52-step), each trained with SEEDS seeds, evaluated
# on the test part (`recurrent eval --json`), with the naive and seasonal-naive baselines beside them.
# Plots of the first seed's forecasts go to docs/figures/forecast_<run>.png.
#
# Usage: bench/forecast/run.sh            (env: BIN=build/recurrent, OUT=runs/forecast, SEEDS="1 2 3",
#                                           RUNS="sunspots-h1 sunspots-h10 co2-h1 co2-h52", PLOTS=1)
# Small data: each run takes seconds to a minute on one thread.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="${BIN:-$REPO/build/recurrent}"
OUT="${OUT:-$REPO/runs/forecast}"
SEEDS="${SEEDS:-1 2 3}"
RUNS="${RUNS:-sunspots-h1 sunspots-h10 co2-h1 co2-h52}"
PLOTS="${PLOTS:-1}"
export OMP_WAIT_POLICY=passive

"$REPO/scripts/data/fetch.sh" sunspots co2 >&2
SUN=(--data "$REPO/data/sunspots/sunspots.csv" --column SUNACTIVITY --time-column YEAR --season 11)
CO2=(--data "$REPO/data/co2/co2.csv" --column co2 --time-column date --season 52 --relative)
# One recipe for all: Adam 1e-3, batch 16, hidden 64, gradient norm clipped to 1, best epoch by
# validation MAE; chronological split 70/15/15 (the defaults of --valid-frac / --test-frac).
COMMON=(--hidden 64 --lr 1e-3 --batch 16 --threads 1 --quiet)

args_of() {
  case "$1" in
    sunspots-h1) echo "${SUN[@]} --lookback 22 --horizon 1 --cell gru --epochs 100" ;;
    sunspots-h10) echo "${SUN[@]} --lookback 22 --horizon 10 --cell gru --epochs 100" ;;
    co2-h1) echo "${CO2[@]} --lookback 104 --horizon 1 --cell lstm --epochs 30" ;;
    co2-h52) echo "${CO2[@]} --lookback 104 --horizon 52 --cell lstm --epochs 30" ;;
    *) echo "unknown run $1" >&2; exit 1 ;;
  esac
}
data_of() { case "$1" in sunspots*) echo "$REPO/data/sunspots/sunspots.csv" ;; *) echo "$REPO/data/co2/co2.csv" ;; esac; }

for run in $RUNS; do
  for seed in $SEEDS; do
    dir="$OUT/$run/seed$seed"
    # shellcheck disable=SC2046  # args_of's words are options
    cmd=("$BIN" train forecast $(args_of "$run") "${COMMON[@]}" --seed "$seed" --out "$dir")
    echo "+ ${cmd[*]}" >&2
    nice -n 5 "${cmd[@]}" >/dev/null
    "$BIN" eval --model "$dir" --data "$(data_of "$run")" --json --threads 1 >"$dir/eval.json"
    cat "$dir/eval.json"
  done
  first="${SEEDS%% *}"
  if [[ "$PLOTS" == 1 ]]; then
    "$BIN" predict --model "$OUT/$run/seed$first" --data "$(data_of "$run")" --threads 1 \
      --out "$OUT/$run/seed$first/forecasts.csv" --plot "$REPO/docs/figures/forecast_${run}.png"
  fi
done

# Table: per run, the first seed's figures and the mean (min–max) test MASE over the seeds.
/usr/bin/python3 - "$OUT" $RUNS <<'EOF'
import json, sys, glob, statistics as st
out, runs = sys.argv[1], sys.argv[2:]
print("| run | horizon | test MAE | test RMSE | test MASE (seed 1) | MASE mean (min–max) over seeds | naive MASE | seasonal-naive MASE | training (seed 1, wall) |")
print("|---|---|---|---|---|---|---|---|---|")
for run in runs:
    dirs = sorted(glob.glob(f"{out}/{run}/seed*"), key=lambda d: int(d.rsplit("seed", 1)[1]))
    rs = [json.load(open(f"{d}/eval.json")) for d in dirs]
    if not rs:
        continue
    a, m = rs[0], [r["mase"] for r in rs]
    secs = json.load(open(f"{dirs[0]}/results.json"))["train_seconds"]
    print(f"| {run} | {a['horizon']} | {a['mae']:.3f} | {a['rmse']:.3f} | {a['mase']:.3f} | "
          f"{st.mean(m):.3f} ({min(m):.3f}–{max(m):.3f}, {len(m)} seeds) | {a['naive_mase']:.3f} | "
          f"{a['seasonal_naive_mase']:.3f} (S={a['season']}) | {secs:.0f} s |")
EOF
