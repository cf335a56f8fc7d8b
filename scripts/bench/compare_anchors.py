#!/usr/bin/python3
"""Side-by-side speed of recurrent's RNN layers against the anchors: oneDNN's RNN primitives and PyTorch.

One command builds `recurrent` and the anchors (bench/anchors/: CMake targets anchor_fma_peak and
anchor_rnn_dnnl, in BUILD_DIR/bench/anchors), measures the fp32 FMA peak of the target's vector width
once (the anchors' fma_peak), then for every configuration runs, back to back and in rotating order
(to spread machine drift evenly):
  ours     RECURRENT_TARGET=T build/recurrent bench --json ... --threads N --peak-gflops P
  oneDNN   DNNL_MAX_CPU_ISA=I OMP_NUM_THREADS=N rnn_dnnl CELL H B T 1 0 f32|bf16 infer|train REPS
  PyTorch  bench/anchors/bench_torch.py's bench() in a worker process, in its best setting on this
           machine: LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp OMP_NUM_THREADS=N
and prints a markdown table (target, tokens/s, GFLOP/s, % of FMA peak, ratios to oneDNN and PyTorch),
also written to --out (default bench/results/anchors_<full|quick>[_<target>]_<date>.md) with the raw
JSON lines beside it.

--target T (native, sse4, avx2, avx512) holds every tool to one ISA:
  target   ours (RECURRENT_TARGET)  oneDNN (DNNL_MAX_CPU_ISA)  PyTorch (ATEN_CPU_CAPABILITY, OPENBLAS_CORETYPE)  peak (fma_peak)
  native   native                   unset                      unset, unset                                      widest: zmm, else ymm, else sse
  sse4     sse4                     SSE41                      default, Nehalem                                  sse: xmm mul+add (SSE4.1 has no FMA)
  avx2     avx2                     AVX2                       avx2, Haswell                                     ymm FMA
  avx512   avx512                   AVX512_CORE                avx512, SkylakeX                                  zmm FMA
Without --target, the environment is left as it is (RECURRENT_TARGET, DNNL_MAX_CPU_ISA, ... inherited)
and the peak is the widest width's. Each row shows the target each tool reports it ran:
`recurrent bench --json`'s "target" ("?" if absent) and rnn_dnnl's "isa".

Configurations: RNN(tanh)/LSTM/GRU x H {128,256,512} x B {1,16,64}, T = 100, one layer, input = hidden,
infer and train, 1 and 2 threads, fp32, plus bf16 where a tool has it (oneDNN; ours on AVX512_BF16
CPUs, docs/engine.md "bf16", else a clean error; the PyTorch anchor is fp32 only).
--quick: the acceptance subset of issue 4: LSTM+GRU, H {256,512}, 2 threads: B=64 train, B=1 infer,
B=64 infer, and bf16 train at H=512 B=64.

FLOP model (all three tools): forward = 2*G*H*(I+H) per token, layer and direction (G = 1 RNN,
3 GRU, 4 LSTM); training = 3x forward. Training = forward + backward with weight gradients of
loss = sum(output); the input needs no gradient.

Usage:
  scripts/bench/compare_anchors.py [--quick] [--target native|sse4|avx2|avx512] [--build-dir build]
      [--anchors-bin DIR] [--no-build] [--reps 5] [--threads 1,2] [--cells LSTM,GRU,RNN] [--hidden 128,256,512] [--batch 1,16,64]
      [--modes infer,train] [--dtypes f32,bf16] [--out FILE]
Only Debian's /usr/bin/python3 (with python3-torch for the PyTorch anchor).
"""
import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUR_CELL = {"RNN": "rnn_tanh", "LSTM": "lstm", "GRU": "gru"}
G = {"RNN": 1, "GRU": 3, "LSTM": 4}
OPENBLAS_OMP = "/usr/lib/x86_64-linux-gnu/openblas-openmp"
ANCHORS_SRC = os.path.join(ROOT, "bench", "anchors")
TARGETS = ("native", "sse4", "avx2", "avx512")
# Per target: oneDNN's DNNL_MAX_CPU_ISA, PyTorch's (ATEN_CPU_CAPABILITY, OPENBLAS_CORETYPE), fma_peak's
# kernel (None: unset the variable).
DNNL_ISA = {"native": None, "sse4": "SSE41", "avx2": "AVX2", "avx512": "AVX512_CORE"}
TORCH_ENV = {"native": (None, None), "sse4": ("default", "Nehalem"), "avx2": ("avx2", "Haswell"),
             "avx512": ("avx512", "SkylakeX")}
