#!/usr/bin/env python3
"""Per-call overhead of recurrent's Python layers at B = 1, T = 1 (issue 21, acceptance 3).

Times (CPU time), interleaved, the median of --reps rounds of --calls calls each, for one LSTM layer:
  c++      the engine called from C++ in a loop (RNN._time_infer: rnn.forward without a tape, no Python)
  c++touch the same, reading --touch-kb KB of another buffer between calls (those reads' own time
           subtracted): what any caller's own work between calls costs the engine through the caches
           (LSTM 64 -> 256: the packed weights, 1.3 MB, are about the size of a core's L2)
  engine   recurrent.RNN.infer on NumPy arrays (the extension: argument conversion + compute)
  dropin   recurrent.torch.LSTM, grad mode off (module call, checks, parameter binding, tensors)
  torch    torch.nn.LSTM, grad mode off
and the same with a tape and backward (requires_grad input). dropin - c++ is the Python layer's
overhead per inference call (issue 21: <= 20 us; the script prints the verdict, --limit); dropin - engine the
drop-in's share of it. The drop-in's inference call runs in C (python/src/torch_fast.cpp) from its second call.
Usage: PYTHONPATH=<build>/python /usr/bin/python3 scripts/bench/python_overhead.py
"""
import argparse
import statistics
import time

import numpy as np
import torch

import recurrent
import recurrent.torch as rt


def per_call(fn, calls, grad=True):
    # CPU time of this process, not wall time: on a shared machine the wall clock mostly measures
    # the scheduler (every case runs on one thread, so CPU time is that thread's time). Inference cases
    # run the whole loop under one torch.no_grad(), as an inference loop would (entering no_grad costs a
    # few us of its own, which is the caller's, not the layer's).
    with torch.set_grad_enabled(grad):
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
    ap.add_argument("--touch-kb", type=int, default=16)
    ap.add_argument("--limit", type=float, default=20.0, help="issue 21's bound on dropin - c++, us")
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
        ours(x)

    def tor():
        ref(x)

    def dropin_bw():
        ours(xg)[0].sum().backward()

    def tor_bw():
        ref(xg)[0].sum().backward()

    def eng_bw():
        f = eng.forward(xn, requires_grad=True)
        f.backward(grad_output=np.ones_like(f.output))

    def cpp():  # the same calls made from C++: per_call's loop of one call that times `calls` calls itself
        cpp.last = eng._time_infer(xn, a.calls)

    def cpp_touch():
        cpp_touch.last = eng._time_infer(xn, a.calls, a.touch_kb * 1024)

    cases = {"c++": cpp, "c++touch": cpp_touch, "engine": lambda: eng.infer(xn), "dropin": dropin, "torch": tor,
             "engine+bw": eng_bw, "dropin+bw": dropin_bw, "torch+bw": tor_bw}
    times = {k: [] for k in cases}
    for k, fn in cases.items():
        per_call(fn, 1 if k.startswith("c++") else a.calls // 10, grad=k.endswith("+bw"))  # warm up
    for _ in range(a.reps):
        for k, fn in cases.items():
            if k.startswith("c++"):
                fn()
                times[k].append(fn.last)
            else:
                times[k].append(per_call(fn, a.calls, grad=k.endswith("+bw")))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"LSTM {a.input}->{a.hidden}, B=1, T=1, {a.threads} thread(s), median of {a.reps} x {a.calls} calls (us/call):")
    for k, v in med.items():
        print(f"  {k:10s} {v:8.1f}")
    print(f"  Python layer's overhead per inference call (dropin - c++): {med['dropin'] - med['c++']:.1f} us, "
          f"of which the drop-in over recurrent.RNN (dropin - engine): {med['dropin'] - med['engine']:.1f} us")
    print(f"  over the engine called from C++ reading {a.touch_kb} KB between calls (dropin - c++touch): "
          f"{med['dropin'] - med['c++touch']:.1f} us; those reads cost the engine {med['c++touch'] - med['c++']:.1f} us a call")
    print(f"  forward + backward, drop-in over recurrent.RNN: {med['dropin+bw'] - med['engine+bw']:.1f} us")
    over = med['dropin'] - med['c++']
    print(f"issue 21 acceptance 3, the Python layer's per-call overhead at B = 1, T = 1 <= {a.limit:g} us: "
          f"{'met' if over <= a.limit else 'NOT met'} ({over:.1f} us, LSTM {a.input}->{a.hidden}, {a.threads} thread(s))")


if __name__ == "__main__":
    main()
