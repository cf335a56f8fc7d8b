#!/usr/bin/env python3
"""Issue 30 acceptance 1: every view of `recurrent explore` that applies to a model kind works on the
README's models. Trains each configuration of the README's tour with a short budget (the views do not
depend on how well a model is trained), starts the explorer over all of them, and calls each view's
endpoints the way the page does (docs/explore.md); a view that does not apply must be refused with a
4xx and one line. Prints one row per run and view; exits 1 if any fails.

  /usr/bin/python3 scripts/explore/check_readme_models.py --bin build/recurrent --data data [--runs DIR] [--only a,b]
"""
import argparse, json, os, shutil, subprocess, sys, tempfile, urllib.error, urllib.request

MOBY = 'moby-dick/moby-dick.txt'
# name, the README's train arguments (budget cut to a few steps or 2 epochs), views that apply (an ESN
# run writes no metrics.csv: no view applies; the explorer lists it and refuses each view with one line)
RUNS = [
    ('yelp', ['classify', '--data', 'sentiment/yelp.tsv', '--max-steps', '5'], ['runs']),
    ('moby', ['lm', '--data', MOBY, '--level', 'char', '--cell', 'lstm', '--layers', '2', '--hidden', '256', '--seq-len', '100',
              '--batch', '32', '--optimizer', 'adam', '--lr', '2e-3', '--clip', '5', '--max-steps', '5'], ['runs', 'cells', 'samples']),
    ('moby-gru', ['lm', '--data', MOBY, '--level', 'char', '--cell', 'gru', '--layers', '2', '--hidden', '128', '--max-steps', '5'],
     ['runs', 'cells', 'samples']),
    ('moby-words', ['lm', '--data', MOBY, '--level', 'word', '--max-steps', '5'], ['runs', 'samples']),
    ('tf', ['lm', '--arch', 'transformer', '--layers', '4', '--heads', '4', '--d-model', '128', '--ff', '576', '--context', '128',
            '--warmup', '100', '--lr', '1e-3', '--data', MOBY, '--max-steps', '5'], ['runs', 'samples', 'attention']),
    ('diag', ['lm', '--data', MOBY, '--diagnostics', '2', '--max-steps', '5'], ['runs', 'grad', 'cells', 'samples']),
    ('pos', ['tag', '--data', 'brown/tag/train.collapsed.conll', '--valid', 'brown/tag/valid.collapsed.conll', '--cell', 'lstm',
             '--bidirectional', '--hidden', '128', '--max-steps', '5'], ['runs']),
    ('genre', ['condlm', '--data', 'GENRE', '--lower', '--max-vocab', '5000', '--max-steps', '5'], ['runs']),
    ('sun', ['forecast', '--data', 'sunspots/sunspots.csv', '--column', 'SUNACTIVITY', '--epochs', '2'], ['runs']),
    ('sun10', ['forecast', '--data', 'sunspots/sunspots.csv', '--column', 'SUNACTIVITY', '--time-column', 'YEAR', '--lookback', '22',
               '--horizon', '10', '--season', '11', '--cell', 'gru', '--hidden', '64', '--epochs', '2'], ['runs']),
    ('esn-sun', ['esn', '--data', 'sunspots/sunspots.csv', '--column', 'SUNACTIVITY', '--time-column', 'YEAR', '--reservoir', '50',
                 '--spectral-radius', '0.9', '--leak', '0.5', '--input-scale', '0.5', '--ridge', '1', '--washout', '20', '--horizon', '10'], []),
    ('jsb', ['music', '--data', 'jsb-chorales/jsb-chorales-quarter.json', '--cell', 'gru', '--hidden', '41', '--epochs', '2'], ['runs']),
    ('digits', ['asr', '--data', 'fsdd', '--isolated', '--speakers-test', 'jackson', '--cell', 'gru', '--hidden', '64', '--layers', '2',
                '--bidirectional', '--spec-augment', '--dropout', '0.2', '--max-steps', '3'], ['runs']),
    ('asr-bi', ['asr', '--data', 'fsdd', '--speakers-test', 'jackson', '--cell', 'lstm', '--hidden', '96', '--layers', '2',
                '--bidirectional', '--stack', '3', '--spec-augment', '--max-steps', '3'], ['runs']),
    ('s2s', ['seq2seq', '--data', 'bible/train.tsv', '--valid', 'bible/valid.tsv', '--attention', 'bahdanau', '--bidirectional',
             '--hidden', '256', '--max-steps', '5'], ['runs', 'attention']),
    ('s2s-tf', ['seq2seq', '--arch', 'transformer', '--layers', '2', '--heads', '4', '--d-model', '192', '--ff', '768', '--warmup', '200',
                '--data', 'bible/train.tsv', '--valid', 'bible/valid.tsv', '--max-steps', '5'], ['runs', 'attention']),
]
VIEWS = ['runs', 'grad', 'cells', 'samples', 'attention']
TEXT = '"Call me Ishmael," he said. Some years ago (never mind how long precisely)\nhaving little or no money in my purse.'


