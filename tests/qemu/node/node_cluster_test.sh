#!/bin/sh
# tests/qemu/node/node_cluster_test.sh — the node image as a real cluster
# member: stardust-netfsd and stardust-coordinator on the host (127.0.0.1),
# one node VM (QEMU microvm, virtio-net on user-mode networking) that
# registers through 10.0.2.2, runs word count reading its splits from netfs,
# and reports its counters in /v1/nodes.
#
#   node_cluster_test.sh REPO IMAGE COORDINATOR CLI NETFSD [MODE]
#
# MODE "ok" (default) checks: the node is listed ready with platform
# "metal", the job finishes, the output equals awk's count, the node's
# metrics show busy scheduler time. MODE "badtoken" gives the coordinator a join token
# the VM does not present: the VM must be refused and exit 35. MODE "faults"
# puts fault_proxy.py between the VM and the coordinator: a malformed frame
# on the first connection, a dropped second one; the VM must report both,
# reconnect and register again.
# Accelerator and timeout as in boot_test.sh (SD_QEMU_ACCEL, SD_QEMU_TIMEOUT).
set -eu
repo=$1 image=$2 coord=$3 cli=$4 netfsd=$5 mode=${6:-ok}
qemu=${SD_QEMU:-qemu-system-x86_64}
limit=${SD_QEMU_TIMEOUT:-120}
work=$(mktemp -d)
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
fail() {
	echo "node_cluster_test: FAIL: $*"
	for f in "$work"/*.log; do echo "--- $f"; tr -d '\r' <"$f" | tail -30; done
	exit 1
}
wait_for() { # what tries command...
	what=$1 tries=$2
	shift 2
	i=0
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -lt "$tries" ] || fail "timed out waiting for $what"
		sleep 0.1
	done
}
accel=${SD_QEMU_ACCEL:-}
if [ -z "$accel" ]; then
	if [ -c /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null && grep -q -w -E 'vmx|svm' /proc/cpuinfo; then
		accel=kvm
	else
		accel=tcg
	fi
fi

"$repo/examples/data/gen.sh" "$work/data" 2000 >/dev/null
mkdir -p "$work/data/out"
"$netfsd" --root "$work/data" --listen 127.0.0.1:0 --port-file "$work/netfs.port" \
	>"$work/netfsd.log" 2>&1 &
pids="$pids $!"
wait_for netfsd 100 test -s "$work/netfs.port"
join=""
[ "$mode" = badtoken ] && join="--join-token sesame"
# shellcheck disable=SC2086
"$coord" --listen-http 127.0.0.1:0 --listen-control 127.0.0.1:0 --state-dir "$work" \
	--netfs "127.0.0.1:$(cat "$work/netfs.port")" --heartbeat-timeout 5s $join \
	>"$work/coordinator.log" 2>&1 &
pids="$pids $!"
wait_for coordinator 100 test -s "$work/endpoints.json"
http=$(sed 's/.*"http":"\([^"]*\)".*/\1/' "$work/endpoints.json")
cport=$(sed 's/.*"control":"[^"]*:\([0-9]*\)".*/\1/' "$work/endpoints.json")
sd() { "$cli" --coordinator "http://$http" "$@"; }

ctl=$cport
if [ "$mode" = faults ]; then
	python3 "$(dirname "$0")/fault_proxy.py" "$work/proxy.port" "$cport" >"$work/proxy.log" 2>&1 &
	pids="$pids $!"
	wait_for "fault proxy" 50 test -s "$work/proxy.port"
	ctl=$(cat "$work/proxy.port")
fi

start=$(date +%s%N)
echo "node_cluster_test: accel=$accel coordinator control 127.0.0.1:$cport (guest: 10.0.2.2)"
timeout "$limit" "$qemu" -M microvm -accel "$accel" -m 32M -nographic -no-reboot \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 -global virtio-mmio.force-legacy=false \
	-netdev user,id=n0 -device virtio-net-device,netdev=n0 -kernel "$image" \
	-append "name=vm1 region=qemu zone=qemu-a label=kind=metal coordinator=10.0.2.2:$ctl localhost=10.0.2.2 memory=16M slots=4" \
	</dev/null >"$work/vm.log" 2>&1 &
vm=$!
others=$pids
pids="$pids $vm"

if [ "$mode" = badtoken ]; then
	status=0
	wait "$vm" || status=$?
	pids=$others
	tr -d '\r' <"$work/vm.log"
	[ "$status" -eq 35 ] || fail "refused VM exited $status, expected 35"
	echo "node_cluster_test: PASS (the refused node exited 35)"
	exit 0
fi

if [ "$mode" = faults ]; then
	# Survived both faults: a third connection, registered again, still running.
	third() { [ "$(cat "$work/proxy.port.count" 2>/dev/null)" -ge 3 ]; }
	wait_for "the node's third connection" 300 third
	ready() { sd nodes | grep -q '^vm1 .* ready '; }
	wait_for "vm1 ready after the faults" 300 ready
	kill -0 "$vm" 2>/dev/null || fail "the VM exited"
	log=$(tr -d '\r' <"$work/vm.log")
	echo "$log" | grep -q "malformed message; reconnecting" || fail "the malformed frame was not reported"
	[ "$(echo "$log" | grep -c "; reconnecting")" -ge 2 ] || fail "the dropped connection was not reported"
	[ "$(echo "$log" | grep -c "registered with")" -ge 2 ] || fail "the node did not register again"
	echo "$log" | grep "reconnecting\|registered"
	echo "node_cluster_test: PASS (malformed frame and dropped connection survived and reported)"
	exit 0
fi

ready() { sd nodes | grep -q '^vm1 .* ready '; }
wait_for "vm1 ready" 600 ready
echo "node_cluster_test: vm1 ready $((($(date +%s%N) - start) / 1000000)) ms after QEMU started"
curl -s "http://$http/v1/nodes" >"$work/nodes.json"
grep -q '"platform":"metal"' "$work/nodes.json" || fail "/v1/nodes: no metal platform: $(cat "$work/nodes.json")"

sd submit "$repo/examples/wordcount.sd" --wait >"$work/wc.out" 2>&1 || fail "wordcount: $(cat "$work/wc.out")"
grep -q FINISHED "$work/wc.out" || fail "wordcount did not finish: $(cat "$work/wc.out")"
cat "$work"/data/corpus/*.txt | awk '{ n = split(tolower($0), w, / +/)
	for (i = 1; i <= n; i++) if (w[i] != "") c[w[i]]++ }
	END { for (k in c) print k "," c[k] }' | sort >"$work/wc.want"
sort "$work/data/out/wordcount.csv" >"$work/wc.got"
[ -s "$work/wc.want" ] || fail "empty expectation"
cmp -s "$work/wc.got" "$work/wc.want" || fail "word count differs from awk: $(diff "$work/wc.got" "$work/wc.want" | head -5)"
# The next heartbeats carry the job's counters (the VM's scheduler was busy).
counted() {
	curl -s "http://$http/v1/nodes" >"$work/nodes.json"
	grep -q '"cpu_busy_us":[1-9]' "$work/nodes.json"
}
wait_for "vm1's counters in /v1/nodes" 100 counted
echo "node_cluster_test: $(wc -l <"$work/wc.got") words counted on the VM; /v1/nodes: $(cat "$work/nodes.json")"
echo "node_cluster_test: PASS"
