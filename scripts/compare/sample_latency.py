#!/usr/bin/env python3
"""Per-token latency of `recurrent sample` for one or more builds (issue 20, acceptance 6: the packed-weight
cache). Runs every binary interleaved, `--length 0` and `--length L`, REPS times each, and reports
per token = (median wall(L) - median wall(0)) / L (process start, model load and the prime cancel out),
and the same for CPU time (user + sys of the child).

  scripts/compare/sample_latency.py --model DIR --bin before=../wt-before/build/recurrent \
      --bin after=build/recurrent [--length 2000] [--reps 11] [--threads 1,2]

The model: any `recurrent train lm` directory, e.g. the README's figure used a char 2x256 LSTM trained
for 40 steps (the speed does not depend on how well it is trained):
  build/recurrent --threads 2 train lm --data tests/fixtures/lm/moby_train.txt --level char --cell lstm
    --layers 2 --hidden 256 --embed 64 --seq-len 100 --batch 32 --optimizer adam --lr 2e-3 --clip 5
    --max-steps 40 --out runs/lm2x256
"""
import argparse
import os
import resource
import statistics
import subprocess
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--bin", action="append", required=True, help="NAME=PATH of a recurrent binary (repeatable)")
    ap.add_argument("--length", type=int, default=2000)
    ap.add_argument("--reps", type=int, default=11)
    ap.add_argument("--threads", default="1,2")
    a = ap.parse_args()
    bins = dict(b.split("=", 1) for b in a.bin)
    threads = [int(t) for t in a.threads.split(",")]
    runs = {}
    for _ in range(a.reps):
        for th in threads:
            for name, path in bins.items():
                for length in (0, a.length):
                    cmd = [path, "--threads", str(th), "sample", "--model", a.model, "--length", str(length), "--seed", "1"]
                    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                    t0 = time.perf_counter()
                    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
                    t1 = time.perf_counter()
                    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
                    runs.setdefault((name, th, length), []).append((t1 - t0, cpu))
    for th in threads:
        for name in bins:
            med = lambda length, i: statistics.median(r[i] for r in runs[(name, th, length)])
            wall = 1e3 * (med(a.length, 0) - med(0, 0)) / a.length
            cpu = 1e3 * (med(a.length, 1) - med(0, 1)) / a.length
            print(f"threads {th} {name}: {wall:.3f} ms/token wall, {cpu:.3f} ms/token CPU "
                  f"(median wall {med(a.length, 0):.3f} s at --length {a.length}, {med(0, 0):.3f} s at 0)")
    print("load average after:", " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
