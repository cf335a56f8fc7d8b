#!/usr/bin/env python3
"""Per-call overhead of recurrent's Python layers at B = 1, T = 1 (issue 21, acceptance 3).

Times (CPU time), interleaved, the median of --reps rounds of --calls calls each, for one LSTM layer:
  engine   recurrent.RNN.forward on NumPy arrays (the extension alone: argument conversion + compute)
  dropin   recurrent.torch.LSTM under torch.no_grad() (the autograd.Function, parameter binding, tensors)
  torch    torch.nn.LSTM under torch.no_grad()
and the same with a tape and backward (requires_grad input). dropin - engine is the drop-in's Python
overhead per call. Usage: PYTHONPATH=<build>/python /usr/bin/python3 scripts/bench/python_overhead.py
"""
import argparse
import statistics
import time

import numpy as np
import torch

import recurrent
import recurrent.torch as rt


def per_call(fn, calls):
    # CPU time of this process, not wall time: on a shared machine the wall clock mostly measures
    # the scheduler (every case runs on one thread, so CPU time is that thread's time).
    t = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - t) / calls * 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--input", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--reps", type=int, default=7)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    recurrent.set_num_threads(a.threads)
    torch.manual_seed(0)
    ref = torch.nn.LSTM(a.input, a.hidden)
    ours = rt.LSTM(a.input, a.hidden)
    ours.load_state_dict(ref.state_dict())
    eng = recurrent.RNN("lstm", a.input, a.hidden)
    for n, p in ref.named_parameters():
        eng.set_parameter(n, p.detach().numpy())
    x = torch.randn(1, 1, a.input)
    xn = x.numpy()
    xg = x.clone().requires_grad_()

    def dropin():
        with torch.no_grad():
            ours(x)

    def tor():
        with torch.no_grad():
            ref(x)

    def dropin_bw():
        ours(xg)[0].sum().backward()

    def tor_bw():
        ref(xg)[0].sum().backward()

    def eng_bw():
        f = eng.forward(xn, requires_grad=True)
        f.backward(grad_output=np.ones_like(f.output))

    cases = {"engine": lambda: eng.forward(xn), "dropin": dropin, "torch": tor,
             "engine+bw": eng_bw, "dropin+bw": dropin_bw, "torch+bw": tor_bw}
    times = {k: [] for k in cases}
    for fn in cases.values():
        per_call(fn, a.calls // 10)  # warm up
    for _ in range(a.reps):
        for k, fn in cases.items():
            times[k].append(per_call(fn, a.calls))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"LSTM {a.input}->{a.hidden}, B=1, T=1, {a.threads} thread(s), median of {a.reps} x {a.calls} calls (us/call):")
    for k, v in med.items():
        print(f"  {k:10s} {v:8.1f}")
    print(f"  drop-in overhead over the engine: {med['dropin'] - med['engine']:.1f} us (inference), "
          f"{med['dropin+bw'] - med['engine+bw']:.1f} us (forward + backward)")


if __name__ == "__main__":
    main()
