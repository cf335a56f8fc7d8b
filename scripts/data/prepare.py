#!/usr/bin/env python3
"""Preparation steps called by scripts/data/fetch.sh (standard library only).

    prepare.py check-utf8 FILE              exit 1 with the byte offset if FILE is not UTF-8
    prepare.py brown SRC_DIR OUT_DIR        Brown corpus -> {train,valid,test}{.txt,.tags.txt,.genre.txt}
    prepare.py brown-tag DIR                DIR/{split}.txt + .tags.txt -> DIR/tag/{split}.{full,collapsed,np}.conll
    prepare.py statsmodels-series SRC DIR   statsmodels/datasets -> DIR/{nile,elnino,macrodata,elec_equip}.csv
    prepare.py brown-news DIR               DIR/{split}.txt + .genre.txt -> DIR/news/{split}.tsv (news|other)
    prepare.py sentiment IN.json OUT.tsv    [{"text","class"}...] -> label<TAB>text lines

Brown: every non-blank line of the 500 files c[a-r][0-9][0-9] is one sentence of `word/tag`
tokens; the tag is what follows the last '/' (words such as "1/2" contain '/'). The split is by
file: files sorted by name, file i -> test if i % 20 == 19, valid if i % 20 == 18, else train.
{split}.genre.txt holds each sentence's genre (cats.txt: "ca01 news"), line-aligned with {split}.txt.

brown-tag writes CoNLL files (token<TAB>tag, blank line between sentences) for `recurrent train tag`:
  full       the raw Brown tags (472 in all)
  collapsed  collapse_tag(): the first part of a contraction tag ("ppss+md" -> "ppss"), without the
             foreign-word prefix "fw-", the title / headline / cited suffixes "-tl", "-hl", "-nc" and the
             negation suffix "*" of a longer tag ("md*" -> "md"; "*" itself, "not", stays): 92 tags
  np         proper-noun spans in BIO: a maximal run of tokens whose collapsed tag is np, np$, nps or
             nps$ is one span "NP" (B-NP I-NP ...); every other token is O
"""

import csv
import json
import os
import re
import shutil
import sys


def fail(msg):
    print(f"prepare.py: {msg}", file=sys.stderr)
    sys.exit(1)


def check_utf8(path):
    data = open(path, "rb").read()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        fail(f"{path}: invalid UTF-8 at byte offset {e.start}")


def split_of(i):
    return "test" if i % 20 == 19 else "valid" if i % 20 == 18 else "train"


def brown_genres(src):
    genres = {}
    for line in open(os.path.join(src, "cats.txt"), encoding="utf-8"):
        if line.strip():
            f, g = line.split()
            genres[f] = g
    return genres


