#!/usr/bin/env python3
"""Side-by-side language-model training: `recurrent train lm` vs PyTorch 1.13, same everything.

    /usr/bin/python3 bench/lm/compare_pytorch.py moby  --budget 30m   # char-level Moby Dick, 2x256 LSTM
    /usr/bin/python3 bench/lm/compare_pytorch.py brown --epochs 13    # word-level Brown, Zaremba "small"
    options: --budget T | --epochs N, --threads 2, --bin build/recurrent, --out runs/bench-lm,
             --only recurrent|torch, --seed 1, --target native|sse4|avx2|avx512,
             --lstm recurrent (the torch side with `from recurrent.torch import LSTM`), --steps N

Both sides use the same data, split, vocabulary rule, architecture, initialisation family,
truncated-BPTT batching (B contiguous rows, chunks of seq_len, state carried, a random offset in
[0, seq_len) each epoch), optimizer, learning rate and decay rule, gradient clipping, time budget
(wall time including the validation after each epoch; checked before every step) and evaluation
(the best-validation model on the test text, 16 contiguous rows, chunks of seq_len, state carried).
Only the random numbers differ (each side has its own generator).

  moby   data/moby-dick/moby-dick.txt, characters (code points; <unk> + sorted training chars),
         contiguous 90/5/5 split; embedding 64, 2-layer LSTM 256, seq 100, batch 32, Adam 2e-3,
         clip 5, lr x0.5 when validation stops improving (ReduceLROnPlateau, patience 0).
  brown  data/brown/{train,valid,test}.txt (scripts/data/fetch.sh brown), words lower-cased, the
         10,000 most frequent (incl. <unk>, <eos>), <eos> after each sentence; Zaremba et al. 2014
         small: embedding 200, 2-layer LSTM 200, seq 20, batch 20, SGD lr 1, x0.5 per epoch from
         epoch 5 on, clip 5, every parameter U(-0.1, 0.1), no dropout.

PyTorch runs in its best 2-thread setting (bench/anchors/README.md): the OpenMP build of OpenBLAS
(LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp) and OMP_NUM_THREADS = --threads;
torch.set_num_threads(--threads). The script re-runs itself in that environment for the torch side.

--target holds both sides to one SIMD target (as scripts/bench/compare_anchors.py --target):
recurrent gets RECURRENT_TARGET=NAME; PyTorch gets ATEN_CPU_CAPABILITY and OPENBLAS_CORETYPE:
native: both unset; sse4: default, Nehalem; avx2: avx2, Haswell; avx512: avx512, SkylakeX. Without
--target the environment is left as it is. Each side's JSON line records the target it ran.
Prints one JSON line per side and a summary table; writes OUT/<task>-{recurrent,torch}.json.

--lstm recurrent swaps only the LSTM class of the PyTorch side for recurrent's drop-in
(recurrent.torch.LSTM, docs/python.md; the package from --python-path, default build/python): same
script, seed, initialisation and batches, so with --steps N the two PyTorch runs' losses after N steps
are comparable (issue 21, acceptance 3). That side is reported as "torch+recurrent".
--lstm both runs the PyTorch side --rounds times with each class, alternating (torch.nn.LSTM first), and
prints the throughput ratio (each round's and the median) and the loss check (training loss after the
last step, same seed and batches: within 1%). --no-eval skips the PyTorch side's validation and test
passes (their losses are then NaN), so a short --steps comparison measures training only:
    /usr/bin/python3 bench/lm/compare_pytorch.py moby --only torch --lstm both --steps 60 --rounds 3 --no-eval
"""
import argparse
import json
import math
import os
import random
import re
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TASKS = {
    "moby": dict(level="char", data="data/moby-dick/moby-dick.txt", valid=None, test=None, lower=False,
                 max_vocab=0, embed=64, hidden=256, layers=2, dropout=0.0, seq_len=100, batch=32,
                 optimizer="adam", lr=2e-3, clip=5.0, decay=0.5, decay_start=0, init_range=0.0),
    "brown": dict(level="word", data="data/brown/train.txt", valid="data/brown/valid.txt",
                  test="data/brown/test.txt", lower=True, max_vocab=10000, embed=200, hidden=200, layers=2,
                  dropout=0.0, seq_len=20, batch=20, optimizer="sgd", lr=1.0, clip=5.0, decay=0.5,
                  decay_start=4, init_range=0.1),
}
EVAL_BATCH = 16
TARGETS = ("native", "sse4", "avx2", "avx512")
# PyTorch's (ATEN_CPU_CAPABILITY, OPENBLAS_CORETYPE) per --target; None: unset.
TORCH_ENV = {"native": (None, None), "sse4": ("default", "Nehalem"), "avx2": ("avx2", "Haswell"),
             "avx512": ("avx512", "SkylakeX")}


