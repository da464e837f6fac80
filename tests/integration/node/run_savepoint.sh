#!/bin/sh
# tests/integration/node/run_savepoint.sh REPO NODE COORDINATOR CLI NETFSD —
# exactly-once across a savepoint, and refusals of bad checkpoints, on a real
# local cluster (cluster_lib.sh):
#
#   1. a tumbling-window count over a tailed CSV runs with checkpoint = 1s;
#      half the events are appended, then `stardust savepoint --stop` takes a
#      savepoint and cancels the job;
#   2. the rest is appended and the same job is submitted again with
#      --from-savepoint: together the two jobs' part files must hold exactly
#      the rows an independent awk count of all events gives (no window lost,
#      none counted twice);
#   3. bad input gets a clear error and leaves nothing half-made: a savepoint
#      path with no metadata, a savepoint of a job with another graph, and a
#      snapshot file corrupted or truncated by hand each fail the new job with a message
#      naming what is wrong;
#   4. a running job whose checkpoint directory is deleted by hand, then one
#      of its nodes killed: the restart has nothing to restore from, so the
#      job fails with a message naming the missing checkpoint, and the output
#      it had published stays as it was (exact windows, nothing torn).
set -eu
. "$(dirname "$0")/cluster_lib.sh"
cluster_init "$@"
mkdir -p "$work/data/live"
: >"$work/data/live/clicks.csv"
cluster_start

# 400 events, 10 per 100 ms of event time, 4 urls (deterministic).
awk 'BEGIN { ts = 1700000000000
	for (i = 0; i < 400; i++) { ts += 10; printf "%.0f,u%d,/p/%d\n", ts, i % 7, i % 4 } }' \
	>"$work/events.csv"
head -100 "$work/events.csv" >"$work/first.csv"
sed -n '101,200p' "$work/events.csv" >"$work/second.csv"
tail -n +201 "$work/events.csv" >"$work/rest.csv"
awk -F, '{ w = $1 - $1 % 1000; c[$3 "," sprintf("%.0f", w)] += 1 }
	END { for (k in c) { split(k, p, ","); printf "%s,%s,%.0f,%d\n", p[1], p[2], p[2] + 1000, c[k] } }' \
	"$work/events.csv" | sort >"$work/want.csv"

job_text() { # output name
	cat <<SD
job "savepoint-count" { parallelism = 2 checkpoint = 1s }
tail_csv("netfs://live/clicks.csv", { ts: int, user: str, url: str })
  .event_time(c -> c.ts, lateness = 0s)
  .key_by(c -> c.url)
  .window(tumbling(1s))
  .count()
  .write_csv("netfs://live/$1")
SD
}
submit() { # file [flags...] -> job id
	f=$1
	shift
	sd submit "$f" "$@" >"$work/submit.out" 2>&1 || fail "submit: $(cat "$work/submit.out")"
	sed -n 's/^submitted job \([0-9a-f]*\).*/\1/p' "$work/submit.out"
}
state_of() { sd status "$1" -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }

# 1. the first half, then a savepoint that stops the job.
job_text counts.csv >"$work/a.sd"
a=$(submit "$work/a.sd")
[ -n "$a" ] || fail "no job id"
running_a() { [ "$(state_of "$a")" = RUNNING ]; }
wait_for "job A running" running_a
cat "$work/first.csv" >>"$work/data/live/clicks.csv"
one_checkpoint() { sd checkpoints "$a" -o json | grep -q '"completed":[1-9]'; }
wait_for "a completed checkpoint of job A" one_checkpoint
# Windows these close are staged in the savepoint's own epoch: job A must
# publish them when the savepoint completes, although --stop ends it then.
cat "$work/second.csv" >>"$work/data/live/clicks.csv"
sleep 0.5
sp=$(sd savepoint "$a" --stop 2>"$work/savepoint.err") || fail "savepoint: $(cat "$work/savepoint.err")"
[ -n "$sp" ] || fail "savepoint printed no path"
canceled_a() { [ "$(state_of "$a")" = CANCELED ]; }
wait_for "job A stopped by its savepoint" canceled_a
[ -s "$work/data/$sp/_metadata" ] || fail "savepoint $sp has no _metadata"

