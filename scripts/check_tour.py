#!/usr/bin/python3
"""Runs every command of README.md's CLI tour as written, with tiny budgets (issue 27, acceptance 5).

    scripts/data/fetch.sh all && scripts/build.sh && /usr/bin/python3 scripts/check_tour.py [--keep]

Each command runs through bash, in order, in a scratch folder that sees the repository's build/, data/
and scripts/ (so runs/ and outputs stay out of the tree). Budgets are made tiny, and nothing else is
changed: a `--time-budget X` becomes 4s, `--epochs N` becomes 1, and the long-range labs get
`--max-steps 20` plus small evaluations, seq2seq only pairs of ≤ 8 words (its validation and test decoding
are not bounded by the budget); `scripts/bench/compare_anchors.py` is skipped (it takes minutes
and builds the anchors). A training run whose folder a later `--resume` continues gets a 60s budget and a
metrics row every 10 steps, and is interrupted with SIGINT (a user's Ctrl-C) after three rows, so that the
resume line runs as written. A server started in the background (`… &`: serve, explore) must print its
"listening on" line within 120 s; it is left running for the lines after it and stopped at the end; the load
test gets 2 s phases. Exit status 1 if any command fails.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tour_commands(readme):
    text = open(readme, encoding="utf-8").read()
    block = re.search(r"## CLI tour\s+```sh\n(.*?)```", text, re.S).group(1)
    cmds, cur = [], ""
    for line in block.splitlines():
        line = re.sub(r"\s+#( |$).*$", "", line) if not line.lstrip().startswith("#") else ""
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        cur += line
        if cur.strip():
            cmds.append(" ".join(cur.split()))
        cur = ""
    return cmds


def shrink(cmd):
    """The same command with tiny budgets (only budget options change)."""
    if "build/recurrent" not in cmd:
        return cmd
    cmd = re.sub(r"--time-budget \S+", "--time-budget 4s", cmd)
    cmd = re.sub(r"--epochs \d+", "--epochs 1", cmd)
    if re.search(r" (gradlab (train|transformer)|experiment) ", cmd):
        cmd += " --max-steps 20 --eval-every 10 --eval-size 50"
        if "seqimage" in cmd:
            cmd += " --valid 100 --test-size 200 --no-plots"
    if " train seq2seq " in cmd:  # validation and test decoding are not bounded by the budget: short pairs only
        cmd += " --max-len 8 --eval-max-len 8"
    if "load_test.py" in cmd:  # 2 s phases of a 4 s model: the figures mean nothing, the script must run
        cmd += " --duration 2 --no-fail"
    if " gradlab profile " in cmd:
        cmd += " --batches 1 --no-jacobian"
    if re.search(r" train (lm|classify|tag|condlm|seq2seq|forecast) ", cmd) and "--time-budget" not in cmd \
            and "--resume" not in cmd:
        cmd += " --time-budget 4s"
    return cmd


def run(cmd, cwd, interrupt_dir=None):
    """Runs cmd; with interrupt_dir, sends SIGINT (Ctrl-C) once the run has written 3 metrics rows."""
    # The tour's mpirun line (docs/distributed.md): Open MPI refuses root unless told (CI runs as root).
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    p = subprocess.Popen(["bash", "-c", "exec " + cmd if interrupt_dir else cmd], cwd=cwd, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, start_new_session=True, env=env)
    if interrupt_dir:
        metrics = os.path.join(cwd, interrupt_dir, "metrics.csv")
        for _ in range(600):
            if p.poll() is not None:
                break
            if os.path.exists(metrics) and sum(1 for _ in open(metrics)) >= 4:
                p.send_signal(signal.SIGINT)
                break
            time.sleep(0.1)
    out, _ = p.communicate(timeout=900)
    return p.returncode, out


def start_server(cmd, cwd):
    """Starts `cmd &` in the background; returns (process, None) once it prints "listening on", else (process, why)."""
    log = tempfile.TemporaryFile(mode="w+")
    p = subprocess.Popen(["bash", "-c", "exec " + cmd], cwd=cwd, stdout=log, stderr=subprocess.STDOUT, text=True,
                         start_new_session=True)
    for _ in range(1200):
        log.seek(0)
        out = log.read()
        if "listening on" in out:
            return p, None
        if p.poll() is not None:
            return p, f"exited with status {p.returncode}: " + " | ".join(out.strip().splitlines()[-5:])
        time.sleep(0.1)
    return p, "no 'listening on' line within 120 s"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = ap.parse_args()
    for need in ("build/recurrent", "data/moby-dick", "data/sentiment", "data/brown", "data/sunspots", "data/bible",
                 "data/fashion-mnist"):
        if not os.path.exists(os.path.join(REPO, need)):
            sys.exit(f"check_tour: {need} is missing (scripts/build.sh; scripts/data/fetch.sh all)")
    work = tempfile.mkdtemp(prefix="recurrent-tour-")
    for d in ("build", "data", "scripts"):
        os.symlink(os.path.join(REPO, d), os.path.join(work, d))
    cmds = tour_commands(os.path.join(REPO, "README.md"))
    resumed = {m.group(1) for c in cmds for m in [re.search(r"--resume (\S+)", c)] if m}
    failed = 0
    servers = []
    for cmd in cmds:
        if "compare_anchors.py" in cmd:
            print(f"skip  {cmd}")
            continue
        if cmd.endswith("&"):  # a server for the lines after it
            t0 = time.time()
            p, why = start_server(cmd[:-1].strip(), work)
            servers.append(p)
            failed += why is not None
            print(f"{'ok  ' if why is None else 'FAIL'}  {time.time() - t0:5.1f}s  {cmd}" + (f"\n      {why}" if why else ""))
            continue
        small = shrink(cmd)
        out_dir = re.search(r"--out (\S+)", small)
        interrupt = out_dir.group(1) if out_dir and out_dir.group(1) in resumed and "--resume" not in small else None
        if interrupt:  # a longer budget, a metrics row per 10 steps, and Ctrl-C after 3 of them
            small = small.replace("--time-budget 4s", "--time-budget 60s") + " --log-interval 10"
        t0 = time.time()
        rc, out = run(small, work, interrupt)
        ok = rc == 0 or (interrupt and rc == 130)
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'}  {time.time() - t0:5.1f}s  {small}" + ("  (interrupted)" if interrupt else ""))
        if not ok:
            print(f"      exit status {rc}\n      " + "\n      ".join(out.strip().splitlines()[-5:]))
    for p in servers:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(timeout=30)
    print(f"{len(cmds)} commands, {failed} failed; scratch folder {work}")
    if not args.keep:
        shutil.rmtree(work)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