def parse_duration(s):
    m = re.fullmatch(r"([0-9.]+)(s|m|h)?", s)
    if not m:
        sys.exit(f"bad duration {s}")
    return float(m.group(1)) * {"s": 1, None: 1, "m": 60, "h": 3600}[m.group(2)]


# ---- recurrent side -----------------------------------------------------------------------------
def run_recurrent(task, a):
    c = TASKS[task]
    out = os.path.join(a.out, f"{task}-recurrent")
    cmd = [a.bin, "train", "lm", "--data", c["data"], "--level", c["level"], "--cell", "lstm",
           "--layers", str(c["layers"]), "--hidden", str(c["hidden"]), "--embed", str(c["embed"]),
           "--dropout", str(c["dropout"]), "--seq-len", str(c["seq_len"]), "--batch", str(c["batch"]),
           "--optimizer", c["optimizer"], "--lr", str(c["lr"]), "--clip", str(c["clip"]),
           "--lr-decay", str(c["decay"]), "--eval-batch", str(EVAL_BATCH), "--seed", str(a.seed),
           "--threads", str(a.threads), "--out", out, "--log-every", "30"]
    if c["valid"]:
        cmd += ["--valid", c["valid"], "--test", c["test"]]
    if c["lower"]:
        cmd += ["--lower"]
    if c["max_vocab"]:
        cmd += ["--max-vocab", str(c["max_vocab"])]
    if c["decay_start"]:
        cmd += ["--decay-start", str(c["decay_start"])]
    if c["init_range"]:
        cmd += ["--init-range", str(c["init_range"])]
    cmd += ["--time-budget", f"{a.budget_s}s"] if a.budget_s else ["--epochs", str(a.epochs or 1000)]
    if a.steps:
        cmd += ["--max-steps", str(a.steps)]
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    env = dict(os.environ)
    if a.target:
        env["RECURRENT_TARGET"] = a.target
        print(f"+ RECURRENT_TARGET={a.target}", file=sys.stderr, flush=True)
    subprocess.run(["rm", "-rf", out], check=True)
    subprocess.run(cmd, check=True, cwd=REPO, env=env)
    r = json.load(open(os.path.join(REPO, out, "results.json")))
    return dict(side="recurrent", task=task, tokens_per_s=r["tokens_per_s"], steps=r["steps"],
                epochs=r["epochs_completed"], train_seconds=r["train_seconds"],
                valid_loss=r["valid"]["loss_nats"], test_loss=r["test"]["loss_nats"], test_tokens=r["test"]["tokens"],
                target=r.get("target") or (f"{a.target} (requested)" if a.target else "?"))


# ---- PyTorch side: the same pipeline ---------------------------------------------------------------
def split_text(text, at_lines):  # as recurrent::data::split_text(text, 0.9, 0.05, at_lines)
    n = len(text)

    def cut(f):
        c = int(n * f)
        if at_lines:
            nl = text.find("\n", c)
            c = n if nl < 0 else nl + 1
        return c
    a = cut(0.9)
    b = max(a, cut(0.9 + 0.05))
    return text[:a], text[a:b], text[b:]


LOWER = {**{c: c.lower() for c in map(chr, range(65, 91))},
         **{chr(c): chr(c + 32) for c in range(0xC0, 0xDF) if c != 0xD7}}


def words(line, lower):
    ws = re.split(r"[ \t\r\v\f\n]+", line)
    ws = [w for w in ws if w]
    return ["".join(LOWER.get(ch, ch) for ch in w) for w in ws] if lower else ws


