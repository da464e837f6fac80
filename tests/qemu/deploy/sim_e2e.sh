#!/bin/bash
# tests/qemu/deploy/sim_e2e.sh — the whole simulation end to end:
#
#   sim_e2e.sh REPO STARDUST_SIM BIN_DIR MODE [IMAGE]     MODE = vm | hosted
#
# 1. `stardust-sim up` on deploy/topologies/three-regions.json (six nodes,
#    three regions; VMs from IMAGE, or hosted stardust-node processes);
# 2. through the CLI, a word count whose netfs read runs @region("us-east")
#    (the primary netfs server sits there) and whose reduce and sink run
#    @region("eu-west"); /v1/jobs/:id must show each stage's tasks in the
#    requested region and the output must equal awk's count;
# 3. TCP connect times from each region's netfs namespace to every node's
#    data port: cross-region medians within ±20 % of twice the topology's
#    one-way latency, same-region ones small;
# 4. a partition between two regions blocks connections, heal restores them;
#    a node killed (`stardust-sim kill`) makes status unhealthy, and
#    `stardust-sim start` brings it back under its name;
# 5. `stardust-sim down` leaves no process, namespace or run directory.
# The EXIT trap runs `down` as well, so a failure midway cleans up too.
# Needs root (namespaces, taps); exits 77 (skipped) without.
set -eu
set -o pipefail
repo=$1 sim=$2 bin=$3 mode=$4 image=${5:-}
[ "$(id -u)" = 0 ] || {
	echo "sim_e2e: SKIP (needs root)"
	exit 77
}
export STARDUST_BIN_DIR=$bin
export SIM_HEARTBEAT_TIMEOUT=5s # so a killed node is noticed soon (step 4b)
topo=$repo/deploy/topologies/three-regions.json
work=$(mktemp -d /tmp/sim-e2e-XXXXXX)
run=$work/run
cleanup() {
	"$sim" down --run-dir "$run" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
fail() {
	echo "sim_e2e: FAIL: $*"
	for f in "$run"/logs/*.log "$run"/console/*.log; do
		[ -f "$f" ] && { echo "--- $f"; tr -d '\r' <"$f" | tail -15; }
	done
	exit 1
}
sx() { "$sim" exec --run-dir "$run" "$@"; }

ns_prefix=$(printf 'sd%s' "$(printf '%s' "$run" | md5sum | cut -c1-6)")
leftovers() { # what is left of the simulation in $run: namespaces + processes
	echo $(($(ip netns list | grep -c "^$ns_prefix" || true) +
		$(pgrep -f -- "$run/" | wc -l)))
}

# --- 0. an `up` killed midway (SIGKILL: no trap of its own runs); `down` cleans up
mkdir -p "$run"
"$sim" up --topology "$topo" --run-dir "$run" --data "$work/data" --hosted \
	>/dev/null 2>&1 &
upid=$!
# Midway: once it has started something (its state file lists it), however
# slow the machine; a fixed sleep killed it before that under load.
i=0
until [ -s "$run/state" ] || [ $i -ge 200 ]; do
	sleep 0.05
	i=$((i + 1))
done
kill -KILL "$upid"
wait "$upid" 2>/dev/null || true
"$sim" down --run-dir "$run" >/dev/null 2>&1 || fail "down after a killed up"
[ "$(leftovers)" = 0 ] || fail "down after a killed up left $(leftovers) namespaces/processes"
[ ! -e "$run" ] || fail "down after a killed up left $run"
echo "sim_e2e: down after an up killed midway removed everything"

# --- 1. up ---------------------------------------------------------------------
"$repo/examples/data/gen.sh" "$work/gen" 2000 >/dev/null
mkdir -p "$work/data/us-east/out"
cp -r "$work/gen/corpus" "$work/data/us-east/"
up_args=(--topology "$topo" --run-dir "$run" --data "$work/data" --timeout 180)
if [ "$mode" = hosted ]; then up_args+=(--hosted); else up_args+=(--image "$image"); fi
t0=$(date +%s%N)
"$sim" up "${up_args[@]}" >"$work/up.out" 2>&1 || fail "sim up: $(cat "$work/up.out")"
echo "sim_e2e: six nodes registered $((($(date +%s%N) - t0) / 1000000)) ms after sim up ($mode)"
"$sim" status --run-dir "$run" >"$work/status.out" || fail "status unhealthy: $(cat "$work/status.out")"
grep -q 'health: 6 of 6 nodes ready' "$work/status.out" || fail "status: $(cat "$work/status.out")"

# --- 2. a job with @region constraints and a netfs input -----------------------
cat >"$work/job.sd" <<'JOB'
// The corpus is read where its netfs server is; counts are made in eu-west.
job "regional-wordcount"

read_text("netfs://corpus/*.txt") @region("us-east")
  .flat_map(line -> split(lower(line), " "))
  .filter(w -> w != "")
  .map(w -> (w, 1))
  .reduce_by_key((a, b) -> a + b) @region("eu-west")
  .write_csv("netfs://out/wordcount.csv")
JOB
sx -- stardust submit "$work/job.sd" --wait >"$work/submit.out" 2>&1 ||
	fail "job: $(cat "$work/submit.out")"
grep -q FINISHED "$work/submit.out" || fail "job did not finish: $(cat "$work/submit.out")"
job=$(sed -n 's/^submitted job \([0-9a-f]*\).*/\1/p' "$work/submit.out" | head -1)
[ -n "$job" ] || job=$(sx -- stardust -o json list | jq -r '.jobs[0].id')
sx -- stardust -o json status "$job" >"$work/job.json" || fail "GET /v1/jobs/$job"
jq -e '.state == "FINISHED"' "$work/job.json" >/dev/null || fail "job state: $(cat "$work/job.json")"
nv=$(jq '.vertices | length' "$work/job.json")
[ "$nv" -eq 2 ] || fail "expected two stages, got $nv: $(jq -c '.vertices[] | .name' "$work/job.json")"
bad=$(jq -r '.vertices[0].tasks[] | select(.region != "us-east") | .node' "$work/job.json")
[ -z "$bad" ] || fail "read stage ran outside us-east on: $bad"
bad=$(jq -r '.vertices[1].tasks[] | select(.region != "eu-west") | .node' "$work/job.json")
[ -z "$bad" ] || fail "reduce stage ran outside eu-west on: $bad"
jq -e '[.vertices[].tasks[]] | length > 0' "$work/job.json" >/dev/null || fail "no tasks listed"
cat "$work"/gen/corpus/*.txt | awk '{ n = split(tolower($0), w, / +/)
	for (i = 1; i <= n; i++) if (w[i] != "") c[w[i]]++ }
	END { for (k in c) print k "," c[k] }' | sort >"$work/want"
[ -s "$work/want" ] || fail "empty expectation"
sort "$work/data/us-east/out/wordcount.csv" >"$work/got" || fail "no output file"
cmp -s "$work/got" "$work/want" || {
	diff "$work/got" "$work/want" | head
	fail "word count differs from awk"
}
echo "sim_e2e: job $job: read in us-east, reduce in eu-west, $(wc -l <"$work/want") words equal awk's"

# --- 3. round-trip times against the topology -----------------------------------
sx -- stardust -o json nodes | jq -r '.nodes[] | "\(.name) \(.region) \(.data_endpoint)"' \
	>"$work/endpoints"
[ "$(wc -l <"$work/endpoints")" -eq 6 ] || fail "endpoints: $(cat "$work/endpoints")"
one_way() { # region region -> ms
	jq -r --arg a "$1" --arg b "$2" '[.links[] | select((.a == $a and .b == $b) or
		(.a == $b and .b == $a)) | .latency_ms] | (.[0] // 0)' "$topo"
}
checked=0
for from in eu-west us-east ap-south; do
	while read -r name region ep; do
		got=$(sx --in "$from" -- stardust-wan --rtt "$ep" 7) || fail "no TCP connection $from -> $name"
		want=$(($(one_way "$from" "$region") * 2))
		if [ "$want" -eq 0 ]; then
			ok=$(awk -v g="$got" 'BEGIN { print (g < 15) }')
		else
			ok=$(awk -v g="$got" -v w="$want" 'BEGIN { print (g >= 0.8 * w && g <= 1.2 * w) }')
		fi
		printf 'sim_e2e: rtt %-9s -> %-11s %8.2f ms (topology %d ms)\n' "$from" "$name" "$got" "$want"
		[ "$ok" = 1 ] || fail "rtt $from -> $name $got ms, topology says $want ms (±20 %)"
		checked=$((checked + 1))
	done <"$work/endpoints"
done
[ $checked -eq 18 ] || fail "checked $checked round trips, wanted 18"
# The nodes' own control round trips (heartbeat echo, /v1/nodes rtt_us) to
# the coordinator in eu-west, for the nodes in other regions: the median of
# seven samples a second apart (one sample may include a busy moment of the
# node under TCG).
creg=$(jq -r '.coordinator.region' "$topo")
: >"$work/rtt_samples"
for _ in $(seq 7); do
	sx -- stardust -o json nodes |
		jq -r '.nodes[] | select(.rtt_us != null) | "\(.name) \(.region) \(.rtt_us)"' \
			>>"$work/rtt_samples"
	sleep 1
done
# A VM measures with its TSC, which the image calibrates against the PIT at
# boot; under TCG on a loaded host that calibration is sometimes far off
# (seen: 3658 MHz on a 2450 MHz host), and then so is every time it reports.
# Such a node is named and left out of this check (the host-side probes
# above cover its links); all others must match.
tsc_of() { sed -n 's/.*booting (.*TSC \([0-9]*\) MHz.*/\1/p' "$run/console/$1.log" 2>/dev/null | head -1; }
tsc_median=$(for n in $(awk '{print $1}' "$work/endpoints"); do tsc_of "$n"; done | sort -n |
	awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]}')
for name in $(awk '{print $1}' "$work/endpoints"); do
	region=$(awk -v n="$name" '$1 == n {print $2}' "$work/endpoints")
	[ "$region" = "$creg" ] && continue
	tsc=$(tsc_of "$name")
	if [ -n "$tsc" ] && ! awk -v t="$tsc" -v m="$tsc_median" 'BEGIN { exit !(t >= 0.9 * m && t <= 1.1 * m) }'; then
		echo "sim_e2e: WARNING: $name calibrated its TSC at $tsc MHz (others $tsc_median MHz): its own rtt is not checked"
		continue
	fi
	got=$(awk -v n="$name" '$1 == n {print $3 / 1000}' "$work/rtt_samples" | sort -n |
		awk '{v[NR] = $1} END {if (NR) printf "%.2f", v[int((NR + 1) / 2)]}')
	[ -n "$got" ] || fail "$name reports no rtt_us"
	want=$(($(one_way "$creg" "$region") * 2))
	printf 'sim_e2e: %s reports a control rtt of %s ms (median; topology %d ms)\n' "$name" "$got" "$want"
	awk -v g="$got" -v w="$want" 'BEGIN { exit !(g >= 0.8 * w && g <= 1.2 * w) }' ||
		fail "$name: control rtt $got ms, topology says $want ms (±20 %)"
done

# --- 4. partition and heal ---------------------------------------------------------
ap=$(awk '$2 == "ap-south" {print $3; exit}' "$work/endpoints")
"$sim" ctl --run-dir "$run" partition eu-west ap-south >/dev/null || fail "partition"
if sx --in eu-west -- stardust-wan --rtt "$ap" 1 >/dev/null 2>&1; then
	fail "eu-west reached $ap across a partition"
fi
sx --in us-east -- stardust-wan --rtt "$ap" 1 >/dev/null || fail "us-east lost ap-south too"
"$sim" ctl --run-dir "$run" heal eu-west ap-south >/dev/null || fail "heal"
sx --in eu-west -- stardust-wan --rtt "$ap" 3 >/dev/null || fail "no connection after heal"
echo "sim_e2e: partition eu-west/ap-south blocked connections; heal restored them"

# --- 4b. a node crashes and comes back under its name ----------------------------
"$sim" kill --run-dir "$run" ap-south-2 >/dev/null 2>&1 || fail "kill ap-south-2"
"$sim" status --run-dir "$run" >/dev/null && fail "status healthy with ap-south-2 killed"
"$sim" start --run-dir "$run" ap-south-2 >"$work/start.out" 2>&1 ||
	fail "start ap-south-2: $(cat "$work/start.out")"
"$sim" status --run-dir "$run" >"$work/status.out" || fail "unhealthy after restart: $(cat "$work/status.out")"
echo "sim_e2e: ap-south-2 killed, seen gone, started again and registered"

# --- 5. down removes everything ---------------------------------------------------
pids=$(awk '$1 == "pid" {print $2}' "$run/state")
"$sim" down --run-dir "$run" >/dev/null 2>&1 || fail "down"
[ ! -e "$run" ] || fail "run directory $run left behind"
for p in $pids; do
	kill -0 "$p" 2>/dev/null && fail "process $p left running"
done
[ "$(leftovers)" = 0 ] || fail "$(leftovers) namespaces/processes left behind"
echo "sim_e2e: PASS"
