#!/usr/bin/env python3
"""bench/node/w4_openloop.py — W4: latency under open-loop load on a running
Stardust cluster (called by bench/node/bench-rows.sh).

    w4_openloop.py --cli CLI --http HOST:PORT --root DIR --secs S

For each load level a streaming job `tail_text(IN).write_text(OUT)` runs on
the cluster (one partition). A writer appends lines "SEQ" to DIR/IN on a
fixed schedule — line s is due at t0 + s / rate, and every 1 ms tick appends
every line due by then, whatever happened to earlier ones (open loop: a slow
sink does not slow the schedule, so no coordinated omission). A reader polls
the sink's part file every millisecond; since one partition keeps its order,
the last whole line of what has appeared says every line up to it is visible.
Latency of line s = when it was first seen - when it was due.

First the maximum rate: a burst of lines appended at once, timed until 90 %
of them are visible. Then 10 %, 50 % and 80 % of that rate for S seconds
each. Prints result rows (bench/README.md format) on stdout: p50 and p99 per
level; lines still not visible 2 s after the schedule ended count as
infinitely late (a percentile they reach is a `failed` row saying so).
"""
import argparse
import glob
import os
import subprocess
import sys
import threading
import time

TICK_S = 0.001
GRACE_S = 2.0
BURST_LINES = 200000


def submit(cli, http, root, name, inp, out):
    job = os.path.join(root, "w4", name + ".sd")
    with open(job, "w") as f:
        f.write('job "bench-w4-%s"\ntail_text("netfs://%s").write_text("netfs://%s")\n' % (name, inp, out))
    r = subprocess.run([cli, "--coordinator", "http://" + http, "submit", job],
                       capture_output=True, text=True, check=True)
    for word in r.stdout.split():
        if len(word) == 32:
            return word
    raise RuntimeError("no job id in: " + r.stdout)


def cancel(cli, http, job):
    subprocess.run([cli, "--coordinator", "http://" + http, "cancel", job], capture_output=True)


class Reader(threading.Thread):
    """Follows the sink's part file; seen[i] = (time, highest seq visible)."""

    def __init__(self, pattern):
        super().__init__(daemon=True)
        self.pattern, self.seen, self.stop = pattern, [], False

    def run(self):
        f, tail = None, b""
        while not self.stop:
            if f is None:
                parts = glob.glob(self.pattern)
                if parts:
                    f = open(parts[0], "rb")
            if f is not None:
                data = f.read()
                if data:
                    now = time.monotonic()
                    data = tail + data
                    cut = data.rfind(b"\n")
                    if cut >= 0:
                        last = data[:cut].rsplit(b"\n", 1)[-1]
                        self.seen.append((now, int(last)))
                        tail = data[cut + 1:]
                    else:
                        tail = data
            time.sleep(TICK_S)


def visible_at(seen, s):
    """when seq s was first visible (None if never): seen is sorted by time and seq"""
    lo, hi = 0, len(seen)
    while lo < hi:
        mid = (lo + hi) // 2
        if seen[mid][1] >= s:
            hi = mid
        else:
            lo = mid + 1
    return seen[lo][0] if lo < len(seen) else None


def level(args, name, rate, secs):
    """runs one load level; returns (latencies_ms sorted, lines, unseen)"""
    inp, out = "w4/%s.txt" % name, "out/w4-%s.txt" % name
    open(os.path.join(args.root, inp), "w").close()
    job = submit(args.cli, args.http, args.root, name, inp, out)
    reader = Reader(os.path.join(args.root, out) + ".*.part-*")
    reader.start()
    time.sleep(1.0)  # the job deployed and following the file
    total = int(rate * secs)
    w = open(os.path.join(args.root, inp), "a")
    t0 = time.monotonic()
    s = 0
    while s < total:
        due = min(total, int((time.monotonic() - t0) * rate) + 1)
        if due > s:
            w.write("".join("%d\n" % i for i in range(s, due)))
            w.flush()
            s = due
        time.sleep(TICK_S)
    w.close()
    end = t0 + total / rate
    while time.monotonic() < end + GRACE_S and not (reader.seen and reader.seen[-1][1] >= total - 1):
        time.sleep(0.01)
    reader.stop = True
    reader.join()
    cancel(args.cli, args.http, job)
    step = max(1, total // 20000)
    lat, unseen = [], 0
    for q in range(0, total, step):
        v = visible_at(reader.seen, q)
        if v is None:
            unseen += 1
        else:
            lat.append((v - (t0 + q / rate)) * 1000)
    lat.sort()
    return lat, (total + step - 1) // step, unseen


def pct(sorted_vals, n_all, p):
    """p-th percentile over n_all samples where the missing ones count as infinite"""
    k = int(p / 100.0 * n_all)
    k = min(max(k, 0), n_all - 1)
    return sorted_vals[k] if k < len(sorted_vals) else None


def row(*f):
    print("\t".join(str(x) for x in f))
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--http", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--secs", type=float, default=4.0)
    args = ap.parse_args()
    os.makedirs(os.path.join(args.root, "w4"), exist_ok=True)
    os.makedirs(os.path.join(args.root, "out"), exist_ok=True)
    sysname = "stardust local cluster, 1 node"

    # maximum rate: a burst, until 90 % visible
    inp, out = "w4/max.txt", "out/w4-max.txt"
    open(os.path.join(args.root, inp), "w").close()
    job = submit(args.cli, args.http, args.root, "max", inp, out)
    reader = Reader(os.path.join(args.root, out) + ".*.part-*")
    reader.start()
    time.sleep(1.0)
    t0 = time.monotonic()
    with open(os.path.join(args.root, inp), "a") as w:
        w.write("".join("%d\n" % i for i in range(BURST_LINES)))
    want = int(BURST_LINES * 0.9)
    while time.monotonic() < t0 + 30 and not (reader.seen and reader.seen[-1][1] >= want):
        time.sleep(0.005)
    reader.stop = True
    reader.join()
    cancel(args.cli, args.http, job)
    t90 = visible_at(reader.seen, want)
    if t90 is None:
        row("W4", sysname, 1, "failed", 0, "-", "-", "-", 0, "ms",
            "a burst of %d appended lines: 90 %% not visible in the sink after 30 s" % BURST_LINES)
        return 0
    max_rate = want / (t90 - t0)
    row("W4", sysname + ": max rate", 1, "ok", 1, "%.0f" % max_rate, "%.0f" % max_rate, "%.0f" % max_rate,
        "value", "lines/s", "tail_text → write_text, 1 partition: %d lines appended at once, until 90 %% visible" % BURST_LINES)
    for p in (10, 50, 80):
        rate = max_rate * p / 100.0
        lat, n, unseen = level(args, "l%d" % p, rate, args.secs)
        note = "open loop at %d %% of max (%.0f lines/s) for %.0f s; latency = sink-visible − scheduled append; " \
            "python writer and 1 ms polling reader on the same 2 shared cores" % (p, rate, args.secs)
        if unseen:
            note += "; %d of %d sampled lines (the last ones) still not visible %.0f s after the schedule ended" \
                % (unseen, n, GRACE_S)
        for q in (50, 99):
            v = pct(lat, n, q) if n else None
            if v is None:  # the unseen lines count as infinitely late
                row("W4", "%s: %d %% load p%d" % (sysname, p, q), 1, "failed", 0, "-", "-", "-", 0, "ms",
                    note + ": p%d not reached" % q)
            else:
                row("W4", "%s: %d %% load p%d" % (sysname, p, q), 1, "ok", 1, "%.1f" % v, "%.1f" % v, "%.1f" % v,
                    "value", "ms", note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
