#!/usr/bin/env python3
"""Load test of `recurrent serve` on loopback (issue 26, acceptance 1); standard library only.

Starts the server (--bin, --model) on a free port, then for each client count (--clients 1,8,32,128)
runs two bounded phases of --duration seconds each:
  generate: every client streams generations of --length tokens back to back (seed per request);
            time to first token, per-token latency (each generation's time after its first token over
            the tokens after it; p50/p99 over generations), the longest wait between two reads that
            brought tokens (per generation; p50/p99), tokens/s overall, and the CPU the server and
            this script used in the phase (cores: CPU seconds over wall seconds; the server's CPU µs a token);
  score:    every client scores a 64-character line back to back; latency p50/p99, requests/s.
Errors are counted by HTTP status. Then (--over CLIENTS:BATCH:QUEUE) a server with small limits gets
more clients than it admits: only 200s and 429s are expected. The server is stopped with SIGTERM.
Prints a Markdown table, then PASS/FAIL for each point of acceptance 1 (tokens/s at 32 clients >= 8x
at 1 client, no errors within the limits, only 200s and 429s beyond them) and exits 1 when one fails;
writes --json. Every loop is bounded by its phase's deadline.

  /usr/bin/python3 scripts/serve/load_test.py --bin build/recurrent --model runs/serve-lm --threads 2
"""
import argparse
import http.client
import json
import os
import platform
import random
import signal
import subprocess
import sys
import threading
import time

LINE = "Call me Ishmael. Some years ago, never mind how long precisely, hav"[:64]


