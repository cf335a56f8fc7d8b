#!/usr/bin/python3
"""PyTorch CPU RNN anchors (Debian python3-torch 1.13.1, run with /usr/bin/python3).

Usage:  /usr/bin/python3 bench_torch.py THREADS [REPS] [--quick]  > results_torch_tT.jsonl
Set OMP_NUM_THREADS (and OPENBLAS_NUM_THREADS with the pthread OpenBLAS) to THREADS as well
(torch.set_num_threads does not limit OpenBLAS's own pthread pool); README.md has the best setting.
scripts/bench/compare_anchors.py imports it and calls info() and bench().

Each line of output is one JSON record: cell, layers, bidir, H, B, T, mode (infer|train),
threads, reps, min_s, median_s (seconds per call), tokens_s (B*T / median), gflops_med and
gflops_max (achieved GFLOP/s from the FLOP model below).

FLOP model, per token and per layer and direction: forward = 2*G*H*(I+H) with
G = 1 (RNN tanh), 3 (GRU), 4 (LSTM); a training step (forward + backward) ~= 3x forward.
Training loss = output.sum(); parameters' grads reset to None before each step; the input does
not require grad (so layer-1 dX is not computed, as in a typical embedding-free setup).
"""
import ctypes
import json
import os
import statistics
import sys
import time

import torch

threads = int(sys.argv[1])
reps = int(sys.argv[2]) if len(sys.argv) > 2 and not sys.argv[2].startswith("--") else 5
quick = "--quick" in sys.argv
torch.set_num_threads(threads)
torch.manual_seed(0)

G = {"RNN": 1, "GRU": 3, "LSTM": 4}


def info():
    d = {"torch": torch.__version__, "threads": torch.get_num_threads(),
         "env_OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
         "env_OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
         "mkldnn_enabled": torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled,
         "env_ATEN_CPU_CAPABILITY": os.environ.get("ATEN_CPU_CAPABILITY"),
         "env_OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")}
    # ATen's vectorised kernels: "CPU capability usage: AVX2" (ATEN_CPU_CAPABILITY=default|avx2|avx512 caps it)
    cap = [l.split(":", 1)[1].strip() for l in torch.__config__.show().splitlines() if "CPU capability usage" in l]
    d["cpu_capability"] = cap[0] if cap else None
    try:
        ob = ctypes.CDLL("libopenblas.so.0")
        ob.openblas_get_corename.restype = ctypes.c_char_p
        ob.openblas_get_num_threads.restype = ctypes.c_int
        d["openblas_corename"] = ob.openblas_get_corename().decode()
        d["openblas_threads"] = ob.openblas_get_num_threads()
    except OSError as e:
        d["openblas"] = str(e)
    return d


def fwd_flops_per_token(cell, H, layers, bidir):
    g = G[cell]
    dirs = 2 if bidir else 1
    tot = 0
    for l in range(layers):
        I = H if l == 0 else H * dirs
        tot += dirs * 2 * g * H * (I + H)
    return tot


def make(cell, H, layers, bidir):
    cls = {"RNN": torch.nn.RNN, "GRU": torch.nn.GRU, "LSTM": torch.nn.LSTM}[cell]
    kw = {"nonlinearity": "tanh"} if cell == "RNN" else {}
    return cls(H, H, num_layers=layers, bidirectional=bidir, **kw)  # seq-first (T, B, H)


def timeit(fn, reps, min_rep_s=0.2):
    fn()  # warm-up
    t0 = time.perf_counter()
    fn()
    one = time.perf_counter() - t0
    n = max(1, int(min_rep_s / max(one, 1e-9)))
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        ts.append((time.perf_counter() - t0) / n)
    return ts


def bench(cell, H, B, T, layers=1, bidir=False, modes=("infer", "train")):
    m = make(cell, H, layers, bidir)
    x = torch.randn(T, B, H)
    out = []
    for mode in modes:
        if mode == "infer":
            m.eval()

            def fn():
                with torch.no_grad():
                    m(x)
        else:
            m.train()
            params = list(m.parameters())

            def fn():
                for p in params:
                    p.grad = None
                y, _ = m(x)
                y.sum().backward()
        ts = timeit(fn, reps)
        med, mn = statistics.median(ts), min(ts)
        fl = fwd_flops_per_token(cell, H, layers, bidir) * B * T * (3 if mode == "train" else 1)
        rec = dict(lib="pytorch", cell=cell, layers=layers, bidir=bidir, H=H, B=B, T=T, mode=mode,
                   threads=threads, reps=reps, min_s=mn, median_s=med, tokens_s=B * T / med,
                   gflops_med=fl / med / 1e9, gflops_max=fl / mn / 1e9,
                   us_per_step_med=med / T * 1e6)
        print(json.dumps(rec), flush=True)
        out.append(rec)
    return out


if __name__ == "__main__":
    print(json.dumps({"info": info()}), flush=True)
    Hs = [128, 256, 512] if not quick else [256]
    Bs = [1, 16, 64] if not quick else [1, 64]
    for cell in ["LSTM", "GRU", "RNN"]:
        for H in Hs:
            for B in Bs:
                bench(cell, H, B, 100)
    bench("LSTM", 256, 32, 100, layers=2, bidir=True)
