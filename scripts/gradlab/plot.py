#!/usr/bin/python3
"""Plots of the gradient lab's CSV files (scripts/gradlab/run_experiments.sh) as small PNGs.

Usage: /usr/bin/python3 scripts/gradlab/plot.py [RESULTS=runs/gradlab] [OUT=docs/gradlab]
       /usr/bin/python3 scripts/gradlab/plot.py report DIR     (a `recurrent experiment` report folder:
           DIR/training.png and DIR/gradients.png from DIR/{train,gates,dh,summary}.csv)
       /usr/bin/python3 scripts/gradlab/plot.py merge OUT.png DIR1 DIR2 ...   (the training plot of several
           report folders of one task in one figure; runs of DIR2… labelled with their folder's suffix)
Makes, for each experiment folder that exists:
  vanishing.png   ‖∂L/∂h_t‖ / ‖∂L/∂h_T‖ against distance back, per cell, at initialisation (profile/)
  jacobian.png    per-step ‖J_t‖₂ and the growth of log ‖J_t⋯J_1‖₂ (profile/jacobian.csv)
  init_rho.png    the same gradient profile for initialisations and spectral radii (profile_init/, profile_rho/)
  explode.png     raw gradient norm and training loss with and without clipping (explode/)
  <name>.png      test metric, gradient ratio and gate saturation during training (adding*/, copy/)
"""
import csv
import math
import os
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

REPORT = len(sys.argv) > 2 and sys.argv[1] == "report"
MERGE = len(sys.argv) > 3 and sys.argv[1] == "merge"
RES = sys.argv[1] if len(sys.argv) > 1 and not (REPORT or MERGE) else "runs/gradlab"
OUT = sys.argv[2] if len(sys.argv) > 2 else "docs/gradlab"
DPI = 80


def rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def num(x):
    try:
        v = float(x)
    except (TypeError, ValueError):  # a row still being written
        return float("nan")
    return v


def save(fig, name):
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, name)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    print("wrote", path)


def profile_lines(ax, path, title):
    by = defaultdict(list)
    for r in rows(path):
        by[r["model"]].append((int(r["distance"]), num(r["dh_rel"])))
    for model, pts in by.items():
        pts = sorted(p for p in pts if p[1] > 0 and math.isfinite(p[1]))  # float32 underflow gives exact 0
        ax.semilogy([p[0] for p in pts], [p[1] for p in pts], label=model)
    ax.set_xlabel("distance back in time k = T - t (steps)")
    ax.set_ylabel("‖∂L/∂h_t‖ / ‖∂L/∂h_T‖")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)


def plot_profile():
    p = os.path.join(RES, "profile", "profile.csv")
    if not os.path.exists(p):
        return
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    profile_lines(ax, p, "Vanishing gradients at initialisation\nadding problem T = 200, hidden 64, batch 50 (4 batches)")
    save(fig, "vanishing.png")
    j = os.path.join(RES, "profile", "jacobian.csv")
    if os.path.exists(j):
        by = defaultdict(list)
        for r in rows(j):
            by[r["model"]].append((int(r["t"]), num(r["step_norm"]), num(r["log_product"])))
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.6))
        for model, pts in by.items():
            a1.plot([p[0] for p in pts], [p[1] for p in pts], label=model, lw=0.8)
            a2.plot([p[0] + 1 for p in pts], [p[2] / math.log(10) for p in pts], label=model)
        a1.set_xlabel("step t")
        a1.set_ylabel("‖J_t‖₂ = ‖∂s_t/∂s_{t-1}‖₂")
        a1.set_title("one-step state Jacobian norm", fontsize=10)
        a2.set_xlabel("steps t")
        a2.set_ylabel("log10 ‖J_t ⋯ J_1‖₂")
        a2.set_title("product of Jacobians (one sequence)", fontsize=10)
        for a in (a1, a2):
            a.grid(True, alpha=0.3)
        a2.legend(fontsize=8)
        save(fig, "jacobian.png")


def plot_init_rho():
    pi = os.path.join(RES, "profile_init", "profile.csv")
    pr = os.path.join(RES, "profile_rho")
    if not os.path.exists(pi):
        return
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    profile_lines(a1, pi, "tanh RNN, initialisations (T = 200, hidden 64)")
    if os.path.isdir(pr):
        merged = []
        for root, _, files in sorted(os.walk(pr)):
            if "profile.csv" in files:
                merged += rows(os.path.join(root, "profile.csv"))
        tmp = os.path.join(pr, "merged.csv")
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["model", "t", "distance", "dh_norm", "dh_rel"])
            w.writeheader()
            w.writerows(merged)
        profile_lines(a2, tmp, "tanh RNN, orthogonal W_hh scaled to spectral radius ρ")
    save(fig, "init_rho.png")


