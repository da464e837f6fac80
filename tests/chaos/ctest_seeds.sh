#!/bin/sh
# tests/chaos/ctest_seeds.sh BUILD — CTest's chaos_seeds: three fixed chaos
# runs (chaos.sh) covering the faults recovery must survive first:
#   seed 101  wordcount  kill -9 of a node hosting tasks
#   seed 102  window     SIGSTOP of a node past the heartbeat timeout
#   seed 103  window     kill -9 of the coordinator, restarted on its ports
# The seed still draws the times, victims and delays; --job and --faults pin
# the rest so that a change to the plan's draws cannot move the coverage.
# Exit 0 all passed, 1 one failed, 77 a prerequisite is missing.
here=$(dirname "$0")
build=${1:?usage: $0 BUILD}
failed=0 skipped=0
run() { # seed job fault
	"$here/chaos.sh" --build "$build" --seed "$1" --job "$2" --faults "$3"
	case $? in
	0) ;;
	77) skipped=$((skipped + 1)) ;;
	*) failed=$((failed + 1)) ;;
	esac
}
run 101 wordcount kill9-node
run 102 window stop-node
run 103 window kill9-coord
[ "$failed" -eq 0 ] || exit 1
[ "$skipped" -eq 0 ] || exit 77
exit 0
