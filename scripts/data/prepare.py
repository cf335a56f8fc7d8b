#!/usr/bin/env python3
"""Preparation steps called by scripts/data/fetch.sh (standard library only).

    prepare.py check-utf8 FILE              exit 1 with the byte offset if FILE is not UTF-8
    prepare.py brown SRC_DIR OUT_DIR        Brown corpus -> {train,valid,test}{.txt,.tags.txt}
    prepare.py sentiment IN.json OUT.tsv    [{"text","class"}...] -> label<TAB>text lines

Brown: every non-blank line of the 500 files c[a-r][0-9][0-9] is one sentence of `word/tag`
tokens; the tag is what follows the last '/' (words such as "1/2" contain '/'). The split is by
file: files sorted by name, file i -> test if i % 20 == 19, valid if i % 20 == 18, else train.
"""

import json
import os
import re
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


def brown(src, out):
    files = sorted(f for f in os.listdir(src) if re.fullmatch(r"c[a-r][0-9][0-9]", f))
    if len(files) != 500:
        fail(f"{src}: expected 500 Brown files c[a-r][0-9][0-9], found {len(files)}")
    sinks = {s: (open(os.path.join(out, s + ".txt"), "w", encoding="utf-8"),
                 open(os.path.join(out, s + ".tags.txt"), "w", encoding="utf-8"))
             for s in ("train", "valid", "test")}
    for i, f in enumerate(files):
        words_out, tags_out = sinks[split_of(i)]
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
    for a, b in sinks.values():
        a.close()
        b.close()


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
    elif len(argv) == 3 and argv[0] == "sentiment":
        sentiment(argv[1], argv[2])
    else:
        fail(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
