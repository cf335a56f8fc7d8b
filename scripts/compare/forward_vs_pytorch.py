#!/usr/bin/python3
"""Reproduce a PyTorch LSTM with `recurrent forward`, from files PyTorch wrote.

A 2-layer bidirectional LSTM with proj_size on a right-padded batch with variable lengths:
PyTorch (Debian's python3-torch 1.13) writes the weights, input, lengths and an output gradient
as safetensors; `recurrent forward` runs the same network and writes output, h_n, c_n and every
gradient of sum(output * grad_output); this script compares both and prints the worst errors.
Exit status 1 if any tensor differs by more than 1e-4 relative + 1e-5 absolute (both float32).

Usage: /usr/bin/python3 scripts/compare/forward_vs_pytorch.py [path/to/recurrent] [workdir]
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
try:
    from write_safetensors import save_file
except ImportError:  # the fixture generator's own writer
    from make_rnn_fixtures import _save_file_fallback as save_file


def load_file(path):
    """Minimal safetensors reader (F32 / I64) returning numpy arrays."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        dt = {"F32": np.float32, "I64": np.int64}[e["dtype"]]
        out[name] = np.frombuffer(data[b:end], dtype=dt).reshape(e["shape"])
    return out


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "build/recurrent"
    work = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="recurrent-forward-")
    torch.manual_seed(0)
    I, H, P, L, T, B = 8, 16, 6, 2, 7, 4
    lstm = torch.nn.LSTM(I, H, num_layers=L, bidirectional=True, proj_size=P)
    x = torch.randn(T, B, I, requires_grad=True)
    lengths = torch.tensor([7, 3, 5, 1])
    out, (h_n, c_n) = lstm(pack_padded_sequence(x, lengths, enforce_sorted=False))
    out, _ = pad_packed_sequence(out, total_length=T)
    dy = torch.randn_like(out)
    (out * dy).sum().backward()

    paths = {k: os.path.join(work, k + ".safetensors") for k in ("W", "X", "L", "DY", "Y")}
    save_file({k: v.detach() for k, v in lstm.state_dict().items()}, paths["W"])
    save_file({"input": x.detach()}, paths["X"])
    save_file({"lengths": lengths}, paths["L"])
    save_file({"grad_output": dy}, paths["DY"])
    cmd = [binary, "forward", "--weights", paths["W"], "--cell", "lstm", "--layers", str(L), "--bidirectional",
           "--proj-size", str(P), "--input", paths["X"], "--lengths", paths["L"], "--output", paths["Y"],
           "--grad-output", paths["DY"]]
    print("$", " ".join(cmd))
    subprocess.run(cmd, check=True)

    ours = load_file(paths["Y"])
    theirs = {"output": out, "h_n": h_n, "c_n": c_n, "input.grad": x.grad}
    theirs.update({k + ".grad": p.grad for k, p in lstm.named_parameters()})
    worst = 0.0
    print(f"{'tensor':28s} {'shape':>14s} {'max |diff|':>12s} {'max rel':>10s}")
    for name, t in theirs.items():
        a, b = ours[name].astype(np.float64), t.detach().numpy().astype(np.float64)
        assert a.shape == b.shape, (name, a.shape, b.shape)
        d = np.abs(a - b)
        rel = float(np.max(d / (1e-5 + 1e-4 * np.abs(b))))
        worst = max(worst, rel)
        print(f"{name:28s} {str(list(a.shape)):>14s} {d.max():12.3e} {float(np.max(d / np.maximum(np.abs(b), 1e-12))):10.2e}")
    print(f"{len(theirs)} tensors compared; worst error is {worst:.3f}x the tolerance (1e-4 rel + 1e-5 abs)")
    sys.exit(0 if worst <= 1.0 else 1)


if __name__ == "__main__":
    main()
