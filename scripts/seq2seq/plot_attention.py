#!/usr/bin/python3
"""Draw the attention weights written by `recurrent translate --attention-out F.csv` as a heat map.

    /usr/bin/python3 scripts/seq2seq/plot_attention.py F.csv OUT.png [--title TEXT]

F.csv: header "target\\source,<source tokens...>", then one row per output token (the last is
<eos>) with its weights over the source tokens. Rows: output tokens top to bottom; columns: source
tokens; darker = more weight. Debian's matplotlib only.
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        sys.exit(1)
    rows = list(csv.reader(open(sys.argv[1], encoding="utf-8")))
    src = rows[0][1:]
    tgt = [r[0] for r in rows[1:]]
    w = [[float(x) for x in r[1:]] for r in rows[1:]]
    if not w or any(len(r) != len(src) for r in w):
        sys.exit(f"{sys.argv[1]}: expected one weight per source token in every row")
    title = sys.argv[sys.argv.index("--title") + 1] if "--title" in sys.argv else ""
    fig, ax = plt.subplots(figsize=(max(4, 0.42 * len(src) + 1.5), max(3, 0.36 * len(tgt) + 1.2)))
    im = ax.imshow(w, cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(src)))
    ax.set_xticklabels(src, rotation=60, ha="right")
    ax.set_yticks(range(len(tgt)))
    ax.set_yticklabels(tgt)
    ax.set_xlabel("source (English)")
    ax.set_ylabel("output (Spanish)")
    if title:
        ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.04)
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=120)


if __name__ == "__main__":
    main()
