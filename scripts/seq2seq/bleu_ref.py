#!/usr/bin/env python3
"""An independent Python transcription of sacrebleu's corpus BLEU (default settings: 13a
tokenizer, exp smoothing, 4-grams, one reference), used once to produce the oracle values checked
into tests/tasks/test_bleu.cpp, and handy to re-score a run's output:

    bleu_ref.py HYP.txt REF.txt [--lc]     # prints BLEU, the four precisions, BP, lengths
    bleu_ref.py --tok "some text"          # prints the 13a tokenisation
    bleu_ref.py --oracle                   # prints the test oracle values

Standard library only (sacrebleu is not packaged in Debian 12). The regular expressions are the
ones sacrebleu's Tokenizer13a documents (mteval-v13a.pl).
"""
import math
import re
import sys
from collections import Counter

RULES = [
    (re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), r" \1 "),
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),
]


def tok13a(line):
    line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:
        line = line.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    for rx, rep in RULES:
        line = rx.sub(rep, line)
    return " ".join(line.split())


def stats(hyps, refs, lc=False):
    correct, total = [0] * 4, [0] * 4
    hl = rl = 0
    for h, r in zip(hyps, refs):
        if lc:
            h, r = h.lower(), r.lower()
        h, r = tok13a(h).split(), tok13a(r).split()
        hl += len(h)
        rl += len(r)
        for n in range(1, 5):
            hc = Counter(tuple(h[i:i + n]) for i in range(len(h) - n + 1))
            rc = Counter(tuple(r[i:i + n]) for i in range(len(r) - n + 1))
            correct[n - 1] += sum(min(c, rc[g]) for g, c in hc.items())
            total[n - 1] += max(0, len(h) - n + 1)
    return correct, total, hl, rl


def bleu(correct, total, hl, rl):
    prec = [0.0] * 4
    bp = 1.0 if hl >= rl else (math.exp(1 - rl / hl) if hl > 0 else 0.0)
    if not any(correct):
        return 0.0, prec, bp
    smooth = 1.0
    for n in range(4):
        if total[n] == 0:
            break
        if correct[n] == 0:
            smooth *= 2
            prec[n] = 100.0 / (smooth * total[n])
        else:
            prec[n] = 100.0 * correct[n] / total[n]
    score = bp * math.exp(sum(math.log(p) if p > 0 else -9999999999 for p in prec) / 4)
    return score, prec, bp


ORACLE_TOK = ["It costs $3.50, ok.", "e.g. 1990-2000 a.,b", "\u00bfQu\u00e9? \u00a1S\u00ed!", "x&amp;y &lt;z&gt;",
              "don't (stop) [now] {a|b} ~c^d_e`f", "3,000.5 km/h -- 5-6", "tab\there  new-\nline"]
ORACLE_CORPUS = (["the cat sat on the mat", "there is a cat here", "y dijo dios : sea la luz", "a b c"],
                 ["the cat is on the mat", "a cat is here", "y dijo dios : sea la luz : y fue la luz .", "d e f g"])


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "--tok":
        print(tok13a(" ".join(sys.argv[2:])))
    elif len(sys.argv) >= 2 and sys.argv[1] == "--oracle":
        for s in ORACLE_TOK:
            print(repr(s), "->", repr(tok13a(s)))
        c, t, hl, rl = stats(*ORACLE_CORPUS)
        score, prec, bp = bleu(c, t, hl, rl)
        print("corpus", c, t, hl, rl, "BLEU %.10f" % score, ["%.10f" % p for p in prec], "BP %.10f" % bp)
    elif len(sys.argv) >= 3:
        hyps = open(sys.argv[1], encoding="utf-8").read().splitlines()
        refs = open(sys.argv[2], encoding="utf-8").read().splitlines()
        assert len(hyps) == len(refs), f"{len(hyps)} hypotheses, {len(refs)} references"
        c, t, hl, rl = stats(hyps, refs, "--lc" in sys.argv)
        score, prec, bp = bleu(c, t, hl, rl)
        print(f"BLEU {score:.2f}  {'/'.join('%.1f' % p for p in prec)}  BP {bp:.3f}  hyp_len {hl} ref_len {rl}")
    else:
        print(__doc__)
        sys.exit(1)


if __name__ == "__main__":
    main()
