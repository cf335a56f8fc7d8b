#!/usr/bin/env bash
# Issue 25, acceptance 1: 2 ranks × 1 thread vs 1 rank × 2 threads vs 1 rank × 1 thread on one machine,
# char LM (README main job: Moby Dick, 2×256 LSTM, batch 32 × 100, Adam) and word LM (Brown, Zaremba
# "small": 2×200, batch 20 × 20, SGD 1.0), the same number of global steps each; the configurations
# are interleaved (ROUNDS times) because the machine is shared. Prints one line per run:
#   model config round tokens/s train_loss(last quarter) allreduce(ms/step, MiB/step)
# Usage: bench/dist/scaling.sh [BUILD_DIR] [OUT_DIR]   (env: ROUNDS=2 CHAR_STEPS=120 WORD_STEPS=400 MODELS="char word" SINGLE_COPY=)
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-build}/recurrent
out=${2:-runs/dist-scaling}
rounds=${ROUNDS:-2}
mkdir -p "$out"
# Shared memory moves large messages by Open MPI's default single copy (cma: process_vm_readv); where the
# kernel refuses it (a container without CAP_SYS_PTRACE) set SINGLE_COPY=none, as tests/dist does.
mpirun2() {
  mpirun --oversubscribe --allow-run-as-root --bind-to none --mca oob_tcp_if_include lo --mca btl self,vader,tcp \
    --mca btl_tcp_if_include lo ${SINGLE_COPY:+--mca btl_vader_single_copy_mechanism "$SINGLE_COPY"} -np 2 "$@"
}
char=(train lm --data data/moby-dick/moby-dick.txt --level char --cell lstm --layers 2 --hidden 256 --embed 64
      --seq-len 100 --batch 32 --optimizer adam --lr 2e-3 --clip 5 --max-steps "${CHAR_STEPS:-120}"
      --log-interval $(( ${CHAR_STEPS:-120} / 4 )) --seed 1 --force)
word=(train lm --data data/brown/train.txt --valid data/brown/valid.txt --level word --lower --max-vocab 10000
      --embed 200 --hidden 200 --layers 2 --seq-len 20 --batch 20 --optimizer sgd --lr 1 --clip 5 --init-range 0.1
      --max-steps "${WORD_STEPS:-400}" --log-interval $(( ${WORD_STEPS:-400} / 4 )) --seed 1 --force)
# tokens/s over all rows (equal tokens per row: harmonic mean), the last row's train loss.
summary() {
  awk -F, 'NR > 1 && $7 != "" { n++; inv += 1 / $7; loss = $3 } END { printf "%.0f %s", n / inv, loss }' "$1/metrics.csv"
}
echo "# $(date -u +%FT%TZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
for r in $(seq 1 "$rounds"); do
  for model in ${MODELS:-char word}; do
    declare -n args=$model
    for cfg in 1x1 1x2 2x1; do
      dir="$out/$model-$cfg-$r"
      load=$(cut -d' ' -f1 /proc/loadavg)
      case $cfg in
        1x1) "$bin" --threads 1 "${args[@]}" --out "$dir" >"$dir.log" 2>&1 ;;
        1x2) "$bin" --threads 2 "${args[@]}" --out "$dir" >"$dir.log" 2>&1 ;;
        2x1) mpirun2 "$bin" --threads 1 "${args[@]}" --out "$dir" >"$dir.log" 2>&1 ;;
      esac
      ar=$(grep -o 'allreduce of [0-9.]* MiB per step in [0-9]* buckets\?, [0-9.]* ms per step\( ([0-9.]* ms of it[^)]*)\)\?' "$dir.log" || true)
      echo "$model $cfg round $r load $load: $(summary "$dir") ${ar:+($ar)}"
    done
  done
done
