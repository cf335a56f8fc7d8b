#!/usr/bin/python3
"""An independent PyTorch (1.13, Debian's python3-torch) re-implementation of `recurrent train forecast`'s
recipe, as a cross-check of the figures in docs/forecast.md: same CSV, chronological split (70/15/15),
normalisation fitted on the training part, rolling-origin windows, direct H-step head on the final
state, MSE loss, Adam, batch, clip, epochs, best epoch by validation MAE, test MAE / MASE (scale: the
in-sample naive one-step MAE of the training part). Initialisation, batch order and float details
differ, so figures agree in size, not digit for digit.

  /usr/bin/python3 bench/forecast/compare_pytorch.py data/sunspots/sunspots.csv SUNACTIVITY \
      --lookback 22 --horizon 10 --cell gru --hidden 64 --lr 1e-3 --batch 16 --epochs 100 --seeds 1 2 3
Univariate, no gaps (sunspots); for checking, not for use.
"""
import argparse
import csv
import math

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("column")
    ap.add_argument("--lookback", type=int, required=True)
    ap.add_argument("--horizon", type=int, required=True)
    ap.add_argument("--cell", default="gru", choices=["gru", "lstm"])
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--season", type=int, default=11)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    a = ap.parse_args()
    torch.set_num_threads(1)

    with open(a.data, newline="") as f:
        rows = list(csv.reader(f))
    ci = [h.strip() for h in rows[0]].index(a.column)
    y = [float(r[ci]) for r in rows[1:] if r]
    n, L, H = len(y), a.lookback, a.horizon
    n_test, n_valid = round(n * 0.15), round(n * 0.15)
    tr_end, va_end = n - n_test - n_valid, n - n_test
    mean = sum(y[:tr_end]) / tr_end
    std = math.sqrt(sum((v - mean) ** 2 for v in y[:tr_end]) / tr_end)
    z = torch.tensor([(v - mean) / std for v in y], dtype=torch.float32)
    scale = sum(abs(y[t] - y[t - 1]) for t in range(1, tr_end)) / (tr_end - 1)

    def origins(lo, hi):
        return [t for t in range(max(lo - 1, L - 1), hi - H)]

    parts = {"train": origins(0, tr_end), "valid": origins(tr_end, va_end), "test": origins(va_end, n)}

    def batch(ts):
        x = torch.stack([z[t - L + 1:t + 1] for t in ts], 1).unsqueeze(-1)  # [L, B, 1]
        tgt = torch.stack([z[t + 1:t + 1 + H] for t in ts], 0)  # [B, H]
        return x, tgt

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            rnn = torch.nn.GRU if a.cell == "gru" else torch.nn.LSTM
            self.rnn = rnn(1, a.hidden)
            self.out = torch.nn.Linear(a.hidden, H)

        def forward(self, x):
            _, h = self.rnn(x)
            h = h[0] if isinstance(h, tuple) else h
            return self.out(h[-1])

    def mae(net, part):
        with torch.no_grad():
            x, t = batch(parts[part])
            return float((net(x) - t).abs().mean()) * std

    for seed in a.seeds:
        torch.manual_seed(seed)
        net = Net()
        opt = torch.optim.Adam(net.parameters(), lr=a.lr)
        best, best_state = math.inf, None
        tr = parts["train"]
        for _ in range(a.epochs):
            perm = torch.randperm(len(tr)).tolist()
            for i in range(0, len(tr), a.batch):
                x, t = batch([tr[j] for j in perm[i:i + a.batch]])
                opt.zero_grad()
                loss = torch.nn.functional.mse_loss(net(x), t)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(net.parameters(), a.clip)
                opt.step()
            v = mae(net, "valid")
            if v < best:
                best, best_state = v, {k: p.clone() for k, p in net.state_dict().items()}
        net.load_state_dict(best_state)
        test = mae(net, "test")
        ts = parts["test"]
        snaive = sum(abs(y[t + h] - y[t + h - a.season * math.ceil(h / a.season)]) for t in ts
                     for h in range(1, H + 1)) / (len(ts) * H)
        print(f"seed {seed}: test MAE {test:.3f}  MASE {test / scale:.3f}  (seasonal naive MASE {snaive / scale:.3f}, "
              f"valid MAE {best:.3f}, {len(ts)} test windows)")


if __name__ == "__main__":
    main()
