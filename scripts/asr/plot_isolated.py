#!/usr/bin/python3
"""Bar chart of the isolated-digit classifier's test accuracy per held-out speaker (each trained on the
other four) beside the official split (every speaker heard in training): docs/figures/asr_isolated.png.

  scripts/asr/isolated.sh build runs/asr-isolated
  /usr/bin/python3 scripts/asr/plot_isolated.py runs/asr-isolated docs/figures/asr_isolated.png
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    runs, out = sys.argv[1], sys.argv[2]
    speakers = ["george", "jackson", "lucas", "nicolas", "yweweler"]
    acc = [json.load(open(f"{runs}/held-out-{s}/results.json"))["test"]["accuracy"] * 100 for s in speakers]
    official = json.load(open(f"{runs}/official/results.json"))["test"]["accuracy"] * 100
    mean = sum(acc) / len(acc)
    fig, ax = plt.subplots(figsize=(8, 3.6))
    names = [f"{s}\n(unseen)" for s in speakers] + ["mean of\nunseen", "official split\n(seen speakers)"]
    vals = acc + [mean, official]
    colors = ["tab:blue"] * 5 + ["tab:red", "0.6"]
    bars = ax.bar(names, vals, color=colors)
    for b, v in zip(bars, vals):
        ax.text(b.get_x() + b.get_width() / 2, v + 0.8, f"{v:.1f}%", ha="center", fontsize=9)
    ax.axhline(95, ls="--", color="tab:red", lw=1)
    ax.text(-0.45, 96, "goal 95%", color="tab:red", fontsize=8, ha="left")
    ax.set_ylim(0, 108)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Isolated spoken digits (FSDD), BiGRU classifier: each speaker held out, trained on the other four",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"wrote {out}: unseen-speaker mean {mean:.2f}%, official {official:.2f}%")


if __name__ == "__main__":
    main()
