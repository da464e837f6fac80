# bench/lib/measure.sh — timing, output checks and the results file (sourced by bench/run.sh).
#
# Every measured row goes through one of:
#   measure_cmd  WORKLOAD SYSTEM CORES NORMALIZER OUT -- CMD...   (timed here, RUNS times:
#                queued, then run_queue runs all queued rows in interleaved rounds)
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

# Process-timed rows are queued, then run in rounds: round r runs every queued
# row once, in order, so a burst of load from elsewhere on a shared machine
# hits all rows of a workload alike instead of whichever row was running.
Q_N=0
declare -a Q_W Q_SYS Q_CORES Q_NORM Q_OUT Q_CMD Q_NOTE Q_STATE Q_WHY

file_key() { printf '%s' "$1" | tr -c 'A-Za-z0-9_.-' '_'; }

# measure_cmd W SYSTEM CORES NORMALIZER OUT -- CMD...  (CMD writes OUT; queued)
measure_cmd() {
	local i=$Q_N
	Q_W[i]=$1 Q_SYS[i]=$2 Q_CORES[i]=$3 Q_NORM[i]=$4 Q_OUT[i]=$5 Q_NOTE[i]=${ROW_NOTE:-}
	shift 6
	Q_CMD[i]=$(printf '%q ' "$@")
	Q_STATE[i]=ok Q_WHY[i]=
	: >"$WORK/$(file_key "${Q_W[i]}.${Q_SYS[i]}").times"
	Q_N=$((Q_N + 1))
}

# run_one I: one timed run of queued row I; marks it failed or wrong on error
run_one() {
	local i=$1 w=${Q_W[$1]} out=${Q_OUT[$1]} key t0 t1 rc=0
	key=$WORK/$(file_key "$w.${Q_SYS[$1]}")
	rm -f "$out"
	t0=$EPOCHREALTIME
	eval "timeout \"\$PEER_TIMEOUT\" ${Q_CMD[i]}" 2>"$key.err" || rc=$?
	t1=$EPOCHREALTIME
	if [ "$rc" -ne 0 ]; then
		Q_STATE[i]=failed Q_WHY[i]=$(fail_note "$rc" "$key.err")
	elif ! check_output "$w" "${Q_NORM[i]}" "$out"; then
		Q_STATE[i]=wrong Q_WHY[i]="output differs from the C baseline: $(diff_hint "$w" "$out")"
	else
		mawk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }' >>"$key.times"
	fi
}

# run_queue: RUNS rounds over the queued rows, then one result per row; empties the queue
run_queue() {
	local r i key
	for ((r = 1; r <= RUNS; r++)); do
		for ((i = 0; i < Q_N; i++)); do
			[ "${Q_STATE[i]}" = ok ] && run_one "$i"
		done
	done
	for ((i = 0; i < Q_N; i++)); do
		key=$WORK/$(file_key "${Q_W[i]}.${Q_SYS[i]}")
		case ${Q_STATE[i]} in
		ok)
			# shellcheck disable=SC2046
			result "${Q_W[i]}" "${Q_SYS[i]}" "${Q_CORES[i]}" ok "$RUNS" \
				$(stats "$key.times") "${Q_NOTE[i]}"
			;;
		wrong)
			WRONG_ROWS=$((WRONG_ROWS + 1))
			result "${Q_W[i]}" "${Q_SYS[i]}" "${Q_CORES[i]}" wrong 0 - - - "${Q_WHY[i]}"
			;;
		*) result "${Q_W[i]}" "${Q_SYS[i]}" "${Q_CORES[i]}" failed 0 - - - "${Q_WHY[i]}" ;;
		esac
	done
	Q_N=0
}

# measure_inproc W SYSTEM CORES NORMALIZER OUT -- CMD...  (CMD prints `run S` lines)
measure_inproc() {
	local w=$1 sys=$2 cores=$3 norm=$4 out=$5
	shift 6
	local key rc=0
	key=$WORK/$(file_key "$w.$sys")
	local times=$key.times log=$key.log
	rm -f "$out"
	timeout "$PEER_TIMEOUT" "$@" >"$log" 2>"$key.err" || rc=$?
	if [ "$rc" -ne 0 ]; then
		result "$w" "$sys" "$cores" failed 0 - - - "$(fail_note "$rc" "$key.err")"
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
