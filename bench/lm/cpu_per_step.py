#!/usr/bin/env python3
"""CPU time per training step of the word-level Brown LM (Zaremba "small"), recurrent vs PyTorch 1.13,
on ONE thread — the comparison that still means something on a loaded machine (COMMON rule: compare
user CPU time, both sides alternately in the same run, several repetitions, median ratio).

    /usr/bin/python3 bench/lm/cpu_per_step.py [--reps 3] [--steps 250] [--warmup 50] [--bin build/recurrent]

recurrent: `train lm` with compare_pytorch.py's exact brown options and --threads 1, run to
--max-steps W and to --max-steps W+S; the difference of the children's user+system CPU time is
the cost of S steps (data loading, vocabulary and model set-up cancel out).
PyTorch: the training step of compare_pytorch.py (same model, loss, clipping, SGD) in a child with
OMP_NUM_THREADS=1 and the OpenMP OpenBLAS; time.process_time() over steps W+1 .. W+S.
Prints tokens per CPU second for each repetition and the median ratio recurrent / torch.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import tempfile
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import compare_pytorch as cp  # noqa: E402

TOKENS_PER_STEP = 20 * 20


def recurrent_cmd(a, steps, out):
    c = cp.TASKS["brown"]
    return [a.bin, "train", "lm", "--data", c["data"], "--level", "word", "--cell", "lstm", "--layers", "2",
            "--hidden", "200", "--embed", "200", "--dropout", "0.0", "--seq-len", "20", "--batch", "20",
            "--optimizer", "sgd", "--lr", "1.0", "--clip", "5.0", "--lr-decay", "0.5", "--eval-batch", "16",
            "--seed", "1", "--threads", "1", "--out", out, "--valid", c["valid"], "--test", c["test"], "--lower",
            "--max-vocab", "10000", "--decay-start", "4", "--init-range", "0.1", "--max-steps", str(steps), "--quiet"]


def child_cpu(cmd, env=None):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, check=True, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def recurrent_tok_per_cpu_s(a):
    out = os.path.join(tempfile.gettempdir(), "cpu_per_step_recurrent")
    subprocess.run(["rm", "-rf", out], check=True)
    short = child_cpu(recurrent_cmd(a, a.warmup, out))
    subprocess.run(["rm", "-rf", out], check=True)
    long = child_cpu(recurrent_cmd(a, a.warmup + a.steps, out))
    return a.steps * TOKENS_PER_STEP / (long - short)


def torch_child(a):
    import torch
    import torch.nn as nn
    torch.set_num_threads(1)
    torch.manual_seed(1)
    c = cp.TASKS["brown"]
    read = lambda p: open(os.path.join(REPO, p), encoding="utf-8").read()
    tr = read(c["data"])
    vocab = cp.build_vocab("word", tr, c)
    index = {t: i for i, t in enumerate(vocab)}
    train = torch.tensor(cp.encode("word", tr, index, True), dtype=torch.long)
    V, T, B = len(vocab), 20, 20

    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(V, 200)
            self.rnn = nn.LSTM(200, 200, 2)
            self.dec = nn.Linear(200, V)
            for p in self.parameters():
                nn.init.uniform_(p, -0.1, 0.1)

        def forward(self, x, state):
            y, state = self.rnn(self.emb(x), state)
            return self.dec(y), state

    model = LM()
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    loss_fn = nn.CrossEntropyLoss()
    state, t0 = None, None
    for i, (x, y) in enumerate(cp_chunks(train, B, T)):
        if i == a.warmup:
            t0 = time.process_time()
        if i == a.warmup + a.steps:
            break
        if state is not None:
            state = tuple(h.detach() for h in state)
        logits, state = model(x, state)
        loss = loss_fn(logits.reshape(-1, V), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
    print(json.dumps({"tok_per_cpu_s": a.steps * TOKENS_PER_STEP / (time.process_time() - t0)}))


def cp_chunks(s, b, t):  # compare_pytorch.py's chunks(), offset 0
    import torch
    L = (len(s) - 1) // b
    flat = s[:b * L + 1]
    base = torch.arange(b) * L
    for k in range(0, L, t):
        n = min(t, L - k)
        pos = base[None, :] + k + torch.arange(n)[:, None]
        yield flat[pos], flat[pos + 1]


def torch_tok_per_cpu_s(a):
    env = dict(os.environ, OMP_NUM_THREADS="1", LD_LIBRARY_PATH="/usr/lib/x86_64-linux-gnu/openblas-openmp")
    r = subprocess.run([sys.executable, os.path.abspath(__file__), "--torch-child", "--steps", str(a.steps),
                        "--warmup", str(a.warmup)], env=env, check=True, stdout=subprocess.PIPE, text=True, cwd=REPO)
    return json.loads(r.stdout.strip().splitlines()[-1])["tok_per_cpu_s"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--steps", type=int, default=250)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--bin", default=os.path.join(REPO, "build", "recurrent"))
    p.add_argument("--only", choices=["recurrent", "torch"])
    p.add_argument("--torch-child", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.torch_child:
        return torch_child(a)
    ratios, rs, ts = [], [], []
    for k in range(a.reps):
        r = recurrent_tok_per_cpu_s(a) if a.only != "torch" else None
        t = torch_tok_per_cpu_s(a) if a.only != "recurrent" else None
        line = f"rep {k + 1}:"
        if r:
            rs.append(r)
            line += f" recurrent {r:.0f} tok/cpu-s"
        if t:
            ts.append(t)
            line += f" torch {t:.0f} tok/cpu-s"
        if r and t:
            ratios.append(r / t)
            line += f" ratio {r / t:.2f}"
        print(line, flush=True)
    if rs:
        print(f"median recurrent {statistics.median(rs):.0f} tok/cpu-s")
    if ts:
        print(f"median torch {statistics.median(ts):.0f} tok/cpu-s")
    if ratios:
        print(f"median ratio recurrent/torch {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