def brown(src, out):
    files = sorted(f for f in os.listdir(src) if re.fullmatch(r"c[a-r][0-9][0-9]", f))
    if len(files) != 500:
        fail(f"{src}: expected 500 Brown files c[a-r][0-9][0-9], found {len(files)}")
    genres = brown_genres(src)
    missing = [f for f in files if f not in genres]
    if missing:
        fail(f"{src}/cats.txt: no genre for {missing[:3]}")
    sinks = {s: (open(os.path.join(out, s + ".txt"), "w", encoding="utf-8"),
                 open(os.path.join(out, s + ".tags.txt"), "w", encoding="utf-8"),
                 open(os.path.join(out, s + ".genre.txt"), "w", encoding="utf-8"))
             for s in ("train", "valid", "test")}
    for i, f in enumerate(files):
        words_out, tags_out, genre_out = sinks[split_of(i)]
        with open(os.path.join(src, f), encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                tokens = line.split()
                if not tokens:
                    continue
                words, tags = [], []
                for tok in tokens:
                    cut = tok.rfind("/")
                    if cut <= 0 or cut == len(tok) - 1:
                        fail(f"{f}:{lineno}: token '{tok}' is not word/tag")
                    words.append(tok[:cut])
                    tags.append(tok[cut + 1:])
                words_out.write(" ".join(words) + "\n")
                tags_out.write(" ".join(tags) + "\n")
                genre_out.write(genres[f] + "\n")
    for files_out in sinks.values():
        for fh in files_out:
            fh.close()


def collapse_tag(tag):
    t = tag.split("+")[0]
    if t.startswith("fw-"):
        t = t[3:]
    changed = True
    while changed:
        changed = False
        for suf in ("-tl", "-hl", "-nc"):
            if t.endswith(suf):
                t, changed = t[:-len(suf)], True
    if len(t) > 1 and t.endswith("*"):
        t = t[:-1]
    return t


def np_bio(tags):
    out, prev = [], False
    for tag in tags:
        proper = collapse_tag(tag) in ("np", "np$", "nps", "nps$")
        out.append(("I-NP" if prev else "B-NP") if proper else "O")
        prev = proper
    return out


def brown_tag(d):
    os.makedirs(os.path.join(d, "tag"), exist_ok=True)
    for s in ("train", "valid", "test"):
        words = open(os.path.join(d, s + ".txt"), encoding="utf-8").read().splitlines()
        tags = open(os.path.join(d, s + ".tags.txt"), encoding="utf-8").read().splitlines()
        if len(words) != len(tags):
            fail(f"{d}/{s}: {len(words)} sentences but {len(tags)} tag lines")
        outs = {k: open(os.path.join(d, "tag", f"{s}.{k}.conll"), "w", encoding="utf-8")
                for k in ("full", "collapsed", "np")}
        for n, (wl, tl) in enumerate(zip(words, tags), 1):
            w, t = wl.split(), tl.split()
            if len(w) != len(t) or not w:
                fail(f"{d}/{s}.txt:{n}: {len(w)} words but {len(t)} tags")
            for k, ts in (("full", t), ("collapsed", [collapse_tag(x) for x in t]), ("np", np_bio(t))):
                outs[k].write("".join(f"{a}\t{b}\n" for a, b in zip(w, ts)) + "\n")
        for fh in outs.values():
            fh.close()


def brown_news(d):
    """A classification set nobody tuned for: is a Brown sentence from the press reportage files ("news",
    8% of sentences) or from any other genre? The file split of `brown` (no document in two parts)."""
    os.makedirs(os.path.join(d, "news"), exist_ok=True)
    for s in ("train", "valid", "test"):
        words = open(os.path.join(d, s + ".txt"), encoding="utf-8").read().splitlines()
        genres = open(os.path.join(d, s + ".genre.txt"), encoding="utf-8").read().splitlines()
        if len(words) != len(genres):
            fail(f"{d}/{s}: {len(words)} sentences but {len(genres)} genre lines")
        with open(os.path.join(d, "news", s + ".tsv"), "w", encoding="utf-8") as out:
            for w, g in zip(words, genres):
                out.write(("news" if g == "news" else "other") + "\t" + w + "\n")


def statsmodels_series(src, out):
    """More series for the forecaster defaults (docs/defaults.md): Nile (yearly flow), El Nino (monthly sea
    surface temperature, reshaped from one row per year to one per month), US macro data (quarterly real GDP
    and unemployment) and electrical equipment orders (monthly), from statsmodels' datasets folder."""
    os.makedirs(out, exist_ok=True)
    shutil.copy(os.path.join(src, "nile", "nile.csv"), os.path.join(out, "nile.csv"))
    shutil.copy(os.path.join(src, "macrodata", "macrodata.csv"), os.path.join(out, "macrodata.csv"))
    with open(os.path.join(src, "elnino", "elnino.csv"), encoding="utf-8") as f, \
            open(os.path.join(out, "elnino.csv"), "w", encoding="utf-8") as o:
        header = next(csv.reader(f))
        if len(header) != 13 or header[0] != "YEAR":
            fail(f"{src}/elnino/elnino.csv: expected YEAR and 12 month columns, got {header}")
        o.write("month,temp\n")
        for row in csv.reader(f):
            for m, v in enumerate(row[1:], 1):
                o.write(f"{int(float(row[0]))}-{m:02d},{v}\n")
    with open(os.path.join(src, "elec_equip", "elec_equip.csv"), encoding="utf-8") as f, \
            open(os.path.join(out, "elec_equip.csv"), "w", encoding="utf-8") as o:
        next(f)
        o.write("date,orders\n")
        for line in f:
            if line.strip():
                o.write(line.strip() + "\n")


def sentiment(src, dst):
    items = json.load(open(src, encoding="utf-8"))
    if items and items[-1].get("text") == "" and items[-1].get("class") is None:
        items = items[:-1]  # the files end with an empty element
    with open(dst, "w", encoding="utf-8") as out:
        for k, it in enumerate(items):
            label, text = it.get("class"), it.get("text")
            if label not in (0, 1) or not isinstance(text, str) or not text.strip():
                fail(f"{src}: element {k} is not {{text, class 0|1}}: {it!r}")
            out.write(f"{label}\t{' '.join(text.split())}\n")


def main(argv):
    if len(argv) == 2 and argv[0] == "check-utf8":
        check_utf8(argv[1])
    elif len(argv) == 3 and argv[0] == "brown":
        brown(argv[1], argv[2])
    elif len(argv) == 2 and argv[0] == "brown-tag":
        brown_tag(argv[1])
    elif len(argv) == 2 and argv[0] == "brown-news":
        brown_news(argv[1])
    elif len(argv) == 3 and argv[0] == "statsmodels-series":
        statsmodels_series(argv[1], argv[2])
    elif len(argv) == 3 and argv[0] == "sentiment":
        sentiment(argv[1], argv[2])
    else:
        fail(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
