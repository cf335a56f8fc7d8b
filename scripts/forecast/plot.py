#!/usr/bin/python3
"""Plot a forecaster's forecasts: history, truth and forecasts (PNG), for `recurrent predict --plot`.

Inputs: the series CSV (--data, --column, optional --time-column) and the forecasts CSV written by
`recurrent predict` (columns index,origin_time,step,time,forecast,actual,naive,seasonal_naive; `index`
is the 0-based row of the forecast target; rows past the series' end are the future forecast).

Drawn: the series (black; gaps left blank), the evaluated part's truth shaded, and
  horizon 1: the one-step forecasts as one line (and the seasonal-naive baseline, thin);
  horizon H > 1: the H-step forecast paths from every H-th origin (non-overlapping), each a line;
and the forecast from the last row into the future (dashed). x axis: the time column when it holds
numbers (8-digit YYYYMMDD dates become decimal years), else the row index.

Debian's /usr/bin/python3 with python3-matplotlib; standard library otherwise.
"""
import argparse
import csv
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def to_x(text, index):
    """A time cell → float x (YYYYMMDD → decimal year); None if not numeric."""
    try:
        v = float(text)
    except ValueError:
        return None
    if len(text) == 8 and text.isdigit():  # YYYYMMDD
        y, m, d = int(text[:4]), int(text[4:6]), int(text[6:])
        return y + (m - 1) / 12.0 + (d - 1) / 365.25
    return v


def read_series(path, column, time_column):
    with open(path, newline="") as f:
        rows = [r for r in csv.reader(f) if any(c.strip() for c in r)]
    head = [h.strip() for h in rows[0]]
    ci = head.index(column)
    ti = head.index(time_column) if time_column else None
    ys, xs = [], []
    for i, r in enumerate(rows[1:]):
        cell = r[ci].strip()
        ys.append(float(cell) if cell and cell.lower() not in ("na", "nan") else math.nan)
        xs.append(to_x(r[ti].strip(), i) if ti is not None else float(i))
    if any(x is None for x in xs):
        xs = [float(i) for i in range(len(ys))]
    return xs, ys


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--column", required=True)
    ap.add_argument("--time-column", default="")
    ap.add_argument("--forecasts", required=True)
    ap.add_argument("--horizon", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--title", default="")
    ap.add_argument("--history", type=float, default=3.0,
                    help="history shown before the evaluated part, as a multiple of its length")
    a = ap.parse_args()

    xs, ys = read_series(a.data, a.column, a.time_column)
    n = len(ys)
    step = (xs[-1] - xs[0]) / max(n - 1, 1)
    with open(a.forecasts, newline="") as f:
        fc = list(csv.DictReader(f))
    past = [r for r in fc if int(r["index"]) < n]
    future = [r for r in fc if int(r["index"]) >= n]
    X = lambda i: xs[i] if i < n else xs[-1] + (i - n + 1) * step  # noqa: E731

    first = min(int(r["index"]) for r in past)
    start = max(0, int(first - a.history * (n - first)))
    fig, ax = plt.subplots(figsize=(11, 4.2), dpi=110)
    ax.axvspan(X(first), xs[-1], color="0.93", zorder=0, label="evaluated part")
    ax.plot(xs[start:], ys[start:], color="black", lw=1.2, label="series (truth)")
    H = a.horizon
    if H == 1:
        pts = sorted((int(r["index"]), float(r["forecast"]), float(r["seasonal_naive"] or "nan")) for r in past)
        ax.plot([X(i) for i, _, _ in pts], [s for _, _, s in pts], color="tab:gray", lw=0.8, alpha=0.7,
                label="seasonal naive")
        ax.plot([X(i) for i, _, _ in pts], [v for _, v, _ in pts], color="tab:red", lw=1.4, label="forecast (1 step)")
    else:
        origins = sorted({r["origin_time"] + "|" + str(int(r["index"]) - int(r["step"])) for r in past},
                         key=lambda s: int(s.split("|")[1]))
        keep = {o.split("|")[1] for o in origins[::H]}
        label = "forecast paths (%d steps)" % H
        for o in sorted(keep, key=int):
            path = sorted((int(r["step"]), int(r["index"]), float(r["forecast"]))
                          for r in past if str(int(r["index"]) - int(r["step"])) == o)
            t0 = int(o)
            ax.plot([X(t0)] + [X(i) for _, i, _ in path], [ys[t0] if not math.isnan(ys[t0]) else path[0][2]] +
                    [v for _, _, v in path], color="tab:red", lw=1.3, label=label)
            label = None
    if future:
        fut = sorted((int(r["index"]), float(r["forecast"])) for r in future)
        ax.plot([xs[-1]] + [X(i) for i, _ in fut], [ys[-1]] + [v for _, v in fut], color="tab:blue", ls="--",
                lw=1.4, label="forecast past the data")
    ax.set_title(a.title)
    ax.set_ylabel(a.column)
    ax.set_xlabel(a.time_column or "row")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(a.out)


if __name__ == "__main__":
    main()
