#!/usr/bin/env bash
# Issue 25, faults: a rank that hangs without dying (here: stopped with SIGSTOP) must not hang the job.
# Every collective runs under a watchdog (RECURRENT_MPI_TIMEOUT seconds; 3 here): the rank that waits
# past it names the collective and exits, and mpirun ends the job. Checks the job ends within 30 s with
# that message and a non-zero status, and that the last checkpoint is still readable.
# Usage: hang_rank.sh RECURRENT MPIEXEC LM_FIXTURES_DIR
set -uo pipefail
bin=$1 mpiexec=$2 data=$3
work=$(mktemp -d)
job=""
# On every exit: the job's whole process group (mpirun and its ranks) killed, the stopped rank included.
trap '[[ -n $job ]] && kill -9 -- -"$job" 2>/dev/null; pkill -9 -f -- "--out $work/run" 2>/dev/null; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
source "$(dirname "$0")/common.sh"
RECURRENT_MPI_TIMEOUT=3 setsid "$mpiexec" "${mpi_flags[@]}" -x RECURRENT_MPI_TIMEOUT -np 2 "$bin" train lm \
  --data "$data/moby_train.txt" --valid "$data/moby_heldout.txt" \
  --hidden 24 --layers 1 --batch 6 --seq-len 16 --threads 1 --quiet --log-interval 10 --max-steps 1000000 \
  --out "$work/run" >"$work/hung.log" 2>&1 &
job=$!
victim=$(rank_pid "--out $work/run" 1) || fail "no rank-1 process found under mpirun"
rows() { if [[ -f $work/run/metrics.csv ]]; then wc -l <"$work/run/metrics.csv"; else echo 0; fi; }
for _ in $(seq 1 300); do  # training runs: metrics.csv has a row after its header
  (($(rows) >= 2)) && break
  sleep 0.1
done
(($(rows) >= 2)) || fail "no training step logged within 30 s"
t0=$(date +%s.%N)
kill -STOP "$victim"
for _ in $(seq 1 300); do kill -0 "$job" 2>/dev/null || break; sleep 0.1; done
kill -0 "$job" 2>/dev/null && fail "the job still runs 30 s after rank 1 was stopped"
wait "$job"
status=$?
job=""
t1=$(date +%s.%N)
echo "job ended $(awk "BEGIN{printf \"%.1f\", $t1 - $t0}") s after rank 1 was stopped, exit status $status"
[[ $status -ne 0 ]] || fail "the job exited with status 0 after a rank hung"
# Rank 0 (rank 1 is stopped) — or rank 1, had it already waited 3 s for rank 0 before the stop (a
# checkpoint write on a very slow disk).
grep -E 'rank [01] of 2: .* did not complete within 3 s' "$work/hung.log" ||
  { cat "$work/hung.log"; fail "no rank reported the collective it waited for"; }
if [[ -e $work/run/last.safetensors ]]; then
  "$bin" inspect "$work/run/last.safetensors" >/dev/null 2>&1 || fail "last.safetensors is not readable"
fi
echo "PASS: a stopped rank ends the job within the time-out, named collective, checkpoint readable"
