#!/usr/bin/python3
"""Leave-one-dataset-out choice of defaults (docs/defaults.md, issue 29).

    bench/defaults/lodo.py classify|forecast OUT_DIR

OUT_DIR/<set>/<candidate>/seed<S>/results.json are runs of bench/defaults/{classify,forecast}.sh. Score of a
run on the TEST part: classify = macro-F1 / the bag-of-n-grams baseline's macro-F1 (higher is better; 1 = the
baseline), forecast = MASE / the better of naive and seasonal-naive MASE (lower is better; 1 = the baseline).
For each set, the candidate with the best mean score over the OTHER sets is chosen, and its result on the
left-out set reported: a default that was not chosen on the set it is judged on. Prints Markdown tables.
"""
import glob
import json
import os
import statistics
import sys


def score(task, r):
    t = r["test"]
    if task == "classify":
        base = r["baselines"]["test"]["bag_of_ngrams"]["macro_f1"]
        return t["macro_f1"], base, t["macro_f1"] / base
    base = min(t["naive_mase"], t["seasonal_naive_mase"])
    return t["mase"], base, t["mase"] / base


def main():
    task, out = sys.argv[1], sys.argv[2]
    higher = task == "classify"
    runs = {}  # (set, cand) -> [(value, base, ratio)]
    for f in glob.glob(os.path.join(out, "*", "*", "seed*", "results.json")):
        parts = f.split(os.sep)
        s, c = parts[-4], parts[-3]
        runs.setdefault((s, c), []).append(score(task, json.load(open(f))))
    sets = sorted({s for s, _ in runs})
    cands = sorted({c for _, c in runs})
    mean = {k: tuple(statistics.mean(x[i] for x in v) for i in range(3)) for k, v in runs.items()}
    metric = "test macro-F1 (bag-of-n-grams)" if higher else "test MASE (best baseline)"
    print(f"| candidate | " + " | ".join(sets) + " | mean ratio |")
    print("|---|" + "---|" * (len(sets) + 1))
    for c in cands:
        cells = [f"{mean[(s, c)][0]:.3f} ({mean[(s, c)][1]:.3f})" if (s, c) in mean else "—" for s in sets]
        ratios = [mean[(s, c)][2] for s in sets if (s, c) in mean]
        print(f"| {c} | " + " | ".join(cells) + f" | {statistics.mean(ratios):.3f} |")
    print(f"\n{metric}; ratio = model / baseline, mean over seeds.\n")
    print("| left out | chosen on the others | its result there | baseline | ratio |")
    print("|---|---|---|---|---|")
    pick = max if higher else min
    for s in sets:
        others = [o for o in sets if o != s]
        ok = [c for c in cands if all((o, c) in mean for o in others) and (s, c) in mean]
        if not ok:
            continue
        best = pick(ok, key=lambda c: statistics.mean(mean[(o, c)][2] for o in others))
        v, b, r = mean[(s, best)]
        print(f"| {s} | {best} | {v:.3f} | {b:.3f} | {r:.3f} |")
    full = [c for c in cands if all((s, c) in mean for s in sets)]
    if full:
        best = pick(full, key=lambda c: statistics.mean(mean[(s, c)][2] for s in sets))
        print(f"\nbest on all sets (the default): {best}")


if __name__ == "__main__":
    main()
