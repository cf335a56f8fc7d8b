#!/usr/bin/python3
"""The features and CTC posteriors of one utterance over time (docs/figures/asr_posteriors.png).

  /usr/bin/python3 scripts/asr/make_utterance.py --digits 31415 --speaker jackson --out u.wav
  /usr/bin/python3 scripts/asr/figure.py --model runs/asr-ctc-bi --model2 runs/asr-ctc-uni --wav u.wav \
      --spans 800:4901,6101:10832,... --out docs/figures/asr_posteriors.png

Top: the 40 log-mel energies (`recurrent features --kind fbank --deltas 0 --normalize none`); below, for
each model, each step's posteriors (`recurrent transcribe --posteriors`): the blank's probability in grey
and each digit's as a spike in its colour, labelled; the digits' true spans are shaded.
"""
import argparse
import csv
import os
import subprocess
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def read_csv(path):
    with open(path) as f:
        rows = list(csv.reader(f))
    return rows[0], np.array([[float(v) for v in r] for r in rows[1:]])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--model", required=True)
    ap.add_argument("--model2", default="", help="a second model (e.g. the unidirectional one)")
    ap.add_argument("--labels", default="model", help="panel names, separated by |")
    ap.add_argument("--wav", required=True)
    ap.add_argument("--spans", default="", help="start:end sample spans of the digits (make_utterance.py)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    exe = os.path.join(a.build, "recurrent")
    tmp = tempfile.mkdtemp()
    subprocess.run([exe, "features", a.wav, "--kind", "fbank", "--deltas", "0", "--normalize", "none",
                    "--out", f"{tmp}/f.csv"], check=True, capture_output=True)
    _, feats = read_csv(f"{tmp}/f.csv")
    models = [m for m in (a.model, a.model2) if m]
    names = a.labels.split("|")
    posts, texts = [], []
    for i, m in enumerate(models):
        r = subprocess.run([exe, "transcribe", "--model", m, a.wav, "--posteriors", f"{tmp}/p{i}.csv"], check=True,
                           capture_output=True, text=True)
        texts.append(r.stdout.strip())
        posts.append(read_csv(f"{tmp}/p{i}.csv")[1])
    spans = [tuple(int(v) / 8000 for v in s.split(":")) for s in a.spans.split(",")] if a.spans else []
    fig, ax = plt.subplots(1 + len(models), 1, figsize=(10, 2.6 + 2.2 * len(models)), sharex=True,
                           gridspec_kw={"height_ratios": [1.3] + [1] * len(models)})
    t = feats[:, 1]
    ax[0].imshow(feats[:, 2:].T, origin="lower", aspect="auto", extent=[t[0], t[-1] + 0.01, 0, feats.shape[1] - 2],
                 cmap="magma")
    ax[0].set_ylabel("log-mel band")
    ax[0].set_title(f"{os.path.basename(a.wav)}: features (40 log-mels, 10 ms frames) and CTC posteriors")
    colors = plt.cm.tab10(np.arange(10))
    for i, p in enumerate(posts):
        x = ax[1 + i]
        for s0, s1 in spans:
            x.axvspan(s0, s1, color="0.92")
        tt = p[:, 1] + (p[1, 1] - p[0, 1]) / 2
        x.plot(tt, p[:, 2], color="0.6", lw=1, label="blank")
        for d in range(10):
            x.plot(tt, p[:, 3 + d], color=colors[d], lw=1.4)
            top = (p[:, 3 + d] > 0.5) & (p[:, 3 + d] >= np.maximum.reduce(p[:, 2:].T))
            for k in np.where(top & ~np.r_[False, top[:-1]])[0]:  # the first step of each run
                x.text(tt[k], min(1.0, p[k, 3 + d]) + 0.03, str(d), color=colors[d], ha="center", fontsize=10,
                       weight="bold")
        x.set_ylim(0, 1.18)
        x.set_ylabel("posterior")
        x.set_title(f"{names[i] if i < len(names) else models[i]}: \u201c{texts[i]}\u201d", fontsize=10, loc="left")
    ax[-1].set_xlabel("time (s); grey bands: the digits' audio")
    fig.tight_layout()
    fig.savefig(a.out, dpi=110)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
