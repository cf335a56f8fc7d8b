#!/usr/bin/env bash
# The gradient lab's experiments (docs/gradlab.md): each writes CSV into OUT/<name>/ and its table into
# OUT/<name>/table.txt; scripts/gradlab/plot.py turns them into PNGs. Long: minutes per run, so this is a
# script, not a test. Usage: scripts/gradlab/run_experiments.sh [OUT=runs/gradlab] [BIN=build/recurrent] [names...]
# names: profile explode adding200 adding200_lr1e-2 adding400 copy adding750 (default: all, in that order),
#        and the `recurrent experiment` report folders (OUT/../experiment/<name>/, each with report.md + PNGs):
#        agreement50 agreement50_noclip agreement50_gru copy100 adding400_lstm adding_lstm_chrono seqimage_rows seqimage_pixels
#        seqimage_pixels60_CELL (CELL = rnn_tanh, lstm, gru, ...: 60 minutes each)
#        (seqimage_*: scripts/data/fetch.sh fashion-mnist first).
# One thread and passive OpenMP waiting: the runs are small GEMMs, where extra threads only spin.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/gradlab}
bin=${2:-build/recurrent}
shift $(( $# > 2 ? 2 : $# )) || true
names=("$@")
[ ${#names[@]} -eq 0 ] && names=(profile explode adding200 adding200_lr1e-2 adding400 copy adding750)
export OMP_WAIT_POLICY=passive
lab() { "$bin" --threads 1 gradlab "$@"; }
exp_dir="$(dirname "$out")/experiment"
fm=data/fashion-mnist
img="--train-images $fm/train-images-idx3-ubyte.gz --train-labels $fm/train-labels-idx1-ubyte.gz
     --test-images $fm/t10k-images-idx3-ubyte.gz --test-labels $fm/t10k-labels-idx1-ubyte.gz"
exp() {  # exp NAME ARGS...: one report folder; its training.png copied to docs/gradlab/NAME.png
  local name=$1; shift
  mkdir -p "$exp_dir"
  "$bin" --threads 1 experiment "$@" --out "$exp_dir/$name" | tee "$exp_dir/$name.log"
  cp "$exp_dir/$name/training.png" "docs/gradlab/$name.png" 2>/dev/null || true
}
run() {  # run NAME ARGS...: tee the table, keep the CSV
  local name=$1; shift
  mkdir -p "$out/$name"
  echo "== $name: recurrent gradlab $*" | tee "$out/$name/table.txt"
  lab "$@" --out "$out/$name" | tee -a "$out/$name/table.txt"
}
for n in "${names[@]}"; do
  case $n in
    profile)    # the vanishing-gradient picture: ‖∂L/∂h_t‖ against distance, at initialisation
      run profile profile --task adding --T 200 --cells rnn_tanh,irnn,lstm,gru,gru_simple --hidden 64 --batch 50 --batches 4
      run profile_init profile --task adding --T 200 --cells rnn_tanh --inits pytorch,uniform,xavier,orthogonal,identity \
        --hidden 64 --batch 50 --batches 4 --no-jacobian
      run profile_rho profile --task adding --T 200 --cells rnn_tanh --inits orthogonal --hidden 64 --batch 50 --batches 4 \
        --no-jacobian --rho 0.9 && for r in 1.0 1.1 1.5 2.0; do
        lab profile --task adding --T 200 --cells rnn_tanh --inits orthogonal --hidden 64 --batch 50 --batches 4 \
          --no-jacobian --rho $r --out "$out/profile_rho/rho$r" | tail -1 | tee -a "$out/profile_rho/table.txt"; done ;;
    explode)    # spectral radius 1.5, plain SGD: without clipping the loss blows up; clipped by norm it trains
      run explode train --task adding --T 30 --cells rnn_tanh,rnn_relu --inits orthogonal --rho 1.5 --hidden 64 \
        --batch 50 --optimizer sgd --lr 0.05 --clip 0,0.1 --steps 1500 --eval-every 100 --eval-size 500 --probe-every 25 ;;
    adding200)
      run adding200 train --task adding --T 200 --cells rnn_tanh,lstm,gru --hidden 64 --batch 50 --lr 1e-3 --clip 1 \
        --steps 4000 --time-budget 660 --eval-every 200 --eval-size 500 --probe-every 100 ;;
    copy)
      run copy train --task copy --T 50 --cells rnn_tanh,lstm,gru --hidden 64 --batch 50 --lr 1e-3 --clip 1 \
        --steps 3000 --time-budget 240 --eval-every 200 --eval-size 500 --probe-every 100 ;;
    adding200_lr1e-2)  # lr 1e-3 leaves the LSTM on the plateau for the 660 s budget; 1e-2 (clipped) is faster
      run adding200_lr1e-2 train --task adding --T 200 --cells lstm --hidden 64 --batch 50 --lr 1e-2 --clip 1 \
        --steps 3000 --time-budget 1500 --stop-when-solved --eval-every 200 --eval-size 500 --probe-every 100 ;;
    adding400)
      run adding400 train --task adding --T 400 --cells gru --hidden 64 --batch 50 --lr 1e-2 --clip 1 \
        --steps 3000 --time-budget 900 --stop-when-solved --eval-every 200 --eval-size 500 --probe-every 100 ;;
    adding750)
      run adding750 train --task adding --T 750 --cells gru --hidden 64 --batch 50 --lr 1e-2 --clip 1 \
        --steps 3000 --time-budget 1200 --stop-when-solved --eval-every 200 --eval-size 500 --probe-every 100 ;;
    agreement50)  # D = 50; tanh RNN, IRNN, LSTM, GRU, simplified GRU; each run ends when solved (≥ 95%)
      exp agreement50 agreement --distance 50 --cells rnn_tanh,irnn,lstm,gru,gru_simple --clip 1 --hidden 64 \
        --batch 50 --lr 1e-3 --steps 10000 --time-budget 240 --stop-when-solved --eval-every 100 --eval-size 1000 \
        --probe-every 100 ;;
    agreement50_noclip)
      exp agreement50_noclip agreement --distance 50 --cells rnn_tanh,lstm,gru --clip 0 --hidden 64 --batch 50 \
        --lr 1e-3 --steps 2000 --time-budget 120 --eval-every 100 --eval-size 1000 --probe-every 100 ;;
    agreement50_gru)  # the GRU with its update gate biased towards "keep", and at lr 1e-2
      exp agreement50_gru-zbias2 agreement --distance 50 --cells gru --update-bias 2 --clip 1 --hidden 64 --batch 50 \
        --lr 1e-3 --steps 10000 --time-budget 150 --stop-when-solved --eval-every 100 --eval-size 1000 --probe-every 100
      exp agreement50_gru-lr1e-2 agreement --distance 50 --cells gru --clip 1 --hidden 64 --batch 50 \
        --lr 1e-2 --steps 10000 --time-budget 120 --stop-when-solved --eval-every 100 --eval-size 1000 --probe-every 100
      exp agreement50_gru-zbias1 agreement --distance 50 --cells gru --update-bias 1 --clip 1 --hidden 64 --batch 50 \
        --lr 1e-3 --steps 10000 --time-budget 180 --stop-when-solved --eval-every 100 --eval-size 1000 --probe-every 100
      exp agreement50_gru-keras agreement --distance 50 --cells gru --inits orthogonal --clip 1 --hidden 64 --batch 50 \
        --lr 1e-3 --steps 10000 --time-budget 180 --stop-when-solved --eval-every 100 --eval-size 1000 --probe-every 100 ;;
    copy100)
      exp copy100 copy --T 100 --cells rnn_tanh,lstm,gru --clip 1 --hidden 64 --batch 50 --lr 1e-3 --steps 20000 \
        --time-budget 240 --eval-every 200 --eval-size 500 --probe-every 200 ;;
    adding400_lstm)  # LSTM at T = 400, forget bias 1 and 5 (drawn into adding400.png)
      for fb in 1 5; do
        run adding400_forget-bias-$fb train --task adding --T 400 --cells lstm --forget-bias $fb --hidden 64 --batch 50 \
          --lr 1e-2 --clip 1 --steps 3000 --time-budget 1200 --stop-when-solved --eval-every 200 --eval-size 500 \
          --probe-every 100
      done ;;
    adding_lstm_chrono)  # LSTM with the chrono init (Tallec & Ollivier 2018) at T = 400 and 750, Adam lr 1e-3
      for T in 400 750; do
        run profile_lstm$T profile --task adding --T $T --cells lstm --hidden 64 --batch 50 --batches 4 --no-jacobian
        lab profile --task adding --T $T --cells lstm --chrono $T --hidden 64 --batch 50 --batches 4 --no-jacobian \
          | tail -1 | tee -a "$out/profile_lstm$T/table.txt"
        run adding${T}_chrono$T train --task adding --T $T --cells lstm --chrono $T --hidden 64 --batch 50 --lr 1e-3 \
          --clip 1 --steps 10000 --time-budget $(( T == 400 ? 840 : 1320 )) --stop-when-solved --eval-every 200 \
          --eval-size 500 --probe-every 100
      done ;;
    seqimage_rows)  # Fashion-MNIST row by row (T = 28): LSTM 480 s, tanh RNN and GRU 240 s each
      exp seqimage_rows seqimage --by rows $img --cells lstm --clip 1 --hidden 128 --batch 100 --lr 1e-3 \
        --steps 20000 --time-budget 480 --eval-every 250 --eval-size 2000 --probe-every 250
      exp seqimage_rows_others seqimage --by rows $img --cells rnn_tanh,gru --clip 1 --hidden 128 --batch 100 \
        --lr 1e-3 --steps 20000 --time-budget 240 --eval-every 250 --eval-size 2000 --probe-every 250 ;;
    seqimage_pixels)  # pixel by pixel (T = 784): 300 s per cell on the shared machine, 2000 test images
      exp seqimage_pixels seqimage --by pixels $img --test-size 2000 --cells rnn_tanh,lstm,gru --clip 1 --hidden 64 \
        --batch 50 --lr 1e-3 --steps 20000 --time-budget 300 --eval-every 100 --eval-size 500 --probe-every 100 ;;
    seqimage_pixels60_*)  # the issue's 60-minute budget, one cell per name (rnn_tanh | lstm | gru | ...), one at a
      cell=${n#seqimage_pixels60_}  # time on a quiet machine; the whole 10,000-image test set at the end
      exp "$n" seqimage --by pixels $img --cells "$cell" --clip 1 --hidden 64 --batch 50 --lr 1e-3 --steps 1000000 \
        --time-budget 3600 --eval-every 500 --eval-size 1000 --probe-every 500 ;;
    *) echo "unknown experiment $n" >&2; exit 2 ;;
  esac
done
