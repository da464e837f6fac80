#!/bin/sh
# tests/qemu/node/two_vm_test.sh — two node VMs on one virtual Ethernet
# (QEMU -netdev socket: the first listens on 127.0.0.1, the second connects),
# no host network stack in between: VM A (10.0.3.1) runs serve=7000, VM B
# (10.0.3.2) sends BYTES through it with echo= and checks every byte.
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
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
vm() { # mac netdev-args append
	timeout "$limit" "$qemu" -M microvm -accel "$accel" -m 32M -nographic -no-reboot \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 -global virtio-mmio.force-legacy=false \
		-netdev "socket,id=n0,$2" -device "virtio-net-device,netdev=n0,mac=$1" \
		-kernel "$image" -append "$3" </dev/null
}
echo "two_vm_test: accel=$accel socket 127.0.0.1:$port, $bytes bytes"
vm 52:54:00:00:03:01 "listen=127.0.0.1:$port" "ip=10.0.3.1/24 gw=10.0.3.254 serve=7000" \
	>"$work/a.log" 2>&1 &
a=$!
# Wait until A's QEMU listens (state 0A in /proc/net/tcp), without connecting:
# QEMU's socket netdev takes the first connection as its peer.
hexport=$(printf '%04X' "$port")
for _ in $(seq 100); do
	grep -q ":$hexport 00000000:0000 0A" /proc/net/tcp && break
	sleep 0.1
done
vm 52:54:00:00:03:02 "connect=127.0.0.1:$port" \
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
