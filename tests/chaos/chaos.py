#!/usr/bin/env python3
"""tests/chaos/chaos.py: one chaos run (start it through chaos.sh).

One seed is one run. A fresh local cluster on loopback (stardust-netfsd, a
stardust-coordinator with --state-dir and a 2 s heartbeat timeout, and three
hosted nodes with 4 slots each: n1 in us-east, n2 and n3 in eu-west) runs one
job. While it runs, one or two faults hit the cluster at times drawn from the
seed. The job's final output is then compared with an independent computation
over the same input, as a multiset of lines: nothing missing and nothing
duplicated.

    chaos.sh --build BUILD_DIR --seed N [--job wordcount|window|join]
             [--faults KIND[,KIND]] [--keep | --keep-failed] [--save-logs DIR]
             [--checkpoint D|default]

stdout gets one summary line:
    seed=N job=J faults=[...] result=PASS|FAIL recovery_ms=R reason=...
The plan, the timeline and the log tails of a failed run go to stderr.
Exit status: 0 PASS, 1 FAIL, 77 when a prerequisite is missing (the line says
which).

The seed drives one random.Random: the job, the number of faults, and each
fault's kind, time, victim and parameters, drawn in a fixed order, so that
--job and --faults override a choice without moving the others. Victims are
picked among the nodes that host the job's tasks when the fault fires (the
placement is the coordinator's, not ours).

Everything we start dies with us: SIGKILL at exit, and PR_SET_PDEATHSIG in case
this process is killed. Every wait is bounded.
"""
import argparse
import collections
import ctypes
import heapq
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77
HEARTBEAT_TIMEOUT_S = 2.0  # the coordinator's --heartbeat-timeout
POLL_S = 0.05              # how often the job's status is sampled
JOB_TIMEOUT_S = 120.0      # from submit to the job's end (or to the cancel)
START_TIMEOUT_S = 15.0     # for a daemon to come up
CANCEL_TIMEOUT_S = 20.0    # from cancel to CANCELED
CLI_TIMEOUT_S = 5.0        # any one CLI call
DETECT_S = HEARTBEAT_TIMEOUT_S + 1.0  # a fault's effect shows within this

JOBS = ("wordcount", "window", "join")
FAULT_KINDS = ("kill9-node", "stop-node", "kill9-coord", "kill9-netfsd", "netdrop")
REGIONS = {"n1": "us-east", "n2": "eu-west", "n3": "eu-west"}

# When the faults fire. Window job: the first 1-6 s after the writer starts
# (it writes for 10 s), the second 1-4 s later. Bounded jobs last about a
# second here, too short for fixed times: the run first does the job once
# without faults (its output must already be right) and measures how long it
# ran (RUNNING to FINISHED: D) and how long its tasks ran (RUNNING to every
# task FINISHED: T; the rest is the coordinator committing the output). A
# fault at a node (kill, stop, netdrop) then fires at 0.05-0.9 T, or as soon
# as one task has FINISHED (Injector.early); one at the coordinator or the
# file service at 0.05-0.75 D; a second fault 0.2-0.7 D after the first (a
# restart from the beginning makes the faulted run longer). A run can still
# end before a fault's time: the summary then says "not injected".
WINDOW_FAULTS_S = ((1.0, 6.0), (1.0, 4.0))
NODE_FAULTS = ("kill9-node", "stop-node", "netdrop")

# The window job's writer: TICKS appends of LINES_PER_TICK lines, one every
# TICK_S, event time moving TICK_MS per tick (about real time), jittered back
# by less than JITTER_MS < the job's lateness, so that no record is ever late.
TICKS, TICK_S, TICK_MS, LINES_PER_TICK, JITTER_MS = 200, 0.05, 50, 20, 400
WINDOW_KEYS = 16
EVENT_BASE_MS = 1700000000000
FAR_FUTURE_MS = EVENT_BASE_MS + 100000000  # flushes every real window
VISIBLE_TIMEOUT_S = 60.0  # writer done -> every window visible in the parts
SETTLE_S = 1.5            # then this long for stray duplicates, then cancel


def log(msg):
    t = time.time()
    print("%s.%03d chaos: %s" % (time.strftime("%H:%M:%S", time.localtime(t)),
                                 int(t * 1000) % 1000, msg), file=sys.stderr, flush=True)


class Skip(Exception):
    """A prerequisite is missing: exit 77."""


class Fail(Exception):
    """The run failed in a way that ends it early (e.g. a daemon won't start)."""


class JobEnded(Fail):
    """The job ended when it should not have: FAILED, CANCELED, or FINISHED
    although unbounded."""

    def __init__(self, state, failure):
        super().__init__("job %s: %s" % (state, failure) if state != "FINISHED" else
                         "the unbounded job FINISHED by itself")
        self.state = state


# ---- the plan ---------------------------------------------------------------


class Fault:
    def __init__(self, kind, u_at, victim_u, hold_s, replace, replace_s):
        self.kind = kind          # one of FAULT_KINDS
        self.u_at = u_at          # [0,1): where in its time range (place_faults)
        self.at_s = None          # seconds after the job's reference time
        self.victim_u = victim_u  # [0,1): which of the candidate nodes
        self.hold_s = hold_s      # stop: how long; restarts: the delay
        self.replace = replace    # kill9-node: start a replacement node
        self.replace_s = replace_s
        self.fired_at = None      # monotonic time it was injected
        self.early = False        # fired before at_s (Injector.early)
        self.desc = None          # what actually happened, for the summary
        self.recovery_ms = None

    def planned(self):
        return self.kind + (" @%.2fs" % self.at_s if self.at_s is not None else "")


def place_faults(faults, ranges):
    """Sets each fault's time: ranges[0] (lo, hi) seconds for the first,
    ranges[1] for the gap to the one before."""
    at = 0.0
    for i, f in enumerate(faults):
        lo, hi = ranges[min(i, 1)]
        at += lo + f.u_at * (hi - lo)
        f.at_s = at


