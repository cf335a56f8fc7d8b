#!/usr/bin/env python3
"""Karpathy, Johnson & Fei-Fei 2015 on this project's models, through `recurrent explore`'s endpoints:
which single unit of a character LSTM best follows "inside quotation marks", the position in the
line, and "inside brackets", on held-out text, with its Pearson r; the same unit's r on a second
held-out window (does the finding replicate?); optionally a screenshot of the Cells view.

  /usr/bin/python3 scripts/explore/find_cells.py --bin build/recurrent --model runs/moby \\
      --text data/moby-dick/moby-dick.txt [--window 10000] [--screenshot docs/figures/explore-cells.png]

The two windows are taken from the last 5% of the text (`train lm` holds it out as the test split): the
window with the most opening quotes “ and the last window before it that does not overlap it.
"""
import argparse, json, os, subprocess, sys, tempfile, time, urllib.request


def post(base, path, body):
    r = urllib.request.Request(base + path, data=json.dumps(body).encode(), method='POST',
                               headers={'Content-Type': 'application/json'})
    return json.load(urllib.request.urlopen(r, timeout=600))


def pick_windows(text, n):
    start = int(len(text) * 0.95)  # the test split of train lm
    best, at = -1, start
    for s in range(start, len(text) - n + 1, 500):
        c = text[s:s + n].count('\u201c')
        if c > best:
            best, at = c, s
    other = at - n if at - n >= start else min(at + n, len(text) - n)
    return [at, other]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bin', required=True)
    ap.add_argument('--model', required=True)
    ap.add_argument('--text', required=True)
    ap.add_argument('--window', type=int, default=10000)
    ap.add_argument('--screenshot')
    ap.add_argument('--pattern', default='quotes', help='the pattern whose best unit the screenshot shows')
    a = ap.parse_args()
    text = open(a.text, encoding='utf-8').read()
    windows = pick_windows(text, a.window)
    name = os.path.basename(os.path.normpath(a.model))
    p = subprocess.Popen([a.bin, '--threads', '1', 'explore', a.model, '--port', '0'], stdout=subprocess.PIPE, text=True)
    base = p.stdout.readline().split()[-1]
    results = {}
    try:
        for w in windows:
            t0 = time.time()
            c = post(base, '/api/cells', {'run': name, 'text': text[w:w + a.window]})
            print(f'window [{w}, {w + a.window}) of {a.text}: {text[w:w + a.window].count(chr(0x201c))} '
                  f'opening quotes; activations in {c["seconds"]:.2f} s (gate check {c["gate_check"]:.1e})')
            for pat in ('quotes', 'line', 'brackets'):
                r = post(base, f'/api/cells/{c["id"]}/search', {'pattern': pat, 'kinds': ['c', 'h'], 'top': 5})
                results.setdefault(pat, []).append(r['units'])
                if all(u['r'] == 0 for u in r['units']):
                    print(f'  {pat:9s} (the pattern is constant in this window: no correlation)')
                    continue
                print(f'  {pat:9s}', '  '.join(f'L{u["layer"]} {u["kind"]}[{u["index"]}] r={u["r"]:+.3f}' for u in r['units']))
        print('replication: the best unit of the first window, on the second')
        c2 = post(base, '/api/cells', {'run': name, 'text': text[windows[1]:windows[1] + a.window]})
        for pat, (first, _) in results.items():
            u = first[0]
            if u['r'] == 0:
                continue
            r = post(base, f'/api/cells/{c2["id"]}/search', {'pattern': pat, 'kinds': [u['kind']], 'top': 100})
            same = [x for x in r['units'] if x['layer'] == u['layer'] and x['index'] == u['index']]
            print(f'  {pat:9s} L{u["layer"]} {u["kind"]}[{u["index"]}] r={u["r"]:+.3f} first window, '
                  + (f'r={same[0]["r"]:+.3f} second' if same else 'not among the top 100 on the second'))
    finally:
        p.terminate()
        p.wait(10)
    if a.screenshot:
        w = windows[0]
        with tempfile.NamedTemporaryFile('w', suffix='.txt', delete=False, encoding='utf-8') as f:
            f.write(text[w:w + a.window])
        here = os.path.dirname(os.path.abspath(__file__))
        subprocess.run([sys.executable, os.path.join(here, '..', '..', 'tests', 'explore', 'e2e_browser.py'), '--bin', a.bin,
                        '--shoot', f'/?run={name}&pattern={a.pattern}#cells', '--explore-args', f'{a.model} --text {f.name}',
                        '--out', a.screenshot], check=True)
        os.unlink(f.name)


if __name__ == '__main__':
    main()
