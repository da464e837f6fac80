# bench/lib/measure.sh — timing, output checks and the results file (sourced by bench/run.sh).
#
# Every measured row goes through one of:
#   measure_cmd  WORKLOAD SYSTEM CORES NORMALIZER OUT -- CMD...   (timed here, RUNS times)
#   measure_inproc WORKLOAD SYSTEM CORES NORMALIZER OUT -- CMD... (CMD times itself and
#                  prints `run SECONDS` per run; its start-up is not timed)
#   row_cannot   WORKLOAD SYSTEM CORES REASON                      (a row that cannot run)
# ROW_NOTE / INPROC_NOTE in the environment add a note to the row.
# Each run's output is normalised (NORMALIZER reads the raw output on stdin and
# prints canonical lines) and compared byte for byte with the C baseline's; a
# row whose output differs is reported as wrong and its times are not.
#
# Results go to $RESULTS (TSV): workload system cores status runs median min max
# records unit note. status is one of ok, wrong, failed, cannot-run, skipped.

: "${RESULTS:?}" "${RUNS:?}" "${WORK:?}"
WRONG_ROWS=0

say() { printf 'bench: %s\n' "$*" >&2; }

# records and units per workload, set by the runner: REC_<W>, UNIT_<W>
records_of() { local v="REC_$1"; echo "${!v:-0}"; }
unit_of() { local v="UNIT_$1"; echo "${!v:-records}"; }

# Canonical forms: `key... count` lines, single spaces, sorted bytewise.
norm_lines() { LC_ALL=C sort; }
norm_uniq_c() { mawk '{ print $2, $1 }' | LC_ALL=C sort; }
# Stardust sinks write CSV (or tuples): commas, brackets and quotes become spaces.
# W2 from Stardust: `ad,window_start,window_end,count` -> `window_start ad count`
norm_sd_window() { mawk -F, 'NF { print $2, $1, $4 }' | LC_ALL=C sort; }
norm_tuple() { tr ',()[]"' '      ' | mawk 'NF { $1 = $1; print }' | LC_ALL=C sort; }

# stats FILE-OF-SECONDS -> "median min max" (median of an even count: mean of the middle two)
stats() {
	LC_ALL=C sort -g "$1" | mawk '{ v[NR] = $1 } END {
		if (NR == 0) { print "- - -"; exit }
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.4f %.4f %.4f\n", m, v[1], v[NR] }'
}

result() { # workload system cores status runs median min max note
	local w=$1 sys=$2 cores=$3 st=$4 runs=$5 med=$6 min=$7 max=$8 note=${9:-}
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$sys" "$cores" "$st" \
		"$runs" "$med" "$min" "$max" "$(records_of "$w")" "$(unit_of "$w")" "$note" >>"$RESULTS"
	case $st in
	ok) say "$w $sys: median ${med}s (min $min, max $max) over $runs runs" ;;
	*) say "$w $sys: $st${note:+ — $note}" ;;
	esac
}

row_cannot() { result "$1" "$2" "$3" cannot-run 0 - - - "$4"; }
row_skipped() { result "$1" "$2" "$3" skipped 0 - - - "$4"; }

# fail_note STATUS ERRFILE -> one line saying why a run failed
fail_note() {
	local why="exit status $1"
	[ "$1" -eq 124 ] && why="timed out after ${PEER_TIMEOUT}s"
	printf '%s: %s' "$why" "$(tail -n 3 "$2" | tr '\n\t' '  ' | cut -c1-200)"
}

# check_output WORKLOAD NORMALIZER RAW -> 0 when it matches $WORK/<w>.ref
check_output() {
	local w=$1 norm=$2 raw=$3
	[ -s "$raw" ] || [ ! -s "$WORK/$w.ref" ] || return 1
	"$norm" <"$raw" >"$raw.norm" && cmp -s "$raw.norm" "$WORK/$w.ref"
}

# first differing line, for the report
diff_hint() {
	local w=$1 raw=$2
	[ -f "$raw.norm" ] || { echo "no output"; return; }
	local n ref
	n=$(wc -l <"$raw.norm")
	ref=$(wc -l <"$WORK/$w.ref")
	echo "$n lines vs $ref in the baseline; first difference: $(cmp "$raw.norm" "$WORK/$w.ref" 2>&1 |
		head -n 1 | sed -e 's/.*differ: //' -e 's/.*EOF on [^ ]*/one ends early/')"
}

# measure_cmd W SYSTEM CORES NORMALIZER OUT -- CMD...  (CMD writes OUT)
measure_cmd() {
	local w=$1 sys=$2 cores=$3 norm=$4 out=$5
	shift 6
	local times="$WORK/$w.$sys.times" i t0 t1 rc
	: >"$times"
	for ((i = 1; i <= RUNS; i++)); do
		rm -f "$out"
		t0=$EPOCHREALTIME
		rc=0
		timeout "$PEER_TIMEOUT" "$@" 2>"$WORK/$w.$sys.err" || rc=$?
		t1=$EPOCHREALTIME
		if [ "$rc" -ne 0 ]; then
			result "$w" "$sys" "$cores" failed 0 - - - "$(fail_note "$rc" "$WORK/$w.$sys.err")"
			return 0
		fi
		if ! check_output "$w" "$norm" "$out"; then
			WRONG_ROWS=$((WRONG_ROWS + 1))
			result "$w" "$sys" "$cores" wrong 0 - - - "output differs from the C baseline: $(diff_hint "$w" "$out")"
			return 0
		fi
		mawk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }' >>"$times"
	done
	# shellcheck disable=SC2046
	result "$w" "$sys" "$cores" ok "$RUNS" $(stats "$times") "${ROW_NOTE:-}"
}

# measure_inproc W SYSTEM CORES NORMALIZER OUT -- CMD...  (CMD prints `run S` lines)
measure_inproc() {
	local w=$1 sys=$2 cores=$3 norm=$4 out=$5
	shift 6
	local times="$WORK/$w.$sys.times" log="$WORK/$w.$sys.log"
	local rc=0
	rm -f "$out"
	timeout "$PEER_TIMEOUT" "$@" >"$log" 2>"$WORK/$w.$sys.err" || rc=$?
	if [ "$rc" -ne 0 ]; then
		result "$w" "$sys" "$cores" failed 0 - - - "$(fail_note "$rc" "$WORK/$w.$sys.err")"
		return 0
	fi
	if ! check_output "$w" "$norm" "$out"; then
		WRONG_ROWS=$((WRONG_ROWS + 1))
		result "$w" "$sys" "$cores" wrong 0 - - - "output differs from the C baseline: $(diff_hint "$w" "$out")"
		return 0
	fi
	mawk '$1 == "run" { print $2 }' "$log" >"$times"
	local n
	n=$(wc -l <"$times")
	# shellcheck disable=SC2046
	result "$w" "$sys" "$cores" ok "$n" $(stats "$times") "${INPROC_NOTE:-start-up not timed}"
}
