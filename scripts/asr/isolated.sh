#!/usr/bin/env bash
# Isolated spoken digits (issue 22, acceptance 2): the classifier of `recurrent train asr --isolated` on
# FSDD, speaker-independent (each of the five speakers held out in turn, trained on the other four)
# and on the official split (takes 0-4 of every speaker test). Prints one line per run and the mean.
#   [NORMALIZE=global|utterance|speaker] [SPEAKERS="jackson lucas"] [OFFICIAL=0]
#     scripts/asr/isolated.sh [BUILD_DIR] [OUT_DIR] [extra train options...]
# SPEAKERS: the held-out folds to run (default all five; the mean is then over those only);
# OFFICIAL=0 skips the official split.
set -euo pipefail
build=${1:-build}; out=${2:-runs/asr-isolated}; shift $(( $# < 2 ? $# : 2 ))
data=${FSDD:-data/fsdd}
common=(--data "$data" --isolated --cell gru --hidden 64 --layers 2 --bidirectional --normalize "${NORMALIZE:-global}"
        --spec-augment --dropout 0.2 --epochs 12 --patience 0 --quiet --force "$@")
acc() { /usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['test']['accuracy'])" "$1/results.json"; }
sum=0 n=0
for spk in ${SPEAKERS:-george jackson lucas nicolas yweweler}; do
  "$build/recurrent" train asr "${common[@]}" --speakers-test "$spk" --out "$out/held-out-$spk" > /dev/null
  a=$(acc "$out/held-out-$spk"); sum=$(/usr/bin/python3 -c "print($sum + $a)"); n=$((n + 1))
  echo "held out $spk: test accuracy $a"
done
echo "speaker-independent mean accuracy ($n held out): $(/usr/bin/python3 -c "print(round($sum / $n, 4))")"
[[ ${OFFICIAL:-1} == 0 ]] && exit 0
"$build/recurrent" train asr "${common[@]}" --out "$out/official" > /dev/null
echo "official split: test accuracy $(acc "$out/official")"
