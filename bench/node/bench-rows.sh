#!/usr/bin/env bash
# bench/node/bench-rows.sh BUILD_DIR WORK_DIR RUNS MODE — the node runtime's
# rows of the benchmark table (the runner's hook, see bench/README.md).
#
#  W1, W2  the runner's own inputs (WORK/../data/w1.txt, w2.csv) on a real
#          local cluster — stardust-netfsd + stardust-coordinator + N hosted
#          stardust-node processes on loopback — for N = 2 and 1 (smoke: 2
#          only, one run). Timed: `stardust submit --wait` (submit → FINISHED,
#          which polls every 200 ms); cluster start-up is not timed. Each run's
#          sink is checked against the C baseline's output (WORK/W1.ref) first:
#          a mismatch is a `wrong` row and no time is kept.
#  W3      bench_node_exchange: map/filter between two hosted node processes
#          over one TCP connection; its own row-count and checksum must pass.
#  W4      latency under open-loop load (bench/node/w4_openloop.py): a
#          tail_text → write_text job on a 1-node local cluster, a writer
#          appending lines on a fixed schedule, latency = sink-visible −
#          scheduled append, at 10/50/80 % of the measured maximum rate.
#  W5      the unikernel image (not in smoke): sizes, QEMU start → node
#          registered in the coordinator (polls /v1/nodes), start → a tiny
#          job's output visible, the node's reported mem_used.
#  W6      TCP between two unikernel VMs (tests/qemu/node/two_vm_test.sh:
#          -netdev dgram, echo through VM A, every byte checked).
# QEMU runs under TCG on hosts without usable KVM; every QEMU row says which.
# SD_BENCH_NODE_PARTS="W1 W3 ..." limits the parts (for trying one out).
set -u
BUILD=$(cd "$1" && pwd) WORK=$2 RUNS=$3 MODE=$4
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
DATA=$(cd "$WORK/.." && pwd)/data
D=$WORK/node
rm -rf "$D" && mkdir -p "$D"
PARTS=${SD_BENCH_NODE_PARTS:-W1 W2 W3 W4 W5 W6}
export LC_ALL=C

# shellcheck source=bench/node/cluster.sh
. "$here/cluster.sh"
XCHG=$BUILD/bench/node/bench_node_exchange
IMG=${SD_BENCH_IMAGE:-$BUILD/metal/stardust-node.elf}
has() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }

JOB_LIMIT=60
[ "$MODE" = smoke ] && JOB_LIMIT=8
trap stop_all EXIT
trap 'stop_all; exit 1' INT TERM

# ---- W1, W2 on a local cluster ------------------------------------------

# job_run W N RUN: one timed run of W's job on the running cluster; appends
# the time to $D/W.N.times, or sets JOB_BAD to why it failed / was wrong
job_run() {
	local w=$1 n=$2 key=$D/$1.$2 sink=out/node-$1.csv t0 rc=0 norm=norm_tuple
	[ "$w" = W2 ] && norm=norm_sd_window
	rm -rf "${DATA:?}/$sink"
	t0=$EPOCHREALTIME
	timeout "$JOB_LIMIT" "$CLI" --coordinator "http://$HTTP" submit "$D/$w.sd" --wait >"$key.job" 2>&1 || rc=$?
	local t
	t=$(mawk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
	if [ "$rc" -eq 124 ]; then
		local id
		id=$(sed -n 's/^submitted job \([0-9a-f]*\).*/\1/p' "$key.job")
		"$CLI" --coordinator "http://$HTTP" status "$id" >"$key.status" 2>&1
		JOB_BAD="failed: not FINISHED after ${JOB_LIMIT}s (run $3); tasks: $(mawk '$4 ~ /^[A-Z]+$/ && $1 ~ /^[0-9]+$/ && NF >= 5 && $2 ~ /^[0-9]+$/ { printf "%s/%s %s on %s; ", $2, $3, $4, $5 }' "$key.status" | cut -c1-160)"
		return 1
	fi
	if [ "$rc" -ne 0 ]; then
		JOB_BAD="failed: submit --wait exit $rc: $({ grep -m1 '^failure:' "$key.job" || tail -n 2 "$key.job"; } |
			tr '\n\t' '  ' | cut -c1-200)"
		return 1
	fi
	gather "$DATA" "$sink" "$key.out"
	"$norm" <"$key.out" >"$key.norm"
	if ! cmp -s "$key.norm" "$WORK/$w.ref"; then
		JOB_BAD="wrong: output differs from the C baseline ($(wc -l <"$key.norm") lines vs $(wc -l <"$WORK/$w.ref"))"
		return 1
	fi
	echo "$t" >>"$key.times"
	PAR_NOTE=$(mawk '$1 ~ /^[0-9]+$/ && $2 ~ /^s[0-9]+:/ { printf "%s%s ×%s", sep, $2, $3; sep = ", " }' \
		"$key.job" | cut -c1-120)
}