def call(base, path, body=None):
    req = urllib.request.Request(base + path, data=None if body is None else json.dumps(body).encode(),
                                 headers={'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(req, timeout=300) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def view(base, name, v):
    """(status, what it showed or the refusal's line)."""
    if v == 'runs':
        s, j = call(base, f'/api/runs/{name}/metrics')
        return s, f'{len(j["rows"])} metrics rows' if s == 200 else j['error']
    if v == 'grad':
        s, j = call(base, f'/api/runs/{name}/diagnostics')
        return s, f'{len(j["steps"])} probed steps, {len(j["steps"][0]["layers"])} layers' if s == 200 else j['error']
    if v == 'cells':
        s, j = call(base, '/api/cells', {'run': name, 'text': TEXT})
        if s != 200:
            return s, j['error']
        s2, k = call(base, f'/api/cells/{j["id"]}/search', {'pattern': 'quotes'})
        kinds = '/'.join(','.join(l['kinds']) for l in j['layers'])
        return s2, f'{len(j["chars"])} chars, layers {kinds}, top unit r={k["units"][0]["r"]:.2f}' if s2 == 200 else k['error']
    if v == 'samples':
        s, j = call(base, '/api/sample', {'run': name, 'prime': 'Call me', 'length': 20, 'seed': 1})
        return s, f'{len(j["tokens"])} tokens' if s == 200 else j['error']
    s, j = call(base, '/api/attention', {'run': name, 'text': 'In the beginning God created the heaven', 'beam': 3})
    if s != 200:
        return s, j['error']
    if 'maps' in j:
        return s, f'{len(j["maps"])} maps x {len(j["maps"][0]["heads"])} heads'
    r = j['results']
    return s, f'{len(r)} decodings' + (f', {len(r[0]["maps"])} maps x {len(r[0]["maps"][0]["heads"])} heads each' if 'maps' in r[0]
                                       else f', {len(r[0]["attention"])} x {len(j["source"])} weights')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bin', required=True)
    ap.add_argument('--data', required=True, help='the data folder (scripts/data/fetch.sh)')
    ap.add_argument('--keep', action='store_true')
    ap.add_argument('--only', help='comma-separated run names')
    ap.add_argument('--runs', help='train into this folder, keeping it (runs already there are not trained again)')
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix='recurrent-explore-models-')
    runs = a.runs or os.path.join(work, 'runs')
    genre = os.path.join(work, 'genre.tsv')
    with open(genre, 'w') as f:  # README: paste data/brown/train.genre.txt data/brown/train.txt > genre.tsv
        for g, t in zip(open(os.path.join(a.data, 'brown/train.genre.txt')), open(os.path.join(a.data, 'brown/train.txt'))):
            f.write(g.rstrip('\n') + '\t' + t)
    todo = [r for r in RUNS if not a.only or r[0] in a.only.split(',')]
    for name, args, _ in todo:
        if os.path.isdir(os.path.join(runs, name)):
            continue
        args = [genre if x == 'GENRE' else os.path.join(a.data, x) if x.startswith(('sentiment/', 'moby-dick/', 'brown/', 'sunspots/',
                'jsb-chorales/', 'bible/')) or x == 'fsdd' else x for x in args]
        cmd = [a.bin, '--threads', '1', 'train'] + args + ['--quiet', '--out', os.path.join(runs, name)]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        print(f'trained {name}: exit {r.returncode}' + ('' if r.returncode == 0 else ': ' + r.stdout[-300:]), flush=True)
    p = subprocess.Popen([a.bin, '--threads', '1', 'explore', runs, '--port', '0', '--warm', '0'], stdout=subprocess.PIPE, text=True)
    base = p.stdout.readline().split()[-1].rstrip('/')
    bad = 0
    try:
        listed = {r['name']: r for r in call(base, '/api/runs')[1]['runs']}
        print(f'| run | {" | ".join(VIEWS)} |\n|---|' + '---|' * len(VIEWS))
        for name, _, applies in todo:
            cells = []
            for v in VIEWS:
                s, what = view(base, name, v)
                ok = (s == 200) if v in applies else (400 <= s < 500)
                bad += not ok
                cells.append(('' if ok else 'FAIL ') + (what if s == 200 else f'refused {s}: {what}'))
            print(f'| {name} ({"model" if listed.get(name, {}).get("model") else "no model"}) | ' + ' | '.join(cells) + ' |', flush=True)
        print('explorer still running:', p.poll() is None)
        bad += p.poll() is not None
    finally:
        p.terminate()
        p.wait(10)
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print('kept', work)
    sys.exit(1 if bad else 0)


if __name__ == '__main__':
    main()
