#!/usr/bin/python3
"""CTC loss + gradient: recurrent (bench/bench_ctc.cpp) vs torch.nn.functional.ctc_loss, same run.

Shapes of issue 22: T = 100 frames, B = 32, C = 11 / 20 / 30 classes, L = 7 labels, input lengths
80..100, reduction mean. One call = forward + backward to the logits:
  recurrent logits     ctc_loss_logits(logits)                        (log_softmax fused)
  recurrent log_probs  ctc_loss(log_softmax(logits))                  (PyTorch's composition)
  torch                F.ctc_loss(logits.log_softmax(2), ...) float32 (torch 1.13's CPU kernel)
Medians over REPS timed calls after one warm-up, for 1 and 2 threads (torch.set_num_threads and the
benchmark's own thread argument). Prints a markdown table.

Usage: /usr/bin/python3 bench/ctc_vs_torch.py [--build-dir build] [--reps 20]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
T, B, L = 100, 32, 7


def torch_ms(C, threads, reps):
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(C)
    x = (torch.rand(T, B, C, generator=g) * 6 - 3).requires_grad_()
    tg = torch.randint(1, C, (B, L), generator=g)
    il = torch.tensor([T - (b % 5) * 5 for b in range(B)])
    tl = torch.full((B,), L)
    times = []
    for r in range(reps + 1):
        x.grad = None
        t0 = time.perf_counter()
        F.ctc_loss(x.log_softmax(2), tg, il, tl).backward()
        if r:
            times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def ours_ms(build_dir, reps):
    exe = os.path.join(build_dir, "bench", "bench_ctc")
    out = subprocess.run([exe, f"--benchmark_repetitions={reps}", "--benchmark_report_aggregates_only=true",
                          "--benchmark_format=json"], check=True, capture_output=True, text=True).stdout
    res = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        # name: BM_Ctc/C:11/fused:1/threads:1/real_time_median
        parts = dict(p.split(":") for p in b["run_name"].split("/")[1:] if ":" in p)
        res[(int(parts["C"]), int(parts["fused"]), int(parts["threads"]))] = b["real_time"] / 1e3  # us -> ms
    return res


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--reps", type=int, default=20)
    a = ap.parse_args(argv)
    ours = ours_ms(a.build_dir, max(3, a.reps // 4))
    print(f"torch {torch.__version__}; T={T} B={B} L={L}; ms per forward+backward, median\n")
    print("| C | threads | recurrent ctc_loss_logits | recurrent ctc_loss(log_softmax) | torch F.ctc_loss(log_softmax) | torch / recurrent fused |")
    print("|---|---|---|---|---|---|")
    for threads in (1, 2):
        for C in (11, 20, 30):
            t = torch_ms(C, threads, a.reps)
            f, u = ours[(C, 1, threads)], ours[(C, 0, threads)]
            print(f"| {C} | {threads} | {f:.2f} | {u:.2f} | {t:.2f} | {t / f:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
