#!/usr/bin/python3
"""Bag-of-n-grams baseline for bench/classify/sentiment.sh (context for the RNN figures).

fastText-style (Joulin et al. 2017, "Bag of Tricks for Efficient Text Classification"): a sentence is
the MEAN of its unigram and bigram vectors, followed by a linear softmax layer. Without a hidden
bottleneck that is multinomial logistic regression on the length-normalised n-gram counts, which we
train here full-batch (Adam, 300 steps, L2 weight decay chosen on the validation fold from a small grid).
Tokens as `recurrent train classify` makes them (lower-cased words with inner apostrophes, each other
printable ASCII character a token); n-grams seen in the training part only.

Same protocol as the RNN: item i of a domain is in fold i % K; fold f is test, fold f-1 validation,
the rest training (in-domain, K folds, the mean over folds reported); cross-domain: train on two
domains (validation: items i % 10 == 8 of their concatenation), test on all of the third.

  bench/classify/bow_baseline.py DATA_DIR/sentiment [K]   → prints one JSON line per setting
"""
import json
import re
import sys

import numpy as np

TOKEN = re.compile(r"[A-Za-z0-9\u0080-\U0010ffff]+(?:'[A-Za-z0-9\u0080-\U0010ffff]+)*|[!-~]")


def tokens(text):
    return TOKEN.findall(text.lower())


def ngrams(text):
    t = tokens(text) or ["<unk>"]
    return t + [a + " " + b for a, b in zip(t, t[1:])]


def read(path):
    items = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                label, text = line.rstrip("\n").split("\t", 1)
                items.append((label, text))
    return items


class Sparse:
    """Rows of length-normalised n-gram counts as (row, col, value) triples: x[r, c] = count / n_r."""

    def __init__(self, items, index):
        rows, cols, vals = [], [], []
        for i, (_, text) in enumerate(items):
            g = [index[n] for n in ngrams(text) if n in index]
            rows += [i] * len(g)
            cols += g
            vals += [1.0 / len(g)] * len(g)
        self.n, self.rows, self.cols, self.vals = len(items), np.array(rows, int), np.array(cols, int), np.array(vals)

    def matmul(self, w):  # x @ w: [n, C]
        out = np.zeros((self.n, w.shape[1]))
        for c in range(w.shape[1]):
            out[:, c] = np.bincount(self.rows, weights=self.vals * w[self.cols, c], minlength=self.n)
        return out

    def tmatmul(self, g, V):  # x.T @ g: [V, C]
        out = np.zeros((V, g.shape[1]))
        for c in range(g.shape[1]):
            out[:, c] = np.bincount(self.cols, weights=self.vals * g[self.rows, c], minlength=V)
        return out


def fit(x, V, y, classes, wd, steps=300, lr=0.05):
    w = np.zeros((V, classes))
    b = np.zeros(classes)
    m = [np.zeros_like(w), np.zeros_like(b)]
    v = [np.zeros_like(w), np.zeros_like(b)]
    onehot = np.eye(classes)[y]
    for t in range(1, steps + 1):
        z = x.matmul(w) + b
        z -= z.max(1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(1, keepdims=True)
        g = (p - onehot) / len(y)
        grads = [x.tmatmul(g, V) + wd * w, g.sum(0)]
        for k, (param, gr) in enumerate(zip((w, b), grads)):
            m[k] = 0.9 * m[k] + 0.1 * gr
            v[k] = 0.999 * v[k] + 0.001 * gr * gr
            param -= lr * (m[k] / (1 - 0.9 ** t)) / (np.sqrt(v[k] / (1 - 0.999 ** t)) + 1e-8)
    return w, b


def run(train, valid, test):
    labels = sorted({l for l, _ in train})
    lid = {l: i for i, l in enumerate(labels)}
    index = {}
    for _, text in train:
        for n in ngrams(text):
            index.setdefault(n, len(index))
    xs = [Sparse(s, index) for s in (train, valid, test)]
    ys = [np.array([lid[l] for l, _ in s]) for s in (train, valid, test)]
    best = None
    for wd in (1e-4, 1e-3, 1e-2):  # chosen on validation only
        w, b = fit(xs[0], len(index), ys[0], len(labels), wd)
        acc = float(((xs[1].matmul(w) + b).argmax(1) == ys[1]).mean())
        if best is None or acc > best[0]:
            best = (acc, w, b)
    _, w, b = best
    return float(((xs[2].matmul(w) + b).argmax(1) == ys[2]).mean())


def split(items, k, f):
    vf = (f + k - 1) % k
    test = [it for i, it in enumerate(items) if i % k == f]
    valid = [it for i, it in enumerate(items) if i % k == vf]
    train = [it for i, it in enumerate(items) if i % k not in (f, vf)]
    return train, valid, test


def main():
    d = sys.argv[1]
    k = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    doms = ("amazon", "imdb", "yelp")
    data = {n: read(f"{d}/{n}.tsv") for n in doms}
    for n in doms:
        accs = [run(*split(data[n], k, f)) for f in range(k)]
        print(json.dumps({"setting": "in-domain " + n, "folds": k, "accuracy": float(np.mean(accs)),
                          "fold_accuracies": accs}), flush=True)
    for n in doms:
        both = [it for o in doms if o != n for it in data[o]]
        train = [it for i, it in enumerate(both) if i % 10 != 8]
        valid = [it for i, it in enumerate(both) if i % 10 == 8]
        print(json.dumps({"setting": "cross-domain -> " + n, "accuracy": run(train, valid, data[n])}), flush=True)


if __name__ == "__main__":
    main()
