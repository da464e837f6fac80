#!/usr/bin/env bash
# bench/lib/qemu-time.sh — time one QEMU microvm boot of a PVH image.
#
# Usage: qemu-time.sh ACCEL IMAGE PATTERN LIMIT_S
# Prints `first_ms exit_ms status`: milliseconds from starting QEMU to the
# first console line containing PATTERN (- when none did), to QEMU's exit
# (- when it had to be stopped after LIMIT_S), and QEMU's exit status (33 is
# the guest's success exit through isa-debug-exit). Console lines are read as
# they come (no buffering in between), so first_ms is when the guest said it.
set -u
accel=$1 image=$2 pattern=$3 limit=$4
ms() { mawk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) * 1000 }'; }
t0=$EPOCHREALTIME
{
	timeout "$limit" qemu-system-x86_64 -M microvm -accel "$accel" -m 32M -nographic \
		-no-reboot -nodefaults -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-kernel "$image" </dev/null 2>&1
	echo "__qemu_exit $?"
} | {
	first=-
	while IFS= read -r line; do
		line=${line%$'\r'}
		case $line in
		"__qemu_exit "*)
			st=${line#__qemu_exit }
			if [ "$st" = 124 ]; then
				echo "$first - $st"
			else
				echo "$first $(ms "$t0" "$EPOCHREALTIME") $st"
			fi
			;;
		*)
			if [ "$first" = - ] && [ -n "$pattern" ] && [[ $line == *"$pattern"* ]]; then
				first=$(ms "$t0" "$EPOCHREALTIME")
			fi
			;;
		esac
	done
}
