#!/bin/bash
# tests/qemu/deploy/sim_chaos_poll.sh — the job monitor of sim_chaos.sh. It
# runs inside the coordinator's namespace (`stardust-sim exec -- bash
# sim_chaos_poll.sh JOBS_FILE`) for as long as the test needs it, so one
# namespace entry serves every sample (a `stardust-sim exec` costs ~0.7 s
# under load, too coarse to time a recovery).
#
# Every POLL_S it asks `stardust -o json status JOB` for each job listed in
# JOBS_FILE (one id a line, read again every round) and prints one line per
# job:
#
#   T_MS JOB STATE ATTEMPT TOTAL UP CHECKPOINTS NODES
#
# T_MS is the host's wall clock when the answer came, UP the tasks RUNNING or
# FINISHED, CHECKPOINTS the completed ones, NODES the comma-separated nodes
# holding a task that is neither FINISHED nor CANCELED ('-' for none). An
# unanswered request gives STATE NONE and ATTEMPT -1. It ends by itself once
# JOBS_FILE is gone (the test removed its work directory).
set -u
POLL_S=${POLL_S:-0.2}
filter='[.state, .attempt, .tasks.total, (.tasks.RUNNING + .tasks.FINISHED),
	(.checkpoints.completed // 0),
	([.vertices[].tasks[] | select(.state != "FINISHED" and .state != "CANCELED")
	  | (.node // "-")] | unique | join(",") | if . == "" then "-" else . end)]
	| map(tostring) | join(" ")'
while [ -f "$1" ]; do
	# shellcheck disable=SC2013 # ids are hex words
	for job in $(cat "$1" 2>/dev/null); do
		line=$(stardust -o json status "$job" 2>/dev/null | jq -r "$filter" 2>/dev/null) ||
			line="NONE -1 0 0 0 -"
		[ -n "$line" ] || line="NONE -1 0 0 0 -"
		echo "$(date +%s%3N) $job $line"
	done
	sleep "$POLL_S"
done
