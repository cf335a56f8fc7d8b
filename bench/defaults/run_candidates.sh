# Sourced by bench/defaults/{classify,forecast}.sh: run_candidates TASK runs `recurrent train TASK` for every
# set × candidate × seed (the caller defines data_of SET, flags_of CANDIDATE and OUT, BIN, BUDGET, D, SETS,
# CANDIDATES, SEEDS, JOBS, REPO), JOBS at a time on 1 thread each, skipping runs that already have
# results.json, then prints bench/defaults/lodo.py's tables.
run_candidates() {
  TASK=$1
  mkdir -p "$OUT"
  local jobs_list=() set cand seed
  for set in $SETS; do
    for cand in $CANDIDATES; do
      for seed in $SEEDS; do jobs_list+=("$set $cand $seed"); done
    done
  done
  run_one() {
    local set=$1 cand=$2 seed=$3 dir="$OUT/$1/$2/seed$3"
    [[ -f "$dir/results.json" ]] && return 0
    mkdir -p "$(dirname "$dir")"
    # shellcheck disable=SC2046
    "$BIN" train "$TASK" $(data_of "$set") $(flags_of "$cand") --time-budget "$BUDGET" --seed "$seed" \
      --threads 1 --quiet --force --out "$dir" >"$dir.log" 2>&1 || { echo "FAILED: $set $cand $seed (see $dir.log)" >&2; return 0; }
    echo "$set $cand seed$seed: $(grep '^test:' "$dir.log" | head -1)"
  }
  export -f run_one flags_of data_of
  export OUT BIN BUDGET D TASK
  printf '%s\n' "${jobs_list[@]}" | xargs -P "$JOBS" -L 1 bash -c 'run_one $0 $1 $2'
  /usr/bin/python3 "$REPO/bench/defaults/lodo.py" "$TASK" "$OUT"
}
