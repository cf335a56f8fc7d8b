#!/usr/bin/env python3
"""KJV English <-> Reina-Valera 1909 Spanish verse pairs (called by scripts/data/fetch.sh bible-es).

    prepare_bible.py KJV.imp RV.imp OUT_DIR

Inputs: `mod2imp engKJV2006eb -s` and `mod2imp spaRV1909eb -s` (SWORD's import format: a line
`$$$Book C:V` opens each entry; the entry's text follows on the next lines). Standard library only.

Cleaning (the -s output is nearly plain text; what is left of the markup):
  * KJV: the pilcrow paragraph mark "¶", USFM divine-name markers "\\nd ", the brackets of "[but]";
  * RV 1909: Strong's numbers left inline as "<G1968>" / "<H3967>";
  * whitespace runs -> one space, stripped.
Entries kept: keys "Book C:V" with C, V >= 1 and non-empty text in BOTH modules (31,084 pairs; the
18 KJV verses the RV module lacks, e.g. Job 40:20-24 folded into neighbours, are dropped).

Split by book (the 66 books in canonical order, index i = 0 .. 65):
  test  if i % 11 == 10: I Kings, Song of Solomon, Micah, Acts, II Timothy, Revelation  (2,531 pairs)
  valid if i % 11 == 5:  Joshua, Esther, Hosea, Malachi, Philippians, II Peter          (1,241 pairs)
  train otherwise (54 books, 27,312 pairs).
Output: OUT_DIR/{train,valid,test}.tsv, one `english<TAB>spanish` line per verse in canonical
order, and OUT_DIR/books.txt (book, split, verses).
"""

import os
import re
import sys

KEY = re.compile(r"^(.+) (\d+):(\d+)$")


def fail(msg):
    print(f"prepare_bible.py: {msg}", file=sys.stderr)
    sys.exit(1)


def read_imp(path):
    """-> (dict key -> raw text, list of book names in order of first appearance)."""
    entries, books, key, buf = {}, [], None, []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("$$$"):
                if key is not None:
                    entries[key] = "\n".join(buf)
                key, buf = line[3:], []
                m = KEY.match(key)
                if m and m.group(1) not in books:
                    books.append(m.group(1))
            else:
                buf.append(line)
    if key is not None:
        entries[key] = "\n".join(buf)
    return entries, books


STRONGS = re.compile(r"<[GH]\d+>")


def clean(text):
    text = text.replace("\u00b6", " ").replace("\\nd ", "").replace("[", "").replace("]", "")
    text = STRONGS.sub(" ", text)
    return " ".join(text.split())


def split_of(i):
    return "test" if i % 11 == 10 else "valid" if i % 11 == 5 else "train"


def main():
    if len(sys.argv) != 4:
        fail("usage: prepare_bible.py KJV.imp RV.imp OUT_DIR")
    kjv, books = read_imp(sys.argv[1])
    rv, rv_books = read_imp(sys.argv[2])
    if len(books) != 66 or books != rv_books:
        fail(f"expected the same 66 books in both modules, got {len(books)} and {len(rv_books)}")
    out = sys.argv[3]
    sinks = {s: open(os.path.join(out, s + ".tsv"), "w", encoding="utf-8") for s in ("train", "valid", "test")}
    counts = {b: 0 for b in books}
    for key, raw in kjv.items():
        m = KEY.match(key)
        if not m or int(m.group(2)) < 1 or int(m.group(3)) < 1 or key not in rv:
            continue
        en, es = clean(raw), clean(rv[key])
        if not en or not es:
            continue
        if "\t" in en + es or "<" in en + es or "\\" in en + es:
            fail(f"{key}: markup left after cleaning: {en!r} / {es!r}")
        sinks[split_of(books.index(m.group(1)))].write(f"{en}\t{es}\n")
        counts[m.group(1)] += 1
    for f in sinks.values():
        f.close()
    with open(os.path.join(out, "books.txt"), "w", encoding="utf-8") as f:
        for i, b in enumerate(books):
            f.write(f"{b}\t{split_of(i)}\t{counts[b]}\n")


if __name__ == "__main__":
    main()