def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def start_server(a, max_batch, max_queue):
    cmd = [a.bin, "--threads", str(a.threads), "serve", "--model", a.model, "--port", "0",
           "--max-batch", str(max_batch), "--max-queue", str(max_queue), "--timeout", "120s"]
    if a.flush_ms is not None:
        cmd += ["--flush-ms", str(a.flush_ms)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if not line.startswith("listening on"):
        p.kill()
        sys.exit(f"load_test.py: the server did not start: {line!r}")
    return p, int(line.rsplit(":", 1)[1])


def stop_server(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def stream_once(conn, length, stats):
    body = json.dumps({"length": length, "stream": True, "seed": random.getrandbits(32)})
    t0 = time.perf_counter()
    conn.request("POST", "/v1/generate", body=body, headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    if r.status != 200:
        r.read()
        return r.status
    first, last, n, buf, wait = None, None, 0, b"", 0.0
    while True:  # events "data: {...}\n\n", read as they come (several may come in one read)
        data = r.read1(65536)
        if not data:
            break
        now = time.perf_counter()
        buf += data
        *events, buf = buf.split(b"\n\n")
        tokens = sum(1 for e in events if e.startswith(b'data: {"token"'))
        if tokens:
            if first is None:
                first = now
                stats["ttft"].append(now - t0)
            else:
                wait = max(wait, now - last)
            last, n = now, n + tokens
        if any(e.startswith(b"data: ") and not e.startswith(b'data: {"token"') for e in events):
            break  # the final event
    r.read()
    if n > 1:  # per-token latency of this generation: the time after its first token over the tokens after it
        stats["gap"].append((last - first) / (n - 1))
        stats["wait"].append(wait)  # the longest this client waited between two reads bringing tokens
    stats["tokens"] += n
    return 200


def score_once(conn, stats):
    t0 = time.perf_counter()
    conn.request("POST", "/v1/score", body=json.dumps({"text": LINE}), headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    if r.status == 200:
        stats["score"].append(time.perf_counter() - t0)
    return r.status


def proc_cpu(pid):
    """CPU seconds (user + system) used so far by process `pid` (all its threads), from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def own_cpu():
    t = os.times()
    return t.user + t.system


def run_phase(port, clients, duration, work):
    """`clients` threads call work(conn, stats) until the deadline; returns merged stats and wall time.
    A request that finds its kept-alive connection closed by the server (idle past its keep-alive
    timeout) is sent again once on a new connection, as HTTP clients do; these are counted as
    "reconnects", not errors."""
    deadline = time.perf_counter() + duration
    all_stats = []

    def client():
        st = {"ttft": [], "gap": [], "wait": [], "tokens": 0, "score": [], "status": {}}
        all_stats.append(st)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while time.perf_counter() < deadline:
            try:
                try:
                    s = work(conn, st)
                except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                    st["reconnects"] = st.get("reconnects", 0) + 1
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                    s = work(conn, st)
            except (OSError, http.client.HTTPException) as e:
                s = type(e).__name__
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            st["status"][s] = st["status"].get(s, 0) + 1
            if s == 429:
                time.sleep(0.05)
        conn.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration + 180)
    wall = time.perf_counter() - t0
    merged = {"ttft": [], "gap": [], "wait": [], "tokens": 0, "score": [], "status": {}, "reconnects": 0}
    for st in all_stats:
        for k in ("ttft", "gap", "wait", "score"):
            merged[k] += st[k]
        merged["tokens"] += st["tokens"]
        merged["reconnects"] += st.get("reconnects", 0)
        for k, v in st["status"].items():
            merged["status"][str(k)] = merged["status"].get(str(k), 0) + v
    return merged, wall


def metric(port, name):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    total = 0.0  # summed over the series' labels (one per model)
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build/recurrent")
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=2, help="the server's engine threads")
    ap.add_argument("--clients", default="1,8,32,128")
    ap.add_argument("--duration", type=float, default=20.0, help="seconds per phase")
    ap.add_argument("--length", type=int, default=64, help="tokens per generation")
    ap.add_argument("--max-batch", type=int, default=128)
    ap.add_argument("--max-queue", type=int, default=128)
    ap.add_argument("--over", default="64:8:8", help="CLIENTS:MAX_BATCH:MAX_QUEUE beyond the limits ('' to skip)")
    ap.add_argument("--flush-ms", type=float, default=None,
                    help="the server's --flush-ms (a stream's tokens coalesced this long; default: the server's)")
    ap.add_argument("--json", default="")
    ap.add_argument("--no-fail", action="store_true",
                    help="print the PASS/FAIL lines but exit 0 (smoke runs: scripts/check_tour.py's 2 s phases)")
    a = ap.parse_args()

    load0 = os.getloadavg()
    proc, port = start_server(a, a.max_batch, a.max_queue)
    rows = []
    try:
        for n in [int(x) for x in a.clients.split(",")]:
            steps0, rows0 = metric(port, "recurrent_batch_steps_total"), metric(port, "recurrent_batch_rows_total")
            cpu0 = proc_cpu(proc.pid), own_cpu()
            g, gwall = run_phase(port, n, a.duration, lambda c, st: stream_once(c, a.length, st))
            cpu1 = proc_cpu(proc.pid), own_cpu()
            steps, brows = metric(port, "recurrent_batch_steps_total") - steps0, metric(port, "recurrent_batch_rows_total") - rows0
            sb0, sr0 = metric(port, "recurrent_score_batches_total"), metric(port, "recurrent_score_rows_total")
            s, swall = run_phase(port, n, a.duration, score_once)
            sb, sr = metric(port, "recurrent_score_batches_total") - sb0, metric(port, "recurrent_score_rows_total") - sr0
            errors = {k: v for d in (g["status"], s["status"]) for k, v in d.items() if k != "200"}
            rows.append({"clients": n, "gen_tokens_per_s": g["tokens"] / gwall, "gen_tokens": g["tokens"],
                         "ttft_p50_ms": 1e3 * pct(g["ttft"], 50), "ttft_p99_ms": 1e3 * pct(g["ttft"], 99),
                         "token_p50_ms": 1e3 * pct(g["gap"], 50), "token_p99_ms": 1e3 * pct(g["gap"], 99),
                         "wait_p50_ms": 1e3 * pct(g["wait"], 50), "wait_p99_ms": 1e3 * pct(g["wait"], 99),
                         "mean_batch": brows / steps if steps else 0.0,
                         "score_p50_ms": 1e3 * pct(s["score"], 50), "score_p99_ms": 1e3 * pct(s["score"], 99),
                         "score_per_s": len(s["score"]) / swall, "mean_score_batch": sr / sb if sb else 0.0,
                         "server_cores": (cpu1[0] - cpu0[0]) / gwall, "client_cores": (cpu1[1] - cpu0[1]) / gwall,
                         "server_us_per_token": 1e6 * (cpu1[0] - cpu0[0]) / max(g["tokens"], 1),
                         "errors": errors,
                         "reconnects": g["reconnects"] + s["reconnects"]})
            r = rows[-1]
            print(f"# {n} clients: {r['gen_tokens_per_s']:.0f} tok/s, batch {r['mean_batch']:.1f}, errors {errors}",
                  file=sys.stderr, flush=True)
    finally:
        stop_server(proc)
    over = None
    if a.over:
        n, mb, mq = (int(x) for x in a.over.split(":"))
        proc, port = start_server(a, mb, mq)
        try:
            o, _ = run_phase(port, n, a.duration / 2, lambda c, st: stream_once(c, a.length, st))
            over = {"clients": n, "max_batch": mb, "max_queue": mq, "status": o["status"], "reconnects": o["reconnects"]}
        finally:
            stop_server(proc)
    load1 = os.getloadavg()

    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores; server --threads {a.threads}; load average before "
          f"{load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}, after {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}; "
          f"{a.duration:g} s per phase, generations of {a.length} tokens, clients on the same machine")
    print("| clients | score p50 / p99 ms | score req/s | mean score batch | TTFT p50 / p99 ms | per-token p50 / p99 ms | "
          "longest wait p50 / p99 ms | tokens/s | mean batch | server / client cores | server CPU µs a token | errors | "
          "reconnects |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['clients']} | {r['score_p50_ms']:.1f} / {r['score_p99_ms']:.1f} | {r['score_per_s']:.0f} | "
              f"{r['mean_score_batch']:.1f} | "
              f"{r['ttft_p50_ms']:.1f} / {r['ttft_p99_ms']:.1f} | {r['token_p50_ms']:.2f} / {r['token_p99_ms']:.2f} | "
              f"{r['wait_p50_ms']:.1f} / {r['wait_p99_ms']:.1f} | "
              f"{r['gen_tokens_per_s']:.0f} | {r['mean_batch']:.1f} | {r['server_cores']:.2f} / {r['client_cores']:.2f} | "
              f"{r['server_us_per_token']:.0f} | {sum(r['errors'].values())} {r['errors'] or ''} | "
              f"{r['reconnects']} |")
    # Acceptance 1, point by point: each line says PASS or FAIL; the exit status is 1 when one fails.
    failed = []

    def verdict(ok, what):
        print(f"{'PASS' if ok else 'FAIL'}: {what}")
        if not ok:
            failed.append(what)

    by = {r["clients"]: r["gen_tokens_per_s"] for r in rows}
    if 1 in by and 32 in by:
        ratio = by[32] / by[1] if by[1] else float("inf")
        verdict(ratio >= 8, f"tokens/s at 32 clients / at 1 client: {ratio:.1f}x (goal >= 8x)")
    for r in rows:
        verdict(not r["errors"], f"{r['clients']} clients within the limits: errors {r['errors'] or 0}")
        verdict(r["gen_tokens"] > 0 and r["score_per_s"] > 0, f"{r['clients']} clients: generations and scores answered")
    if over:
        others = set(over["status"]) - {"200", "429"}
        verdict(not others, f"beyond the limits: {over['clients']} clients, --max-batch {over['max_batch']} --max-queue "
                            f"{over['max_queue']}: statuses {over['status']} (only 200 and 429 expected), "
                            f"{over['reconnects']} reconnects")
        verdict(over["status"].get("429", 0) > 0, "beyond the limits: some requests refused with 429")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"cpu": cpu_name(), "load_before": load0, "load_after": load1, "threads": a.threads,
                       "duration": a.duration, "length": a.length, "rows": rows, "over": over}, f, indent=1)
    return 1 if failed and not a.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
