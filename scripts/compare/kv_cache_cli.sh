#!/usr/bin/env bash
# scripts/compare/kv_cache_cli.sh — issue 8's KV-cache acceptance check through the CLI: generation
# time per token of `recurrent sample` on a transformer with context C = 512, with its KV cache and
# with --no-kv-cache (every token re-runs its whole window), after a 400-character prime, so the
# generated tokens sit at positions 400 … 509 (no window slide). Per token = (t(110) − t(10)) / 100,
# each time the best of 2 runs. Usage: scripts/compare/kv_cache_cli.sh [THREADS=1]
# Trains the model first (40 steps; the speed does not depend on how well it is trained):
#   recurrent train lm --arch transformer --layers 4 --d-model 128 --heads 4 --ff 576 --context 512
#     --batch 8 --warmup 10 --lr 1e-3 --max-steps 40 --data data/moby-dick/moby-dick.txt --out runs/kv512
set -euo pipefail
cd "$(dirname "$0")/../.."
threads=${1:-1}
bin=build/recurrent
export OMP_WAIT_POLICY=passive
[ -f runs/kv512/last.safetensors ] || "$bin" --threads "$threads" train lm --arch transformer --layers 4 \
  --d-model 128 --heads 4 --ff 576 --context 512 --batch 8 --warmup 10 --lr 1e-3 --max-steps 40 \
  --data data/moby-dick/moby-dick.txt --out runs/kv512 --quiet
prime=$(python3 -c "import sys; t=open('data/moby-dick/moby-dick.txt', encoding='utf-8').read(); s=t[len(t)//2:][:400]; sys.stdout.write(s.replace(chr(10), ' '))")
best() {  # args... -> best wall seconds of 2 runs
  local b=""
  for _ in 1 2; do
    local t0 t1
    t0=$(date +%s.%N)
    "$bin" --threads "$threads" sample --model runs/kv512 --prime "$prime" --seed 1 "$@" > /dev/null
    t1=$(date +%s.%N)
    b=$(python3 -c "a='$b'; d=$t1-$t0; print(d if a=='' else min(float(a), d))")
  done
  echo "$b"
}
echo "load: $(uptime | sed 's/.*load average/load average/')"
for mode in cache no-cache; do
  extra=()
  [ "$mode" = no-cache ] && extra=(--no-kv-cache)
  a=$(best --length 110 "${extra[@]}")
  b=$(best --length 10 "${extra[@]}")
  python3 -c "print('$mode: %.2f ms/token (t110 %.2f s, t10 %.2f s)' % (($a - $b) / 100 * 1000, $a, $b))"
done
echo "load: $(uptime | sed 's/.*load average/load average/')"
