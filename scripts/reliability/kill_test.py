#!/usr/bin/python3
"""Crash safety of `recurrent train lm` (issue 28, acceptance 2; docs/reliability.md).

Three cases, each on a tiny character LM (1 LSTM layer of 16, 10 epochs of a 2,500-character
excerpt, --threads 1, --log-interval 1 so metrics.csv is appended every step):

  kills      the run is killed with SIGKILL at N random moments: 0-30 ms after its metrics.csv
             reaches a random step (0: right after it starts) of the uninterrupted run's steps, so
             the kills spread over the whole write path (a metrics row every step, checkpoints at
             every epoch end) whatever the machine's load. After each kill the output folder must be either
             loadable (every checkpoint in it parses and `recurrent eval` loads it) or cleanly empty
             (no checkpoint: the same command with --force starts over). The run is then continued
             (`train lm --resume DIR` alone; a finished run is left as is; a folder killed between its
             first best.safetensors and its first last.safetensors must refuse --resume with one clear
             line, and is started over with --force) and its last.safetensors
             and best.safetensors must equal the uninterrupted run's bit for bit (every tensor:
             model weights and optimizer state).
  disk-full  the output folder is a small tmpfs: the run must stop with one clear error line and a
             non-zero exit, leave its previous checkpoints loadable and no temp file behind; copied
             to a roomy folder, --resume finishes it with the uninterrupted run's weights.
  read-only  a run of 2 epochs, then its folder becomes read-only (a read-only remount; chmod a-w
             when not root) and `--resume DIR --epochs 6` must fail with one clear line, leaving the
             checkpoints byte for byte as they were.
The tmpfs cases need root and mount(8); where mounting fails they are skipped with a message.

usage: scripts/reliability/kill_test.py --bin build/recurrent [--kills 100] [--seed 1] [--cases kills,disk-full,read-only]
Exit status 0 when every case passed (or was skipped), 1 otherwise. One summary line per case.
"""
import argparse
import json
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(REPO, "tests", "fixtures", "lm", "moby_train.txt")
MODEL = ["--cell", "lstm", "--hidden", "16", "--layers", "1", "--embed", "8", "--seq-len", "16", "--batch", "4",
         "--threads", "1", "--log-interval", "1", "--quiet"]
EPOCHS = 10
CHECKPOINTS = ("last.safetensors", "best.safetensors")