def bounded_ranges(first_kind, d, t):
    first = (0.05 * t, 0.9 * t) if first_kind in NODE_FAULTS else (0.05 * d, 0.75 * d)
    return (first, (0.2 * d, 0.7 * d))


def make_plan(seed, job=None, kinds=None):
    """Draws the whole plan from the seed in a fixed order (see the top)."""
    rng = random.Random(seed)
    drawn_job = rng.choice(JOBS)
    n = 1 if rng.random() < 0.6 else 2
    draws = [(rng.choice(FAULT_KINDS), rng.random(), rng.random(), rng.random(),
              rng.random() < 0.5, rng.random()) for _ in range(2)]
    job = job or drawn_job
    if kinds:
        n = len(kinds)
    faults = []
    for i in range(n):
        kind, u_at, u_victim, u_hold, replace, u_rep = draws[i]
        if kinds:
            kind = kinds[i]
        if i == 1 and kind == "kill9-node" and faults[0].kind == "kill9-node" and \
                not faults[0].replace:
            # Two nodes gone leave 4 slots, fewer than a job's tasks: a
            # capacity problem, not a recovery one.
            replace = True
        if kind == "stop-node":
            hold = HEARTBEAT_TIMEOUT_S + 0.5 + 2.0 * u_hold  # past the timeout
        else:
            hold = 0.2 + 1.8 * u_hold  # restart delay
        faults.append(Fault(kind, u_at, u_victim, hold, replace, 0.2 + 2.8 * u_rep))
    if job == "window":
        place_faults(faults, WINDOW_FAULTS_S)
    return job, faults


# ---- processes ----------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


def _die_with_parent():
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def find_binaries(build):
    """Where the four programs are in a build tree; Skip names a missing one."""
    where = {
        "cli": ("coordinator/stardust", "bin/stardust", "stardust"),
        "coordinator": ("coordinator/stardust-coordinator", "bin/stardust-coordinator",
                        "stardust-coordinator"),
        "node": ("node/stardust-node", "node/plat/hosted/stardust-node", "bin/stardust-node",
                 "stardust-node"),
        "netfsd": ("netfs/stardust-netfsd", "bin/stardust-netfsd", "stardust-netfsd"),
    }
    bins = {}
    for key, rels in where.items():
        for rel in rels:
            p = os.path.join(build, rel)
            if os.path.isfile(p) and os.access(p, os.X_OK):
                bins[key] = os.path.abspath(p)
                break
        else:
            raise Skip("%s not found in %s (build it: make build)" % (rels[0], build))
    return bins


def ss_kill_works():
    """Whether `ss -K` can destroy a loopback TCP connection here (needs
    CONFIG_INET_DIAG_DESTROY and CAP_NET_ADMIN); tried on our own pair."""
    if not shutil.which("ss"):
        return False
    srv = socket.socket()
    try:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        port = srv.getsockname()[1]
        cli = socket.create_connection(("127.0.0.1", port), timeout=2)
        acc, _ = srv.accept()
        subprocess.run(["ss", "-K", "-tn", "dport = :%d" % port], capture_output=True,
                       timeout=5)
        try:
            cli.settimeout(1)
            cli.send(b"x")
            cli.recv(1)
            ok = False
        except OSError:
            ok = True
        cli.close()
        acc.close()
        return ok
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        srv.close()