def merged(paths):
    """Rows of several runs' CSVs; runs from a folder named <base>_<variant> get " (<variant>)" on the model."""
    out = []
    for i, path in enumerate(paths):
        if not os.path.exists(path):
            continue
        folder = os.path.basename(os.path.dirname(path))
        suffix = f" ({folder.split('_', 1)[1]})" if "_" in folder and i > 0 else ""  # the first is the base run
        for r in rows(path):
            r["model"] += suffix
            out.append(r)
    return out


def series(path, key, filt=None):
    by = defaultdict(list)
    for r in merged(path if isinstance(path, list) else [path]):
        if filt and not filt(r):
            continue
        by[(r["model"], r["clip"])].append((int(r["step"]), num(r[key])))
    return by


def label(model, clip):
    return f"{model}, " + ("no clipping" if float(clip) == 0 else f"clip {clip}")


def plot_explode():
    p = os.path.join(RES, "explode", "train.csv")
    if not os.path.exists(p):
        return
    summ = {(r["model"], r["clip"]): r for r in rows(os.path.join(RES, "explode", "summary.csv"))}
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    for key, pts in series(p, "grad_norm").items():
        a1.semilogy([s for s, _ in pts], [v for _, v in pts], lw=0.7, label=label(*key))
    for key, pts in series(p, "loss").items():
        (line,) = a2.semilogy([s for s, _ in pts], [v for _, v in pts], lw=0.7, label=label(*key))
        div = summ.get(key, {}).get("diverged", "")
        if div:  # the step whose loss or gradient was non-finite: marked, not plotted
            a2.plot([pts[-1][0]], [max(v for _, v in pts if math.isfinite(v))], "x", ms=9, color=line.get_color())
            a2.annotate("NaN", (pts[-1][0], max(v for _, v in pts if math.isfinite(v))), fontsize=8,
                        color=line.get_color(), xytext=(4, 0), textcoords="offset points")
    a1.set_title("raw gradient norm (before clipping)", fontsize=10)
    a2.set_title("training loss (MSE); x = non-finite, run stopped", fontsize=10)
    for a in (a1, a2):
        a.set_xlabel("training step")
        a.grid(True, alpha=0.3)
    a1.set_ylabel("‖∇θ L‖")
    a2.set_ylabel("batch MSE")
    a2.axhline(1 / 6, color="gray", ls="--", lw=0.8)
    a2.legend(fontsize=7)
    fig.suptitle("Exploding gradients: adding problem T = 30, W_hh orthogonal with ρ = 1.5, SGD lr 0.05", fontsize=10)
    save(fig, "explode.png")


def run_label(key, clips):
    """Model name, plus the clip value when the runs differ in clipping."""
    model, clip = key
    if len(clips) < 2:
        return model
    return f"{model}, " + ("no clip" if float(clip) == 0 else f"clip {clip}")


def plot_training(name, variants=()):
    d = os.path.join(RES, name)
    dirs = [d] + [os.path.join(RES, v) for v in variants]
    plot_training_dirs(dirs, os.path.join(OUT, f"{name}.png"))