PEAK_KERNEL = {None: "native", "native": "native", "sse4": "sse4", "avx2": "avx2", "avx512": "avx512"}

# PyTorch worker: imports the anchors' bench_torch.py once per thread count and answers one
# configuration per input line ("CELL H B T MODE") with bench_torch's JSON record, then "END".
TORCH_WORKER = r"""
import importlib.util, json, sys
path, threads, reps = sys.argv[1], sys.argv[2], sys.argv[3]
sys.argv = [path, threads, reps]
spec = importlib.util.spec_from_file_location("bench_torch", path)
bt = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bt)
print(json.dumps({"info": bt.info()}), flush=True)
for line in sys.stdin:
    cell, H, B, T, mode = line.split()
    try:
        bt.bench(cell, int(H), int(B), int(T), modes=(mode,))
    except Exception as e:
        print(json.dumps({"lib": "pytorch", "error": str(e)}), flush=True)
    print("END", flush=True)
"""


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build-dir", default=os.path.join(ROOT, "build"), help="recurrent's build directory")
    p.add_argument("--anchors-bin", default=None,
                   help="directory with already built anchors (fma_peak, rnn_dnnl); default: build them from "
                        "bench/anchors into BUILD_DIR/bench/anchors")
    p.add_argument("--no-build", action="store_true",
                   help="use build/recurrent and the anchors as they are (no cmake --build first)")
    p.add_argument("--target", choices=TARGETS, default=None,
                   help="hold ours, oneDNN and PyTorch to one ISA and measure that width's FMA peak "
                        "(default: the environment as it is, the widest width's peak)")
    p.add_argument("--quick", action="store_true", help="issue 4's acceptance subset only")
    p.add_argument("--reps", type=int, default=5, help="timed repetitions per tool and configuration")
    p.add_argument("--min-time", type=float, default=0.2, help="seconds per repetition (the anchors use 0.2)")
    p.add_argument("--T", type=int, default=100, help="sequence length")
    for name, help_ in [("threads", "1,2"), ("cells", "LSTM,GRU,RNN"), ("hidden", "128,256,512"),
                        ("batch", "1,16,64"), ("modes", "infer,train"), ("dtypes", "f32,bf16")]:
        p.add_argument("--" + name, default=None, help="comma list (full sweep default: %s)" % help_)
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch anchor")
    p.add_argument("--out", default=None, help="markdown file to write (default bench/results/anchors_*.md)")
    return p.parse_args()


def run(cmd, env=None, timeout=1800):
    """Runs cmd with os.environ updated by env; a variable whose value is None is removed."""
    e = dict(os.environ)
    for k, v in (env or {}).items():
        if v is None:
            e.pop(k, None)
        else:
            e[k] = v
    return subprocess.run(cmd, env=e, capture_output=True, text=True, timeout=timeout)


def build(args):
    """Builds recurrent and (unless --anchors-bin) the anchors with the project's CMake; returns the anchors' bin dir."""
    targets = ["recurrent"] + ([] if args.anchors_bin else ["anchor_fma_peak", "anchor_rnn_dnnl"])
    if not args.no_build:
        print("building %s in %s ..." % (", ".join(targets), args.build_dir), file=sys.stderr)
        r = run(["cmake", "--build", args.build_dir, "--target"] + targets)
        if r.returncode:
            sys.exit("compare_anchors: build failed (run scripts/build.sh first; the anchors need "
                     "RECURRENT_BUILD_BENCH=ON):\n" + r.stdout[-4000:] + r.stderr[-4000:])
    out = os.path.abspath(args.anchors_bin or os.path.join(args.build_dir, "bench", "anchors"))
    for b in [os.path.join(args.build_dir, "recurrent"), os.path.join(out, "fma_peak"), os.path.join(out, "rnn_dnnl")]:
        if not os.access(b, os.X_OK):
            sys.exit("compare_anchors: no %s" % b)
    return out