class Cluster:
    """The processes of one run; the daemons are started from the main thread
    only (PR_SET_PDEATHSIG follows the thread that forked)."""

    def __init__(self, bins, work):
        # Our own copies: a rebuild of the tree while we run (others build
        # it too) must not swap programs under a run or between restarts.
        os.makedirs(os.path.join(work, "bin"))
        self.bins = {}
        for key, path in bins.items():
            self.bins[key] = os.path.join(work, "bin", os.path.basename(path))
            shutil.copy2(path, self.bins[key])
        self.work = work
        self.data = os.path.join(work, "data")
        self.state = os.path.join(work, "coord-state")
        self.logs = os.path.join(work, "logs")
        for d in (self.data, self.state, self.logs):
            os.makedirs(d)
        self.procs = {}       # name -> Popen of its current incarnation
        self.all = []         # every Popen ever started
        self.netfs_port = None
        self.http = None
        self.control = None
        self.regions = dict(REGIONS)
        self.lock = threading.Lock()

    def _spawn(self, name, argv):
        path = os.path.join(self.logs, name + ".log")
        with open(path, "a") as f:
            f.write("=== chaos: %s started %s\n" % (name, time.strftime("%H:%M:%S")))
            f.flush()
            p = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        self.procs[name] = p
        self.all.append(p)
        return p

    def _wait(self, what, cond, proc=None, timeout=START_TIMEOUT_S):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if cond():
                return True
            if proc is not None and proc.poll() is not None:
                return False
            time.sleep(0.05)
        raise Fail("timed out waiting for %s" % what)

    def start_netfsd(self, port=0, retry_s=0.0):
        pf = os.path.join(self.work, "netfs.port")
        until = time.monotonic() + retry_s
        while True:
            if os.path.exists(pf):
                os.unlink(pf)
            p = self._spawn("netfsd", [self.bins["netfsd"], "--root", self.data, "--listen",
                                       "127.0.0.1:%d" % port, "--port-file", pf])
            if self._wait("netfsd", lambda: os.path.exists(pf) and os.path.getsize(pf) > 0, p):
                self.netfs_port = int(open(pf).read().strip())
                return
            if time.monotonic() > until:
                break
            time.sleep(0.25)  # the port may still be held: try again
        raise Fail("netfsd did not start on port %d (logs/netfsd.log)" % port)

    def start_coordinator(self, http="127.0.0.1:0", control="127.0.0.1:0", retry_s=0.0):
        ep = os.path.join(self.state, "endpoints.json")
        until = time.monotonic() + retry_s
        while True:
            if os.path.exists(ep):
                os.unlink(ep)
            p = self._spawn("coordinator", [
                self.bins["coordinator"], "--listen-http", http, "--listen-control", control,
                "--state-dir", self.state, "--netfs", "127.0.0.1:%d" % self.netfs_port,
                "--heartbeat-timeout", "%gs" % HEARTBEAT_TIMEOUT_S])
            if self._wait("coordinator", lambda: os.path.exists(ep), p):
                for _ in range(20):  # written atomically, but be patient
                    try:
                        e = json.load(open(ep))
                        self.http, self.control = e["http"], e["control"]
                        return
                    except (ValueError, KeyError):
                        time.sleep(0.05)
            if time.monotonic() > until:
                break
            time.sleep(0.25)
        raise Fail("coordinator did not start on %s/%s (logs/coordinator.log)" % (http, control))

    def start_node(self, name, region):
        self.regions[name] = region
        self._spawn(name, [self.bins["node"], "--name", name, "--region", region,
                           "--coordinator", self.control, "--slots", "4", "--memory", "128M"])

    def cli(self, *args, timeout=CLI_TIMEOUT_S):
        """Runs the CLI against the coordinator: (exit code, stdout, stderr)."""
        argv = [self.bins["cli"], "--coordinator", "http://%s" % self.http] + list(args)
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
            return r.returncode, r.stdout, r.stderr
        except subprocess.TimeoutExpired:
            return 124, "", "timed out after %gs" % timeout
        except OSError as e:
            return 126, "", str(e)

    def ready_nodes(self):
        rc, out, _ = self.cli("-o", "json", "nodes")
        if rc != 0:
            return set()
        try:
            return {n["name"] for n in json.loads(out)["nodes"] if n["state"] == "ready"}
        except (ValueError, KeyError):
            return set()

    def start(self):
        self.start_netfsd()
        self.start_coordinator()
        for name in ("n1", "n2", "n3"):
            self.start_node(name, REGIONS[name])
        self._wait("3 ready nodes", lambda: len(self.ready_nodes()) >= 3)

    def alive(self, name):
        p = self.procs.get(name)
        return p is not None and p.poll() is None

    def signal(self, name, sig):
        p = self.procs[name]
        if p.poll() is None:
            os.kill(p.pid, sig)

    def kill_all(self):
        for p in self.all:
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for p in self.all:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    def log_tails(self, lines=25):
        out = []
        for fn in sorted(os.listdir(self.logs)):
            with open(os.path.join(self.logs, fn), errors="replace") as f:
                tail = f.readlines()[-lines:]
            out.append("--- logs/%s (last %d lines)\n%s" % (fn, len(tail), "".join(tail)))
        return "".join(out)


# ---- the job's status over time --------------------------------------------------


class Sample:
    __slots__ = ("t", "state", "healthy", "restarting_ms", "nodes", "placement", "running_ms",
                 "finished_ms", "all_finished", "some_finished")

    def __init__(self, t, state, healthy, restarting_ms=None, nodes=(), placement="",
                 running_ms=None, finished_ms=None, all_finished=False, some_finished=False):
        self.t, self.state, self.healthy = t, state, healthy
        self.restarting_ms, self.nodes = restarting_ms, nodes
        self.placement = placement  # "stage/partition@node:STA", for the log
        self.running_ms = running_ms  # wall ms the job last entered RUNNING
        self.finished_ms = finished_ms
        self.all_finished = all_finished  # every task FINISHED
        self.some_finished = some_finished


def parse_status(t, rc, out, bounded=True):
    """One `stardust -o json status JOB` as a Sample (state None: no answer).
    Healthy: RUNNING with every task RUNNING or FINISHED, or (bounded jobs
    only) FINISHED."""
    if rc != 0:
        return Sample(t, None, False)
    try:
        j = json.loads(out)
    except ValueError:
        return Sample(t, None, False)
    state = j.get("state")
    tasks = j.get("tasks") or {}
    total = tasks.get("total", 0)
    up = tasks.get("RUNNING", 0) + tasks.get("FINISHED", 0)
    healthy = (bounded and state == "FINISHED") or (state == "RUNNING" and total > 0 and
                                                     up == total)
    nodes, placement = set(), []
    for v in j.get("vertices") or ():
        for task in v.get("tasks") or ():
            placement.append("%s/%s@%s:%s" % (v.get("id"), task.get("partition"), task.get("node"),
                                              (task.get("state") or "?")[:3]))
            if task.get("node") and task.get("state") not in ("FINISHED", "CANCELED"):
                nodes.add(task["node"])
    ts = j.get("timestamps") or {}
    return Sample(t, state, healthy, ts.get("RESTARTING"), tuple(sorted(nodes)),
                  " ".join(placement), ts.get("RUNNING"), ts.get("FINISHED"),
                  total > 0 and tasks.get("FINISHED", 0) == total, tasks.get("FINISHED", 0) > 0)


