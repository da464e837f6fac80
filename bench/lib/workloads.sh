# bench/lib/workloads.sh — W1..W6 of ../shared/BENCHMARKS.md (sourced by bench/run.sh).
#
# Each wN_run generates its input (fixed seed; kept between runs when the
# arguments are the same), warms the page cache, runs the C baseline first
# (its output becomes the reference every other row is checked against),
# then the peers, then the Stardust rows that can run.

# gen_once FILE CMD...: runs `CMD... FILE` unless FILE was made by the same command
gen_once() {
	local file=$1
	shift
	local stamp="$file.args" want="$* (generator $(cksum <"$1" | cut -d' ' -f1))"
	if [ -f "$file" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
		return 0
	fi
	say "generating $(basename "$file"): $*"
	"$@" "$file" >/dev/null
	echo "$want" >"$stamp"
}

# warm FILE: read it once so every row starts from the page cache
warm() { cat "$1" >/dev/null; }

# value_rows W SYSTEM CORES UNIT NOTE VALUES-FILE: a row whose figure is a measured
# value (rate, latency, size) rather than a time over the workload's records
value_row() {
	local w=$1 sys=$2 cores=$3 unit=$4 note=$5 vals=$6
	local n
	n=$(grep -c . "$vals" || true)
	if [ "$n" -eq 0 ]; then
		result "$w" "$sys" "$cores" failed 0 - - - "$note: no value measured"
		return 0
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$sys" "$cores" ok "$n" \
		$(stats "$vals") value "$unit" "$note" >>"$RESULTS"
	say "$w $sys: $(stats "$vals" | cut -d' ' -f1) $unit (median of $n)"
}

baseline_reference() { # W OUT: the reference every row of W is checked against
	norm_lines <"$2" >"$WORK/$1.ref"
	eval "REC_$1=$(mawk '{ s += $NF } END { printf "%d", s }' "$WORK/$1.ref")"
}

w1_run() {
	local in=$DATA/w1.txt
	gen_once "$in" "$gen_words" --bytes "$W1_BYTES" --vocab 100000 --s 1.0 --seed 1
	warm "$in"
	UNIT_W1=words
	"$base_wc" "$in" -o "$WORK/W1.c.out"
	baseline_reference W1 "$WORK/W1.c.out"
	measure_cmd W1 c-baseline 1 norm_lines "$WORK/W1.c.out" -- "$base_wc" "$in" -o "$WORK/W1.c.out"
	if peers_have_mawk; then
		measure_cmd W1 mawk 1 norm_lines "$WORK/W1.mawk.out" -- bash -c \
			'mawk "{ for (i = 1; i <= NF; i++) c[\$i]++ } END { for (w in c) print w, c[w] }" "$1" >"$2"' \
			_ "$in" "$WORK/W1.mawk.out"
	else
		row_skipped W1 mawk 1 "mawk not installed"
	fi
	measure_cmd W1 "tr | sort | uniq -c" 1-2 norm_uniq_c "$WORK/W1.sort.out" -- bash -c \
		'tr -s "[:space:]" "\n" <"$1" | LC_ALL=C sort | uniq -c >"$2"' _ "$in" "$WORK/W1.sort.out"
	stardust_local_rows W1 "$here/jobs/w1_wordcount.sd.in" w1.txt norm_tuple
	run_queue
	if [ "$mode" = smoke ]; then
		row_skipped W1 dask-bag 2 "not in smoke: cluster start-up alone takes seconds"
	elif peers_have_dask; then
		INPROC_NOTE="local cluster, 2 worker processes x 1 thread; cluster start-up not timed" \
			measure_inproc W1 dask-bag 2 norm_lines "$WORK/W1.dask.out" -- \
			"$DEB_PYTHON" "$here/peers/w1_dask.py" "$in" "$WORK/W1.dask.out" "$RUNS" 2
	else
		row_skipped W1 dask-bag 2 "python3-dask / python3-distributed not installed"
	fi
	w_duckdb W1 w1 "$in"
}

w2_run() {
	local in=$DATA/w2.csv
	gen_once "$in" "$gen_events" --events "$W2_EVENTS" --keys 100 --rate 10 --seed 2
	warm "$in"
	UNIT_W2=events
	"$base_win" "$in" -o "$WORK/W2.c.out"
	baseline_reference W2 "$WORK/W2.c.out"
	# records for W2 are all the events read, not only the views counted
	REC_W2=$(wc -l <"$in")
	measure_cmd W2 c-baseline 1 norm_lines "$WORK/W2.c.out" -- "$base_win" "$in" -o "$WORK/W2.c.out"
	if peers_have_mawk; then
		measure_cmd W2 mawk 1 norm_lines "$WORK/W2.mawk.out" -- bash -c \
			'mawk -F, "\$3 == \"view\" { c[int(\$1 / 10000) * 10000 \" \" \$2]++ } END { for (k in c) print k, c[k] }" "$1" >"$2"' \
			_ "$in" "$WORK/W2.mawk.out"
	else
		row_skipped W2 mawk 1 "mawk not installed"
	fi
	stardust_local_rows W2 "$here/jobs/w2_window.sd.in" w2.csv norm_sd_window
	run_queue
	w_duckdb W2 w2 "$in"
}

w_duckdb() { # W w1|w2 INPUT
	if peers_have_duckdb; then
		INPROC_NOTE="2 threads; node and database start-up not timed" \
			measure_inproc "$1" duckdb 2 norm_lines "$WORK/$1.duckdb.out" -- \
			node "$here/peers/duckdb.cjs" "$NODE_PREFIX/node_modules" "$2" "$3" \
			"$WORK/$1.duckdb.out" "$RUNS" 2
	else
		row_skipped "$1" duckdb 2 "@duckdb/node-api not installed in ${NODE_PREFIX#"$top"/}"
	fi
}

# iperf3 on loopback, one stream, RUNS times: the TCP ceiling for W3 and W6
IPERF_VALUES=
iperf_measure() {
	IPERF_VALUES=$WORK/iperf3.values
	: >"$IPERF_VALUES"
	local i port=$((20000 + RANDOM % 20000))
	for ((i = 1; i <= RUNS; i++)); do
		timeout 20 iperf3 -s -1 -B 127.0.0.1 -p "$port" >/dev/null 2>&1 &
		local srv=$!
		sleep 0.3
		if timeout 20 iperf3 -c 127.0.0.1 -p "$port" -t 3 -J >"$WORK/iperf3.json" 2>/dev/null; then
			"$DEB_PYTHON" -c 'import json, sys
print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))' \
				<"$WORK/iperf3.json" >>"$IPERF_VALUES" || true
		fi
		wait "$srv" 2>/dev/null || true
	done
}