def build_vocab(level, train, c):
    if level == "char":
        return ["<unk>"] + sorted(set(train))
    counts = {}
    for w in words(train, c["lower"]):
        if w not in ("<unk>", "<eos>"):
            counts[w] = counts.get(w, 0) + 1
    order = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0].encode("utf-8")))
    toks = ["<unk>", "<eos>"]
    for w, n in order:
        if c["max_vocab"] and len(toks) >= c["max_vocab"]:
            break
        toks.append(w)
    return toks


def encode(level, text, index, lower):
    if level == "char":
        return [index.get(ch, 0) for ch in text]
    ids = []
    for line in text.split("\n"):
        ws = words(line, lower)
        if ws:
            ids += [index.get(w, 0) for w in ws] + [1]
    return ids


def run_torch(task, a):
    import torch
    import torch.nn as nn
    lstm_class = nn.LSTM
    if a.lstm == "recurrent":
        sys.path.insert(0, os.path.abspath(a.python_path))
        import recurrent
        import recurrent.torch
        lstm_class = recurrent.torch.LSTM
        recurrent.set_num_threads(a.threads)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rnd = random.Random(a.seed)
    c = TASKS[task]
    read = lambda p: open(os.path.join(REPO, p), encoding="utf-8").read()
    if c["valid"]:
        tr, va, te = read(c["data"]), read(c["valid"]), read(c["test"])
    else:
        tr, va, te = split_text(read(c["data"]), c["level"] == "word")
    vocab = build_vocab(c["level"], tr, c)
    index = {t: i for i, t in enumerate(vocab)}
    enc = lambda t: torch.tensor(encode(c["level"], t, index, c["lower"]), dtype=torch.long)
    train, valid, test = enc(tr), enc(va), enc(te)
    V = len(vocab)

    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(V, c["embed"])
            self.drop = nn.Dropout(c["dropout"])
            self.rnn = lstm_class(c["embed"], c["hidden"], c["layers"], dropout=c["dropout"])
            self.dec = nn.Linear(c["hidden"], V)
            if c["init_range"]:
                for p in self.parameters():
                    nn.init.uniform_(p, -c["init_range"], c["init_range"])

        def forward(self, x, state):
            y, state = self.rnn(self.drop(self.emb(x)), state)
            return self.dec(self.drop(y)), state

    model = LM()
    opt = (torch.optim.Adam(model.parameters(), lr=c["lr"]) if c["optimizer"] == "adam"
           else torch.optim.SGD(model.parameters(), lr=c["lr"]))
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=c["decay"], patience=0)
    loss_fn = nn.CrossEntropyLoss()
    T, B = c["seq_len"], c["batch"]

    def rows(s, b, off):  # [L+1 tokens per row]: rows x (L+1)
        L = (len(s) - off - 1) // b
        return s[off:off + b * L + 1], L

    def chunks(s, b, t, off):
        flat, L = rows(s, b, off)
        base = torch.arange(b) * L
        for k in range(0, L, t):
            n = min(t, L - k)
            pos = base[None, :] + k + torch.arange(n)[:, None]  # [n, b]
            yield flat[pos], flat[pos + 1]

    def evaluate(s):
        model.eval()
        nats, n, state = 0.0, 0, None
        with torch.no_grad():
            b = max(1, min(EVAL_BATCH, len(s) - 1))
            for x, y in chunks(s, b, T, 0):
                logits, state = model(x, state)
                nats += nn.functional.cross_entropy(logits.reshape(-1, V), y.reshape(-1), reduction="sum").item()
                n += y.numel()
        model.train()
        return nats / n, n

    t0 = time.monotonic()
    budget = a.budget_s or float("inf")
    step = tokens = epoch = 0
    train_secs = 0.0
    best = float("inf")
    best_state = None
    offset = rnd.randrange(max(1, min(T, len(train) - B)))
    done = False
    last_loss = float("nan")
    while not done and (a.budget_s or a.steps or epoch < a.epochs):
        if c["decay_start"]:
            for g in opt.param_groups:
                g["lr"] = c["lr"] * c["decay"] ** max(0, epoch + 1 - c["decay_start"])
        state = None
        for x, y in chunks(train, B, T, offset):
            if time.monotonic() - t0 >= budget or (a.steps and step >= a.steps):
                done, elapsed = True, time.monotonic() - t0  # as recurrent: before the final validation
                break
            s0 = time.monotonic()
            if state is not None:
                state = tuple(h.detach() for h in state)
            logits, state = model(x, state)
            loss = loss_fn(logits.reshape(-1, V), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), c["clip"])
            if not (math.isfinite(loss.item()) and math.isfinite(norm.item())):
                sys.exit(f"non-finite loss/gradient at step {step + 1}")
            opt.step()
            last_loss = loss.item()
            train_secs += time.monotonic() - s0
            step += 1
            tokens += y.numel()
            if step % 200 == 0:
                print(f"torch step {step} loss {loss.item():.3f} {tokens / train_secs:.0f} tok/s "
                      f"{time.monotonic() - t0:.0f}s", file=sys.stderr, flush=True)
        vloss, _ = evaluate(valid) if not a.no_eval else (float("nan"), 0)
        print(f"torch epoch {epoch + 1}{' (partial)' if done else ''} valid {vloss:.4f} nats "
              f"lr {opt.param_groups[0]['lr']:.3g}", file=sys.stderr, flush=True)
        if vloss < best or best_state is None:
            best = vloss
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        if done:
            break
        if not c["decay_start"]:
            plateau.step(vloss)
        epoch += 1
        offset = rnd.randrange(max(1, min(T, len(train) - B)))
    if not done:
        elapsed = time.monotonic() - t0
    if a.no_eval:
        vloss = tloss = float("nan")
        tn = 0
    else:
        model.load_state_dict(best_state)
        vloss, _ = evaluate(valid)
        tloss, tn = evaluate(test)
    cap = [l.split(":", 1)[1].strip() for l in torch.__config__.show().splitlines() if "CPU capability usage" in l]
    return dict(side="torch" if a.lstm == "torch" else "torch+recurrent", task=task,
                tokens_per_s=tokens / train_secs, steps=step, epochs=epoch, last_train_loss=last_loss,
                train_seconds=elapsed, valid_loss=vloss, test_loss=tloss, test_tokens=tn,
                torch=torch.__version__, threads=torch.get_num_threads(),
                target=(cap[0] if cap else "?") + " / OpenBLAS " + openblas_core())


