#!/bin/sh
# tests/qemu/node/two_vm_test.sh — two node VMs on one virtual Ethernet
# (QEMU -netdev dgram: each VM's frames are UDP datagrams to the other's port
# on 127.0.0.1), no host network stack in between: VM A (10.0.3.1) runs
# serve=7000, VM B (10.0.3.2) sends BYTES through it with echo= and checks
# every byte. dgram rather than socket/stream: QEMU's stream transports
# batch frames on a host TCP connection (Nagle), a quarter of the throughput.
#
#   two_vm_test.sh IMAGE BYTES
#
# Both must exit 33; A must report the bytes echoed, B the bytes checked.
set -u
image=${1:?image}
bytes=${2:?bytes}
qemu=${SD_QEMU:-qemu-system-x86_64}
limit=${SD_QEMU_TIMEOUT:-90}
accel=${SD_QEMU_ACCEL:-}
if [ -z "$accel" ]; then
	if [ -c /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null && grep -q -w -E 'vmx|svm' /proc/cpuinfo; then
		accel=kvm
	else
		accel=tcg
	fi
fi
work=$(mktemp -d)
trap 'kill $a 2>/dev/null; rm -rf "$work"' EXIT INT TERM
ports=$(python3 -c 'import socket
a, b = socket.socket(type=socket.SOCK_DGRAM), socket.socket(type=socket.SOCK_DGRAM)
a.bind(("127.0.0.1", 0)); b.bind(("127.0.0.1", 0))
print(a.getsockname()[1], b.getsockname()[1])')
pa=${ports% *}
pb=${ports#* }
vm() { # mac local-port remote-port append
	timeout "$limit" "$qemu" -M microvm -accel "$accel" -m 32M -nographic -no-reboot \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 -global virtio-mmio.force-legacy=false \
		-netdev "dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port=$2,remote.type=inet,remote.host=127.0.0.1,remote.port=$3" \
		-device "virtio-net-device,netdev=n0,mac=$1" \
		-kernel "$image" -append "$4" </dev/null
}
echo "two_vm_test: accel=$accel dgram 127.0.0.1:$pa <-> 127.0.0.1:$pb, $bytes bytes"
vm 52:54:00:00:03:01 "$pa" "$pb" "ip=10.0.3.1/24 gw=10.0.3.254 serve=7000" >"$work/a.log" 2>&1 &
a=$!
sleep 0.5 # A's first ARP reply must find it running: B retries ARP, but only every second
vm 52:54:00:00:03:02 "$pb" "$pa" \
	"ip=10.0.3.2/24 gw=10.0.3.254 echo=10.0.3.1:7000 echo_bytes=$bytes" >"$work/b.log" 2>&1
b_status=$?
wait $a
a_status=$?
echo "--- VM A"; tr -d '\r' <"$work/a.log"
echo "--- VM B"; tr -d '\r' <"$work/b.log"
fail=0
[ "$a_status" -eq 33 ] || { echo "two_vm_test: FAIL: VM A exited $a_status"; fail=1; }
[ "$b_status" -eq 33 ] || { echo "two_vm_test: FAIL: VM B exited $b_status"; fail=1; }
grep -q "serve: echoed $bytes bytes" "$work/a.log" || { echo "two_vm_test: FAIL: A did not echo $bytes bytes"; fail=1; }
grep -q "echo: $bytes bytes through 10.0.3.1:7000 and back" "$work/b.log" || { echo "two_vm_test: FAIL: B did not get $bytes bytes back"; fail=1; }
[ "$fail" -eq 0 ] && echo "two_vm_test: PASS"
exit "$fail"
