#!/usr/bin/env bash
# bench/ft/bench-rows.sh BUILD_DIR WORK_DIR RUNS MODE — the fault-tolerance
# rows of the benchmark table (docs/fault-tolerance.md; the runner's hook,
# see bench/README.md). The cluster is bench/node/cluster.sh's: netfsd, a
# coordinator and 2 hosted nodes on loopback.
#
#  W2-stream    W2's job (bench/jobs/w2_window.sd.in) as an unbounded job:
#               read_csv becomes tail_csv over STREAM_COPIES copies of the
#               runner's W2 input (event times shifted 1000 s per copy; 4
#               copies, 1 in smoke), written whole before the job starts,
#               plus one far-future `view` line
#               whose watermark closes every real window. Two variants, in
#               interleaved rounds (the order alternates): `checkpoint = 1s`
#               and `checkpoint = 0s` (no checkpoints: the sink appends
#               directly). Timed: submit → the sink's part files hold as many
#               lines as the C baseline has windows (polled every 20 ms).
#               With checkpoints, output is published only when a checkpoint
#               completes, so that wait is in the time. The job is then
#               canceled and its parts (kept on cancel) compared with
#               WORK/W2.ref shifted likewise: a mismatch is a `wrong` row and no time is kept.
#               Rows: both times, their ratio per round, and end_to_end_duration,
#               state_size and alignment_ms of every completed checkpoint
#               (`stardust checkpoints ID -o json`, read when the last window
#               became visible).
#  snapshot-1M  1 M distinct keys (k0000000 …; 100 k in smoke) counted by key
#               over a tailed file with `checkpoint = 2s` (1s in smoke): with
#               no window the count emits nothing and holds every key. Once
#               the source has read every line and SNAP_WANT completed
#               checkpoints have the same, largest state_size: that size and
#               the write rate state_size / end_to_end_duration per checkpoint.
#  R1           recovery after a fault: tests/chaos/run_seeds.sh over
#               CHAOS_SEEDS seeds (SD_BENCH_CHAOS_SEEDS, default 10), bounded by
#               what is left of the hook's 600 s; not in smoke (make chaos).
# SD_BENCH_FT_PARTS="W2-stream snapshot-1M R1" limits the parts.
set -u
BUILD=$(cd "$1" && pwd) WORK=$2 RUNS=$3 MODE=$4
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
DATA=$(cd "$WORK/.." && pwd)/data
D=$WORK/ft
rm -rf "$D" "$DATA/ft" && mkdir -p "$D" "$DATA/ft/out"
PARTS=${SD_BENCH_FT_PARTS:-W2-stream snapshot-1M R1}
export LC_ALL=C
started=$EPOCHREALTIME

# shellcheck source=bench/node/cluster.sh
. "$top/bench/node/cluster.sh"
has() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }
trap stop_all EXIT
trap 'stop_all; exit 1' INT TERM

SYS="stardust local cluster, 2 nodes"
STREAM_LIMIT=120 # s: submit → every window visible, per run
# W2's input this many times over for W2-stream: long enough that the
# publication wait at the end (up to one interval plus a checkpoint, see
# docs/performance.md) is a small part of a sustained run
STREAM_COPIES=${SD_BENCH_FT_COPIES:-4} W2_SPAN_MS=1000000 # ms: W2's events lie in [0, 1000 s)
SNAP_KEYS=1000000 SNAP_INTERVAL=2s SNAP_WANT=5 SNAP_LIMIT=60
if [ "$MODE" = smoke ]; then
	STREAM_LIMIT=15 STREAM_COPIES=1 SNAP_KEYS=100000 SNAP_INTERVAL=1s SNAP_WANT=2 SNAP_LIMIT=15
fi
HOOK_BUDGET=560 # s of the runner's 600 s bound for this hook