class Monitor(threading.Thread):
    """Samples the job's status every POLL_S until stopped."""

    def __init__(self, cluster, job_id, bounded=True, quiet=False):
        super().__init__(daemon=True)
        self.cluster, self.job_id, self.quiet = cluster, job_id, quiet
        self.bounded = bounded
        self.samples = []
        self.stop_flag = threading.Event()

    def run(self):
        nxt = time.monotonic()
        while not self.stop_flag.is_set():
            rc, out, _ = self.cluster.cli("-o", "json", "status", self.job_id, timeout=2)
            s = parse_status(time.monotonic(), rc, out, self.bounded)
            with self.cluster.lock:
                prev = self.samples[-1] if self.samples else None
                self.samples.append(s)
            if not self.quiet and (prev is None or (prev.state, prev.healthy, prev.placement) != (
                    s.state, s.healthy, s.placement)):
                log("status: %s%s %s" % (s.state or "(no answer)",
                                         "" if s.healthy else " (not all running)",
                                         s.placement))
            nxt += POLL_S
            time.sleep(max(0.0, nxt - time.monotonic()))

    def latest(self):
        with self.cluster.lock:
            return self.samples[-1] if self.samples else None

    def latest_answer(self):
        with self.cluster.lock:
            for s in reversed(self.samples):
                if s.state is not None:
                    return s
        return None

    def stop(self):
        self.stop_flag.set()
        self.join(timeout=5)


def recovery_times(faults, samples, end_t):
    """Per injected fault: ms from the fault to the job RUNNING again with all
    tasks running (or, bounded, FINISHED), after a disruption seen within its
    horizon: until the next fault, but at least DETECT_S (a stopped node is
    noticed only after the heartbeat timeout, so two close faults may both
    claim one disruption), and never past end_t. 0: no disruption seen; None:
    never recovered. Wall-clock RESTARTING timestamps catch restarts shorter
    than a poll."""
    fired = [f for f in faults if f.fired_at is not None]
    wall_minus_mono = time.time() - time.monotonic()
    for i, f in enumerate(fired):
        horizon = fired[i + 1].fired_at if i + 1 < len(fired) else end_t
        horizon = min(end_t, max(horizon, f.fired_at + DETECT_S))
        fault_wall_ms = (f.fired_at + wall_minus_mono) * 1000.0
        disrupted = None
        for s in samples:
            if s.t < f.fired_at:
                continue
            if s.t >= horizon:
                break
            if not s.healthy or (s.restarting_ms is not None and s.restarting_ms >= fault_wall_ms):
                disrupted = s.t
                break
        if disrupted is None:
            f.recovery_ms = 0
            continue
        f.recovery_ms = None
        for s in samples:
            if s.t >= disrupted and s.t < end_t and s.healthy:
                f.recovery_ms = int(round((s.t - f.fired_at) * 1000))
                break


# ---- faults -----------------------------------------------------------------------


class Injector:
    """Fires the planned faults and their follow-ups (SIGCONT, restarts,
    replacement nodes) from a time-ordered queue, on the main thread."""

    def __init__(self, cluster, monitor, faults, can_netdrop, early=False):
        self.c, self.mon, self.faults = cluster, monitor, faults
        self.can_netdrop = can_netdrop
        # Bounded jobs: a first fault at a node fires early once a task has
        # FINISHED (the job's tasks are winding down; later it would find
        # nothing running to hit).
        self.early = early and faults[0].kind in NODE_FAULTS
        self.queue = []   # (monotonic time, seq, is_fault, fn)
        self.seq = 0
        self.next_node = 4

    def at(self, t, fn, is_fault=False):
        heapq.heappush(self.queue, (t, self.seq, is_fault, fn))
        self.seq += 1

    def schedule(self, t0):
        self.t0 = t0
        for f in self.faults:
            self.at(t0 + f.at_s, lambda f=f: f.fired_at is None and self.fire(f), is_fault=True)

    def pump(self):
        """Runs whatever is due."""
        first = self.faults[0]
        if self.early and first.fired_at is None and self.queue:
            s = self.mon.latest()
            if s is not None and s.state == "RUNNING" and s.some_finished and s.nodes:
                first.early = True
                self.fire(first)
        while self.queue and self.queue[0][0] <= time.monotonic():
            _, _, _, fn = heapq.heappop(self.queue)
            fn()

    def finish(self, reason):
        """The job is over: faults not yet fired are dropped (said so), the
        follow-ups of fired ones run now (a stopped node must continue)."""
        while self.queue:
            _, _, is_fault, fn = heapq.heappop(self.queue)
            if not is_fault:
                fn()
        for f in self.faults:
            if f.fired_at is None and f.desc is None:
                f.desc = "%s not injected (%s)" % (f.planned(), reason)

    def _victim(self, f):
        s = self.mon.latest_answer()
        cands = [n for n in (s.nodes if s else ()) if self.c.alive(n)]
        if not cands:
            cands = sorted(n for n in self.c.regions if self.c.alive(n))
        return cands[min(int(f.victim_u * len(cands)), len(cands) - 1)]

    def fire(self, f):
        now = time.monotonic()
        f.fired_at = now
        rel = "@%.2fs" % (now - self.t0) + (" (early: a task finished)" if f.early else "")
        if f.kind == "kill9-node":
            v = self._victim(f)
            self.c.signal(v, signal.SIGKILL)
            f.desc = "kill9 %s %s" % (v, rel)
            if f.replace:
                name = "n%d" % self.next_node
                self.next_node += 1
                region = self.c.regions[v]
                f.desc += " +%s(%s) after %.1fs" % (name, region, f.replace_s)
                self.at(now + f.replace_s, lambda: self._replace(name, region))
        elif f.kind == "stop-node":
            v = self._victim(f)
            self.c.signal(v, signal.SIGSTOP)
            f.desc = "stop %s %s for %.1fs" % (v, rel, f.hold_s)
            self.at(now + f.hold_s, lambda: self._cont(v))
        elif f.kind == "kill9-coord":
            self.c.signal("coordinator", signal.SIGKILL)
            f.desc = "kill9 coord %s restart after %.1fs" % (rel, f.hold_s)
            self.at(now + f.hold_s, self._restart_coordinator)
        elif f.kind == "kill9-netfsd":
            self.c.signal("netfsd", signal.SIGKILL)
            f.desc = "kill9 netfsd %s restart after %.1fs" % (rel, f.hold_s)
            self.at(now + f.hold_s, self._restart_netfsd)
        elif f.kind == "netdrop":
            if self.can_netdrop:
                n = self._drop_node_links()
                f.desc = "netdrop %d node-node sockets %s" % (n, rel)
            else:  # no `ss -K` here: short pauses of every node instead
                hold = 0.3 + 0.4 * f.hold_s / 2.0
                for v in sorted(self.c.regions):
                    if self.c.alive(v):
                        self.c.signal(v, signal.SIGSTOP)
                        self.at(now + hold, lambda v=v: self._cont(v))
                f.desc = "netdrop(as pause of every node, no ss -K) %s for %.1fs" % (rel, hold)
        log("fault: " + f.desc)

    def _cont(self, v):
        self.c.signal(v, signal.SIGCONT)
        log("follow-up: SIGCONT %s" % v)

    def _replace(self, name, region):
        self.c.start_node(name, region)
        log("follow-up: replacement node %s in %s" % (name, region))

    def _restart_coordinator(self):
        self.c.start_coordinator(self.c.http, self.c.control, retry_s=10.0)
        log("follow-up: coordinator restarted on %s/%s" % (self.c.http, self.c.control))

    def _restart_netfsd(self):
        self.c.start_netfsd(self.c.netfs_port, retry_s=10.0)
        log("follow-up: netfsd restarted on port %d" % self.c.netfs_port)

    def _drop_node_links(self):
        """Destroys every TCP connection to or from a node's data port (the
        node-to-node channels), both ends, with `ss -K`."""
        rc, out, _ = self.c.cli("-o", "json", "nodes")
        ports = []
        if rc == 0:
            try:
                for n in json.loads(out)["nodes"]:
                    ep = n.get("data_endpoint") or ""
                    if n.get("state") == "ready" and ":" in ep:
                        ports.append(int(ep.rsplit(":", 1)[1]))
            except (ValueError, KeyError):
                pass
        killed = 0
        for p in ports:
            r = subprocess.run(["ss", "-K", "-tn", "state", "established",
                                "( dport = :%d or sport = :%d )" % (p, p)],
                               capture_output=True, text=True, timeout=5)
            killed += max(0, len(r.stdout.strip().splitlines()) - 1)
        return killed


