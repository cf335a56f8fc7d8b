#!/usr/bin/python3
"""LSTM with projection (LSTMP, h = W_hr m): our fused loop vs our per-step path vs PyTorch 1.13, same run.

For each configuration (one layer, input = hidden = H, projection P, T = 100), back to back:
  fused     build/bench/bench_rnn_engine lstm H B T 1 0 MODE REPS THREADS P
  per-step  the same with RECURRENT_RNN_FUSED=0 (oneDNN matmul on pre-packed W_hh, W_hr per step)
  PyTorch   torch.nn.LSTM(H, H, proj_size=P) in its best setting on this machine (OpenMP OpenBLAS,
            OMP_NUM_THREADS = threads; see bench/anchors/README.md), median of REPS calls
and prints a markdown table of ms per call and tokens/s with the ratios. Training = forward + backward
of sum(output) with weight gradients; the input needs no gradient (as in the anchors).

Usage: /usr/bin/python3 bench/lstm_proj.py [--threads 2] [--reps 7] [--build-dir build]
"""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPENBLAS_OMP = "/usr/lib/x86_64-linux-gnu/openblas-openmp"
CONFIGS = [(512, 128, 64, "train"), (512, 128, 64, "infer"), (512, 128, 1, "infer"),
           (1024, 256, 64, "train"), (1024, 256, 64, "infer"), (1024, 256, 1, "infer")]
T = 100

TORCH = r"""
import statistics, sys, time, torch
H, P, B, T, mode, reps, threads = (int(a) if a.isdigit() else a for a in sys.argv[1:8])
torch.set_num_threads(threads)
torch.manual_seed(0)
m = torch.nn.LSTM(H, H, proj_size=P)
x = torch.rand(T, B, H) * 2 - 1
def step():
    if mode == "train":
        for p in m.parameters():
            p.grad = None
        m(x)[0].sum().backward()
    else:
        with torch.no_grad():
            m(x)
step()
ts = []
for _ in range(reps):
    t0 = time.perf_counter()
    step()
    ts.append(time.perf_counter() - t0)
print(statistics.median(ts))
"""


def ours(binary, H, P, B, mode, reps, threads, fused):
    env = dict(os.environ)
    if not fused:
        env["RECURRENT_RNN_FUSED"] = "0"
    out = subprocess.run([binary, "lstm", str(H), str(B), str(T), "1", "0", mode, str(reps), str(threads), str(P)],
                         env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["median_s"]


def torch_time(H, P, B, mode, reps, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               LD_LIBRARY_PATH=OPENBLAS_OMP + ":" + os.environ.get("LD_LIBRARY_PATH", ""))
    out = subprocess.run(["/usr/bin/python3", "-c", TORCH, str(H), str(P), str(B), str(T), mode, str(reps),
                          str(threads)], env=env, check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    a = ap.parse_args()
    binary = os.path.join(a.build_dir, "bench", "bench_rnn_engine")
    if not os.access(binary, os.X_OK):
        sys.exit(f"bench/lstm_proj.py: {binary} not found: build first (cmake --build build)")
    load = os.getloadavg()[0]
    print(f"LSTM with projection, T = {T}, one layer, input = hidden = H, {a.threads} threads, median of "
          f"{a.reps}; load average {load:.2f} at the start; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    print("| H | P | B | mode | fused ms | per-step ms | PyTorch ms | fused tokens/s | fused / per-step | fused / PyTorch |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|---:|")
    for H, P, B, mode in CONFIGS:
        reps = a.reps * (5 if B == 1 else 1)
        f = ours(binary, H, P, B, mode, reps, a.threads, True)
        s = ours(binary, H, P, B, mode, reps, a.threads, False)
        t = torch_time(H, P, B, mode, reps, a.threads)
        print(f"| {H} | {P} | {B} | {mode} | {f * 1e3:.2f} | {s * 1e3:.2f} | {t * 1e3:.2f} | {B * T / f:,.0f} | "
              f"{s / f:.2f}× | {t / f:.2f}× |", flush=True)


if __name__ == "__main__":
    main()
