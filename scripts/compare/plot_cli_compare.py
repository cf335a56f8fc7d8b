#!/usr/bin/python3
"""Table and figure for the CLI comparison (scripts/compare/rnn_vs_transformer_cli.sh).

Inputs (nothing is measured here): RUN_DIR/{lstm,gru,transformer}/{results.json,metrics.csv},
RUN_DIR/generation.txt ("run seconds_420 seconds_20" lines), RUN_DIR/load.txt.
Outputs: a markdown table on stdout; docs/figures/rnn_vs_transformer_cli.png (training loss in
bits/char against wall-clock seconds, and the final held-out figures).

Usage: /usr/bin/python3 scripts/compare/plot_cli_compare.py [RUN_DIR=runs/compare_cli]
"""
import csv
import json
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ARCHS = [("lstm", "LSTM 2×256"), ("gru", "GRU 2×296"), ("transformer", "transformer 4×128, ff 576")]


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "runs/compare_cli"
    gen = {}
    gp = os.path.join(d, "generation.txt")
    if os.path.exists(gp):
        for line in open(gp):
            name, long_s, short_s = line.split()
            gen[name] = (float(long_s) - float(short_s)) / 400 * 1000  # ms per character
    print("| model | parameters | steps | train chars/s | valid bits/char | test bits/char | generation ms/char |")
    print("|---|---|---|---|---|---|---|")
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for a, label in ARCHS:
        rp = os.path.join(d, a, "results.json")
        if not os.path.exists(rp):
            continue
        r = json.load(open(rp))
        g = "%.2f" % gen[a] if a in gen else "-"
        if a + "-no-kv-cache" in gen:
            g += " (no KV cache: %.2f)" % gen[a + "-no-kv-cache"]
        print("| %s | %.2f M | %d | %.0f | %.3f | %.3f | %s |" % (
            label, r["parameters"] / 1e6, r["steps"], r["tokens_per_s"], r["valid"]["bits_per_token"],
            r["test"]["bits_per_token"], g))
        xs, ys = [], []
        with open(os.path.join(d, a, "metrics.csv")) as f:
            for row in csv.DictReader(f):
                if row["train_loss"]:
                    xs.append(float(row["elapsed_s"]))
                    ys.append(float(row["train_loss"]) / math.log(2))
        line, = ax.plot(xs, ys, label=label)
        ax.plot([xs[-1]], [r["valid"]["bits_per_token"]], "o", color=line.get_color())
    ax.set_xlabel("wall-clock seconds (shared 2-core machine, --threads 1)")
    ax.set_ylabel("bits/char (lines: training, dots: validation)")
    ax.set_title("Moby Dick characters, equal budget and size")
    ax.grid(alpha=0.3)
    ax.legend()
    out = os.path.join(REPO, "docs", "figures", "rnn_vs_transformer_cli.png")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print("\nfigure: " + os.path.relpath(out, REPO))
    lp = os.path.join(d, "load.txt")
    if os.path.exists(lp):
        print("".join("    " + l for l in open(lp)))


if __name__ == "__main__":
    main()
