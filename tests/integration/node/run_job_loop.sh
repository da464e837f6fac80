#!/bin/sh
# tests/integration/node/run_job_loop.sh REPO NODE COORDINATOR CLI NETFSD —
# regression for issue 4 (bounded jobs that never finished on 2 nodes):
# one cluster of two nodes runs JOBS jobs back to back, alternating a word
# count and a tumbling-window count over ONE input file each, so one source
# partition gets an empty split and sends only EndOfStream (which used to be
# dropped when it beat its consumer's deploy). Every job must FINISH within
# its bound (word count equal to awk's); a canceled job must leave no channel
# behind for the next one. Before the fix 3 of 3 runs failed: a job hung (at
# job 1, job 9) or the job after a cancel failed ("already exists").
set -eu
. "$(dirname "$0")/cluster_lib.sh"
cluster_init "$@"
JOBS=${JOBS:-12}
awk 'BEGIN { s = 7; for (i = 0; i < 20000; i++) { l = ""
	for (j = 0; j < 5; j++) { s = (s * 16807) % 2147483647; l = l (j ? " " : "") "w" (s % 300) }
	print l } }' >"$work/data/words.txt"
awk 'BEGIN { s = 3; for (i = 0; i < 30000; i++) { s = (s * 16807) % 2147483647
	printf "%d,%d,%s\n", i * 7, s % 40, (s % 10 < 7 ? "view" : "click") } }' >"$work/data/ev.csv"
mkdir -p "$work/data/out"
cat >"$work/wc.sd" <<'SD'
job "loop-wc"
read_text("netfs://words.txt")
  .flat_map(line -> split(line, " "))
  .key_by(w -> w)
  .count()
  .write_csv("netfs://out/wc.csv")
SD
cat >"$work/win.sd" <<'SD'
job "loop-win"
read_csv("netfs://ev.csv", { ts: int, ad: int, type: str })
  .filter(e -> e.type == "view")
  .event_time(e -> e.ts, lateness = 1s)
  .key_by(e -> e.ad)
  .window(tumbling(10s))
  .count()
  .write_csv("netfs://out/win.csv")
SD
tr ' ' '\n' <"$work/data/words.txt" | sort | uniq -c | awk '{ print $2 "," $1 }' | sort >"$work/wc.want"
# the window job's total count must equal the number of view events
views=$(grep -c ',view$' "$work/data/ev.csv")
CLUSTER_NODES=2 cluster_start

k=1
while [ $k -le "$JOBS" ]; do
	if [ $((k % 2)) -eq 1 ]; then job=wc; else job=win; fi
	rm -rf "$work/data/out/$job.csv"
	timeout 60 "$bin/stardust" --coordinator "http://$http" submit "$work/$job.sd" --wait \
		>"$work/job$k.out" 2>&1 || {
		id=$(sed -n 's/^submitted job \([0-9a-f]*\).*/\1/p' "$work/job$k.out")
		sd status "$id" >&2 || true
		fail "job $k ($job) did not finish: $(tail -n 2 "$work/job$k.out")"
	}
	out=$work/data/out/$job.csv
	[ -d "$out" ] && { find "$out" -type f -exec cat {} + >"$work/got.csv"; out=$work/got.csv; }
	if [ $job = wc ]; then
		sort "$out" >"$work/wc.got"
		cmp -s "$work/wc.got" "$work/wc.want" || fail "job $k: word count differs from awk"
	else
		# Event times only rise, so no view is late: every one is counted.
		# (A watermark that overtook queued batches once dropped some.)
		got=$(awk -F, '{ s += $NF } END { print s + 0 }' "$out")
		[ "$got" -eq "$views" ] ||
			fail "job $k: window counts sum to $got, want $views"
	fi
	k=$((k + 1))
done
echo "ok: $JOBS bounded jobs on 2 nodes finished with the right output"

# A job canceled mid-way releases its channels: the same job runs after it.
sd submit "$work/wc.sd" >"$work/c.out" 2>&1 || fail "submit: $(cat "$work/c.out")"
id=$(sed -n 's/^submitted job \([0-9a-f]*\).*/\1/p' "$work/c.out")
sd cancel "$id" >/dev/null 2>&1 || true
rm -rf "$work/data/out/wc.csv"
timeout 60 "$bin/stardust" --coordinator "http://$http" submit "$work/wc.sd" --wait \
	>"$work/after.out" 2>&1 || fail "the job after a cancel: $(tail -n 3 "$work/after.out")"
sort "$work/data/out/wc.csv" >"$work/wc.got"
cmp -s "$work/wc.got" "$work/wc.want" || fail "the job after a cancel: output differs"
echo "ok: a canceled job left nothing in the way of the next"
