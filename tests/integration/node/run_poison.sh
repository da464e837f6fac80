#!/bin/sh
# tests/integration/node/run_poison.sh REPO NODE COORDINATOR CLI NETFSD —
# a failure must not leave a node unusable (issue 15's first item):
#
#   1. a streaming job runs with its source on n1 (us-east, alone there);
#      n1 is paused (SIGSTOP) past the heartbeat timeout, then resumed;
#   2. the coordinator is killed (kill -9) while the job runs and started
#      again with a fresh job store, so it knows nothing of the job n1 runs;
#   after each, a bounded job that can only run on n1 (--constraint
#   region=us-east) must finish with the right output: n1 dropped what it
#   held (reconciliation) instead of refusing the deploy with "already
#   exists", and the coordinator lists it as ready.
set -eu
. "$(dirname "$0")/cluster_lib.sh"
cluster_init "$@"
"$repo/examples/data/gen.sh" "$work/data" 2000 >/dev/null
mkdir -p "$work/data/out" "$work/data/dash"
cluster_start

state() { sd -o json status "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }
is_state() { [ "$(state "$1")" = "$2" ]; }
submit() { # file [flags] -> job id
	f=$1
	shift
	sd submit "$f" "$@" >"$work/submit.out" 2>&1 || fail "submit: $(cat "$work/submit.out")"
	sed -n 's/^submitted job \([0-9a-f]*\).*/\1/p' "$work/submit.out"
}
wordcount_on_n1() { # round
	rm -f "$work/data/out/wordcount.csv"
	sd submit "$repo/examples/wordcount.sd" --constraint region=us-east --wait \
		>"$work/wc$1.out" 2>&1 || fail "round $1: word count on n1: $(cat "$work/wc$1.out")"
	cat "$work"/data/corpus/*.txt | awk '{ n = split(tolower($0), w, / +/)
		for (i = 1; i <= n; i++) if (w[i] != "") c[w[i]]++ }
		END { for (k in c) print k "," c[k] }' | sort >"$work/wc.want"
	sort "$work/data/out/wordcount.csv" | cmp -s - "$work/wc.want" ||
		fail "round $1: word count on n1 differs from awk"
}

# 1. pause n1 past the 2 s heartbeat timeout under a running job.
a=$(submit "$repo/examples/clicks.sd")
wait_for "clicks running" is_state "$a" RUNNING
kill -STOP "$(node_pid n1)"
sleep 3
kill -CONT "$(node_pid n1)"
n1_ready() { sd nodes | grep -q 'n1 .* ready '; }
wait_for "n1 ready again" n1_ready
sd cancel "$a" >/dev/null 2>&1 || true
wordcount_on_n1 1
echo "ok: after a pause past the heartbeat timeout n1 takes new jobs"

# 2. the coordinator dies under a running job and comes back knowing nothing.
b=$(submit "$repo/examples/clicks.sd")
wait_for "clicks running" is_state "$b" RUNNING
coord_pid=$(pgrep -f "$bin/stardust-coordinator" | head -1)
[ -n "$coord_pid" ] || fail "no coordinator process"
kill -9 "$coord_pid"
rm -rf "$work/jobs" "$work/endpoints.json"
"$bin/stardust-coordinator" --listen-http "$http" --listen-control "$control" \
	--state-dir "$work" --netfs "127.0.0.1:$(cat "$work/netfs.port")" \
	--heartbeat-timeout 2s >"$work/coordinator2.log" 2>&1 &
pids="$pids $!"
wait_for "the coordinator again" test -s "$work/endpoints.json"
wait_for "3 nodes again" ready3
wordcount_on_n1 2
grep -q "dropping task" "$work/n1.log" || fail "n1 did not reconcile: $(tail -5 "$work/n1.log")"
echo "ok: after a coordinator restart n1 dropped the unknown job's tasks and takes new jobs"

# 3. a job that fails while some of its sink tasks already finished (their
# parts committed) leaves no file behind (issue 15: "part files after a
# failure", 6 of 7 runs before).
cat >"$work/div.sd" <<'SD'
job "div" { parallelism = 4 }
generate(10).map(x -> 100 / (x - 5)).write_csv("netfs://out/div.csv")
SD
for round in 1 2 3; do
	d=$(submit "$work/div.sd")
	wait_for "the failing job to fail" is_state "$d" FAILED
	no_parts() { [ -z "$(ls "$work/data/out" | grep '^div\.csv')" ]; }
	wait_for "no part of the failed job left (round $round)" no_parts
done
echo "ok: a failed job left no part file (3 runs)"
