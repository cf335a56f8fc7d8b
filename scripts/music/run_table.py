#!/usr/bin/python3
"""The Chung et al. 2014 (arXiv:1412.3555) comparison on JSB chorales, measured with `recurrent train music`.

What it does (each step skips work already done unless --force):
  1. trains tanh RNN, LSTM and GRU at about the same parameter count (~20k with the 88-key input and
     output layers: tanh 78, LSTM 34, GRU 41 units), one run per seed, sequentially, into RUNS/CELL-sSEED
     (Adam, lr 3e-3, clip 1, batches of 8 chorales, early stopping after 20 epochs without a better
     validation NLL, best weights kept; --threads 1 so runs do not compete for the cores);
  2. prints the table: test NLL per step (mean ± sample standard deviation over seeds, and min–max),
     frame accuracy, parameters, epochs and seconds, beside the paper's figures; writes RUNS/summary_SIZE.json;
  3. draws the learning curves (validation NLL per step against updates and against wall seconds, every
     seed of every cell) into FIGURES/music_curves.png;
  4. samples from the best GRU (lowest validation NLL): a piano roll of a chorale primed with the first 8
     steps of test chorale 3, drawn next to the real chorale (FIGURES/music_pianoroll.png), and three
     sampled chorales as MIDI files in SAMPLES/ (rendered to WAV beside them when fluidsynth or timidity
     and a General MIDI soundfont are installed; otherwise skipped with a message).

Usage (from the repository root, after scripts/build.sh and scripts/data/fetch.sh jsb-chorales):
    /usr/bin/python3 scripts/music/run_table.py [--bin build/recurrent] [--seeds 1,2,3,4,5]
        [--data data/jsb-chorales/jsb-chorales-quarter.json] [--runs runs/music]
        [--figures docs/figures] [--samples docs/music] [--force] [--plots-only]
    /usr/bin/python3 scripts/music/run_table.py --size large --seeds 1,2,3   # ~169k parameters: tanh 331,
        LSTM 157, GRU 185 units (the paper's speech size), runs RUNS/CELL-large-sSEED, music_curves_large.png

Needs Debian's /usr/bin/python3 with python3-matplotlib and numpy; standard library otherwise.
"""
import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

# Units per cell for ~20k parameters (the paper's music setting) and ~169k (its speech setting, here as a
# larger music model): 88·H + H² + 2H + 88·H + 88 for tanh, ×4 / ×3 gate blocks for LSTM / GRU.
SIZES = {"small": [("rnn_tanh", 78), ("lstm", 34), ("gru", 41)],
         "large": [("rnn_tanh", 331), ("lstm", 157), ("gru", 185)]}
CELLS = SIZES["small"]
LABEL = {"rnn_tanh": "tanh RNN", "lstm": "LSTM", "gru": "GRU"}
COLOR = {"rnn_tanh": "tab:blue", "lstm": "tab:orange", "gru": "tab:green"}
# Chung et al. 2014, Table 2 (JSB Chorales, test set, average negative log-probability per time step),
# with their unit counts and parameter counts of Table 1 (music: tanh 100 units ~20.1k, GRU 46 ~20.2k,
# LSTM 36 ~19.8k).
PAPER = {"rnn_tanh": 9.10, "lstm": 8.67, "gru": 8.54}
TRAIN_ARGS = ["--epochs", "300", "--patience", "20", "--batch", "8", "--optimizer", "adam", "--lr", "3e-3",
              "--clip", "1", "--threads", "1", "--quiet"]


def run_dir(args, cell, seed):
    return os.path.join(args.runs, f"{cell}-s{seed}" if args.size == "small" else f"{cell}-{args.size}-s{seed}")


def train_all(args, seeds):
    for cell, hidden in CELLS:
        for seed in seeds:
            out = run_dir(args, cell, seed)
            if os.path.exists(os.path.join(out, "results.json")) and not args.force:
                print(f"{out}: done (--force to redo)")
                continue
            cmd = [args.bin, "train", "music", "--data", args.data, "--cell", cell, "--hidden", str(hidden),
                   "--seed", str(seed), "--out", out, "--force"] + TRAIN_ARGS
            print("$ " + " ".join(cmd), flush=True)
            subprocess.run(cmd, check=True)