sd() { "$CLI" --coordinator "http://$HTTP" "$@"; }
job_id() { sed -n 's/^submitted job \([0-9a-f]*\).*/\1/p' "$1"; }
secs_since() { mawk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'; }
# shellcheck disable=SC2317 # called through wait_for
canceled() { sd status "$1" | grep -q CANCELED; }
cancel_job() { # ID: cancel, wait (bounded) until it is
	sd cancel "$1" >/dev/null 2>&1
	wait_for 100 canceled "$1"
}
# chk_rows JSON: "duration_ms state_size alignment_ms" per completed checkpoint, oldest first
chk_rows() {
	python3 -c 'import json, sys
for h in reversed(json.load(open(sys.argv[1]))["history"]):
    if h["status"] == "COMPLETED" and h["end_to_end_duration"] is not None:
        print(h["end_to_end_duration"], h["state_size"], h["alignment_ms"])' "$1"
}
# records_in ID STAGE: the stage's records_in from `stardust -o json status`
records_in() {
	sd -o json status "$1" | python3 -c 'import json, sys
print(json.load(sys.stdin)["vertices"][int(sys.argv[1])]["metrics"]["records_in"])' "$2"
}

# ---- W2-stream ---------------------------------------------------------------

# stream_run VARIANT ROUND: one timed run; appends to $D/VARIANT.times (and the
# checkpoint figures to $D/chk.*), or sets BAD[VARIANT] to why not
stream_run() {
	local v=$1 r=$2 key=$D/w2s.$1.$2 job t0 n=0 i
	t0=$EPOCHREALTIME
	if ! sd submit "$D/w2s-$v.sd" >"$key.submit" 2>&1 || [ -z "$(job_id "$key.submit")" ]; then
		BAD[$v]="failed: submit: $(tr '\n\t' '  ' <"$key.submit" | cut -c1-160)"
		return 1
	fi
	job=$(job_id "$key.submit")
	local parts=("$DATA/ft/out/w2s.csv.$job".part-*)
	for ((i = 0; i < STREAM_LIMIT * 50; i++)); do
		parts=("$DATA/ft/out/w2s.csv.$job".part-*)
		[ -e "${parts[0]}" ] && n=$(cat "${parts[@]}" | wc -l)
		[ "$n" -ge "$WANT_LINES" ] && break
		sleep 0.02
	done
	local t
	t=$(secs_since "$t0")
	sd checkpoints "$job" -o json >"$key.chk.json" 2>&1
	sd status "$job" >"$key.status" 2>&1
	cancel_job "$job"
	if [ "$n" -lt "$WANT_LINES" ]; then
		BAD[$v]="failed: run $r: $n of $WANT_LINES windows visible after ${STREAM_LIMIT}s: $(sed -n 2p "$key.status" | cut -c1-120)"
		return 1
	fi
	cat "${parts[@]}" | norm_sd_window >"$key.norm"
	if ! cmp -s "$key.norm" "$D/w2s.ref"; then
		BAD[$v]="wrong: run $r: output differs from the C baseline ($(wc -l <"$key.norm") lines vs $WANT_LINES; first difference: $(cmp "$key.norm" "$D/w2s.ref" 2>&1 | head -n 1 | sed 's/.*differ: //'))"
		return 1
	fi
	echo "$t" >>"$D/w2s.$v.times"
	[ "$v" = 1s ] || return 0
	if ! chk_rows "$key.chk.json" >"$key.chk"; then
		BAD[$v]="failed: run $r: unreadable checkpoint statistics: $(head -c 120 "$key.chk.json")"
		return 1
	fi
	mawk '{ print $1 >>(f ".dur"); printf "%.3f\n", $2 / 1024 >>(f ".size"); print $3 >>(f ".align") }' \
		f="$D/chk" "$key.chk"
	wc -l <"$key.chk" >>"$D/chk.count"
}

declare -A BAD=()
w2_stream_rows() {
	local recs unit=events v r
	if [ ! -s "$WORK/W2.ref" ]; then
		skip W2-stream "$SYS" 2 "the runner did not run W2 (no C baseline reference to check against)"
		return 0
	fi
	# the windows of the C baseline, which every bounded W2 row is held to
	# STREAM_COPIES copies of the input, event times shifted by W2_SPAN_MS
	# per copy, so the windows of copy k are the baseline's shifted by k spans
	mawk -F, -v span=$W2_SPAN_MS '$1 >= span { bad = 1 } END { exit bad }' "$DATA/w2.csv" || {
		row W2-stream "$SYS" 2 failed 0 - - - 0 events "the W2 input has event times past ${W2_SPAN_MS} ms; W2_SPAN_MS must grow"
		return 0
	}
	: >"$DATA/ft/w2s.csv"
	for ((k = 0; k < STREAM_COPIES; k++)); do
		mawk -F, -v OFS=, -v d=$((k * W2_SPAN_MS)) '{ $1 += d; print }' "$DATA/w2.csv" >>"$DATA/ft/w2s.csv"
	done
	mawk -v span=$W2_SPAN_MS -v n="$STREAM_COPIES" \
		'{ for (k = 0; k < n; k++) print $1 + k * span, $2, $3 }' "$WORK/W2.ref" |
		LC_ALL=C sort >"$D/w2s.ref"
	WANT_LINES=$(wc -l <"$D/w2s.ref")
	recs=$(wc -l <"$DATA/ft/w2s.csv")
	echo "100000000,0,view" >>"$DATA/ft/w2s.csv" # ts 1e8 ms: past every real window
	cat "$DATA/ft/w2s.csv" >/dev/null
	for v in 1s 0s; do
		sed -e 's|@INPUT@|netfs://ft/w2s.csv|' -e 's|@OUTPUT@|netfs://ft/out/w2s.csv|' \
			-e 's|read_csv(|tail_csv(|' \
			-e "s|^job \"bench-w2\"|job \"bench-w2-stream-$v\" { checkpoint = $v }|" \
			"$top/bench/jobs/w2_window.sd.in" >"$D/w2s-$v.sd"
		if ! grep -q 'tail_csv(' "$D/w2s-$v.sd" || ! grep -q "checkpoint = $v" "$D/w2s-$v.sd"; then
			row W2-stream "$SYS" 2 failed 0 - - - "$recs" "$unit" "bench/jobs/w2_window.sd.in no longer has the lines this hook rewrites"
			return 0
		fi
		: >"$D/w2s.$v.times"
	done
	if ! cluster_up "$D/c" "$DATA" 2; then
		row W2-stream "$SYS" 2 failed 0 - - - "$recs" "$unit" \
			"the cluster did not come up: $(tail -q -n 1 "$D/c"/*.log | tr '\n\t' '  ' | cut -c1-160)"
		stop_all
		return 0
	fi
	for ((r = 1; r <= RUNS; r++)); do
		local order="0s 1s"
		[ $((r % 2)) -eq 0 ] && order="1s 0s"
		for v in $order; do
			[ -n "${BAD[$v]:-}" ] || stream_run "$v" "$r"
		done
	done
	stop_all
	local note="tail_csv over $STREAM_COPIES cop$([ "$STREAM_COPIES" = 1 ] && echo y || echo ies) of the W2 input (written before the job starts) + 1 far-future line; hosted nodes on loopback, 2 shared cores; submit → every window in the sink's parts (20 ms polls), output checked against the C baseline"
	for v in 0s 1s; do
		local sys="$SYS, checkpoint = $v" what="no checkpoints: the sink appends directly"
		[ "$v" = 1s ] && what="1 s checkpoints: output published when a checkpoint completes"
		case ${BAD[$v]:-} in
		"") # shellcheck disable=SC2046
			row W2-stream "$sys" 2 ok "$(grep -c . "$D/w2s.$v.times")" $(stats "$D/w2s.$v.times") \
				"$recs" "$unit" "$what; $note" ;;
		wrong:*) row W2-stream "$sys" 2 wrong 0 - - - "$recs" "$unit" "${BAD[$v]#wrong: }" ;;
		*) row W2-stream "$sys" 2 failed 0 - - - "$recs" "$unit" "${BAD[$v]#failed: }" ;;
		esac
	done
	[ -z "${BAD[0s]:-}" ] && [ -z "${BAD[1s]:-}" ] || return 0
	# per round: time without ÷ time with = throughput with ÷ throughput without
	paste "$D/w2s.0s.times" "$D/w2s.1s.times" | mawk '$2 > 0 { printf "%.3f\n", $1 / $2 }' >"$D/w2s.ratio"
	local rn="goal ≥ 0.9; paired per round (same cluster, interleaved)"
	[ "$MODE" = smoke ] && rn="$rn; smoke input: the wait for the first checkpoint is most of the time"
	value W2-stream "stardust: throughput with 1 s checkpoints ÷ without" 2 × "$rn" "$D/w2s.ratio"
	local nchk
	nchk=$(mawk '{ s += $1 } END { printf "%d", s }' "$D/chk.count" 2>/dev/null)
	local cn="every completed checkpoint of the $RUNS run(s) up to the last window's publication ($nchk in all; stardust checkpoints ID -o json)"
	value W2-stream "stardust checkpoint 1s: end_to_end_duration" 2 ms "$cn" "$D/chk.dur"
	value W2-stream "stardust checkpoint 1s: state_size" 2 KiB "$cn; all tasks" "$D/chk.size"
	value W2-stream "stardust checkpoint 1s: alignment_ms" 2 ms \
		"$cn; one tail source task, so every downstream task has one input channel" "$D/chk.align"
}

