#!/usr/bin/python3
"""The scaling model of docs/distributed.md: ring-allreduce time against the measured compute time of a
step, for N = 2 … 64 ranks on 10 / 25 / 100 Gb/s networks.

    t_allreduce(N) = 2·(N−1)/N · S / β + 2·(N−1)·α          (S bytes per step, β link bandwidth, α latency)
    t_step(N)      = t_compute(1) / N + t_allreduce(N)      (global batch fixed; compute split evenly, no overlap)
    speed-up(N)    = t_compute(1) / t_step(N),   efficiency = speed-up / N

Usage: bench/dist/scaling_model.py NAME:BYTES:STEP_SECONDS ... [--alpha-us 20]
  BYTES: measured allreduce bytes per step (`data parallel: ... MiB per step` line of a 2-rank run);
  STEP_SECONDS: measured one-rank step time (1 thread, README configuration).
"""
import argparse

p = argparse.ArgumentParser()
p.add_argument("models", nargs="+")
p.add_argument("--alpha-us", type=float, default=20.0, help="per-message latency of the network (µs)")
a = p.parse_args()
NS = [2, 4, 8, 16, 32, 64]
for m in a.models:
    name, nbytes, step = m.split(":")
    S, tc = float(nbytes), float(step)
    print(f"\n{name}: {S / 2**20:.2f} MiB per step, one-rank step {tc * 1e3:.0f} ms")
    print("| Gb/s | " + " | ".join(f"N={n}" for n in NS) + " |")
    print("|---|" + "---|" * len(NS))
    for gbps in (10, 25, 100):
        beta = gbps * 1e9 / 8
        cells = []
        for n in NS:
            ar = 2 * (n - 1) / n * S / beta + 2 * (n - 1) * a.alpha_us * 1e-6
            speed = tc / (tc / n + ar)
            cells.append(f"{ar * 1e3:.1f} ms, {speed:.1f}× ({100 * speed / n:.0f}%)")
        print(f"| {gbps} | " + " | ".join(cells) + " |")