def read_results(args, seeds):
    res = {}
    for cell, _ in CELLS:
        res[cell] = []
        for seed in seeds:
            with open(os.path.join(run_dir(args, cell, seed), "results.json")) as f:
                r = json.load(f)
            r["seed"] = seed
            res[cell].append(r)
    return res


def spread(xs):
    return statistics.mean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0), min(xs), max(xs)


def print_table(res):
    lines = ["| cell | units | parameters | test NLL/step, mean ± sd | min – max | valid NLL/step | "
             "frame accuracy | epochs (best) | seconds | Chung et al. 2014 |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    summary = {}
    for cell, hidden in CELLS:
        rs = res[cell]
        m, sd, lo, hi = spread([r["test"]["nll_per_step"] for r in rs])
        vm, vsd, _, _ = spread([r["valid"]["nll_per_step"] for r in rs])
        am, asd, _, _ = spread([r["test"]["frame_accuracy"] for r in rs])
        ep = statistics.mean(r["best_epoch"] for r in rs)
        sec = statistics.mean(r["train_seconds"] for r in rs)
        lines.append(f"| {LABEL[cell]} | {hidden} | {rs[0]['parameters']:,} | **{m:.3f} ± {sd:.3f}** | "
                     f"{lo:.3f} – {hi:.3f} | {vm:.3f} ± {vsd:.3f} | {am:.3f} ± {asd:.3f} | {ep:.0f} | {sec:.0f} | "
                     f"{PAPER[cell]:.2f} |")
        summary[cell] = {"hidden": hidden, "parameters": rs[0]["parameters"], "seeds": [r["seed"] for r in rs],
                         "test_nll": [r["test"]["nll_per_step"] for r in rs],
                         "valid_nll": [r["valid"]["nll_per_step"] for r in rs],
                         "test_frame_accuracy": [r["test"]["frame_accuracy"] for r in rs],
                         "best_epoch": [r["best_epoch"] for r in rs], "train_seconds": [r["train_seconds"] for r in rs],
                         "test_nll_mean": m, "test_nll_sd": sd, "paper_test_nll": PAPER[cell]}
    print("\n".join(lines))
    return summary


def read_metrics(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return ([int(r["step"]) for r in rows], [float(r["elapsed_s"]) for r in rows],
            [float(r["valid_nll"]) for r in rows])


def plot_curves(args, seeds, path):
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for cell, hidden in CELLS:
        for i, seed in enumerate(seeds):
            steps, secs, nll = read_metrics(os.path.join(run_dir(args, cell, seed), "metrics.csv"))
            kw = dict(color=COLOR[cell], lw=1.0, alpha=0.75, label=f"{LABEL[cell]} ({hidden} units)" if i == 0 else None)
            axes[0].plot(steps, nll, **kw)
            axes[1].plot(secs, nll, **kw)
    for ax, xl in zip(axes, ["updates (batches of 8 chorales)", "wall seconds (1 thread)"]):
        ax.set_xlabel(xl)
        ax.grid(alpha=0.3)
        ax.axhline(8.54, color="gray", ls=":", lw=1)
    axes[0].set_ylabel("validation NLL per time step (nats)")
    axes[0].set_ylim(8.0, 11.0)
    axes[0].legend(loc="upper right")
    axes[1].text(0.98, 0.02, "dotted: GRU test NLL of Chung et al. (8.54)", transform=axes[1].transAxes,
                 ha="right", va="bottom", fontsize=8, color="gray")
    params = "~20k" if args.size == "small" else "~169k"
    fig.suptitle(f"JSB chorales (quarter notes), {params} parameters, {len(seeds)} seeds per cell: validation NLL "
                 "during training")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def best_run(args, res, cell="gru"):
    r = min(res[cell], key=lambda r: r["valid"]["nll_per_step"])
    return run_dir(args, cell, r["seed"])


def sample_steps(args, model, extra):
    out = subprocess.run([args.bin, "sample", "--model", model, "--threads", "1"] + extra, check=True,
                         capture_output=True, text=True).stdout
    return [[int(p) for p in line.split()] for line in out.splitlines()]


def roll(steps, lo=36, hi=84):
    m = np.zeros((hi - lo + 1, len(steps)))
    for t, ps in enumerate(steps):
        for p in ps:
            if lo <= p <= hi:
                m[p - lo, t] = 1
    return m


def plot_pianoroll(args, model, path):
    with open(args.data) as f:
        real = json.load(f)["test"][3]
    gen = sample_steps(args, model, ["--prime-from", "test:3:8", "--steps", str(len(real) - 8), "--seed", "1",
                                     "--temperature", "1"])
    used = [p for steps in (real, gen) for ps in steps for p in ps]
    lo, hi = min(used) - 2, max(used) + 2
    fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
    for ax, steps, title in [(axes[0], real, "real: test chorale 3"),
                             (axes[1], gen, "sampled: first 8 steps of test chorale 3, then the GRU")]:
        ax.imshow(roll(steps, lo, hi), aspect="auto", origin="lower", cmap="Greys", interpolation="nearest",
                  extent=(-0.5, len(steps) - 0.5, lo - 0.5, hi + 0.5))
        ax.axvline(7.5, color="tab:red", lw=1, ls="--")
        ax.set_title(title)
        ax.set_xlabel("time step (quarter notes)")
    axes[0].set_ylabel("MIDI pitch")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def synthesizer():
    """(command builder, name) for fluidsynth or timidity with a GM soundfont, or None."""
    sf = next((p for p in ["/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf2/default-GM.sf2",
                           "/usr/share/sounds/sf3/default-GM.sf3"] if os.path.exists(p)), None)
    if shutil.which("fluidsynth") and sf:
        return lambda mid, wav: ["fluidsynth", "-ni", "-F", wav, "-r", "44100", sf, mid], "fluidsynth"
    if shutil.which("timidity"):
        return lambda mid, wav: ["timidity", mid, "-Ow", "-o", wav], "timidity"
    return None


def write_samples(args, model, outdir):
    os.makedirs(outdir, exist_ok=True)
    specs = [("gru_sample1_unprimed.mid", ["--steps", "48", "--seed", "1"]),
             ("gru_sample2_primed_test3.mid", ["--prime-from", "test:3:8", "--steps", "40", "--seed", "2"]),
             ("gru_sample3_primed_test12.mid", ["--prime-from", "test:12:8", "--steps", "40", "--seed", "3"])]
    synth = synthesizer()
    if not synth:
        print("no fluidsynth (with a GM soundfont such as fluid-soundfont-gm) or timidity: WAV rendering skipped")
    for name, extra in specs:
        mid = os.path.join(outdir, name)
        subprocess.run([args.bin, "sample", "--model", model, "--threads", "1", "--out", mid] + extra, check=True)
        if synth:
            make, tool = synth
            wav = mid[:-4] + ".wav"
            subprocess.run(make(mid, wav), check=True, capture_output=True)
            print(f"rendered {wav} with {tool}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build/recurrent")
    ap.add_argument("--data", default="data/jsb-chorales/jsb-chorales-quarter.json")
    ap.add_argument("--runs", default="runs/music")
    ap.add_argument("--figures", default="docs/figures")
    ap.add_argument("--samples", default="docs/music")
    ap.add_argument("--seeds", default="1,2,3,4,5")
    ap.add_argument("--size", default="small", choices=sorted(SIZES),
                    help="small: ~20k parameters (the table, figures and samples); large: ~169k (table and curves)")
    ap.add_argument("--force", action="store_true", help="retrain runs that have results")
    ap.add_argument("--plots-only", action="store_true", help="no training: table and figures from the runs")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    global CELLS
    CELLS = SIZES[args.size]
    for p in [args.bin, args.data]:
        if not os.path.exists(p):
            sys.exit(f"run_table.py: {p} not found (scripts/build.sh; scripts/data/fetch.sh jsb-chorales)")
    if not args.plots_only:
        train_all(args, seeds)
    res = read_results(args, seeds)
    summary = print_table(res)
    with open(os.path.join(args.runs, f"summary_{args.size}.json"), "w") as f:
        json.dump(summary, f, indent=1)
    os.makedirs(args.figures, exist_ok=True)
    if args.size != "small":
        plot_curves(args, seeds, os.path.join(args.figures, f"music_curves_{args.size}.png"))
        return
    plot_curves(args, seeds, os.path.join(args.figures, "music_curves.png"))
    model = best_run(args, res)
    print(f"samples from {model}")
    plot_pianoroll(args, model, os.path.join(args.figures, "music_pianoroll.png"))
    write_samples(args, model, args.samples)


if __name__ == "__main__":
    main()
