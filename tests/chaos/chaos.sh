#!/bin/sh
# tests/chaos/chaos.sh --build BUILD_DIR --seed N [--job wordcount|window|join]
#                      [--faults KIND[,KIND]] [--keep | --keep-failed]
#                      [--checkpoint D|default]
# One chaos run: a local cluster, one job, one or two faults chosen by the
# seed, the output compared with an independent computation (chaos.py says
# how; README.md says what each fault does). One summary line on stdout;
# exit 0 PASS, 1 FAIL, 77 a prerequisite is missing.
here=$(dirname "$0")
if ! command -v python3 >/dev/null 2>&1; then
	echo "result=SKIP reason=python3 not found (the driver is tests/chaos/chaos.py)"
	exit 77
fi
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 8))'; then
	echo "result=SKIP reason=python3 >= 3.8 needed, found $(python3 -V 2>&1)"
	exit 77
fi
exec python3 "$here/chaos.py" "$@"
