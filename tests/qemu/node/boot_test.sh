#!/bin/sh
# tests/qemu/node/boot_test.sh — boot the node image under QEMU microvm and
# check both what it prints on the serial console and how QEMU exits.
#
#   boot_test.sh IMAGE EXPECTED_STATUS PATTERN [APPEND...]
#
# EXPECTED_STATUS is QEMU's exit status: 33 when the image called
# metal_exit(METAL_EXIT_SUCCESS), 35 for METAL_EXIT_FAILURE (node/plat/metal/exit.h).
# PATTERN is a fixed string (grep -F) that must appear in the console output.
# APPEND words become the kernel command line (-append).
#
# Accelerator: KVM when /dev/kvm opens read-write and the CPU advertises
# hardware virtualisation (vmx/svm); TCG otherwise. The second condition
# matters on hosts whose /dev/kvm is KVM-PVM (no vmx/svm): PVM runs a guest
# that is not PVM-aware through KVM's instruction emulator, which has no SSE.
# SD_QEMU_ACCEL=kvm|tcg overrides the choice. SD_QEMU_TIMEOUT (seconds,
# default 60) bounds the run: a hung image fails instead of hanging CTest.
# SD_QEMU_EXTRA holds more QEMU arguments (devices), split on spaces.
set -u

image=${1:?image}
expect_status=${2:?expected status}
pattern=${3:?pattern}
shift 3
append="$*"

qemu=${SD_QEMU:-qemu-system-x86_64}
limit=${SD_QEMU_TIMEOUT:-60}

kvm_usable() {
	[ -c /dev/kvm ] || return 1
	(exec 3<>/dev/kvm) 2>/dev/null || return 1
	grep -q -w -E 'vmx|svm' /proc/cpuinfo
}

accel=${SD_QEMU_ACCEL:-}
if [ -z "$accel" ]; then
	if kvm_usable; then accel=kvm; else accel=tcg; fi
fi

[ -f "$image" ] || { echo "boot_test: no image at $image (build with SD_BUILD_METAL=ON)"; exit 1; }
command -v "$qemu" >/dev/null || { echo "boot_test: $qemu not found: run deploy/setup.sh"; exit 1; }

out=$(mktemp)
trap 'rm -f "$out"' EXIT INT TERM

echo "boot_test: accel=$accel append=\"$append\" expect status $expect_status and \"$pattern\""
timeout "$limit" "$qemu" -M microvm -accel "$accel" -m 32M -nographic -no-reboot \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 ${SD_QEMU_EXTRA:-} \
	-kernel "$image" -append "$append" </dev/null >"$out" 2>&1
status=$?
tr -d '\r' <"$out"
echo "boot_test: QEMU exit status $status"

fail=0
if [ "$status" -eq 124 ]; then
	echo "boot_test: FAIL: no exit within ${limit}s"
	fail=1
elif [ "$status" -ne "$expect_status" ]; then
	echo "boot_test: FAIL: exit status $status, expected $expect_status"
	fail=1
fi
if ! tr -d '\r' <"$out" | grep -q -F -- "$pattern"; then
	echo "boot_test: FAIL: console never printed \"$pattern\""
	fail=1
fi
[ "$fail" -eq 0 ] && echo "boot_test: PASS"
exit "$fail"