w3_run() {
	if [ "$mode" = smoke ]; then
		row_skipped W3 "iperf3 loopback" 2 "not in smoke"
	elif peers_have_iperf3; then
		iperf_measure
		value_row W3 "iperf3 loopback" 2 Gbit/s "1 TCP stream, 3 s, 127.0.0.1" "$IPERF_VALUES"
	else
		row_skipped W3 "iperf3 loopback" 2 "iperf3 not installed"
	fi
	row_skipped W3 "redis XADD" 1 "not measured: Redis is not among the installed peers"
}

w4_run() {
	if [ "$mode" = smoke ]; then
		row_skipped W4 "tcp ping-pong 64 B" 2 "not in smoke"
		return 0
	fi
	if [ ! -x "$pingpong" ]; then
		row_skipped W4 "tcp ping-pong 64 B" 2 "sd-bench-pingpong not built"
		return 0
	fi
	local i
	: >"$WORK/pp.p50"
	: >"$WORK/pp.p99"
	for ((i = 1; i <= RUNS; i++)); do
		"$pingpong" --bytes 64 --count 20000 >"$WORK/pp.out" || continue
		mawk '{ print $1 }' "$WORK/pp.out" >>"$WORK/pp.p50"
		mawk '{ print $2 }' "$WORK/pp.out" >>"$WORK/pp.p99"
	done
	value_row W4 "tcp ping-pong 64 B p50" 2 µs "round trip, loopback, TCP_NODELAY" "$WORK/pp.p50"
	value_row W4 "tcp ping-pong 64 B p99" 2 µs "round trip, loopback, TCP_NODELAY" "$WORK/pp.p99"
}