def plot_training_dirs(dirs, out_path):
    """Evaluation curve, gradient ratio and gate saturation against training step, one line per run."""
    p = [os.path.join(x, "train.csv") for x in dirs]
    if not os.path.exists(p[0]):
        return
    summ = rows(os.path.join(dirs[0], "summary.csv")) if os.path.exists(os.path.join(dirs[0], "summary.csv")) else []
    task, T = (summ[0]["task"], summ[0]["T"]) if summ else (os.path.basename(dirs[0]), "?")
    base = num(summ[0]["baseline"]) if summ else None
    metric = summ[0]["metric"] if summ else "metric"
    clips = {r["clip"] for r in merged(p)}
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(13, 3.8))
    if task in ("agreement", "seqimage", "copy"):  # accuracy: what the acceptance criteria are stated in
        for key, pts in series(p, "test_accuracy", lambda r: num(r["test_accuracy"]) >= 0).items():
            a1.plot([s for s, _ in pts], [100 * v for _, v in pts], marker=".", label=run_label(key, clips))
        chance = {"agreement": 50.0, "copy": 12.5}.get(task)
        if task == "seqimage" and base:
            chance = 100.0 / math.exp(base)
        if chance:
            a1.axhline(chance, color="gray", ls="--", lw=0.8, label=f"chance {chance:.1f}%")
        goal = {"agreement": 95, "seqimage": 88, "copy": 99}[task]
        a1.axhline(goal, color="green", ls=":", lw=0.8, label=f"solved ({goal}%)")
        what = "held-out" if task == "seqimage" else "test"
        a1.set_ylabel(f"{what} accuracy (%)" + (" of recalled symbols" if task == "copy" else ""))
        a1.set_title(f"{task}, {'D' if task == 'agreement' else 'T'} = {T}: {what} accuracy", fontsize=10)
    else:
        for key, pts in series(p, "test_metric", lambda r: num(r["test_metric"]) >= 0).items():
            a1.semilogy([s for s, _ in pts], [v for _, v in pts], marker=".", label=run_label(key, clips))
        if base:
            a1.axhline(base, color="gray", ls="--", lw=0.8, label=f"baseline {base:.3f}")
        if task == "adding":
            a1.axhline(0.01, color="green", ls=":", lw=0.8, label="solved (0.01)")
        a1.set_ylabel(f"test {metric}")
        a1.set_title(f"{task}, T = {T}: test {metric}", fontsize=10)
    for key, pts in series(p, "ratio", lambda r: num(r["ratio"]) >= 0).items():
        zero = all(v == 0 for _, v in pts)  # float32 underflow: BPTT returned exact zeros
        pts = [(s, max(v, 1e-45)) for s, v in pts]
        a2.semilogy([s for s, _ in pts], [v for _, v in pts],
                    label=run_label(key, clips) + (" (0: underflow, drawn at 1e-45)" if zero else ""))
    a2.set_ylabel("‖∂L/∂h_1‖ / ‖∂L/∂h_T‖")
    a2.set_title("gradient reaching the first step", fontsize=10)
    g = [os.path.join(x, "gates.csv") for x in dirs]
    if os.path.exists(g[0]):
        by = defaultdict(list)
        for r in merged(g):
            if r["gate"] in ("f", "z", "u", "h", "i", "r"):
                by[(r["model"], r["clip"], r["gate"])].append((int(r["step"]), num(r["saturated"])))
        for (model, clip, gate), pts in by.items():
            a3.plot([s for s, _ in pts], [v for _, v in pts], label=f"{run_label((model, clip), clips)} {gate}", lw=0.8)
        a3.set_ylabel("fraction saturated")
        a3.set_title("gate saturation: σ < 0.05 or > 0.95;\ntanh |h| > 0.9; ReLU h = 0", fontsize=9)
        if by:
            a3.legend(fontsize=7, ncol=2)
    for a in (a1, a2, a3):
        a.set_xlabel("training step")
        a.grid(True, alpha=0.3)
    a1.legend(fontsize=7)
    a2.legend(fontsize=7)
    save_path(fig, out_path)


def plot_gradients(d, out_path):
    """‖∂L/∂h_t‖ / ‖∂L/∂h_T‖ against distance back, at the first and the last probe of each run (dh.csv)."""
    p = os.path.join(d, "dh.csv")
    if not os.path.exists(p):
        return
    by = defaultdict(lambda: defaultdict(list))
    for r in rows(p):
        by[(r["model"], r["clip"])][int(r["step"])].append((int(r["distance"]), num(r["dh_norm"])))
    clips = {k[1] for k in by}
    fig, ax = plt.subplots(figsize=(6.8, 4.2))
    for i, (key, steps) in enumerate(by.items()):
        color = f"C{i % 10}"
        first, last = min(steps), max(steps)
        for step, ls in ((first, "--"), (last, "-")):
            pts = sorted(steps[step])
            end = dict(pts).get(0, 0.0)
            pts = [(k, v / end) for k, v in pts if end > 0 and v > 0 and math.isfinite(v)]  # 0: float32 underflow
            if pts:
                ax.semilogy([k for k, _ in pts], [v for _, v in pts], ls=ls, color=color, lw=1,
                            label=f"{run_label(key, clips)}, step {step}")
            if step == last:
                break
    ax.set_xlabel("distance back in time k = T - t (steps)")
    ax.set_ylabel("‖∂L/∂h_t‖ / ‖∂L/∂h_T‖")
    ax.set_title("gradient reaching each step: first probe (dashed) and last probe (solid)\n"
                 "lines end where float32 underflows to 0", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    save_path(fig, out_path)


def save_path(fig, path):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    print("wrote", path)


if __name__ == "__main__" and MERGE:
    plot_training_dirs(sys.argv[3:], sys.argv[2])
elif __name__ == "__main__" and REPORT:
    plot_training_dirs([OUT], os.path.join(OUT, "training.png"))
    plot_gradients(OUT, os.path.join(OUT, "gradients.png"))
elif __name__ == "__main__":
    plot_profile()
    plot_init_rho()
    plot_explode()
    names = sorted(os.listdir(RES)) if os.path.isdir(RES) else []
    for n in names:  # adding200_lr1e-2 is drawn into adding200.png, labelled "(lr1e-2)"
        if n.startswith(("adding", "copy", "agreement")) and "_" not in n:
            plot_training(n, [v for v in names if v.startswith(n + "_")])