# ---- the jobs ----------------------------------------------------------------------


def multiset_diff(got_lines, want_lines):
    got, want = collections.Counter(got_lines), collections.Counter(want_lines)
    missing = want - got
    extra = got - want
    return missing, extra


def describe_diff(missing, extra):
    def some(c):
        return ", ".join("%r%s" % (k, " x%d" % v if v > 1 else "")
                         for k, v in sorted(c.items())[:3])
    parts = []
    if missing:
        parts.append("%d missing (e.g. %s)" % (sum(missing.values()), some(missing)))
    if extra:
        parts.append("%d extra/duplicated (e.g. %s)" % (sum(extra.values()), some(extra)))
    return "; ".join(parts)


class Job:
    """What each job kind provides to the run."""
    name = None
    bounded = True

    def __init__(self, seed, cluster):
        self.seed, self.c = seed, cluster

    def text(self, checkpoint, output):
        """The job's program; output is the sink's path under netfs://."""
        raise NotImplementedError


def job_header(name, checkpoint, extra=""):
    opts = [o for o in (extra, "checkpoint = %s" % checkpoint if checkpoint else "") if o]
    return 'job "%s"%s\n' % (name, " { %s }" % ", ".join(opts) if opts else "")


class WordCount(Job):
    name = "wordcount"
    FILES, LINES_PER_FILE = 8, 40000  # about 26 MB in all

    def generate(self):
        rng = random.Random(self.seed * 7919 + 1)
        letters = "abcdefghijklmnopqrstuvwxyz"
        vocab = ["".join(rng.choice(letters) for _ in range(rng.randint(2, 9)))
                 for _ in range(4000)]
        weights = [1.0 / (i + 1) ** 0.8 for i in range(len(vocab))]
        os.makedirs(os.path.join(self.c.data, "wc"))
        os.makedirs(os.path.join(self.c.data, "out"), exist_ok=True)
        counts = collections.Counter()
        for i in range(self.FILES):
            words = rng.choices(vocab, weights, k=self.LINES_PER_FILE * 12)
            lines, k = [], 0
            while k < len(words):
                n = rng.randint(4, 20)
                lines.append(" ".join(words[k:k + n]))
                k += n
            with open(os.path.join(self.c.data, "wc", "part-%d.txt" % i), "w") as f:
                f.write("\n".join(lines) + "\n")
            for line in lines:
                counts.update(line.split(" "))
        self.want = ["%s,%d" % (w, n) for w, n in counts.items()]

    def text(self, checkpoint, output):
        return job_header("chaos-wordcount", checkpoint, "parallelism = 3") + (
            'read_text("netfs://wc/*.txt")\n'
            '  .flat_map(line -> split(line, " "))\n'
            '  .key_by(w -> w)\n'
            '  .count()\n'
            '  .write_csv("netfs://%s")\n' % output)

    output = "out/wordcount.csv"