def train_cmd(args, text, out, epochs=EPOCHS):
    return [args.bin, "train", "lm", "--data", text, "--epochs", str(epochs), "--out", out] + MODEL


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def read_safetensors(path):
    """{name: (dtype, shape, bytes)}; raises ValueError on anything malformed."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError(f"{len(blob)} bytes")
    (n,) = struct.unpack("<Q", blob[:8])
    if 8 + n > len(blob):
        raise ValueError(f"header of {n} bytes past the end")
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    tensors, end = {}, 0
    for name, t in header.items():
        if name == "__metadata__":
            continue
        b, e = t["data_offsets"]
        if not 0 <= b <= e <= len(data):
            raise ValueError(f"tensor {name} at [{b}, {e}) past the data ({len(data)} bytes)")
        end = max(end, e)
        tensors[name] = (t["dtype"], tuple(t["shape"]), data[b:e])
    if end != len(data):
        raise ValueError(f"{len(data) - end} bytes after the last tensor")
    return tensors


def same_weights(a, b):
    """'' when the two checkpoints hold the same tensors bit for bit, else the first difference."""
    ta, tb = read_safetensors(a), read_safetensors(b)
    if ta.keys() != tb.keys():
        return f"tensor names differ: {sorted(set(ta) ^ set(tb))[:4]}"
    for name in sorted(ta):
        if ta[name] != tb[name]:
            return f"tensor {name} differs"
    return ""


def loadable(args, text, folder):
    """'' when every checkpoint in `folder` parses and the CLI loads the model, else why not."""
    for c in CHECKPOINTS:
        p = os.path.join(folder, c)
        if os.path.exists(p):
            try:
                read_safetensors(p)
            except (ValueError, KeyError, json.JSONDecodeError) as e:
                return f"{c} unreadable: {e}"
            r = run([args.bin, "eval", "--model", p, "--data", text, "--threads", "1"])
            if r.returncode != 0:
                return f"{c} does not load: {r.stdout.strip()}"
    return ""


def temp_files(folder):
    return sorted(f for f in os.listdir(folder) if ".tmp." in f) if os.path.isdir(folder) else []


def compare_to_reference(ref, out):
    for c in CHECKPOINTS:
        why = same_weights(os.path.join(ref, c), os.path.join(out, c))
        if why:
            return f"{c}: {why}"
    return ""


def one_line_error(r):
    lines = [l for l in r.stdout.strip().splitlines() if l]
    return r.returncode != 0 and len(lines) == 1 and lines[0].startswith("recurrent: error: ")


def metrics_rows(folder):
    try:
        with open(os.path.join(folder, "metrics.csv"), "rb") as f:
            return max(0, f.read().count(b"\n") - 1)
    except OSError:
        return 0


def kill_at_step(cmd, out, step, jitter):
    """Starts `cmd`, SIGKILLs it `jitter` seconds after its metrics.csv holds `step` rows (0: right
    after it starts); returns True when it was killed, False when it finished first."""
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while p.poll() is None and step > 0 and metrics_rows(out) < step:
        time.sleep(0.001)
    try:
        p.wait(timeout=jitter)
        return False
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGKILL)
        p.wait()
        return True


def case_kills(args, work, text, ref):
    rng = random.Random(args.seed)
    steps = metrics_rows(ref)
    states = {"empty": 0, "best only": 0, "resumable": 0, "finished": 0}
    failures, tmp_left, tmp_after, resumed_equal = [], 0, 0, 0
    for i in range(args.kills):
        out = os.path.join(work, f"kill{i}")
        step, jitter = rng.randint(0, steps), rng.uniform(0, 0.03)
        moment = f"step {step} + {1000 * jitter:.0f} ms"
        kill_at_step(train_cmd(args, text, out), out, step, jitter)
        tmp_left += len(temp_files(out))
        has_last, has_best = (os.path.exists(os.path.join(out, c)) for c in CHECKPOINTS)
        why = loadable(args, text, out)
        if why:
            failures.append(f"kill {i} at {moment}: {why}")
            continue
        if not has_last and not has_best:  # cleanly empty: start over, as a user would
            states["empty"] += 1
            r = run(train_cmd(args, text, out) + (["--force"] if os.path.isdir(out) else []))
        elif not has_last:  # killed between the first best and the first last checkpoint
            states["best only"] += 1
            r = run([args.bin, "train", "lm", "--resume", out, "--quiet"])
            if not one_line_error(r) or "no last.safetensors" not in r.stdout:
                failures.append(f"kill {i} at {moment}: a folder with only best.safetensors: --resume "
                                f"said {r.stdout.strip()!r}")
                continue
            r = run(train_cmd(args, text, out) + ["--force"])
        elif os.path.exists(os.path.join(out, "results.json")):
            states["finished"] += 1
            r = None
        else:
            states["resumable"] += 1
            r = run([args.bin, "train", "lm", "--resume", out, "--quiet"])
        if r is not None and r.returncode != 0:
            failures.append(f"kill {i} at {moment}: continuing failed: {r.stdout.strip()[-300:]}")
            continue
        why = compare_to_reference(ref, out)
        if why:
            failures.append(f"kill {i} at {moment}: after resuming, {why}")
            continue
        resumed_equal += 1
        tmp_after += len(temp_files(out))
        shutil.rmtree(out, ignore_errors=True)
    for f in failures:
        print("  FAIL", f)
    print(f"kills: {args.kills} SIGKILLs, each 0-30 ms after a random metrics row in 0..{steps}; folders found: {states['empty']} "
          f"without a checkpoint, {states['best only']} with only best.safetensors (resume refused clearly, "
          f"restarted with --force), {states['resumable']} resumable, {states['finished']} finished; "
          f"{args.kills - sum(states.values())} unreadable; {resumed_equal}/{args.kills} continued to the "
          f"uninterrupted run's weights bit for bit; {tmp_left} temp files (*.tmp.*) left by kills, "
          f"{tmp_after} still there after continuing")
    return not failures


def mount_tmpfs(path, size):
    os.makedirs(path, exist_ok=True)
    r = run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path])
    return "" if r.returncode == 0 else r.stdout.strip() or "mount failed"


def umount(path):
    run(["umount", path])


def case_disk_full(args, work, text, ref):
    if os.geteuid() != 0:
        print("disk-full: SKIPPED (needs root to mount a small tmpfs)")
        return True
    ckpt = os.path.getsize(os.path.join(ref, "last.safetensors"))
    # Room for the first epoch's checkpoints but not for every later write: try sizes upward until
    # a run stops for want of space after writing a checkpoint.
    for pages in range(ckpt // 4096 + 2, 4 * (ckpt // 4096) + 16, 2):
        full = os.path.join(work, f"full{pages}")
        why = mount_tmpfs(full, pages * 4096)
        if why:
            print(f"disk-full: SKIPPED (cannot mount a tmpfs here: {why})")
            return True
        try:
            out = os.path.join(full, "run")
            r = run(train_cmd(args, text, out))
            if r.returncode == 0:
                print(f"disk-full: FAIL: a {pages * 4} KiB folder held the whole run; no disk-full case was made")
                return False
            if not os.path.exists(os.path.join(out, "last.safetensors")):
                continue  # too small for the first checkpoint: try a larger disk
            ok = True
            if not one_line_error(r) or "No space left on device" not in r.stdout:
                print(f"  FAIL disk-full: expected one clear error line naming the lack of space, got: {r.stdout!r}")
                ok = False
            why = loadable(args, text, out)
            if why:
                print(f"  FAIL disk-full: {why}")
                ok = False
            if temp_files(out):
                print(f"  FAIL disk-full: temp files left behind: {temp_files(out)}")
                ok = False
            roomy = os.path.join(work, "full_copy")
            shutil.copytree(out, roomy)
            r2 = run([args.bin, "train", "lm", "--resume", roomy, "--quiet"])
            why = r2.stdout.strip() if r2.returncode != 0 else compare_to_reference(ref, roomy)
            if why:
                print(f"  FAIL disk-full: resuming the copy: {why}")
                ok = False
            print(f"disk-full: {'ok' if ok else 'FAIL'}: a {pages * 4} KiB tmpfs: exit {r.returncode}, "
                  f"{r.stdout.strip()!r}; checkpoints left loadable, no temp file; resumed elsewhere to the "
                  f"uninterrupted run's weights: {'yes' if not why else 'no'}")
            return ok
        finally:
            umount(full)
    print("disk-full: FAIL: no tmpfs size made the run stop after its first checkpoint")
    return False


def case_read_only(args, work, text, ref):
    folder = os.path.join(work, "ro")
    mounted = False
    if os.geteuid() == 0:
        why = mount_tmpfs(folder, 8 << 20)
        if why:
            print(f"read-only: SKIPPED (root, and cannot mount a tmpfs to make read-only: {why})")
            return True
        mounted = True
    try:
        out = os.path.join(folder, "run")
        r = run(train_cmd(args, text, out, epochs=2))
        if r.returncode != 0:
            print(f"read-only: FAIL: the first 2 epochs did not run: {r.stdout.strip()}")
            return False
        before = {c: open(os.path.join(out, c), "rb").read() for c in sorted(os.listdir(out))}
        if mounted:
            r = run(["mount", "-o", "remount,ro", folder])
            if r.returncode != 0:
                print(f"read-only: SKIPPED (cannot remount read-only: {r.stdout.strip()})")
                return True
        else:
            os.chmod(out, 0o555)
        r = run([args.bin, "train", "lm", "--resume", out, "--epochs", str(EPOCHS), "--quiet"])
        after = {c: open(os.path.join(out, c), "rb").read() for c in sorted(os.listdir(out))}
        ok = True
        if not one_line_error(r):
            print(f"  FAIL read-only: expected one clear error line and a non-zero exit, got exit {r.returncode}: "
                  f"{r.stdout!r}")
            ok = False
        if after != before:
            print("  FAIL read-only: the folder's files changed")
            ok = False
        why = loadable(args, text, out)
        if why:
            print(f"  FAIL read-only: {why}")
            ok = False
        print(f"read-only: {'ok' if ok else 'FAIL'}: {'a read-only remount' if mounted else 'chmod a-w'}: exit "
              f"{r.returncode}, {r.stdout.strip()!r}; the {len(before)} files unchanged: {after == before}")
        return ok
    finally:
        if mounted:
            umount(folder)
        elif os.path.isdir(os.path.join(folder, "run")):
            os.chmod(os.path.join(folder, "run"), 0o755)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", required=True, help="the recurrent executable")
    ap.add_argument("--kills", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1, help="seed of the kill moments")
    ap.add_argument("--cases", default="kills,disk-full,read-only")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder (printed)")
    args = ap.parse_args()
    args.bin = os.path.abspath(args.bin)
    cases = args.cases.split(",")
    work = tempfile.mkdtemp(prefix="recurrent-kill-test-")
    ok = True
    try:
        text = os.path.join(work, "tiny.txt")
        with open(CORPUS, encoding="utf-8") as f, open(text, "w", encoding="utf-8") as g:
            g.write(f.read()[:2500])
        ref = os.path.join(work, "ref")
        t0 = time.monotonic()
        r = run(train_cmd(args, text, ref))
        if r.returncode != 0:
            print(f"the uninterrupted run failed: {r.stdout}")
            return 1
        print(f"uninterrupted run: {time.monotonic() - t0:.2f} s, {metrics_rows(ref)} steps")
        if "kills" in cases:
            ok &= case_kills(args, work, text, ref)
        if "disk-full" in cases:
            ok &= case_disk_full(args, work, text, ref)
        if "read-only" in cases:
            ok &= case_read_only(args, work, text, ref)
    finally:
        if args.keep:
            print("scratch folder:", work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