# ---- snapshot-1M ------------------------------------------------------------

# snap_stable ID: the source read every key, and at least SNAP_WANT completed
# checkpoints have the largest state_size, the newest among them ($D/snap.chk)
snap_stable() {
	sd checkpoints "$1" -o json >"$D/snap.json" 2>/dev/null && chk_rows "$D/snap.json" >"$D/snap.chk" &&
		mawk -v want="$SNAP_WANT" '{ s[NR] = $2; if ($2 > max) max = $2 }
			END { for (i = 1; i <= NR; i++) k += (s[i] == max); exit !(NR && s[NR] == max && k >= want) }' \
			"$D/snap.chk" &&
		[ "$(records_in "$1" 0 2>/dev/null)" = "$SNAP_KEYS" ]
}

snapshot_rows() {
	local w=snapshot-1M sys="$SYS, checkpoint = $SNAP_INTERVAL" job i
	mawk -v n="$SNAP_KEYS" 'BEGIN { for (i = 0; i < n; i++) printf "k%07d\n", i }' >"$DATA/ft/keys.txt"
	cat >"$D/snap.sd" <<-EOF
		job "bench-snapshot" { checkpoint = $SNAP_INTERVAL }
		tail_text("netfs://ft/keys.txt").key_by(w -> w).count().write_csv("netfs://ft/out/keys.csv")
	EOF
	if ! cluster_up "$D/s" "$DATA" 2; then
		row "$w" "$sys" 2 failed 0 - - - 0 MiB "the cluster did not come up"
		stop_all
		return 0
	fi
	if ! sd submit "$D/snap.sd" >"$D/snap.submit" 2>&1 || [ -z "$(job_id "$D/snap.submit")" ]; then
		row "$w" "$sys" 2 failed 0 - - - 0 MiB "submit: $(tr '\n\t' '  ' <"$D/snap.submit" | cut -c1-160)"
		stop_all
		return 0
	fi
	job=$(job_id "$D/snap.submit")
	local ok=0
	for ((i = 0; i < SNAP_LIMIT * 2; i++)); do
		snap_stable "$job" && { ok=1; break; }
		sleep 0.5
	done
	cancel_job "$job"
	stop_all
	if [ "$ok" = 0 ]; then
		row "$w" "$sys" 2 failed 0 - - - 0 MiB \
			"within ${SNAP_LIMIT}s, not both every line read and $SNAP_WANT completed checkpoints of one size (ms, B, ms: $(tr '\n' ' ' <"$D/snap.chk" | cut -c1-100))"
		return 0
	fi
	local max
	max=$(mawk '$2 > m { m = $2 } END { print m + 0 }' "$D/snap.chk")
	# every key's 8 bytes at least must be in the snapshot
	if [ "$max" -lt $((SNAP_KEYS * 8)) ]; then
		row "$w" "$sys" 2 wrong 0 - - - 0 MiB \
			"largest state_size $max B: less than the $SNAP_KEYS keys' 8 bytes each"
		return 0
	fi
	mawk -v m="$max" '$2 == m { printf "%.2f\n", $2 / 1048576 >(f ".size")
		if ($1 > 0) printf "%.1f\n", $2 / 1048576 / ($1 / 1000) >(f ".rate"); print $1 >(f ".dur") }' \
		f="$D/snap" "$D/snap.chk"
	local note="$SNAP_KEYS distinct keys (k0000000 …) in a tailed file, .key_by(w -> w).count() (no window: every key stays in the state); checkpoints once the state held every key"
	value "$w" "$sys: state_size" 2 MiB "$note; all tasks" "$D/snap.size"
	value "$w" "$sys: end_to_end_duration" 2 ms "$note" "$D/snap.dur"
	value "$w" "$sys: write rate" 2 MiB/s "$note; state_size ÷ end_to_end_duration (serialise, write through netfs, commit, ack)" "$D/snap.rate"
}