def measure_peaks(anchors_bin, target):
    """fp32 FMA peak of the target's vector width per thread count from the anchors' fma_peak (best of 5 reps)."""
    kernel = PEAK_KERNEL[target]
    r = run([os.path.join(anchors_bin, "fma_peak"), "5", kernel])
    if r.returncode:
        sys.exit("compare_anchors: fma_peak 5 %s failed: %s" % (kernel, (r.stderr or r.stdout).strip()))
    peaks, name = {}, None
    for line in r.stdout.splitlines():
        m = re.match(r"(fp32 .*?)\s+(\d+)\s+\S+\s+\S+\s+best ([\d.]+)", line)
        if m:
            name = m.group(1)
            peaks[int(m.group(2))] = float(m.group(3))
    # The cores are identical: on a shared machine another process often holds one core while the
    # 2-thread loop runs, so the hardware peak of N threads is estimated as max(measured N, N x best 1).
    if 1 in peaks:
        for n in list(peaks):
            peaks[n] = max(peaks[n], n * peaks[1])
    return peaks, name


def configs(args):
    lst = lambda s, conv=str: [conv(x) for x in s.split(",")] if s else None
    if args.quick:
        out = []
        for cell in lst(args.cells) or ["LSTM", "GRU"]:
            for H in lst(args.hidden, int) or [256, 512]:
                for B, mode in [(64, "train"), (64, "infer"), (1, "infer")]:
                    out.append(dict(cell=cell, H=H, B=B, mode=mode, threads=2, dtype="f32"))
                if H == 512:
                    out.append(dict(cell=cell, H=H, B=64, mode="train", threads=2, dtype="bf16"))
        return out
    out = []
    for threads in lst(args.threads, int) or [2, 1]:  # 2 threads first: an interrupted sweep has the main figures
        for dtype in lst(args.dtypes) or ["f32", "bf16"]:
            for cell in lst(args.cells) or ["LSTM", "GRU", "RNN"]:
                for H in lst(args.hidden, int) or [128, 256, 512]:
                    for B in lst(args.batch, int) or [1, 16, 64]:
                        for mode in lst(args.modes) or ["infer", "train"]:
                            out.append(dict(cell=cell, H=H, B=B, mode=mode, threads=threads, dtype=dtype))
    return out


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    return None


def run_ours(args, c, peak):
    cmd = [os.path.join(args.build_dir, "recurrent"), "bench", "--cell", OUR_CELL[c["cell"]], "--hidden", str(c["H"]),
           "--batch", str(c["B"]), "--seq-len", str(args.T), "--mode", c["mode"], "--threads", str(c["threads"]),
           "--precision", "bf16" if c["dtype"] == "bf16" else "fp32", "--json", "--reps", str(args.reps),
           "--min-time", str(args.min_time)]
    if peak:
        cmd += ["--peak-gflops", str(peak)]
    env = {"OMP_NUM_THREADS": str(c["threads"])}
    if args.target:
        env["RECURRENT_TARGET"] = args.target
    r = run(cmd, env=env)
    if r.returncode:
        return {"error": (r.stderr or r.stdout).strip().replace("recurrent: error: ", "")}
    return last_json(r.stdout)


def run_onednn(args, anchors_bin, c):
    cmd = [os.path.join(anchors_bin, "rnn_dnnl"), c["cell"], str(c["H"]), str(c["B"]), str(args.T), "1", "0",
           c["dtype"], c["mode"], str(args.reps)]
    env = {"OMP_NUM_THREADS": str(c["threads"])}
    if args.target:
        env["DNNL_MAX_CPU_ISA"] = DNNL_ISA[args.target]
    r = run(cmd, env=env)
    rec = last_json(r.stdout)
    if r.returncode or rec is None:
        return {"error": "rnn_dnnl exit %d: %s" % (r.returncode, (r.stderr or r.stdout).strip()[:200])}
    return rec


