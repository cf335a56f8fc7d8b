#!/usr/bin/env python3
"""Per-phase time of one training step of bench/lm/compare_pytorch.py's moby model (embedding 64, 2x256 LSTM,
decoder to 84 characters, batch 32 x 100, Adam, clip 5) with torch.nn.LSTM or recurrent.torch.LSTM (issue 21).

Random token ids (the step's cost does not depend on the text). Times each phase: embedding, LSTM forward,
decoder + loss, backward (all of it), clip, optimizer step. --clock cpu (process CPU time: on one thread a
measure that a loaded machine disturbs little) or wall. Runs both classes in one process, alternating
--rounds times, and prints the ratio of their total step times.
Usage: PYTHONPATH=<build>/python /usr/bin/python3 scripts/bench/swap_step_phases.py --threads 1 --clock cpu
(compare_pytorch.py runs PyTorch with LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp and
OMP_NUM_THREADS = threads, its best setting; set them the same way to match it.)
"""
import argparse
import statistics
import time

import torch
import torch.nn as nn

import recurrent
import recurrent.torch as rt

PHASES = ("embedding", "lstm forward", "decoder+loss", "backward", "clip", "optimizer", "total")


def run(cls, a, clock):
    torch.manual_seed(a.seed)
    V, E, H, T, B = 84, 64, 256, 100, 32
    emb, rnn, dec = nn.Embedding(V, E), cls(E, H, 2), nn.Linear(H, V)
    params = list(emb.parameters()) + list(rnn.parameters()) + list(dec.parameters())
    opt = torch.optim.Adam(params, lr=2e-3)
    g = torch.Generator().manual_seed(a.seed)
    x, y = torch.randint(0, V, (T, B), generator=g), torch.randint(0, V, (T, B), generator=g)
    acc = dict.fromkeys(PHASES, 0.0)
    state = None
    for s in range(a.warmup + a.steps):
        t = [clock()]
        if state is not None:
            state = tuple(h.detach() for h in state)
        e = emb(x)
        t.append(clock())
        o, state = rnn(e, state)
        t.append(clock())
        loss = nn.functional.cross_entropy(dec(o).reshape(-1, V), y.reshape(-1))
        t.append(clock())
        opt.zero_grad()
        loss.backward()
        t.append(clock())
        nn.utils.clip_grad_norm_(params, 5.0)
        loss.item()
        t.append(clock())
        opt.step()
        t.append(clock())
        if s >= a.warmup:
            for k, d in zip(PHASES, [t[i + 1] - t[i] for i in range(6)] + [t[6] - t[0]]):
                acc[k] += d * 1e3 / a.steps
    return acc, loss.item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--clock", choices=["cpu", "wall"], default="cpu")
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    recurrent.set_num_threads(a.threads)
    clock = time.process_time if a.clock == "cpu" else time.perf_counter
    totals = {"torch.nn.LSTM": [], "recurrent.torch.LSTM": []}
    for r in range(a.rounds):
        for name, cls in (("torch.nn.LSTM", nn.LSTM), ("recurrent.torch.LSTM", rt.LSTM)):
            acc, loss = run(cls, a, clock)
            totals[name].append(acc["total"])
            print(f"round {r + 1} {name:21s} ms/step ({a.clock}, {a.threads} thread(s)): "
                  + "  ".join(f"{k} {v:.1f}" for k, v in acc.items()) + f"  loss {loss:.6f}", flush=True)
    t, o = statistics.median(totals["torch.nn.LSTM"]), statistics.median(totals["recurrent.torch.LSTM"])
    print(f"median step: torch.nn.LSTM {t:.1f} ms, recurrent.torch.LSTM {o:.1f} ms: {t / o:.2f}x")


if __name__ == "__main__":
    main()