cluster_rows() { # N RUNS WORKLOADS...
	local n=$1 runs=$2 w r
	shift 2
	local ws=("$@")
	declare -A bad=()
	for w in "${ws[@]}"; do : >"$D/$w.$n.times"; done
	if ! cluster_up "$D/c$n" "$DATA" "$n"; then
		for w in "${ws[@]}"; do
			row "$w" "stardust local cluster, $n node$([ "$n" = 1 ] || echo s)" "$n" failed 0 - - - 0 records \
				"the cluster did not come up: $(tail -n 1 "$D/c$n"/*.log | tr '\n\t' '  ' | cut -c1-160)"
		done
		stop_all
		return 0
	fi
	for ((r = 1; r <= runs; r++)); do
		for w in "${ws[@]}"; do
			[ -n "${bad[$w]:-}" ] && continue
			JOB_BAD=
			if ! job_run "$w" "$n" "$r"; then
				bad[$w]=$JOB_BAD
				# a stuck job keeps its channels: later jobs get a fresh cluster
				stop_all
				cluster_up "$D/c$n.$r$w" "$DATA" "$n" || break 2
			fi
			PAR[$w]=${PAR_NOTE:-}
		done
	done
	stop_all
	for w in "${ws[@]}"; do
		local sys="stardust local cluster, $n node$([ "$n" = 1 ] || echo s)" rec unit
		if [ "$w" = W1 ]; then
			rec=$(mawk '{ s += $NF } END { printf "%d", s }' "$WORK/W1.ref") unit=words
		else
			rec=$(wc -l <"$DATA/w2.csv") unit=events
		fi
		local note="hosted nodes on loopback (+ coordinator, netfsd), 2 shared cores; submit → FINISHED (200 ms status polls); start-up not timed; stages ${PAR[$w]:-?}"
		case ${bad[$w]:-} in
		"") # shellcheck disable=SC2046
			row "$w" "$sys" "$n" ok "$(grep -c . "$D/$w.$n.times")" $(stats "$D/$w.$n.times") "$rec" "$unit" "$note" ;;
		wrong:*) row "$w" "$sys" "$n" wrong 0 - - - "$rec" "$unit" "${bad[$w]}" ;;
		*)
			local okn
			okn=$(grep -c . "$D/$w.$n.times" || true)
			[ "$okn" -gt 0 ] && okn="$okn earlier run(s) ok, median $(stats "$D/$w.$n.times" | cut -d' ' -f1) s; " || okn=
			row "$w" "$sys" "$n" failed 0 - - - "$rec" "$unit" "$okn${bad[$w]#failed: }"
			;;
		esac
	done
}