# The accelerator QEMU rows use: the same rule as tests/qemu (KVM only when
# /dev/kvm opens read-write and the CPU shows vmx/svm; KVM-PVM hosts without
# them cannot run a non-PVM-aware guest through KVM).
qemu_accel() {
	if [ -c /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null && grep -q -w -E 'vmx|svm' /proc/cpuinfo; then
		echo kvm
	else
		echo tcg
	fi
}

# qemu_rows W SYSTEM IMAGE PATTERN: RUNS boots; value rows for the first console
# line matching PATTERN (when given) and for QEMU's exit
qemu_rows() {
	local w=$1 sys=$2 img=$3 pattern=$4 accel i key
	accel=$(qemu_accel)
	key=$WORK/$(file_key "$w.$sys")
	: >"$key.first"
	: >"$key.exit"
	for ((i = 1; i <= RUNS; i++)); do
		read -r first ex st < <("$here/lib/qemu-time.sh" "$accel" "$img" "$pattern" 20)
		[ "${st:-}" = 33 ] || { say "$sys: QEMU exit status ${st:-none}"; continue; }
		[ "$first" != - ] && echo "$first" >>"$key.first"
		echo "$ex" >>"$key.exit"
	done
	if [ -n "$pattern" ]; then
		value_row "$w" "$sys: start → \"$pattern\"" 1 ms "QEMU microvm, $accel, 32 MiB" "$key.first"
	fi
	value_row "$w" "$sys: start → exit" 1 ms "QEMU microvm, $accel, 32 MiB; the guest exits through isa-debug-exit" "$key.exit"
}

w5_run() {
	local img guest=$build/bench/baseline/sd-bench-empty-guest.elf
	if [ "$mode" = smoke ]; then
		row_skipped W5 "empty QEMU guest" 1 "not in smoke"
		return 0
	fi
	if [ -f "$guest" ] && command -v qemu-system-x86_64 >/dev/null 2>&1; then
		qemu_rows W5 "empty QEMU guest" "$guest" ""
	else
		row_skipped W5 "empty QEMU guest" 1 "sd-bench-empty-guest.elf or qemu-system-x86_64 missing"
	fi
	img=${SD_BENCH_IMAGE:-$(find "$build" -maxdepth 4 -type f -name 'stardust-node*.elf' 2>/dev/null | sort | head -n 1)}
	if [ -z "$img" ] || [ ! -f "$img" ]; then
		row_cannot W5 "stardust image" - "no node image under ${build#"$top"/} (configure with SD_BUILD_METAL=ON)"
		return 0
	fi
	stat -c %s "$img" | mawk '{ printf "%.1f\n", $1 / 1024 }' >"$WORK/img.size"
	value_row W5 "stardust image size" - KiB "${img#"$top"/} (ELF as built, with symbols)" "$WORK/img.size"
	# Until the node registers with a coordinator, the image's own boot check is
	# what can be timed: it prints "boot ok" and exits.
	qemu_rows W5 "stardust image boot" "$img" "boot ok"
}

w6_run() {
	if [ -n "$IPERF_VALUES" ] && [ -s "$IPERF_VALUES" ]; then
		value_row W6 "iperf3 loopback" 2 Gbit/s "same measurement as W3: the Linux TCP ceiling" \
			"$IPERF_VALUES"
	else
		row_skipped W6 "iperf3 loopback" 2 "not measured in this run"
	fi
}

rows_from_hooks() {
	local hook
	for hook in "$here"/*/bench-rows.sh; do
		[ -x "$hook" ] || continue
		say "rows from ${hook#"$top"/}"
		local tmp=$WORK/hook.rows
		# bounded so that a hung hook cannot push the smoke run past its 2 minutes
		local limit=600
		[ "$mode" = smoke ] && limit=60
		if timeout "$limit" "$hook" "$build" "$WORK" "$RUNS" "$mode" >"$tmp" 2>"$WORK/hook.err"; then
			mawk -F'\t' 'NF == 11' "$tmp" >>"$RESULTS"
			# In smoke runs (part of make test) a Stardust job that failed is
			# a bug to report, not a figure to leave out.
			local bad='$4 == "wrong"'
			[ "$mode" = smoke ] && bad='$4 == "wrong" || ($4 == "failed" && $2 ~ /^stardust/)'
			WRONG_ROWS=$((WRONG_ROWS + $(mawk -F'\t' "NF == 11 && ($bad)" "$tmp" | wc -l)))
		else
			say "${hook#"$top"/} failed: $(tail -n 2 "$WORK/hook.err" | tr '\n' ' ')"
		fi
	done
	stardust_node_rows W3 "map/filter across two hosted nodes" stardust-node
	stardust_node_rows W4 "latency under open-loop load" stardust-node
	stardust_node_rows W5 "QEMU start to registered to first record" stardust-node.elf
	stardust_node_rows W6 "TCP between two unikernel nodes" stardust-node.elf
}
