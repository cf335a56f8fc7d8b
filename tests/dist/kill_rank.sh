#!/usr/bin/env bash
# Issue 25, acceptance 3: kill one of 3 ranks mid-training; the job must end within 30 s with a message
# naming the failed rank, the last checkpoint must be intact, and the run must resume on 2 ranks and finish.
# Usage: kill_rank.sh RECURRENT MPIEXEC LM_FIXTURES_DIR
set -uo pipefail
bin=$1 mpiexec=$2 data=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$0")/common.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }
args=(train lm --data "$data/moby_train.txt" --valid "$data/moby_heldout.txt" --hidden 24 --layers 1 --batch 6
      --seq-len 16 --threads 1 --quiet --out "$work/run")

# 1. 5 steps on 3 ranks: the last checkpoint (step 5).
mpirun 3 "${args[@]}" --max-steps 5 >"$work/first.log" 2>&1 || { cat "$work/first.log"; fail "the first 5 steps failed"; }

# 2. Resumed on 3 ranks for very many steps; rank 1 is killed once training runs.
mpirun 3 train lm --resume "$work/run" --max-steps 1000000 >"$work/killed.log" 2>&1 &
job=$!
victim=$(rank_pid "--resume $work/run" 1) || { kill "$job"; fail "no rank-1 process found under mpirun"; }
sleep 3  # well into training (each step is milliseconds)
t0=$(date +%s.%N)
kill -9 "$victim"
for _ in $(seq 1 300); do kill -0 "$job" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$job" 2>/dev/null; then kill -9 "$job"; fail "the job still runs 30 s after rank 1 was killed"; fi
wait "$job"
status=$?
t1=$(date +%s.%N)
echo "job ended $(awk "BEGIN{printf \"%.1f\", $t1 - $t0}") s after rank 1 was killed, exit status $status"
[[ $status -ne 0 ]] || fail "the job exited with status 0 after a rank was killed"
grep -qE 'rank 1 .*(exited on signal|killed)|process rank 1' "$work/killed.log" ||
  { cat "$work/killed.log"; fail "no message names rank 1"; }
grep -E 'rank 1' "$work/killed.log" | head -1

# 3. The last checkpoint is intact and resumes on 2 ranks. The killed run may have saved after step 5 (each
#    save is atomic): at an epoch end, at --save-every, or when mpirun ended the surviving ranks with
#    SIGTERM (a training run saves on SIGTERM as on Ctrl-C, after a completed step). Its step is in the
#    checkpoint's training state.
saved=$("$bin" inspect "$work/run/last.safetensors" 2>&1 | grep -oE '"step":[0-9]+' | head -1 | cut -d: -f2)
[[ -n $saved ]] || { "$bin" inspect "$work/run/last.safetensors"; fail "last.safetensors is not a readable checkpoint"; }
((saved >= 5)) || fail "last.safetensors went back to step $saved"
target=$((saved + 5))
mpirun 2 train lm --resume "$work/run" --max-steps "$target" >"$work/resumed.log" 2>&1 ||
  { cat "$work/killed.log" "$work/resumed.log"; fail "the resume of the step-$saved checkpoint on 2 ranks failed"; }
grep -q "at step $target" "$work/resumed.log" ||
  fail "the resumed run did not reach step $target"
echo "PASS: killed rank named, checkpoint (step $saved) intact, resumed on 2 ranks to step $target"