def openblas_core():
    try:
        import ctypes
        ob = ctypes.CDLL("libopenblas.so.0")
        ob.openblas_get_corename.restype = ctypes.c_char_p
        return ob.openblas_get_corename().decode()
    except (OSError, AttributeError):
        return "?"


def summary(rs):
    print(f"\n{'side':10} {'tokens/s':>10} {'steps':>7} {'epochs':>6} {'seconds':>8} {'valid':>9} {'test':>9}  target")
    for r in rs:
        unit = (lambda l: f"{l / math.log(2):.3f} bpc") if r["task"] == "moby" else (lambda l: f"ppl {math.exp(l):.1f}")
        print(f"{r['side']:10} {r['tokens_per_s']:10.0f} {r['steps']:7d} {r['epochs']:6d} {r['train_seconds']:8.0f} "
              f"{unit(r['valid_loss']):>9} {unit(r['test_loss']):>9}  {r.get('target', '?')}")
    if len(rs) == 2 and rs[0]["side"] == "recurrent":
        print(f"throughput ratio recurrent/torch: {rs[0]['tokens_per_s'] / rs[1]['tokens_per_s']:.2f}x")


def swap_summary(pairs):
    """--lstm both: each round's torch.nn.LSTM and recurrent.torch.LSTM runs, the ratio, the loss check."""
    ratios = []
    for i, (t, r) in enumerate(pairs):
        ratios.append(r["tokens_per_s"] / t["tokens_per_s"])
        print(f"round {i + 1}: torch.nn.LSTM {t['tokens_per_s']:.0f} chars/s, recurrent.torch.LSTM "
              f"{r['tokens_per_s']:.0f} chars/s: {ratios[-1]:.2f}x")
    ratios.sort()
    print(f"import swap, median of {len(ratios)} round(s): {ratios[len(ratios) // 2]:.2f}x torch.nn.LSTM's "
          f"throughput (issue 21: >= 1.5x)")
    t, r = pairs[-1]
    rel = abs(r["last_train_loss"] - t["last_train_loss"]) / abs(t["last_train_loss"])
    print(f"loss check after {t['steps']} steps: torch.nn.LSTM {t['last_train_loss']:.6f}, recurrent.torch.LSTM "
          f"{r['last_train_loss']:.6f}, relative difference {rel:.2e} ({'within' if rel <= 0.01 else 'NOT within'} 1%)")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("task", choices=sorted(TASKS))
    p.add_argument("--budget", help="wall time per side (90s, 5m, 30m)")
    p.add_argument("--epochs", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--bin", default=os.path.join(REPO, "build", "recurrent"))
    p.add_argument("--out", default="runs/bench-lm")
    p.add_argument("--only", choices=["recurrent", "torch"])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--target", choices=TARGETS, default=None,
                   help="SIMD target for both sides: RECURRENT_TARGET for recurrent, ATEN_CPU_CAPABILITY and "
                        "OPENBLAS_CORETYPE for PyTorch (default: the environment as it is)")
    p.add_argument("--lstm", choices=["torch", "recurrent", "both"], default="torch",
                   help="the torch side's LSTM: torch.nn.LSTM or recurrent.torch.LSTM (the one-line swap), or "
                        "both, alternating --rounds times, with the ratio and the loss check")
    p.add_argument("--rounds", type=int, default=1, help="with --lstm both: pairs of runs, alternating")
    p.add_argument("--no-eval", action="store_true", help="PyTorch side: no validation / test passes")
    p.add_argument("--python-path", default=os.path.join(REPO, "build", "python"),
                   help="where the recurrent Python package is (with --lstm recurrent)")
    p.add_argument("--steps", type=int, default=0, help="stop each side after N training steps")
    p.add_argument("--torch-child", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    a.budget_s = parse_duration(a.budget) if a.budget else 0
    if not a.budget_s and not a.epochs and not a.steps:
        a.epochs = 13 if a.task == "brown" else 10
    os.chdir(REPO)
    os.makedirs(a.out, exist_ok=True)
    if a.torch_child:
        print(json.dumps(run_torch(a.task, a)))
        return
    results = []
    if a.only != "torch":
        r = run_recurrent(a.task, a)
        print(json.dumps(r), flush=True)
        results.append(r)
    if a.only != "recurrent":
        env = dict(os.environ, OMP_NUM_THREADS=str(a.threads),
                   LD_LIBRARY_PATH="/usr/lib/x86_64-linux-gnu/openblas-openmp")
        if a.target:
            for k, v in zip(("ATEN_CPU_CAPABILITY", "OPENBLAS_CORETYPE"), TORCH_ENV[a.target]):
                if v is None:
                    env.pop(k, None)
                else:
                    env[k] = v
            print(f"+ torch side: ATEN_CPU_CAPABILITY={env.get('ATEN_CPU_CAPABILITY', '(unset)')} "
                  f"OPENBLAS_CORETYPE={env.get('OPENBLAS_CORETYPE', '(unset)')}", file=sys.stderr, flush=True)
        def child(lstm):
            out = subprocess.run([sys.executable, os.path.abspath(__file__)] + sys.argv[1:] +
                                 ["--lstm", lstm, "--torch-child"], env=env, check=True, stdout=subprocess.PIPE,
                                 text=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(json.dumps(r), flush=True)
            return r
        if a.lstm == "both":
            pairs = [(child("torch"), child("recurrent")) for _ in range(max(1, a.rounds))]
            results += list(pairs[-1])
        else:
            results.append(child(a.lstm))
    for r in results:
        json.dump(r, open(os.path.join(a.out, f"{a.task}-{r['side']}.json"), "w"), indent=2)
    summary(results)
    if a.only != "recurrent" and a.lstm == "both":
        swap_summary(pairs)


if __name__ == "__main__":
    main()