# ---- R1: recovery over chaos seeds ------------------------------------------

recovery_rows() {
	local seeds=${SD_BENCH_CHAOS_SEEDS:-10} left rc=0
	local sys="stardust 3 hosted nodes (tests/chaos)"
	if [ "$MODE" = smoke ]; then
		skip R1 "$sys" 3 "not in smoke: make chaos SEEDS=N" ms
		return 0
	fi
	left=$(mawk -v a="$started" -v b="$EPOCHREALTIME" -v t="$HOOK_BUDGET" 'BEGIN { printf "%d", t - (b - a) }')
	if [ "$left" -lt 60 ]; then
		skip R1 "$sys" 3 "no time left in this hook's budget (${left}s): make chaos SEEDS=$seeds" ms
		return 0
	fi
	CHAOS_LOG_DIR=$D/chaos timeout "$left" "$top/tests/chaos/run_seeds.sh" "$BUILD" "$seeds" 1 \
		>"$D/chaos.out" 2>"$D/chaos.err" || rc=$?
	local dist total
	dist=$(grep '^recovery_ms over' "$D/chaos.out")
	total=$(grep '^seeds ' "$D/chaos.out" | sed 's/ (logs:.*//')
	if [ "$rc" -eq 77 ]; then
		skip R1 "$sys" 3 "every chaos seed skipped: $(grep -m1 -o 'reason=.*' "$D/chaos.out" | cut -c1-120)" ms
		return 0
	fi
	if [ "$rc" -eq 124 ] || [ -z "$dist" ]; then
		row R1 "$sys" 3 failed 0 - - - 0 ms \
			"run_seeds.sh, $seeds seeds, exit $rc after ${left}s at most ($(grep -c . "$D/chaos/summary.txt" 2>/dev/null) seeds done; $(tail -n 1 "$D/chaos.out" | cut -c1-100)): make chaos SEEDS=$seeds"
		return 0
	fi
	# "recovery_ms over N disrupted faults: min A median B p90 C max D (...)"
	local re='over ([0-9]+) disrupted faults: min ([0-9]+) median ([0-9]+) p90 ([0-9]+) max ([0-9]+)'
	[[ $dist =~ $re ]] || {
		row R1 "$sys" 3 failed 0 - - - 0 ms "run_seeds.sh printed no distribution: $dist"
		return 0
	}
	local n=${BASH_REMATCH[1]} mn=${BASH_REMATCH[2]} med=${BASH_REMATCH[3]} p90=${BASH_REMATCH[4]} mx=${BASH_REMATCH[5]}
	row R1 "$sys: recovery" 3 ok "$n" "$med" "$mn" "$mx" value ms \
		"fault → job RUNNING with every task RUNNING again, over the faults that disrupted it: p90 $p90 ms; $total; heartbeat timeout 2 s (goal: ≤ timeout + 1 s); tests/chaos/run_seeds.sh $BUILD $seeds"
	if [ "$rc" -ne 0 ]; then
		row R1 "$sys: exactly-once" 3 wrong 0 - - - 0 seeds \
			"chaos seeds failed: $(grep 'result=FAIL' "$D/chaos.out" | cut -c1-100 | head -n 3 | tr '\n' ' ')"
	fi
}

for b in "$COORD" "$CLI" "$NETFSD" "$NODE"; do
	if [ ! -x "$b" ]; then
		has W2-stream && cannot W2-stream "$SYS" 2 "${b#"$top"/} not built"
		has snapshot-1M && cannot snapshot-1M "$SYS" 2 "${b#"$top"/} not built"
		exit 0
	fi
done
if ! command -v python3 >/dev/null; then
	has W2-stream && cannot W2-stream "$SYS" 2 "python3 not found (reads the checkpoint statistics)"
	has snapshot-1M && cannot snapshot-1M "$SYS" 2 "python3 not found (reads the checkpoint statistics)"
	exit 0
fi
has W2-stream && w2_stream_rows
has snapshot-1M && snapshot_rows
has R1 && recovery_rows
exit 0
