#!/usr/bin/env bash
# Issue 24, acceptance 3: every cell on the README's main job — the Moby Dick character LM (2 layers,
# embedding 64, batch 32 × 100, Adam 2e-3, clip 5) — for the same wall-clock budget on the same threads,
# each at the hidden size that brings it nearest to the LSTM 2×256's parameter count (883,028; found by
# probing `train lm --max-steps 1`, which prints the count); then the reference, a GPT-style transformer of
# the same size (4 pre-LN blocks, d_model 128, 4 heads, ff 576, context = the 100-character chunk, head tied
# to the embedding: 0.88 M; Adam 1e-3 with 100 warm-up steps, nanoGPT's character setting); then the
# regularised LSTMs (recurrent dropout, zoneout) against the plain one at a longer budget. Each run's
# results.json is read for the table.
#
#   scripts/compare/cells_moby.sh [OUT_DIR]         (default runs/cells-moby; a finished run is not re-run)
#   env: BUDGET=900s THREADS=2 CELLS="lstm gru …" TRANSFORMER=1 (0: no transformer row)
#        LONG_BUDGET=1800s REGULARISED=1 (0: skip the longer runs)
# Prints a Markdown table (also OUT_DIR/table.md) naming the CPU, with each run's command in OUT_DIR/NAME.cmd.
# Needs build/recurrent and data/moby-dick (scripts/data/fetch.sh moby-dick). Takes about
# (number of cells + 1) × BUDGET + 3 × LONG_BUDGET: run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/cells-moby}
bin=build/recurrent
data=data/moby-dick/moby-dick.txt
budget=${BUDGET:-900s}
threads=${THREADS:-2}
cells=${CELLS:-"lstm rnn_tanh rnn_relu lstm_peephole gru gru_cho gru_simple mingru minlstm rglru lstm_ln gru_ln lstm_bn"}
target=883028
[[ -x $bin ]] || { echo "cells_moby: $bin not found (scripts/build.sh build)" >&2; exit 2; }
[[ -f $data ]] || { echo "cells_moby: $data not found (scripts/data/fetch.sh moby-dick)" >&2; exit 2; }
mkdir -p "$out"
shared=(--data "$data" --level char --seq-len 100 --batch 32 --optimizer adam --clip 5)
common=("${shared[@]}" --layers 2 --embed 64 --lr 2e-3)

params() {  # CELL H -> the parameter count `train lm` reports
  "$bin" --threads 1 train lm "${common[@]}" --cell "$1" --hidden "$2" --max-steps 1 --force \
    --out "$out/.probe" 2>&1 | grep -oE '[0-9]+ parameters' | head -1 | cut -d' ' -f1
}

hidden_for() {  # CELL -> the multiple of 8 in [16, 2048] whose count is nearest the target (counts grow with H)
  local lo=2 hi=256 mid
  while ((hi - lo > 1)); do
    mid=$(((lo + hi) / 2))
    if (($(params "$1" $((mid * 8))) < target)); then lo=$mid; else hi=$mid; fi
  done
  local plo phi
  plo=$(params "$1" $((lo * 8))) phi=$(params "$1" $((hi * 8)))
  if ((target - plo <= phi - target)); then echo $((lo * 8)); else echo $((hi * 8)); fi
}

run() {  # NAME BUDGET ARGS... : one training run (`train lm ARGS`) unless its results.json exists
  local name=$1 b=$2
  shift 2
  local dir=$out/$name
  grep -qx "$name" "$out/order.txt" 2>/dev/null || echo "$name" >>"$out/order.txt"
  [[ -f $dir/results.json ]] && return 0
  local cmd=("$bin" --threads "$threads" train lm "$@" --time-budget "$b" --force --quiet --out "$dir")
  printf '%q ' "${cmd[@]}" >"$out/$name.cmd"
  echo "$(date -u +%T) $name: ${*}, $b (load $(cut -d' ' -f1 /proc/loadavg))" >&2
  "${cmd[@]}" >"$out/$name.log" 2>&1 || { echo "cells_moby: $name failed, see $out/$name.log" >&2; return 1; }
}

for c in $cells; do
  h=$(hidden_for "$c")
  run "$c" "$budget" "${common[@]}" --cell "$c" --hidden "$h"
done
rm -rf "$out/.probe"
if [[ ${TRANSFORMER:-1} != 0 ]]; then
  run transformer "$budget" "${shared[@]}" --arch transformer --layers 4 --d-model 128 --heads 4 --ff 576 \
    --context 100 --warmup 100 --lr 1e-3
fi
if [[ ${REGULARISED:-1} != 0 ]]; then
  long=${LONG_BUDGET:-1800s}
  run "lstm-long" "$long" "${common[@]}" --cell lstm --hidden 256
  run "lstm-rdrop-long" "$long" "${common[@]}" --cell lstm --hidden 256 --recurrent-dropout 0.25
  run "lstm-zoneout-long" "$long" "${common[@]}" --cell lstm --hidden 256 --zoneout 0.1
fi

/usr/bin/python3 - "$out" "$budget" "$threads" <<'EOF' | tee "$out/table.md"
import json, os, sys
out, budget, threads = sys.argv[1:4]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"Moby Dick char LM, 2 layers, embedding 64, batch 32 × 100, Adam 2e-3, clip 5, {threads} threads; CPU: {cpu}, "
      f"{os.cpu_count()} cores. bits/char of the best-validation model; stopped early: the validation loss stopped "
      f"improving (the default patience) before the budget ran out.\n")
print("| run | cell | hidden | parameters | budget | steps | tokens/s | valid bits/char | test bits/char | stopped early |")
print("|---|---|---:|---:|---|---:|---:|---:|---:|---|")
for name in open(os.path.join(out, "order.txt")).read().split():
    p = os.path.join(out, name, "results.json")
    if not os.path.isfile(p):
        continue
    r = json.load(open(p))
    cmd = open(os.path.join(out, name + ".cmd")).read().split()
    arg = lambda k: cmd[cmd.index(k) + 1] if k in cmd else "–"
    cell = "transformer (4 × d 128)" if "--arch" in cmd else arg('--cell')
    print(f"| {name} | {cell} | {arg('--hidden')} | {r['parameters']:,} | {arg('--time-budget')} | {r['steps']:,} | "
          f"{r['tokens_per_s']:,.0f} | {r['valid']['bits_per_token']:.3f} | {r['test']['bits_per_token']:.3f} | "
          f"{'at %.0f s' % r['train_seconds'] if r.get('stopped_early') else 'no'} |")
EOF
