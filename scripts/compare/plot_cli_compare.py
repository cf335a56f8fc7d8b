#!/usr/bin/python3
"""Table and figure for the CLI comparison (scripts/compare/rnn_vs_transformer_cli.sh).

Inputs (nothing is measured here): RUN_DIR/{lstm,gru,transformer}/{results.json,metrics.csv},
RUN_DIR/generation.txt ("run seconds_420 seconds_20" lines), RUN_DIR/load.txt, RUN_DIR/corpus.txt
(moby or brown; moby when absent).
Outputs: a markdown table on stdout; docs/figures/rnn_vs_transformer_cli.png (moby: training loss in
bits/char against wall-clock seconds, and the final held-out figures) or
docs/figures/rnn_vs_transformer_cli_brown.png (brown: perplexity).

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
CORPORA = {
    "moby": dict(archs=[("lstm", "LSTM 2×256"), ("gru", "GRU 2×296"), ("transformer", "transformer 4×128, ff 576")],
                 unit="char", title="Moby Dick characters, equal budget and size", figure="rnn_vs_transformer_cli.png"),
    "brown": dict(archs=[("lstm", "LSTM 2×256, tied"), ("gru", "GRU 2×272, tied"),
                         ("transformer", "transformer 2×256, ff 512")],
                  unit="word", title="Brown words (10k vocabulary), equal budget and size",
                  figure="rnn_vs_transformer_cli_brown.png"),
}


def held_out(r, part, unit):  # bits/char for characters, perplexity for words
    return r[part]["bits_per_token"] if unit == "char" else math.exp(r[part]["loss_nats"])


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "runs/compare_cli"
    cp = os.path.join(d, "corpus.txt")
    c = CORPORA[open(cp).read().strip() if os.path.exists(cp) else "moby"]
    unit = c["unit"]
    metric = "bits/char" if unit == "char" else "perplexity"
    gen = {}
    gp = os.path.join(d, "generation.txt")
    if os.path.exists(gp):
        for line in open(gp):
            name, long_s, short_s = line.split()
            gen[name] = (float(long_s) - float(short_s)) / 400 * 1000  # ms per token
    print(f"| model | parameters | steps | train {unit}s/s | valid {metric} | test {metric} | generation ms/{unit} |")
    print("|---|---|---|---|---|---|---|")
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for a, label in c["archs"]:
        rp = os.path.join(d, a, "results.json")
        if not os.path.exists(rp):
            continue
        r = json.load(open(rp))
        g = "%.2f" % gen[a] if a in gen else "-"
        if a + "-no-kv-cache" in gen:
            g += " (no KV cache: %.2f)" % gen[a + "-no-kv-cache"]
        print("| %s | %.2f M | %d | %.0f | %.3f | %.3f | %s |" % (
            label, r["parameters"] / 1e6, r["steps"], r["tokens_per_s"], held_out(r, "valid", unit),
            held_out(r, "test", unit), g))
        xs, ys = [], []
        with open(os.path.join(d, a, "metrics.csv")) as f:
            for row in csv.DictReader(f):
                if row["train_loss"]:
                    xs.append(float(row["elapsed_s"]))
                    loss = float(row["train_loss"])
                    ys.append(loss / math.log(2) if unit == "char" else math.exp(loss))
        line, = ax.plot(xs, ys, label=label)
        ax.plot([xs[-1]], [held_out(r, "valid", unit)], "o", color=line.get_color())
    ax.set_xlabel("wall-clock seconds")
    ax.set_ylabel(f"{metric} (lines: training, dots: validation)")
    if unit == "word":
        ax.set_yscale("log")
    ax.set_title(c["title"])
    ax.grid(alpha=0.3)
    ax.legend()
    out = os.path.join(REPO, "docs", "figures", c["figure"])
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print("\nfigure: " + os.path.relpath(out, REPO))
    lp = os.path.join(d, "load.txt")
    if os.path.exists(lp):
        print("".join("    " + l for l in open(lp)))


if __name__ == "__main__":
    main()
