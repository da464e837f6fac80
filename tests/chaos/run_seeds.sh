#!/bin/sh
# tests/chaos/run_seeds.sh BUILD N [FIRST] — runs chaos.sh for seeds FIRST..
# FIRST+N-1 (FIRST defaults to 1) one after another against the build tree
# BUILD, prints each run's summary line as it ends, then the totals (passed,
# failed, skipped) and the distribution of the recovery times the runs
# measured (min/median/p90/max over faults that disrupted the job).
#
# Environment: CHAOS_ARGS extra chaos.sh options (e.g. "--job window");
# CHAOS_LOG_DIR where each seed's stderr (and, for a failed seed, its daemons'
# logs and output diff under seed-N/) go; default a new $TMPDIR/stardust-chaos-runs-*.
# Exit status: 0 when no seed failed, 1 when one did, 77 when every seed skipped.
set -u
usage() { echo "usage: $0 BUILD N [FIRST]" >&2; exit 2; }
[ $# -ge 2 ] || usage
build=$1 n=$2 first=${3:-1}
case $n$first in *[!0-9]*) usage ;; esac
here=$(dirname "$0")
logdir=${CHAOS_LOG_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/stardust-chaos-runs-XXXXXX")}
mkdir -p "$logdir"
: >"$logdir/summary.txt"

seed=$first last=$((first + n - 1))
while [ "$seed" -le "$last" ]; do
	# shellcheck disable=SC2086 # CHAOS_ARGS is a list of options
	line=$("$here/chaos.sh" --build "$build" --seed "$seed" ${CHAOS_ARGS:-} \
		--save-logs "$logdir/seed-$seed" 2>"$logdir/seed-$seed.log" |
		grep '^seed=\|result=' | tail -n 1)
	[ -n "$line" ] ||
		line="seed=$seed result=FAIL recovery_ms=n/a reason=no summary line (see seed-$seed.log)"
	echo "$line"
	echo "$line" >>"$logdir/summary.txt"
	seed=$((seed + 1))
done

count() { grep -c "result=$1" "$logdir/summary.txt"; }
passed=$(count PASS) failed=$(count FAIL) skipped=$(count SKIP)
echo "---"
echo "seeds $first..$last: $passed passed, $failed failed, $skipped skipped (logs: $logdir)"
# Every injected fault's recovery time: 0 when it did not disrupt the job,
# n/a when the job never came back ("-": no fault was injected).
sed -n 's/.* recovery_ms=\([^ ]*\) .*/\1/p' "$logdir/summary.txt" | tr ',' '\n' \
	>"$logdir/recovery.txt"
undisrupted=$(grep -c '^0$' "$logdir/recovery.txt")
never=$(grep -c '^n/a$' "$logdir/recovery.txt")
grep -E '^[0-9]+$' "$logdir/recovery.txt" | grep -v '^0$' | sort -n |
	awk -v z="$undisrupted" -v na="$never" '
	{ v[NR] = $1 }
	function pct(p,  i) { i = int(p * NR + 0.999999); if (i < 1) i = 1; return v[i] }
	END {
		if (NR == 0)
			printf "recovery_ms: no disrupted fault measured"
		else
			printf "recovery_ms over %d disrupted faults: min %d median %d p90 %d max %d",
				NR, v[1], pct(0.5), pct(0.9), v[NR]
		printf " (%d faults did not disrupt the job, %d never recovered)\n", z, na
	}'
if [ "$failed" -gt 0 ]; then exit 1; fi
if [ "$skipped" -eq "$n" ]; then exit 77; fi
exit 0
