#!/bin/sh
# tests/integration/node/run_stream.sh REPO NODE COORDINATOR CLI NETFSD —
# issue 4's streaming test on a real local cluster (cluster_lib.sh): a
# tumbling-window count over a tailed CSV that a writer keeps appending to.
#
#   1. the writer appends ts,user,url click events in bursts (event times
#      rising, jittered back by less than the lateness, so none is late);
#   2. windows the watermark has passed become visible in the sink's part
#      files while the job runs (streaming sinks append whole lines);
#   3. one event far in the future moves the watermark past every real
#      window; once all of them are visible the job is canceled, and the
#      part files (kept on cancel) must hold exactly the rows an independent
#      awk count over the written lines gives: url,window_start,window_end,count.
set -eu
. "$(dirname "$0")/cluster_lib.sh"
cluster_init "$@"
mkdir -p "$work/data/live"
: >"$work/data/live/clicks.csv"
cluster_start

bursts=6
per_burst=50
# All lines, "burst<TAB>line", from a fixed generator (deterministic).
awk -v bursts=$bursts -v per=$per_burst '
function rnd(n) { seed = (seed * 16807) % 2147483647; return int(seed / 16) % n }
BEGIN {
	seed = 7; ts = 1700000000000
	for (b = 0; b < bursts; b++)
		for (l = 0; l < per; l++) {
			ts += rnd(50)
			printf "%d\t%.0f,u%d,/p/%d\n", b, ts - rnd(800), rnd(20), rnd(4)
		}
}' >"$work/events.tsv"
cut -f2 "$work/events.tsv" >"$work/events.csv"

# Expected: every window of the written events (all closed by the final
# watermark), counted by awk.
awk -F, '{ w = $1 - $1 % 1000; c[$3 "," sprintf("%.0f", w)] += 1 }
	END { for (k in c) { split(k, p, ","); printf "%s,%s,%.0f,%d\n", p[1], p[2], p[2] + 1000, c[k] } }' \
	"$work/events.csv" | sort >"$work/want.csv"
[ "$(wc -l <"$work/want.csv")" -ge 8 ] || fail "too few expected windows"

cat >"$work/stream.sd" <<'SD'
job "stream-count" { parallelism = 2 }

let clicks = tail_csv("netfs://live/clicks.csv", { ts: int, user: str, url: str })
               .event_time(c -> c.ts, lateness = 1s)
               @region("us-east")

clicks
  .key_by(c -> c.url)
  .window(tumbling(1s))
  .count()
  .write_csv("netfs://live/counts.csv")
  @region("eu-west")
SD
sd submit "$work/stream.sd" >"$work/submit.out" 2>&1 || fail "submit: $(cat "$work/submit.out")"
job=$(sed -n 's/^submitted job \([0-9a-f]*\).*/\1/p' "$work/submit.out")
[ -n "$job" ] || fail "no job id: $(cat "$work/submit.out")"
running() { sd status "$job" | grep -q RUNNING; }
wait_for "the stream job running" running
sd status "$job" >"$work/status.txt"
grep -q "sink live/counts.csv (streaming" "$work/status.txt" ||
	fail "status does not show the streaming sink: $(cat "$work/status.txt")"

# The writer: bursts appended a few tenths of a second apart (bounded loop).
b=0
while [ $b -lt $bursts ]; do
	awk -F'\t' -v b=$b '$1 == b { print $2 }' "$work/events.tsv" >>"$work/data/live/clicks.csv"
	b=$((b + 1))
	sleep 0.3
done

parts() { cat "$work/data/live/counts.csv.$job".part-* 2>/dev/null; }
rows() { parts | wc -l; }
# Before the far-future event the watermark (largest ts - 1s) has already
# passed the early windows: they must be visible while the job runs.
some_rows() { [ "$(rows)" -ge 1 ]; }
wait_for "early windows in the sink while the job runs" some_rows
running || fail "the job stopped: $(sd status "$job")"

echo "1700999999999,ufar,/p/far" >>"$work/data/live/clicks.csv"
want_rows=$(wc -l <"$work/want.csv")
all_rows() { [ "$(rows)" -ge "$want_rows" ]; }
wait_for "every window in the sink" all_rows
sd status "$job" | head -2

sd cancel "$job" >/dev/null 2>&1 || fail "cancel: $(sd cancel "$job" 2>&1)"
canceled() { sd status "$job" | grep -q CANCELED; }
wait_for "the job canceled" canceled
# Whole lines only (no half line ever visible), then exactly awk's rows.
parts >"$work/got.raw"
bad=$(grep -cvE '^/p/[0-9]+,[0-9]+,[0-9]+,[0-9]+$' "$work/got.raw" || true)
[ "$bad" -eq 0 ] || fail "$bad malformed sink lines: $(head -3 "$work/got.raw")"
sort "$work/got.raw" >"$work/got.csv"
cmp -s "$work/got.csv" "$work/want.csv" || {
	diff "$work/got.csv" "$work/want.csv" | head >&2
	fail "streamed window counts differ from awk"
}
echo "ok: streaming window counts on 3 nodes ($want_rows windows, $(wc -l <"$work/events.csv") events) visible while running, kept on cancel"