class TorchWorker:
    def __init__(self, args, threads):
        env = dict(os.environ, LD_LIBRARY_PATH=OPENBLAS_OMP, OMP_NUM_THREADS=str(threads))
        if args.target:
            for k, v in zip(("ATEN_CPU_CAPABILITY", "OPENBLAS_CORETYPE"), TORCH_ENV[args.target]):
                if v is None:
                    env.pop(k, None)
                else:
                    env[k] = v
        self.p = subprocess.Popen(["/usr/bin/python3", "-c", TORCH_WORKER, os.path.join(ANCHORS_SRC, "bench_torch.py"),
                                   str(threads), str(args.reps)], env=env, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        self.info = json.loads(self.p.stdout.readline()).get("info")

    def bench(self, c, T):
        self.p.stdin.write("%s %d %d %d %s\n" % (c["cell"], c["H"], c["B"], T, c["mode"]))
        self.p.stdin.flush()
        rec = None
        for line in self.p.stdout:
            if line.strip() == "END":
                break
            if line.startswith("{"):
                rec = json.loads(line)
        return rec or {"error": "no result"}

    def close(self):
        self.p.stdin.close()
        self.p.wait()


def fmt_k(x):
    return "%.3gM" % (x / 1e6) if x >= 1e6 else "%.3gk" % (x / 1e3) if x >= 1e3 else "%.3g" % x


def cell_text(rec, peak):
    if rec is None:
        return "–"
    if "error" in rec:
        return "n/a"
    pct = 100.0 * rec["gflops_med"] / peak if peak else float("nan")
    return "%s · %.3g · %.0f%%" % (fmt_k(rec["tokens_s"]), rec["gflops_med"], pct)


def ratio(a, b):
    if not a or not b or "error" in a or "error" in b:
        return "–"
    return "%.2f×" % (a["tokens_s"] / b["tokens_s"])


def pct_peak(rec, peak):
    if not rec or "error" in rec or not peak:
        return "–"
    return "%.0f%%" % (100.0 * rec["gflops_med"] / peak)


def target_text(o, d):
    """The ISA each tool reports it ran: ours `recurrent bench --json`'s "target", oneDNN rnn_dnnl's "isa"."""
    ours = (o or {}).get("target") or "?"
    dnnl = (d or {}).get("isa") or "?"
    return "%s · %s" % (ours, dnnl)


def table(rows, peaks):
    head = ("| cell | H | B | mode | thr | dtype | target: ours · oneDNN | ours/oneDNN | ours %peak | oneDNN %peak | "
            "ours: tok/s · GFLOP/s · %peak | ours µs/step | oneDNN: tok/s · GFLOP/s · %peak | "
            "PyTorch: tok/s · GFLOP/s · %peak | ours/PyTorch |")
    lines = [head, "|---|---:|---:|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for c, o, d, t in rows:
        pk = peaks.get(c["threads"])
        us = ("%.0f" if o["us_per_step_med"] >= 100 else "%.3g") % o["us_per_step_med"] if o and "error" not in o else "–"
        lines.append("| %s | %d | %d | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            c["cell"], c["H"], c["B"], c["mode"], c["threads"], c["dtype"], target_text(o, d), ratio(o, d),
            pct_peak(o, pk), pct_peak(d, pk), cell_text(o, pk), us, cell_text(d, pk), cell_text(t, pk), ratio(o, t)))
    return "\n".join(lines)


def acceptance(rows):
    """Issue 4's acceptance checks, for the rows present (quick subset)."""
    out = []
    for c, o, d, t in rows:
        ok = o and "error" not in o
        key = "%s H=%d B=%d %s %s %d thr" % (c["cell"], c["H"], c["B"], c["mode"], c["dtype"], c["threads"])
        if c["mode"] == "train" and c["B"] == 64 and c["threads"] == 2 and c["H"] in (256, 512) and c["cell"] in ("LSTM", "GRU"):
            need = 1.2
            if ok and d and "error" not in d:
                r = o["tokens_s"] / d["tokens_s"]
                out.append("| %s | ≥ %.1f× oneDNN | %.2f× | %s |" % (key, need, r, "yes" if r >= need else "no"))
            else:
                out.append("| %s | ≥ %.1f× oneDNN | %s | no |" % (key, need, (o or {}).get("error", "n/a")))
        elif c["mode"] == "infer" and c["B"] >= 16 and c["dtype"] == "f32":
            if ok and d and "error" not in d:
                r = o["tokens_s"] / d["tokens_s"]
                out.append("| %s | ≥ 1.0× oneDNN | %.2f× | %s |" % (key, r, "yes" if r >= 1.0 else "no"))
        elif c["mode"] == "infer" and c["B"] == 1 and c["H"] in (256, 512):
            lim = 12 if c["H"] == 256 else 60
            if ok:
                us = o["us_per_step_med"]
                out.append("| %s | ≤ %d µs/step | %.3g µs | %s |" % (key, lim, us, "yes" if us <= lim else "no"))
    if not out:
        return ""
    return "| configuration | target | measured | met |\n|---|---|---:|---|\n" + "\n".join(out)


def git_rev():
    r = run(["git", "-C", ROOT, "describe", "--always", "--dirty", "--abbrev=12"])
    return r.stdout.strip() or "unknown"


def report(args, rows, peaks, peak_name, started, elapsed, torch_info, n_cfgs, loads):
    mode = "quick" if args.quick else "full"
    errors = sorted({"%s: %s" % (tool, rec["error"]) for c, *recs in rows
                     for tool, rec in zip(("ours", "oneDNN", "PyTorch"), recs) if rec and "error" in rec})
    impls = sorted({"%s %s %s: fwd %s, bwd %s" % (c["cell"], c["dtype"], c["mode"], d.get("fwd_impl"), d.get("bwd_impl") or "–")
                    for c, o, d, t in rows if d and "error" not in d and c["H"] == 256 and c["B"] == 64})
    cmd = " ".join(["scripts/bench/compare_anchors.py"] + sys.argv[1:])
    lscpu = run(["lscpu"]).stdout
    model = next((l.split(":", 1)[1].strip() for l in lscpu.splitlines() if l.startswith("Model name")), "?")
    ti = next(iter(torch_info.values()), {}) if torch_info else {}
    torch_version = ti.get("torch", "?")
    if args.target:
        aten, core = TORCH_ENV[args.target]
        tgt = ("target **%s** for every tool: ours RECURRENT_TARGET=%s, oneDNN %s, PyTorch %s and %s" % (
            args.target, args.target,
            "DNNL_MAX_CPU_ISA=%s" % DNNL_ISA[args.target] if DNNL_ISA[args.target] else "without DNNL_MAX_CPU_ISA",
            "ATEN_CPU_CAPABILITY=%s" % aten if aten else "without ATEN_CPU_CAPABILITY",
            "OPENBLAS_CORETYPE=%s" % core if core else "without OPENBLAS_CORETYPE"))
    else:
        tgt = "no --target: each tool's own choice (environment as inherited)"
    tgt += "; PyTorch ran ATen capability %s, OpenBLAS core %s" % (ti.get("cpu_capability", "?"),
                                                                ti.get("openblas_corename", "?"))
    partial = "" if len(rows) == n_cfgs else " — PARTIAL: %d of %d configurations so far" % (len(rows), n_cfgs)
    doc = ["# recurrent vs oneDNN vs PyTorch: RNN layers (%s%s)" % (mode, partial), "",
           "Measured %s UTC on %s (%d CPUs), recurrent %s, in one invocation of `%s` (%.0f s; load average "
           "%s at the start, %.1f now: the machine is shared). T = %d, one layer, input = hidden = H; tools "
           "interleaved per configuration; median of %d repetitions of ≥ %.1f s each." % (
               started.strftime("%Y-%m-%d %H:%M"), model, os.cpu_count(), git_rev(), cmd, elapsed,
               "%.1f" % loads[0], os.getloadavg()[0], args.T, args.reps, args.min_time), "",
           "- FLOPs per token: forward 2·G·H·(I+H) (G = 1 RNN, 3 GRU, 4 LSTM), training = 3× forward; "
           "training = forward + backward with weight gradients of sum(output), input without gradient.",
           "- Target: " + tgt + ". The table's target column is what ours (`recurrent bench --json` \"target\", "
           "? if absent) and oneDNN (`rnn_dnnl` \"isa\") report they ran.",
           "- %% peak: of the fp32 peak of that target's vector width, %s, measured at the start by the anchors' "
           "`fma_peak %s` (best of 5; N threads: max(measured, N × 1-thread)): " % (peak_name or "?", PEAK_KERNEL[args.target]) +
           ", ".join("%d thread(s) %.1f GFLOP/s" % (k, v) for k, v in sorted(peaks.items())) + ".",
           "- oneDNN: `rnn_dnnl` (Debian libdnnl 2.6) with OMP_NUM_THREADS = thr. PyTorch %s: `bench_torch.py` in "
           "its best setting (LD_LIBRARY_PATH=%s, OMP_NUM_THREADS = thr); fp32 only." % (torch_version, OPENBLAS_OMP),
           "- ours: `recurrent bench --json` (same warm-up, repetitions and repetition length as the anchors).",
           "- Each tool cell: tokens/s · GFLOP/s · % of peak; ratios are tokens/s of ours over the anchor's.", ""]
    acc = acceptance(rows)
    if acc:
        doc += ["## Issue 4 acceptance checks (this run)", "", acc, ""]
    doc += ["## Table", "", table(rows, peaks), ""]
    if impls:
        doc += ["oneDNN implementations (H=256, B=64): " + "; ".join(impls), ""]
    if errors:
        doc += ["Not measured (n/a): " + "; ".join(errors), ""]
    return "\n".join(doc)


def main():
    args = parse_args()
    loads = os.getloadavg()
    anchors_bin = build(args)
    peaks, peak_name = measure_peaks(anchors_bin, args.target)
    print("target %s; fp32 peak, %s (anchors' fma_peak, best of 5): %s" % (args.target or "(not set)", peak_name, peaks),
          file=sys.stderr)
    cfgs = configs(args)
    started = datetime.datetime.now(datetime.timezone.utc)
    mode = "quick" if args.quick else "full"
    if args.target:
        mode += "_" + args.target
    out_md = args.out or os.path.join(ROOT, "bench", "results", "anchors_%s_%s.md" % (mode, started.strftime("%Y-%m-%d")))
    os.makedirs(os.path.dirname(os.path.abspath(out_md)), exist_ok=True)
    raw = open(os.path.splitext(out_md)[0] + ".jsonl", "w")
    rows, torch_info, worker, worker_threads = [], {}, None, None
    t0 = time.time()
    for i, c in enumerate(cfgs):
        if not args.no_torch and c["dtype"] == "f32" and worker_threads != c["threads"]:
            if worker:
                worker.close()
            worker, worker_threads = TorchWorker(args, c["threads"]), c["threads"]
            torch_info[c["threads"]] = worker.info
        res = {}
        tools = ["ours", "onednn", "pytorch"]
        for tool in tools[i % 3:] + tools[:i % 3]:  # rotate the order per configuration
            if tool == "ours":
                res[tool] = run_ours(args, c, peaks.get(c["threads"]))
            elif tool == "onednn":
                res[tool] = run_onednn(args, anchors_bin, c)
            elif not args.no_torch and c["dtype"] == "f32":
                res[tool] = worker.bench(c, args.T)
        for tool, rec in res.items():
            raw.write(json.dumps(dict(config=c, tool=tool, result=rec)) + "\n")
        raw.flush()
        row = (c, res.get("ours"), res.get("onednn"), res.get("pytorch"))
        rows.append(row)
        print("[%d/%d %.0fs] %s" % (i + 1, len(cfgs), time.time() - t0, table([row], peaks).splitlines()[-1]),
              file=sys.stderr)
        with open(out_md, "w") as f:  # rewritten after every configuration: an interrupted sweep still has a table
            f.write(report(args, rows, peaks, peak_name, started, time.time() - t0, torch_info, len(cfgs), loads))
    if worker:
        worker.close()
    raw.close()
    print(report(args, rows, peaks, peak_name, started, time.time() - t0, torch_info, len(cfgs), loads))
    print("\nwritten: %s (+ .jsonl raw records)" % out_md, file=sys.stderr)


if __name__ == "__main__":
    main()
