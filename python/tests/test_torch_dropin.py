"""recurrent.torch.LSTM/GRU/RNN against torch.nn.LSTM/GRU/RNN (issue 21, acceptance 2).

Each random configuration draws sizes, num_layers, bidirectional, batch_first, bias, proj_size,
nonlinearity, dropout (eval mode, or training mode under one torch seed: the masks must match too),
the input form (padded, PackedSequence sorted or not, unbatched 2-D) and whether h0/c0 are given;
both modules get the same state_dict and input, and a lopsided loss (random weights on every output)
is differentiated. Outputs, h_n/c_n and the gradients of the input, h0/c0 and every parameter must
agree to 1e-5 times the largest element of the reference tensor (or times 1e-2 if that is
smaller): fp32 rounding is relative to the terms a value sums (weights and activations of order
0.1-1), not to the sum, so elementwise relative error is meaningless where a value cancels to ~0
(e.g. a projection to size 1 giving outputs of 2e-4 with 1.4e-8 of rounding).
The configurations are fixed (seeded by class and index); RECURRENT_TEST_CONFIGS=N draws more.
"""
import os
import random

import pytest

torch = pytest.importorskip("torch")
import recurrent.torch as rt  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence  # noqa: E402

N_CONFIGS = int(os.environ.get("RECURRENT_TEST_CONFIGS", "50"))
RTOL = 1e-5
SCALE_FLOOR = 1e-2
PAIRS = {"LSTM": (rt.LSTM, torch.nn.LSTM), "GRU": (rt.GRU, torch.nn.GRU), "RNN": (rt.RNN, torch.nn.RNN)}


def close(name, got, ref, cfg):
    assert got.shape == ref.shape, f"{name}: shape {tuple(got.shape)} vs {tuple(ref.shape)} in {cfg}"
    if ref.numel() == 0:
        return
    diff = (got - ref).abs()
    scale = max(ref.abs().max().item(), SCALE_FLOOR)
    worst = diff.max().item()
    idx = tuple(int(i) for i in torch.nonzero(diff == worst)[0])
    assert worst <= RTOL * scale, (f"{name}: worst |diff| {worst:.3g} at {idx} (got {got[idx].item():.7g}, "
                                   f"ref {ref[idx].item():.7g}), scale {scale:.3g}, in {cfg}")


def draw(kind, i):
    r = random.Random(1000 * ["LSTM", "GRU", "RNN"].index(kind) + i)  # not hash(): salted per process
    cfg = dict(input_size=r.randint(1, 8), hidden_size=r.randint(1, 9), num_layers=r.randint(1, 3),
               bidirectional=r.random() < 0.5, batch_first=r.random() < 0.5, bias=r.random() < 0.8)
    if kind == "LSTM" and r.random() < 0.4 and cfg["hidden_size"] > 1:
        cfg["proj_size"] = r.randint(1, cfg["hidden_size"] - 1)
    if kind == "RNN":
        cfg["nonlinearity"] = r.choice(["tanh", "relu"])
    if cfg["num_layers"] > 1 and r.random() < 0.4:
        cfg["dropout"] = r.choice([0.2, 0.5])
    run = dict(T=r.randint(1, 7), B=r.randint(1, 5), form=r.choice(["padded", "padded", "packed", "packed_sorted", "unbatched"]),
               hx=r.random() < 0.5, train=r.random() < 0.5, seed=r.randint(0, 10**6))
    return cfg, run


def make_input(kind, cfg, run, gen):
    T, B, I = run["T"], run["B"], cfg["input_size"]
    D = 2 if cfg["bidirectional"] else 1
    H = cfg["hidden_size"]
    R = cfg.get("proj_size", 0) or H
    L = cfg["num_layers"]
    unbatched = run["form"] == "unbatched"
    if unbatched:
        x = torch.randn(T, I, generator=gen)
    elif cfg["batch_first"] and run["form"] == "padded":
        x = torch.randn(B, T, I, generator=gen)
    else:
        x = torch.randn(T, B, I, generator=gen)
    lengths = None
    if run["form"].startswith("packed"):
        lengths = torch.randint(1, T + 1, (B,), generator=gen)
        lengths[0] = T
        if run["form"] == "packed_sorted":
            lengths = lengths.sort(descending=True).values
    hx = None
    if run["hx"]:
        shape = (L * D, R) if unbatched else (L * D, B, R)
        hx = [torch.randn(*shape, generator=gen)]
        if kind == "LSTM":
            hx.append(torch.randn(*(shape[:-1] + (H,)), generator=gen))
    return x, lengths, hx


def run_module(m, kind, cfg, run, x, lengths, hx, weights_gen_seed):
    x = x.clone().requires_grad_()
    hx = None if hx is None else [h.clone().requires_grad_() for h in hx]
    inp = x
    if lengths is not None:
        inp = pack_padded_sequence(x, lengths, batch_first=False, enforce_sorted=run["form"] == "packed_sorted")
    h_arg = None if hx is None else (tuple(hx) if kind == "LSTM" else hx[0])
    m.train(run["train"])
    torch.manual_seed(run["seed"])  # dropout masks
    out, state = m(inp, h_arg)
    if lengths is not None:
        out = torch.nn.utils.rnn.pad_packed_sequence(out)[0]
    states = list(state) if kind == "LSTM" else [state]
    g = torch.Generator().manual_seed(weights_gen_seed)
    loss = sum((t * torch.randn(t.shape, generator=g)).sum() for t in [out] + states)
    loss.backward()
    grads = {"input": x.grad}
    for j, h in enumerate(hx or []):
        grads[f"hx[{j}]"] = h.grad
    for n, p in m.named_parameters():
        grads[n] = p.grad
    return out.detach(), [s.detach() for s in states], grads


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("i", range(N_CONFIGS))
def test_matches_torch(kind, i):
    cfg, run = draw(kind, i)
    ours_cls, ref_cls = PAIRS[kind]
    torch.manual_seed(i)
    ref = ref_cls(**cfg)
    ours = ours_cls(**cfg)
    ours.load_state_dict(ref.state_dict())
    gen = torch.Generator().manual_seed(run["seed"])
    x, lengths, hx = make_input(kind, cfg, run, gen)
    where = f"{kind} {cfg} {run}"
    o_ref, s_ref, g_ref = run_module(ref, kind, cfg, run, x, lengths, hx, i)
    o_got, s_got, g_got = run_module(ours, kind, cfg, run, x, lengths, hx, i)
    close("output", o_got, o_ref, where)
    for j, (a, b) in enumerate(zip(s_got, s_ref)):
        close(["h_n", "c_n"][j], a, b, where)
    assert g_got.keys() == g_ref.keys()
    for n in g_ref:
        assert (g_got[n] is None) == (g_ref[n] is None), f"{n}: gradient presence differs in {where}"
        if g_ref[n] is not None:
            close(f"grad {n}", g_got[n], g_ref[n], where)
