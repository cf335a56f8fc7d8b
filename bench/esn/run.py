#!/usr/bin/env python3
"""Echo state network benchmarks (docs/esn.md): generates the synthetic series (no downloads), runs
`recurrent train esn` on them and on the project's real series, and prints the table.

  /usr/bin/python3 bench/esn/run.py [--bin build/recurrent] [--out runs/esn] [--only mg,narma,sunspots,co2]

Series:
  mg     Mackey-Glass, tau = 17, as Jaeger (2001, GMD Report 148, sec. 6.1, eq. 23): Euler steps of
         delta = 1/10 of  dy/dt = 0.2 y(t-17) / (1 + y(t-17)^10) - 0.1 y(t), subsampled by 10 (one row = one
         time unit), history y = 1.2, the first 1000 rows (transient) dropped. 4200 rows: train 3000
         (the first 1000 are the washout, as Jaeger's 3000-step run), valid 400, test 800.
         Figure: NRMSE of the free-run prediction 84 steps ahead (Jaeger's NRMSE84), over every origin of
         the test part: sqrt(mean (y(t+84) - yhat(t+84))^2 / var(y)).
  narma  NARMA-10 (Atiya & Parlos 2000, as used by Jaeger 2003):
         y(t+1) = 0.3 y(t) + 0.05 y(t) sum_{i=0..9} y(t-i) + 1.5 u(t-9) u(t) + 0.1,  u(t) ~ U(0, 0.5) iid,
         y = 0 before t = 10. The ESN reads u(t) only (--features u --no-target-input) and predicts
         y(t+1); figure: test NMSE = mean (yhat - y)^2 / var(y).
  sunspots, co2  data/ (scripts/data/fetch.sh sunspots co2); one-step and multi-step figures beside
         train forecast's (docs/forecast.md).
  sentiment  --mode classify on the UCI sentiment sets (scripts/data/fetch.sh sentiment), train classify's
         default split; test macro-F1 beside the bag-of-n-grams baseline and the BiLSTM (docs/defaults.md).
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def mackey_glass(n, tau=17, skip=1000, delta=0.1, sub=10, y0=1.2):
    lag = int(round(tau / delta))
    total = (n + skip) * sub + lag + 1
    y = np.full(total, y0)
    for i in range(lag, total - 1):
        d = y[i - lag]
        y[i + 1] = y[i] + delta * (0.2 * d / (1.0 + d ** 10) - 0.1 * y[i])
    return y[lag + skip * sub: lag + (n + skip) * sub: sub]


def narma10(n, seed=1, skip=200):
    rng = np.random.default_rng(seed)
    u = rng.uniform(0.0, 0.5, n + skip)
    y = np.zeros(n + skip)
    for t in range(9, n + skip - 1):
        y[t + 1] = 0.3 * y[t] + 0.05 * y[t] * y[t - 9:t + 1].sum() + 1.5 * u[t - 9] * u[t] + 0.1
    return u[skip:], y[skip:]


def write_csv(path, cols):
    names = list(cols)
    with open(path, "w") as f:
        f.write("t," + ",".join(names) + "\n")
        for i in range(len(cols[names[0]])):
            f.write(str(i) + "," + ",".join(repr(float(cols[k][i])) for k in names) + "\n")


def train(binary, out, name, args):
    run_dir = os.path.join(out, name)
    cmd = [binary, "train", "esn", "--out", run_dir, "--force", "--quiet"] + args
    print("$ " + " ".join(cmd[0:1] + [a if a != run_dir else "OUT/" + name for a in cmd[1:]]), file=sys.stderr)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(run_dir, "results.json")) as f:
        return json.load(f)


# (name, series, extra options, figure key, published, source); reservoir sizes equal to the papers'.
def runs(data):
    mg = ["--data", data["mg"], "--column", "y", "--valid-frac", "0.0952381", "--test-frac", "0.190476", "--washout", "1000",
          "--horizon", "84"]
    narma = ["--data", data["narma"], "--column", "y", "--features", "u", "--no-target-input", "--valid-frac", "0.1",
             "--test-frac", "0.2", "--washout", "200"]
    sun = ["--data", os.path.join(ROOT, "data/sunspots/sunspots.csv"), "--column", "SUNACTIVITY", "--time-column",
           "YEAR", "--valid-frac", "0.15", "--test-frac", "0.15"]
    co2 = ["--data", os.path.join(ROOT, "data/co2/co2.csv"), "--column", "co2", "--time-column", "date",
           "--valid-frac", "0.15", "--test-frac", "0.15"]
    return {
        # chosen on the validation part (docs/esn.md); N as the published figures
        "mg": [("mackey-glass-n400", mg + ["--reservoir", "400", "--spectral-radius", "0.95", "--leak", "0.6",
                                           "--ridge", "1e-11", "--density", "0.1", "--input-scale", "0.2", "--seed", "1"])],
        "narma": [("narma10-n100", narma + ["--reservoir", "100", "--spectral-radius", "0.95", "--leak", "1",
                                            "--ridge", "1e-8", "--density", "0.1", "--input-scale", "0.1", "--seed", "1"])],
        "sunspots": [(f"sunspots-h{h}", sun + ["--reservoir", "50", "--spectral-radius", "0.9", "--leak", "0.5",
                                              "--ridge", "1", "--washout", "20", "--input-scale", "0.5", "--horizon",
                                              str(h), "--seed", "1"]) for h in (1, 10)],
        "co2": [(f"co2-h{h}", co2 + ["--difference", "--reservoir", "200", "--spectral-radius", "0.9", "--leak", "0.3",
                                    "--ridge", "1e-2", "--washout", "100", "--input-scale", "0.1", "--horizon", str(h),
                                    "--seed", "1"])
                for h in (1, 52)],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build/recurrent"))
    ap.add_argument("--out", default=os.path.join(ROOT, "runs/esn"))
    ap.add_argument("--only", default="mg,narma,sunspots,co2,sentiment")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    data = {"mg": os.path.join(a.out, "mackey_glass17.csv"), "narma": os.path.join(a.out, "narma10.csv")}
    write_csv(data["mg"], {"y": mackey_glass(4200)})
    u, y = narma10(6000)
    write_csv(data["narma"], {"u": u, "y": y})
    rows, cls = [], []
    for key in a.only.split(","):
        if key == "sentiment":
            for name in ("amazon", "imdb", "yelp"):
                r = train(a.bin, a.out, "sentiment-" + name,
                          ["--mode", "classify", "--data", os.path.join(ROOT, "data/sentiment", name + ".tsv"),
                           "--reservoir", "500", "--spectral-radius", "0.9", "--leak", "0.3", "--ridge", "10",
                           "--input-scale", "1", "--min-count", "1", "--seed", "1"])
                cls.append((name, r["test"]["accuracy"], r["test"]["macro_f1"], r["valid"]["macro_f1"], r["fit_seconds"]))
            continue
        for name, args in runs(data)[key]:
            r = train(a.bin, a.out, name, args)
            t = r["test"]
            H = t["horizon"]
            rows.append((name, r["reservoir"], H, t["nmse_one_step"], t["nrmse_horizon"], t["one_step"]["mase"],
                         t["one_step"]["naive_mase"], t["free_run"]["mase"] if H > 1 else float("nan"),
                         t["free_run"]["naive_mase"] if H > 1 else float("nan"), r["fit_seconds"]))
    print("| run | N | H | test NMSE (1 step) | test NRMSE at H | MASE 1 step (naive) | MASE free run (naive) | fit s |")
    print("|---|---|---|---|---|---|---|---|")
    for n, N, H, nmse, nrmse, m1, n1, mh, nh, s in rows:
        fr = f"{mh:.3f} ({nh:.3f})" if H > 1 else "-"
        print(f"| {n} | {N} | {H} | {nmse:.3g} | {nrmse:.3g} | {m1:.3f} ({n1:.3f}) | {fr} | {s:.1f} |")
    if cls:
        print("\n| set (N = 500) | test accuracy | test macro-F1 | valid macro-F1 | fit s |")
        print("|---|---|---|---|---|")
        for name, acc, f1, vf1, s in cls:
            print(f"| {name} | {100 * acc:.1f}% | {f1:.3f} | {vf1:.3f} | {s:.1f} |")


if __name__ == "__main__":
    main()
