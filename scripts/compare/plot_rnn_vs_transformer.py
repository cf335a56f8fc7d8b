#!/usr/bin/python3
"""Figures and a markdown table for issue 8's RNN-vs-transformer comparison.

Inputs (written by the commands below; nothing here is measured by this script):
    runs/compare/{lstm,gru,transformer}.json   scripts/compare/rnn_vs_transformer.sh
    runs/compare/bench.json                    build/bench/bench_transformer --benchmark_out=runs/compare/bench.json
                                                 --benchmark_out_format=json --benchmark_repetitions=3
Outputs:
    docs/figures/rnn_vs_transformer_valid.png   held-out bits/char against training seconds
    docs/figures/rnn_vs_transformer_speed.png   training chars/s against T; generation ms/char against t
    a markdown table on stdout

Usage: /usr/bin/python3 scripts/compare/plot_rnn_vs_transformer.py [RUN_DIR=runs/compare]
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ARCHS = ["lstm", "gru", "transformer"]


def load_runs(d):
    runs = {}
    for a in ARCHS:
        p = os.path.join(d, a + ".json")
        if os.path.exists(p):
            with open(p) as f:
                runs[a] = json.loads(f.readline())
    return runs


def median_rows(bench_path):
    """name -> the median aggregate row (or the only row without repetitions)."""
    with open(bench_path) as f:
        rows = json.load(f)["benchmarks"]
    out = {}
    for r in rows:
        if r.get("run_type") == "aggregate" and r.get("aggregate_name") != "median":
            continue
        out[r["run_name"]] = r
    return out


def to_ms(r):
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[r["time_unit"]]
    return r["real_time"] * scale


def plot_valid(runs, path):
    fig, ax = plt.subplots(figsize=(6, 4))
    for a, r in runs.items():
        c = r["valid_curve"]
        ax.plot([p[0] for p in c], [p[1] for p in c], marker=".",
                label=f"{a} ({r['params'] / 1e6:.2f} M, test {r['test_bits_per_char']:.3f})")
    ax.set_xlabel("training seconds (2 cores)")
    ax.set_ylabel("validation bits/char")
    ax.set_title("Moby Dick characters, equal budget and parameter count")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def plot_speed(rows, path):
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    for arch in ARCHS:
        pts = sorted((int(n.split("/")[2]), r["tokens/s"]) for n, r in rows.items()
                     if n.startswith(f"BM_TrainStep/{arch}/"))
        if pts:
            a1.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=arch)
    a1.set_xscale("log", base=2)
    a1.set_yscale("log")
    a1.set_xlabel("sequence length T (B·T = 4096)")
    a1.set_ylabel("training chars/s (forward + backward)")
    a1.grid(alpha=0.3, which="both")
    a1.legend()
    for kind, label in [("Cached", "transformer, KV cache"), ("Recompute", "transformer, recompute")]:
        pts = sorted((int(n.split("/")[1]), to_ms(r)) for n, r in rows.items()
                     if n.startswith(f"BM_Generate{kind}/"))
        if pts:
            a2.plot([p[0] + 1 for p in pts], [p[1] for p in pts], marker="o", label=label)
    for arch in ("lstm", "gru"):
        r = rows.get(f"BM_GenerateRnn/{arch}/real_time")
        if r:
            a2.axhline(to_ms(r), linestyle="--", color="gray" if arch == "lstm" else "black", label=f"{arch} step")
    a2.set_xscale("log", base=2)
    a2.set_yscale("log")
    a2.set_xlabel("position of the generated token")
    a2.set_ylabel("ms per generated token (batch 1)")
    a2.grid(alpha=0.3, which="both")
    a2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main(argv):
    d = argv[0] if argv else os.path.join(REPO, "runs", "compare")
    figs = os.path.join(REPO, "docs", "figures")
    os.makedirs(figs, exist_ok=True)
    runs = load_runs(d)
    if runs:
        plot_valid(runs, os.path.join(figs, "rnn_vs_transformer_valid.png"))
        print("| model | parameters | steps | train chars/s | test bits/char | generation ms/char |")
        print("|---|---|---|---|---|---|")
        for a, r in runs.items():
            gen = f"{r['gen_ms_per_token']:.2f}"
            if r["gen_ms_per_token_recompute"] > 0:
                gen += f" (recompute: {r['gen_ms_per_token_recompute']:.2f})"
            print(f"| {a} | {r['params'] / 1e6:.2f} M | {r['steps']} | {r['train_chars_per_s']:.0f} | "
                  f"{r['test_bits_per_char']:.3f} | {gen} |")
    bench = os.path.join(d, "bench.json")
    if os.path.exists(bench):
        rows = median_rows(bench)
        plot_speed(rows, os.path.join(figs, "rnn_vs_transformer_speed.png"))
        print()
        print("| benchmark | ms (median real time) | chars/s |")
        print("|---|---|---|")
        for n, r in rows.items():
            print(f"| {n} | {to_ms(r):.2f} | {r.get('tokens/s', 0):.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