class Join(Job):
    name = "join"
    ORDER_FILES, ORDERS_PER_FILE, USERS = 4, 40000, 6000

    def generate(self):
        rng = random.Random(self.seed * 7919 + 2)
        os.makedirs(os.path.join(self.c.data, "join"))
        os.makedirs(os.path.join(self.c.data, "out"), exist_ok=True)
        regions = {}
        with open(os.path.join(self.c.data, "join", "users.csv"), "w") as f:
            for u in range(self.USERS):
                for _ in range(rng.choice((0, 1, 1, 1, 2, 3))):  # some users have none
                    r = "r%d" % rng.randrange(50)
                    regions.setdefault("u%d" % u, []).append(r)
                    f.write("u%d,%s\n" % (u, r))
        want, oid = [], 0
        for i in range(self.ORDER_FILES):
            with open(os.path.join(self.c.data, "join", "orders-%d.csv" % i), "w") as f:
                for _ in range(self.ORDERS_PER_FILE):
                    u = "u%d" % rng.randrange(self.USERS + 500)  # some have no user
                    amount = rng.randrange(10000)
                    f.write("%d,%s,%d\n" % (oid, u, amount))
                    for r in regions.get(u, ()):
                        want.append("%d,%s,%s,%d" % (oid, u, r, amount))
                    oid += 1
        self.want = want

    def text(self, checkpoint, output):
        return job_header("chaos-join", checkpoint, "parallelism = 2") + (
            'let orders = read_csv("netfs://join/orders-*.csv", '
            '{ id: int, user: str, amount: int }).key_by(o -> o.user)\n'
            'let users = read_csv("netfs://join/users.csv", '
            '{ user: str, region: str }).key_by(u -> u.user)\n'
            'orders.join(users)\n'
            '  .map((o, u) -> { id: o.id, user: o.user, region: u.region, amount: o.amount })\n'
            '  .write_csv("netfs://%s")\n' % output)

    output = "out/joined.csv"


class Window(Job):
    name = "window"
    bounded = False

    def generate(self):
        os.makedirs(os.path.join(self.c.data, "live"))
        open(os.path.join(self.c.data, "live", "events.csv"), "w").close()
        rng = random.Random(self.seed * 7919 + 3)
        self.ticks = []
        for tick in range(TICKS):
            lines = []
            for j in range(LINES_PER_TICK):
                ts = EVENT_BASE_MS + tick * TICK_MS + j * TICK_MS // LINES_PER_TICK \
                    - rng.randrange(JITTER_MS)
                lines.append("%d,k%d,%d\n" % (ts, rng.randrange(WINDOW_KEYS), tick))
            self.ticks.append("".join(lines))
        counts = collections.Counter()
        for chunk in self.ticks:
            for line in chunk.splitlines():
                ts, key, _ = line.split(",")
                ts = int(ts)
                counts[(key, ts - ts % 1000)] += 1
        # Every one of these windows ends before the far-future event's
        # watermark (FAR_FUTURE_MS - 1 s): all of them must be emitted.
        self.want = ["%s,%d,%d,%d" % (k, w, w + 1000, n) for (k, w), n in counts.items()]
        self.last_window = max(w for (_, w) in counts)
        self.writer_done = threading.Event()
        self.stop_writer = threading.Event()

    output = "live/counts.csv"

    def text(self, checkpoint, output):
        return job_header("chaos-window", checkpoint, "parallelism = 3") + (
            'tail_csv("netfs://live/events.csv", { ts: int, key: str, tick: int })\n'
            '  .event_time(e -> e.ts, lateness = 1s)\n'
            '  .key_by(e -> e.key)\n'
            '  .window(tumbling(1s))\n'
            '  .count()\n'
            '  .write_csv("netfs://%s")\n' % output)

    def writer(self):
        """Appends the ticks at a steady rate, then the far-future line."""
        path = os.path.join(self.c.data, "live", "events.csv")
        start = time.monotonic()
        with open(path, "a") as f:
            for i, chunk in enumerate(self.ticks):
                if self.stop_writer.is_set():
                    return
                f.write(chunk)
                f.flush()
                time.sleep(max(0.0, start + (i + 1) * TICK_S - time.monotonic()))
            f.write("%d,kfar,-1\n" % FAR_FUTURE_MS)
            f.flush()
        self.writer_done.set()

    def part_files(self, job_id):
        d = os.path.join(self.c.data, "live")
        pat = re.compile(r"^counts\.csv\.%s\.(a\d+\.)?part-\d{5}$" % re.escape(job_id))
        return sorted(os.path.join(d, n) for n in os.listdir(d) if pat.match(n))

    def read_parts(self, job_id):
        lines = []
        for p in self.part_files(job_id):
            with open(p, errors="replace") as f:
                lines.extend(f.read().splitlines())
        return lines


# ---- one run -------------------------------------------------------------------------


