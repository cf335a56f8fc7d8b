#!/usr/bin/env python3
"""The cost of the regularised and normalised LSTMs against the plain LSTM, measured in the same run.

Issue 24, acceptance 2: the training step at H = 256, B = 64, T = 100 of layer-norm LSTM, LSTM + recurrent
dropout and LSTM + zoneout must cost <= 1.1x the plain LSTM's. Runs `recurrent bench --json` for each
configuration in turn, `--rounds` times (the order rotated every round, so a load change hits all alike),
and prints a markdown table: median time per training step over the rounds, tokens/s, and the median of
the per-round ratios to the plain LSTM of the same round. The machine may be shared: compare ratios.

    scripts/bench/regularisers.py --bin build/recurrent --rounds 5 --out bench/results/regularisers.md [--cpu 4]
"""
import argparse
import datetime
import json
import os
import resource
import statistics
import subprocess
import sys

CONFIGS = [  # (label, extra `recurrent bench` arguments); the first is the anchor
    ("lstm", ["--cell", "lstm"]),
    ("lstm + recurrent dropout 0.25", ["--cell", "lstm", "--recurrent-dropout", "0.25"]),
    ("lstm + zoneout 0.1", ["--cell", "lstm", "--zoneout", "0.1"]),
    ("lstm_ln (layer norm)", ["--cell", "lstm_ln"]),
]


def run(binary, extra, args):
    cmd = [binary, "bench", "--hidden", str(args.hidden), "--batch", str(args.batch), "--seq-len", str(args.seq_len),
           "--mode", args.mode, "--threads", str(args.threads), "--reps", str(args.reps), "--json"] + extra
    j = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    if args.cpu:  # CPU seconds per call: two runs of 1 and 1 + cpu calls (no warm-up, one call per rep), differenced
        base = [binary, "bench", "--hidden", str(args.hidden), "--batch", str(args.batch), "--seq-len", str(args.seq_len),
                "--mode", args.mode, "--threads", str(args.threads), "--json", "--warmup", "0", "--min-time", "0",
                "--peak-gflops", "100"] + extra
        t = []
        for reps in (1, 1 + args.cpu):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run(base + ["--reps", str(reps)], check=True, capture_output=True)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            t.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        j["cpu_s"] = (t[1] - t[0]) / args.cpu
    return j, " ".join(cmd[1:])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="build/recurrent")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seq-len", type=int, default=100)
    ap.add_argument("--mode", default="train", choices=["train", "infer"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cells", default="", help="extra cells to time, e.g. 'gru,gru_ln'")
    ap.add_argument("--out", default="", help="also write the table here")
    ap.add_argument("--cpu", type=int, default=0, metavar="N",
                    help="also time N calls by the CPU seconds they take (user + system, all threads), from the "
                         "difference of a 1-call and a (1+N)-call run: less sensitive to a busy machine than wall time")
    args = ap.parse_args()
    configs = list(CONFIGS) + [(c, ["--cell", c]) for c in args.cells.split(",") if c]
    times = {label: [] for label, _ in configs}
    ratios = {label: [] for label, _ in configs}
    tokens = {label: [] for label, _ in configs}
    cpu = {label: [] for label, _ in configs}
    cpu_ratios = {label: [] for label, _ in configs}
    commands = {}
    for r in range(args.rounds):
        order = configs[r % len(configs):] + configs[:r % len(configs)]
        got = {}
        for label, extra in order:
            j, cmd = run(args.bin, extra, args)
            got[label] = j["median_s"]
            tokens[label].append(j["tokens_s"])
            if args.cpu:
                cpu[label].append(j["cpu_s"])
            commands[label] = cmd
        for label, _ in configs:
            times[label].append(got[label])
            ratios[label].append(got[label] / got[configs[0][0]])
            if args.cpu:
                cpu_ratios[label].append(cpu[label][-1] / cpu[configs[0][0]][-1])
    load = os.getloadavg()
    lines = [f"Training step cost vs the plain LSTM ({args.mode}, H = {args.hidden}, B = {args.batch}, T = {args.seq_len}, "
             f"{args.threads} threads, {args.rounds} rounds x {args.reps} reps), {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC, "
             f"load {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}", "",
             "| configuration | median s per call | tokens/s | ratio to lstm (median of rounds) | ratios per round |",
             "|---|---|---|---|---|"]
    for label, _ in configs:
        lines.append(f"| {label} | {statistics.median(times[label]):.4f} | {statistics.median(tokens[label]):.0f} | "
                     f"{statistics.median(ratios[label]):.3f} | {' '.join(f'{x:.3f}' for x in ratios[label])} |")
    if args.cpu:
        lines += ["", f"CPU seconds per call (user + system, {args.cpu} calls per round, differenced):", "",
                  "| configuration | median CPU s per call | ratio to lstm (median of rounds) | ratios per round |",
                  "|---|---|---|---|"]
        for label, _ in configs:
            lines.append(f"| {label} | {statistics.median(cpu[label]):.4f} | {statistics.median(cpu_ratios[label]):.3f} | "
                         f"{' '.join(f'{x:.3f}' for x in cpu_ratios[label])} |")
    lines += ["", "Commands (`recurrent` + ...):"] + [f"- `{commands[l]}`" for l, _ in configs]
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
