#!/usr/bin/env python3
"""Default threads vs --threads 1 for small inference commands, idle or beside busy loops (issue 28, acceptance 3).

Runs `recurrent eval` and `recurrent sample` of one model with the default thread count and with
`--threads 1`, interleaved, --reps times each, and prints the median wall time of each and their ratio
(default / one thread; within 1.2x is the goal). --busy K starts K busy-loop processes first (the
documented load: K = the number of cores keeps every core busy) and stops them at the end; they run for
--warm seconds before the first timing so the kernel's load figures see them.

  /usr/bin/python3 scripts/bench/thread_fit.py --bin build/recurrent --model RUN --data FILE [--busy 2] [--reps 21]
"""
import argparse
import multiprocessing
import os
import statistics
import subprocess
import time


def spin():
    os.nice(0)
    while True:
        pass


def wall(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True, help="text for eval")
    ap.add_argument("--length", type=int, default=500, help="sample length")
    ap.add_argument("--busy", type=int, default=0, help="busy-loop processes to run beside (0: none)")
    ap.add_argument("--warm", type=float, default=5.0, help="seconds the busy loops run before timing")
    ap.add_argument("--reps", type=int, default=21)
    a = ap.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "RECURRENT_NUM_THREADS"}
    os.environ.clear()
    os.environ.update(env)
    cmds = {
        "eval": ["eval", "--model", a.model, "--data", a.data],
        "sample": ["sample", "--model", a.model, "--length", str(a.length), "--seed", "1"],
    }
    busy = [multiprocessing.Process(target=spin, daemon=True) for _ in range(a.busy)]
    for p in busy:
        p.start()
    try:
        if busy:
            time.sleep(a.warm)
        with open("/proc/loadavg") as f:
            load = f.read().split()
        times = {(c, t): [] for c in cmds for t in ("default", "1")}
        for _ in range(a.reps):
            for c, args in cmds.items():
                times[(c, "default")].append(wall([a.bin] + args))
                times[(c, "1")].append(wall([a.bin, "--threads", "1"] + args))
    finally:
        for p in busy:
            p.terminate()
    print(f"cpus {os.cpu_count()}, busy loops {a.busy}, /proc/loadavg at start: {' '.join(load[:4])}, reps {a.reps}")
    for c in cmds:
        d = statistics.median(times[(c, "default")])
        o = statistics.median(times[(c, "1")])
        print(f"{c:7s} default {d * 1e3:8.1f} ms   --threads 1 {o * 1e3:8.1f} ms   ratio {d / o:5.2f}")


if __name__ == "__main__":
    main()