class Run:
    def __init__(self, args, bins):
        self.args, self.bins = args, bins
        self.job_name, self.faults = make_plan(args.seed, args.job, args.faults)
        self.reason = "-"
        self.notes = []
        self.job_id = None
        self.t_end = None

    def summary(self, result):
        faults = ", ".join(f.desc or f.planned() for f in self.faults)
        rec = ",".join("n/a" if f.recovery_ms is None else str(f.recovery_ms)
                       for f in self.faults if f.fired_at is not None) or "-"
        reason = self.reason
        if self.notes:
            reason = (reason + "; " if reason != "-" else "") + "; ".join(self.notes)
        return "seed=%d job=%s faults=[%s] result=%s recovery_ms=%s reason=%s" % (
            self.args.seed, self.job_name, faults, result, rec, reason)

    def execute(self, work):
        log("seed %d: job %s, faults %s; work dir %s" % (
            self.args.seed, self.job_name, ", ".join(f.planned() for f in self.faults), work))
        c = self.c = Cluster(self.bins, work)
        job = self.job = {"wordcount": WordCount, "window": Window, "join": Join}[
            self.job_name](self.args.seed, c)
        job.generate()
        c.start()
        can_netdrop = True
        if any(f.kind == "netdrop" for f in self.faults):
            can_netdrop = ss_kill_works()
            if not can_netdrop:
                self.notes.append("netdrop done as node pauses: ss -K does not work here")
        self.ck = self.checkpoint_option()
        if job.bounded:
            self.baseline()
        self.job_id = self.submit(job.text(self.ck, job.output), self.job_name)
        self.t_submit = time.monotonic()
        self.mon = Monitor(c, self.job_id, job.bounded)
        self.mon.start()
        self.inj = Injector(c, self.mon, self.faults, can_netdrop, early=job.bounded)
        try:
            if job.bounded:
                return self.run_bounded()
            return self.run_window()
        finally:
            self.inj.finish("the job had ended")
            self.mon.stop()
            recovery_times(self.faults, self.mon.samples, self.t_end or time.monotonic())

    def submit(self, text, name):
        path = os.path.join(self.c.work, name + ".sd")
        with open(path, "w") as f:
            f.write(text)
        rc, out, err = self.c.cli("submit", path)
        m = re.search(r"submitted job ([0-9a-f]+)", out)
        if rc != 0 or not m:
            raise Fail("submit failed (exit %d): %s" % (rc, (out + err).strip()[:300]))
        log("job %s submitted (%s)" % (m.group(1), name))
        return m.group(1)

    def checkpoint_option(self):
        """The harness's checkpoint interval for the job block when the
        compiler knows the option (else the coordinator's default, said so)."""
        ck = self.args.checkpoint if self.args.checkpoint != "default" else None
        if ck:
            probe = os.path.join(self.c.work, "probe.sd")
            with open(probe, "w") as f:
                f.write(self.job.text(ck, self.job.output))
            rc, out, err = self.c.cli("plan", probe)
            if rc != 0 and "checkpoint" in out + err:
                self.notes.append("checkpoint option unknown: default interval")
                return None
        return ck

    def baseline(self):
        """Bounded jobs: the job once without faults. Its output must already
        equal the reference, and its timing places the faults (see the top)."""
        out = re.sub(r"\.csv$", "-baseline.csv", self.job.output)
        job_id = self.submit(self.job.text(self.ck, out), self.job_name + "-baseline")
        mon = Monitor(self.c, job_id, quiet=True)
        mon.start()
        try:
            end = time.monotonic() + JOB_TIMEOUT_S
            while True:
                s = mon.latest_answer()
                if s is not None and s.state in ("FINISHED", "FAILED", "CANCELED"):
                    break
                if time.monotonic() > end:
                    raise Fail("baseline run (no fault) did not end in %gs" % JOB_TIMEOUT_S)
                time.sleep(0.05)
        finally:
            mon.stop()
        if s.state != "FINISHED":
            raise Fail("baseline run (no fault) %s: %s" % (s.state, self.failure_text(job_id)))
        missing, extra = multiset_diff(self.read_bounded_output(out), self.job.want)
        if missing or extra:
            raise Fail("baseline run (no fault) output differs: " + describe_diff(missing, extra))
        t_run = s.running_ms / 1000.0 - (time.time() - time.monotonic())
        d = max(0.3, s.finished_ms / 1000.0 - s.running_ms / 1000.0)
        t_tasks = next((x.t for x in mon.samples if x.all_finished), s.t) - t_run
        t_tasks = min(d, max(0.2, t_tasks))
        place_faults(self.faults, bounded_ranges(self.faults[0].kind, d, t_tasks))
        log("baseline: FINISHED, output right; tasks ran %.2fs, the job %.2fs; faults at %s" % (
            t_tasks, d, ", ".join(f.planned() for f in self.faults)))

    def wait_until(self, what, cond, timeout):
        """Pumps the fault queue until cond() or the timeout (then Fail).
        A job that ends meanwhile raises JobEnded (the window job must not
        end by itself; a bounded one that fails or is canceled has no
        output to compare)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.inj.pump()
            if cond():
                return
            self.check_not_ended()
            time.sleep(0.02)
        raise Fail("timed out after %gs waiting for %s" % (timeout, what))

    def check_not_ended(self):
        s = self.mon.latest_answer()
        if s is None:
            return
        if s.state in ("FAILED", "CANCELED") or (s.state == "FINISHED" and not self.job.bounded):
            raise JobEnded(s.state, self.failure_text())

    def failure_text(self, job_id=None):
        rc, out, _ = self.c.cli("-o", "json", "status", job_id or self.job_id)
        try:
            j = json.loads(out)
            f = j.get("failure") or {}
            return "%s %s" % (f.get("code", "?"), f.get("message", "")[:300])
        except ValueError:
            return "(no status: exit %d)" % rc

    def state_is(self, *states):
        s = self.mon.latest_answer()
        return s is not None and s.state in states

    def run_bounded(self):
        self.wait_until("the job RUNNING", lambda: self.state_is("RUNNING", "FINISHED"),
                        START_TIMEOUT_S)
        # Fault times count from when the coordinator says RUNNING began
        # (our first sample may come a little later).
        s = self.mon.latest_answer()
        t0 = time.monotonic()
        if s.running_ms:
            t0 = min(t0, s.running_ms / 1000.0 - (time.time() - time.monotonic()))
        self.inj.schedule(t0)
        deadline = self.t_submit + JOB_TIMEOUT_S

        def ended():
            return self.state_is("FINISHED", "FAILED", "CANCELED")
        try:
            self.wait_until("the job's end", ended, deadline - time.monotonic())
        finally:
            self.t_end = time.monotonic()
        try:
            self.check_not_ended()
        except JobEnded as e:
            # A failed bounded job must leave nothing at its path.
            path = os.path.join(self.c.data, self.job.output)
            left = "no output left behind (as documented)"
            if os.path.exists(path):
                n = len(self.read_bounded_output(self.job.output))
                left = "but it left %s with %d lines" % (self.job.output, n)
            raise Fail("%s; %s" % (e, left))
        return self.compare(self.read_bounded_output(self.job.output), self.job.want)

    def read_bounded_output(self, output):
        path = os.path.join(self.c.data, output)
        if os.path.isdir(path):  # a sink may be a directory of parts
            lines = []
            for root, _, files in os.walk(path):
                for fn in sorted(files):
                    with open(os.path.join(root, fn), errors="replace") as f:
                        lines.extend(f.read().splitlines())
            return lines
        if not os.path.exists(path):
            raise Fail("job FINISHED but %s does not exist" % output)
        with open(path, errors="replace") as f:
            return f.read().splitlines()

    def run_window(self):
        job = self.job
        ended = None
        try:
            self.wait_until("the job RUNNING", lambda: self.state_is("RUNNING"), START_TIMEOUT_S)
            writer = threading.Thread(target=job.writer, daemon=True)
            writer.start()
            self.inj.schedule(time.monotonic())
            deadline = self.t_submit + JOB_TIMEOUT_S
            try:
                self.wait_until("the writer", job.writer_done.is_set, deadline - time.monotonic())
                want_keys = {tuple(w.split(",")[:2]) for w in job.want}

                def all_visible():
                    got = {tuple(x.split(",")[:2]) for x in job.read_parts(self.job_id)}
                    return want_keys <= got
                try:
                    self.wait_until("every window in the part files", all_visible,
                                    min(VISIBLE_TIMEOUT_S, max(1.0, deadline - time.monotonic())))
                except JobEnded:
                    raise
                except Fail as e:
                    # Compare anyway: what is missing says more than a timeout.
                    self.notes.append(str(e))
                settle = time.monotonic() + SETTLE_S
                self.wait_until("settling", lambda: time.monotonic() >= settle, SETTLE_S + 1)
            except JobEnded as e:
                ended = e  # compare what it published all the same
        finally:
            self.t_end = time.monotonic()
            job.stop_writer.set()
        self.inj.finish("the job had ended" if ended else "the writer had finished")
        if ended is None:
            self.cancel()
        got = job.read_parts(self.job_id)
        log("parts: %s" % ", ".join(os.path.basename(p) for p in job.part_files(self.job_id)))
        ok = self.compare(got, job.want)
        if ended is not None:
            self.reason = "%s; its output %s" % (
                ended, "was right all the same" if ok else self.diff)
            return False
        return ok

    def cancel(self):
        rc, out, err = self.c.cli("cancel", self.job_id)
        if rc != 0:
            raise Fail("cancel failed (exit %d): %s" % (rc, (out + err).strip()[:200]))
        end = time.monotonic() + CANCEL_TIMEOUT_S
        while not self.state_is("CANCELED", "FAILED", "FINISHED"):
            if time.monotonic() > end:
                raise Fail("not CANCELED %gs after the cancel" % CANCEL_TIMEOUT_S)
            time.sleep(0.05)

    def compare(self, got, want):
        if not want:
            raise Fail("empty expectation (generator bug)")
        missing, extra = multiset_diff(got, want)
        if missing or extra:
            with open(os.path.join(self.c.logs, "diff.txt"), "w") as f:
                f.write("# output vs reference: - missing, + extra (count)\n")
                for k, v in sorted(missing.items()):
                    f.write("- %s (%d)\n" % (k, v))
                for k, v in sorted(extra.items()):
                    f.write("+ %s (%d)\n" % (k, v))
            self.diff = "has %d lines, want %d: %s" % (len(got), len(want),
                                                      describe_diff(missing, extra))
            self.reason = "output differs from the reference: " + self.diff
            return False
        self.reason = "-"
        self.notes.insert(0, "%d lines equal" % len(want))
        return True


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="chaos.sh", description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True, help="build tree (e.g. build/release)")
    ap.add_argument("--seed", required=True, type=int)
    ap.add_argument("--job", choices=JOBS, help="override the seed's job")
    ap.add_argument("--faults", type=lambda s: s.split(","),
                    help="override the seed's fault kinds: KIND[,KIND] of " +
                    ", ".join(FAULT_KINDS))
    ap.add_argument("--checkpoint", default="1s",
                    help="checkpoint interval put in the job block (default 1s; "
                    "'default' leaves the coordinator's)")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    ap.add_argument("--keep-failed", action="store_true", help="keep it when the run fails")
    ap.add_argument("--save-logs", metavar="DIR",
                    help="when the run fails, copy its logs, job files and diff to DIR")
    args = ap.parse_args(argv)
    for k in args.faults or ():
        if k not in FAULT_KINDS:
            ap.error("unknown fault kind %r (one of %s)" % (k, ", ".join(FAULT_KINDS)))
    if args.faults and len(args.faults) > 2:
        ap.error("at most two faults")
    return args


def main(argv):
    args = parse_args(argv)
    try:
        bins = find_binaries(args.build)
    except Skip as e:
        job, faults = make_plan(args.seed, args.job, args.faults)
        print("seed=%d job=%s faults=[%s] result=SKIP recovery_ms=- reason=%s" % (
            args.seed, job, ", ".join(f.planned() for f in faults), e), flush=True)
        return SKIP
    work = tempfile.mkdtemp(prefix="stardust-chaos-%d-" % args.seed)
    run = Run(args, bins)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt("signal %d" % signum)
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    ok = False
    try:
        ok = run.execute(work)
    except Fail as e:
        run.reason = str(e)
    except KeyboardInterrupt as e:
        run.reason = "interrupted (%s)" % (e or "SIGINT")
    except Exception as e:  # a harness bug must still give a summary line
        import traceback
        traceback.print_exc()
        run.reason = "harness error: %s: %s" % (type(e).__name__, e)
    finally:
        c = getattr(run, "c", None)
        if c is not None:
            c.kill_all()
            if not ok:
                print(c.log_tails(), file=sys.stderr, end="")
                if args.save_logs:
                    shutil.copytree(c.logs, args.save_logs, dirs_exist_ok=True)
                    for fn in os.listdir(work):
                        if fn.endswith(".sd"):
                            shutil.copy2(os.path.join(work, fn), args.save_logs)
    print(run.summary("PASS" if ok else "FAIL"), flush=True)
    if args.keep or (args.keep_failed and not ok):
        log("kept %s" % work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
