# bench/node/cluster.sh — sourced by the bench hooks that run a real local
# cluster (bench/node/bench-rows.sh, bench/ft/bench-rows.sh): the one place
# that says how a bench cluster starts, and the row helpers of the hooks'
# output format (bench/README.md).
#
# Needs BUILD (the build tree). Defines:
#   COORD CLI NETFSD NODE    the programs under BUILD
#   row skip cannot value    result rows (11 tab-separated fields) on stdout
#   stats FILE               "median min max" of FILE's numbers
#   cluster_up DIR ROOT N    stardust-netfsd exporting ROOT, a coordinator with
#                            --state-dir DIR, N hosted nodes; sets HTTP, CTL
#   stop_all                 stops every process started (PIDS); callers trap it
#   wait_for TRIES CMD...    retries CMD every 50 ms, TRIES times at most
#   gather ROOT SINK OUT     a sink (file or directory of parts) as one file
#   norm_tuple, norm_sd_window  canonical forms, as bench/lib/measure.sh's
# Every wait is bounded. Callers export LC_ALL=C (the sorts).
# shellcheck shell=bash disable=SC2034 # the programs are for the callers

COORD=$BUILD/coordinator/stardust-coordinator
CLI=$BUILD/coordinator/stardust
NETFSD=$BUILD/netfs/stardust-netfsd
NODE=$BUILD/node/stardust-node

row() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@"; }
skip() { row "$1" "$2" "$3" skipped 0 - - - 0 "${5:-records}" "$4"; }
cannot() { row "$1" "$2" "$3" cannot-run 0 - - - 0 "${5:-records}" "$4"; }
ms_since() { mawk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }'; }
# stats FILE -> "median min max"
stats() {
	sort -g "$1" | mawk '{ v[NR] = $1 } END {
		if (NR == 0) { print "- - -"; exit }
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.4f %.4f %.4f\n", m, v[1], v[NR] }'
}
# value W SYSTEM CORES UNIT NOTE FILE: a measured-value row over FILE's values
value() {
	local n
	n=$(grep -c . "$6" || true)
	if [ "$n" -eq 0 ]; then
		row "$1" "$2" "$3" failed 0 - - - 0 "$4" "$5: no value measured"
	else
		# shellcheck disable=SC2046
		row "$1" "$2" "$3" ok "$n" $(stats "$6") value "$4" "$5"
	fi
}
norm_tuple() { tr ',()[]"' '      ' | mawk 'NF { $1 = $1; print }' | sort; }
norm_sd_window() { mawk -F, 'NF { print $2, $1, $4 }' | sort; }

PIDS=()
stop_all() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	PIDS=()
}
wait_for() { # TRIES(x50ms) CMD...
	local n=$1 i=0
	shift
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -lt "$n" ] || return 1
		sleep 0.05
	done
}

# cluster_up DIR ROOT NODES: netfsd exporting ROOT, a coordinator, NODES hosted
# nodes; sets HTTP and CTL. Returns 1 when a part did not come up.
cluster_up() {
	local dir=$1 root=$2 n=$3 i
	rm -rf "$dir" && mkdir -p "$dir"
	"$NETFSD" --root "$root" --listen 127.0.0.1:0 --port-file "$dir/nfs.port" --log-level warn \
		>"$dir/netfsd.log" 2>&1 &
	PIDS+=($!)
	wait_for 100 test -s "$dir/nfs.port" || return 1
	"$COORD" --listen-http 127.0.0.1:0 --listen-control 127.0.0.1:0 --state-dir "$dir" \
		--netfs "127.0.0.1:$(cat "$dir/nfs.port")" --heartbeat-timeout 5s --log-level warn \
		>"$dir/coordinator.log" 2>&1 &
	PIDS+=($!)
	wait_for 100 test -s "$dir/endpoints.json" || return 1
	HTTP=$(sed 's/.*"http":"\([^"]*\)".*/\1/' "$dir/endpoints.json")
	CTL=$(sed 's/.*"control":"\([^"]*\)".*/\1/' "$dir/endpoints.json")
	for ((i = 1; i <= n; i++)); do
		"$NODE" --name "h$i" --coordinator "$CTL" --slots 4 --memory 1G --log-level warn \
			>"$dir/node$i.log" 2>&1 &
		PIDS+=($!)
	done
	wait_for 200 ready_at_least "$n"
}
ready_at_least() { [ "$(curl -s "http://$HTTP/v1/nodes" | grep -o '"state":"ready"' | wc -l)" -ge "$1" ]; }

# gather ROOT SINK OUT: the sink (one file or a directory of part files) as one file
gather() {
	if [ -d "$1/$2" ]; then
		find "$1/$2" -type f -print0 | sort -z | xargs -0 cat >"$3"
	elif [ -f "$1/$2" ]; then
		cp "$1/$2" "$3"
	else
		: >"$3"
	fi
}
