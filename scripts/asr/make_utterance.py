#!/usr/bin/python3
"""Joins FSDD takes of one speaker into a connected-digit WAV (for transcribe demos, the posterior
figure and the real-time-factor measurement), with the digit spans on stdout as a labels.tsv line.

  /usr/bin/python3 scripts/asr/make_utterance.py --digits 31415 --speaker jackson --out u.wav
  /usr/bin/python3 scripts/asr/make_utterance.py --seconds 10 --speaker jackson --out ten.wav

Takes are chosen deterministically (take = (7 * position + 3) % 50 unless --take), joined with --gap
seconds of silence and framed by --edge seconds; light white noise (--snr-db, seeded) over the whole.
"""
import argparse
import random
import sys
import wave

import numpy as np


def read(path):
    with wave.open(path, "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2, path
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768.0, w.getframerate()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/fsdd/recordings")
    ap.add_argument("--speaker", default="jackson")
    ap.add_argument("--digits", default="")
    ap.add_argument("--seconds", type=float, default=0.0, help="instead of --digits: pi's digits until this long")
    ap.add_argument("--take", type=int, default=-1)
    ap.add_argument("--gap", type=float, default=0.15)
    ap.add_argument("--edge", type=float, default=0.1)
    ap.add_argument("--snr-db", type=float, default=35.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    pi = "31415926535897932384626433832795028841971693993751058209749445923078164062862089986280348253421170679"
    digits = a.digits or pi
    rate, parts, spans, pos = 8000, [], [], 0
    parts.append(np.zeros(int(a.edge * 8000)))
    pos = len(parts[0])
    for i, d in enumerate(digits):
        take = a.take if a.take >= 0 else (7 * i + 3) % 50
        x, rate = read(f"{a.data}/{d}_{a.speaker}_{take}.wav")
        if a.seconds and (pos + len(x)) / rate + a.edge > a.seconds:
            break
        parts.append(x)
        spans.append(f"{pos}:{pos + len(x)}")
        pos += len(x)
        gap = np.zeros(int(a.gap * rate))
        parts.append(gap)
        pos += len(gap)
    parts[-1] = np.zeros(int(a.edge * rate))
    y = np.concatenate(parts)
    rng = np.random.default_rng(a.seed)
    rms = np.sqrt(np.mean(np.concatenate(parts[1::2]) ** 2))
    y = y + rng.standard_normal(len(y)) * rms * 10 ** (-a.snr_db / 20)
    y = np.clip(y, -1, 32767 / 32768)
    with wave.open(a.out, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(rate)
        w.writeframes(np.round(y * 32768).astype("<i2").tobytes())
    used = digits[: len(spans)]
    print(f"{a.out}\t{' '.join(used)}\t{a.speaker}\t{','.join(spans)}\t{len(y) / rate:.2f} s")


if __name__ == "__main__":
    main()