declare -A PAR=()
w12_rows() {
	local ws=() w
	for w in W1 W2; do
		has "$w" || continue
		local sys="stardust local cluster, 2 nodes"
		if [ ! -s "$WORK/$w.ref" ]; then
			skip "$w" "$sys" 2 "the runner did not run $w (no C baseline reference to check against)"
			continue
		fi
		ws+=("$w")
	done
	[ ${#ws[@]} -eq 0 ] && return 0
	for b in "$COORD" "$CLI" "$NETFSD" "$NODE"; do
		if [ ! -x "$b" ]; then
			for w in "${ws[@]}"; do cannot "$w" "stardust local cluster, 2 nodes" 2 "${b#"$top"/} not built"; done
			return 0
		fi
	done
	sed -e 's|@INPUT@|netfs://w1.txt|' -e 's|@OUTPUT@|netfs://out/node-W1.csv|' \
		"$top/bench/jobs/w1_wordcount.sd.in" >"$D/W1.sd"
	sed -e 's|@INPUT@|netfs://w2.csv|' -e 's|@OUTPUT@|netfs://out/node-W2.csv|' \
		"$top/bench/jobs/w2_window.sd.in" >"$D/W2.sd"
	mkdir -p "$DATA/out"
	if [ "$MODE" = smoke ]; then
		cluster_rows 2 1 "${ws[@]}"
		for w in "${ws[@]}"; do skip "$w" "stardust local cluster, 1 node" 1 "not in smoke"; done
	else
		cluster_rows 2 "$RUNS" "${ws[@]}"
		cluster_rows 1 "$RUNS" "${ws[@]}"
	fi
}

# ---- W3: bench_node_exchange ---------------------------------------------

w3_rows() {
	local sys="stardust 2 hosted nodes" recs=20000000 i
	[ "$MODE" = smoke ] && recs=2000000
	if [ ! -x "$XCHG" ]; then
		cannot W3 "$sys" 2 "${XCHG#"$top"/} not built" "M records/s"
		return 0
	fi
	: >"$D/w3.in"
	: >"$D/w3.out"
	for ((i = 1; i <= RUNS; i++)); do
		if ! timeout 60 "$XCHG" "$recs" >"$D/w3.log" 2>&1 ||
			! grep -q "producer rc 0 consumer rc 0, rows ok, checksum ok" "$D/w3.log"; then
			row W3 "$sys" 2 wrong 0 - - - "$recs" records \
				"bench_node_exchange's own check failed: $(grep -m1 'rc ' "$D/w3.log" | cut -c1-160)"
			return 0
		fi
		mawk '/input records\/s:/ { print $3 }' "$D/w3.log" >>"$D/w3.in"
		mawk '/delivered records\/s:/ { print $3 }' "$D/w3.log" >>"$D/w3.out"
	done
	local dl
	dl=$(grep -m1 'delivered$' "$D/w3.log" | mawk '{ print $(NF - 1) }')
	value W3 "$sys" 2 "M records/s" \
		"bench_node_exchange: $recs input rows mapped and filtered (7 of 8 kept) in one node process, sent over 1 TCP connection (loopback, credits) to another that checks every row; input rows/s" \
		"$D/w3.in"
	value W3 "$sys: delivered" 2 "M records/s" "the same runs: rows that crossed the connection ($dl per run)/s" "$D/w3.out"
}

# ---- W5, W6: the unikernel -------------------------------------------------

accel() {
	if [ -c /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null && grep -q -w -E 'vmx|svm' /proc/cpuinfo; then
		echo kvm
	else
		echo tcg
	fi
}
ACCEL=$(accel)
ACCEL_NOTE=$ACCEL
[ "$ACCEL" = tcg ] && ACCEL_NOTE="TCG (no usable KVM here: times are emulation times)"

vm_ready() { curl -s "http://$HTTP/v1/nodes" | grep -q "\"name\":\"$1\",\"state\":\"ready\""; }
node_metric() { # NAME FIELD: that node's metrics.FIELD from /v1/nodes
	curl -s "http://$HTTP/v1/nodes" | python3 -c 'import json, sys
for n in json.load(sys.stdin)["nodes"]:
    if n["name"] == sys.argv[1]: print(n["metrics"][sys.argv[2]])' "$1" "$2"
}

w5_rows() {
	local sys="stardust node VM" boots=$RUNS i
	[ "$boots" -lt 5 ] && boots=5
	if [ "$MODE" = smoke ]; then
		skip W5 "$sys" 1 "not in smoke: QEMU boots"
		return 0
	fi
	if [ ! -f "$IMG" ] || ! command -v qemu-system-x86_64 >/dev/null; then
		cannot W5 "$sys" 1 "no node image at ${IMG#"$top"/} or no qemu-system-x86_64"
		return 0
	fi
	stat -c %s "$IMG" | mawk '{ printf "%.1f\n", $1 / 1024 }' >"$D/img.full"
	strip -o "$D/img.stripped" "$IMG" && stat -c %s "$D/img.stripped" | mawk '{ printf "%.1f\n", $1 / 1024 }' >"$D/img.strip"
	value W5 "$sys: image size, unstripped" - KiB "${IMG#"$top"/}" "$D/img.full"
	value W5 "$sys: image size, stripped" - KiB "strip(1) of the same ELF (what a deployment would ship)" "$D/img.strip"
	mkdir -p "$D/vmroot/out"
	printf 'a b c\nb c\nc\n' >"$D/vmroot/tiny.txt"
	printf 'a 1\nb 2\nc 3\n' >"$D/tiny.want"
	: >"$D/w5.reg"
	: >"$D/w5.first"
	: >"$D/w5.mem"
	local why=
	for ((i = 1; i <= boots; i++)); do
		if ! cluster_up "$D/v$i" "$D/vmroot" 0; then
			why="the coordinator did not start"
			stop_all
			break
		fi
		local cport=${CTL##*:} t0
		sed "s|@OUT@|netfs://out/tiny$i.csv|" >"$D/tiny$i.sd" <<-'EOF'
			job "bench-w5-tiny"
			read_text("netfs://tiny.txt").flat_map(line -> split(line, " ")).key_by(w -> w).count().write_csv("@OUT@")
		EOF
		t0=$EPOCHREALTIME
		timeout 60 qemu-system-x86_64 -M microvm -accel "$ACCEL" -m 32M -nographic -no-reboot \
			-device isa-debug-exit,iobase=0xf4,iosize=0x04 -global virtio-mmio.force-legacy=false \
			-netdev user,id=n0 -device virtio-net-device,netdev=n0 -kernel "$IMG" \
			-append "name=vm$i region=qemu zone=qemu-a coordinator=10.0.2.2:$cport localhost=10.0.2.2 memory=16M slots=4" \
			</dev/null >"$D/v$i/vm.log" 2>&1 &
		PIDS+=($!)
		if ! wait_for 600 vm_ready "vm$i"; then
			why="boot $i: the VM did not register: $(tr -d '\r' <"$D/v$i/vm.log" | tail -n 1 | cut -c1-120)"
			stop_all
			break
		fi
		ms_since "$t0" >>"$D/w5.reg"
		node_metric "vm$i" mem_used_bytes | mawk '{ printf "%.1f\n", $1 / 1024 }' >>"$D/w5.mem"
		"$CLI" --coordinator "http://$HTTP" submit "$D/tiny$i.sd" >"$D/v$i/submit.out" 2>&1
		local j=0
		until [ -s "$D/vmroot/out/tiny$i.csv" ] || [ $j -ge 3000 ]; do
			sleep 0.005
			j=$((j + 1))
		done
		local t=$(ms_since "$t0")
		sleep 0.1 # the whole sink, for the check
		if ! norm_tuple <"$D/vmroot/out/tiny$i.csv" | cmp -s - "$D/tiny.want"; then
			why="boot $i: the tiny job's output is wrong or missing: $(head -c 100 "$D/vmroot/out/tiny$i.csv" 2>/dev/null | tr '\n' ' ')"
			stop_all
			break
		fi
		echo "$t" >>"$D/w5.first"
		stop_all
	done
	local note="QEMU microvm -m 32M, $ACCEL_NOTE, user-mode net, coordinator on the host"
	value W5 "$sys: start → registered" 1 ms "$note; polls /v1/nodes every 50 ms" "$D/w5.reg"
	value W5 "$sys: start → first record" 1 ms \
		"$note; a 6-word job submitted the moment the node registered, until its sink file (netfs) is non-empty (polled every 5 ms)" \
		"$D/w5.first"
	value W5 "$sys: mem_used at registration" 1 KiB \
		"the node's accounted heap (plat_mem_used) from /v1/nodes, of memory=16M for tasks; the VM has -m 32M" "$D/w5.mem"
	[ -n "$why" ] && row W5 "$sys" 1 failed 0 - - - 0 ms "$why"
	return 0
}

w6_rows() {
	local sys="stardust 2 unikernel VMs" bytes=8000000 i
	if [ "$MODE" = smoke ]; then
		skip W6 "$sys" 2 "not in smoke: QEMU boots" MB/s
		return 0
	fi
	if [ ! -f "$IMG" ] || ! command -v qemu-system-x86_64 >/dev/null; then
		cannot W6 "$sys" 2 "no node image at ${IMG#"$top"/} or no qemu-system-x86_64" MB/s
		return 0
	fi
	: >"$D/w6.vals"
	for ((i = 1; i <= RUNS; i++)); do
		if ! SD_QEMU_ACCEL=$ACCEL SD_QEMU_TIMEOUT=60 "$top/tests/qemu/node/two_vm_test.sh" "$IMG" "$bytes" \
			>"$D/w6.log" 2>&1; then
			row W6 "$sys" 2 wrong 0 - - - "$bytes" bytes \
				"two_vm_test failed: $(grep FAIL "$D/w6.log" | head -n 1 | cut -c1-160)"
			return 0
		fi
		sed -n 's/.*echo: \([0-9]*\) bytes through .* and back in \([0-9]*\) ms.*/\1 \2/p' "$D/w6.log" |
			mawk '$2 > 0 { printf "%.2f\n", $1 / $2 / 1000 }' >>"$D/w6.vals"
	done
	value W6 "$sys" 2 MB/s \
		"TCP echo of $bytes B through VM A and back (every byte checked), MB/s each way incl. connect; QEMU microvm ×2, -netdev dgram, lwIP, $ACCEL_NOTE" \
		"$D/w6.vals"
}

# ---- W4 --------------------------------------------------------------------

w4_rows() {
	local sys="stardust local cluster, 1 node" secs=4
	if [ "$MODE" = smoke ]; then
		skip W4 "$sys" 1 "not in smoke: seconds of load per level" ms
		return 0
	fi
	if ! command -v python3 >/dev/null; then
		cannot W4 "$sys" 1 "python3 not found (the open-loop writer)" ms
		return 0
	fi
	mkdir -p "$D/w4root"
	if ! cluster_up "$D/c4" "$D/w4root" 1; then
		row W4 "$sys" 1 failed 0 - - - 0 ms "the cluster did not come up"
		stop_all
		return 0
	fi
	timeout 120 python3 "$here/w4_openloop.py" --cli "$CLI" --http "$HTTP" --root "$D/w4root" \
		--secs "$secs" >"$D/w4.rows" 2>"$D/w4.err"
	local rc=$?
	stop_all
	if ! grep -q . "$D/w4.rows"; then
		row W4 "$sys" 1 failed 0 - - - 0 ms "w4_openloop.py exit $rc: $(tail -n 2 "$D/w4.err" | tr '\n\t' '  ' | cut -c1-160)"
		return 0
	fi
	cat "$D/w4.rows"
}

has W1 || has W2 && w12_rows
has W3 && w3_rows
has W4 && w4_rows
has W5 && w5_rows
has W6 && w6_rows
exit 0