# 2. the rest, into the same job restored from the savepoint.
cat "$work/rest.csv" >>"$work/data/live/clicks.csv"
echo "1700999999999,ufar,/p/far" >>"$work/data/live/clicks.csv"
b=$(submit "$work/a.sd" --from-savepoint "$sp")
parts() { cat "$work/data/live/counts.csv".*.part-* 2>/dev/null; }
all_rows() { [ "$(parts | wc -l)" -ge "$(wc -l <"$work/want.csv")" ]; }
wait_for "every window after the restore" all_rows
sd cancel "$b" >/dev/null 2>&1 || true
parts | sort >"$work/got.csv"
cmp -s "$work/got.csv" "$work/want.csv" || {
	diff "$work/got.csv" "$work/want.csv" | head >&2
	fail "windows across the savepoint differ from awk (lost or counted twice)"
}

# A stopped job keeps its checkpoints but no staged output.
no_staged() { [ -z "$(ls "$work/data/.stardust/$a/checkpoints/staged" 2>/dev/null)" ]; }
wait_for "job A's staged files removed" no_staged

# 3. bad input: each new job fails with a message naming the problem.
fails_with() { # job-id pattern what
	failed() { [ "$(state_of "$1")" = FAILED ]; }
	wait_for "$3 to fail" failed "$1"
	sd status "$1" >"$work/bad.txt" 2>&1 || true
	grep -q "$2" "$work/bad.txt" || fail "$3: no '$2' in: $(cat "$work/bad.txt")"
}
c=$(submit "$work/a.sd" --from-savepoint ".stardust/no-such-job/checkpoints/chk-1")
fails_with "$c" "no such savepoint" "a savepoint path without metadata"

cat >"$work/other.sd" <<'SD'
job "other-graph" { parallelism = 3 checkpoint = 1s }
tail_text("netfs://live/words.txt").map(w -> (w, 1)).reduce_by_key((a, b) -> a + b)
  .write_csv("netfs://live/other.csv")
SD
: >"$work/data/live/words.txt"
d=$(submit "$work/other.sd" --from-savepoint "$sp")
fails_with "$d" "does not fit" "a savepoint of another job graph"

snap=$(ls "$work/data/$sp"/task-* | head -1)
cp "$snap" "$work/snap.orig"
printf 'XXXX' | dd of="$snap" bs=1 seek=40 conv=notrunc 2>/dev/null
e=$(submit "$work/a.sd" --from-savepoint "$sp")
fails_with "$e" "corrupt" "a corrupted snapshot"
head -c 30 "$work/snap.orig" >"$snap"
f=$(submit "$work/a.sd" --from-savepoint "$sp")
fails_with "$f" "truncated" "a truncated snapshot"
[ -z "$(ls "$work/data/live" | grep -E "\.($c|$d|$e|$f)\.")" ] ||
	fail "a refused job left output: $(ls "$work/data/live")"

# 4. the checkpoint directory of a running job deleted by hand.
job_text gone.csv >"$work/g.sd"
g=$(submit "$work/g.sd")
gparts() { cat "$work/data/live/gone.csv".*.part-* 2>/dev/null; }
all_g() { [ "$(gparts | wc -l)" -ge "$(wc -l <"$work/want.csv")" ]; }
wait_for "every window of job G published" all_g
gparts | sort >"$work/g-before.csv"
cmp -s "$work/g-before.csv" "$work/want.csv" || fail "job G's windows differ from awk"
victim=$(sd status "$g" -o json | python3 -c 'import json, sys
print(json.load(sys.stdin)["vertices"][0]["tasks"][0]["node"])')
# The nodes are held while the directory goes, so that no checkpoint taken
# after the deletion (which would be whole again) completes before the kill.
for n in n1 n2 n3; do kill -STOP "$(node_pid "$n")"; done
rm -rf "$work/data/.stardust/$g/checkpoints"
kill -9 "$(node_pid "$victim")"
for n in n1 n2 n3; do [ "$n" = "$victim" ] || kill -CONT "$(node_pid "$n")"; done
fails_with "$g" "checkpoint" "a job whose checkpoint directory was deleted"
grep -qi "deleted\|missing\|no such\|not found" "$work/bad.txt" ||
	fail "the failure does not say the checkpoint is missing: $(cat "$work/bad.txt")"
echo "job G: $(grep -i -m 1 'checkpoint' "$work/bad.txt")"
gparts | sort >"$work/g-after.csv"
cmp -s "$work/g-after.csv" "$work/want.csv" ||
	fail "job G's published output changed after its failure: $(diff "$work/g-after.csv" "$work/want.csv" | head -5)"
echo "ok: $(wc -l <"$work/want.csv") windows exact across savepoint $sp; missing, foreign, corrupt and truncated savepoints refused; a deleted checkpoint directory fails its job and keeps its output"
