#!/bin/sh
# bench/coordinator/bench-rows.sh BUILD_DIR WORK_DIR RUNS MODE
#
# Two figures for the coordinator, as bench rows (see bench/README.md):
#  coord-heartbeats  CPU the coordinator spends while N simulated nodes
#                    heartbeat once a second (% of one core; goal < 20 % at 1000)
#  coord-status      GET /v1/jobs/:id requests/s (wrk, loopback) while a job
#                    runs on those nodes (goal >= 20 k/s)
# MODE smoke: 100 nodes, 3 s. Needs wrk (Debian package) for the second row.
set -eu
BUILD=$1 WORK=$2 RUNS=$3 MODE=$4
NODES=1000 SECS=10
[ "$MODE" = smoke ] && NODES=100 SECS=3
COORD=$BUILD/coordinator/stardust-coordinator
CLI=$BUILD/coordinator/stardust
SIM=$BUILD/bench/coordinator/sd-bench-hb-sim
D=$WORK/coordinator
rm -rf "$D" && mkdir -p "$D"
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@"; }
for b in "$COORD" "$CLI" "$SIM" "$BUILD/netfs/stardust-netfsd"; do
	if [ ! -x "$b" ]; then
		row coord-heartbeats "stardust coordinator" 1 cannot-run 0 0 0 0 0 "%" "$b not built"
		exit 0
	fi
done
# The job's collect() result needs a file service (nothing is written: the
# simulated nodes never finish their tasks).
mkdir -p "$D/export"
"$BUILD/netfs/stardust-netfsd" --root "$D/export" --listen 127.0.0.1:0 --port-file "$D/netfs.port" \
	--log-level warn 2>"$D/netfsd.log" &
NPID=$!
i=0
while [ ! -s "$D/netfs.port" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
"$COORD" --listen-http 127.0.0.1:0 --listen-control 127.0.0.1:0 --token T --join-token J \
	--state-dir "$D" --log-level warn --netfs "127.0.0.1:$(cat "$D/netfs.port")" \
	2>"$D/coordinator.log" &
CPID=$!
SPID=
cleanup() {
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null
	kill "$CPID" "$NPID" 2>/dev/null
	wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM
i=0
while [ ! -s "$D/endpoints.json" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
HTTP=$(sed 's/.*"http":"\([^"]*\)".*/\1/' "$D/endpoints.json")
CTL=$(sed 's/.*"control":"\([^"]*\)".*/\1/' "$D/endpoints.json")
"$SIM" "$CTL" "$NODES" $((SECS * 3 + 10)) J >"$D/sim.out" 2>&1 &
SPID=$!
ready() { "$CLI" --coordinator "http://$HTTP" -o json nodes | grep -o '"state":"ready"' | wc -l; }
i=0
while [ "$(ready)" -lt "$NODES" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
if [ "$(ready)" -lt "$NODES" ]; then
	row coord-heartbeats "stardust coordinator" 1 failed 0 0 0 0 0 "%" "nodes did not register"
	exit 0
fi
ticks() { awk '{print $14 + $15}' "/proc/$CPID/stat"; }
HZ=$(getconf CLK_TCK)
sleep 2 # past the registration burst
t0=$(ticks)
sleep "$SECS"
t1=$(ticks)
PCT=$(awk -v a="$t0" -v b="$t1" -v hz="$HZ" -v s="$SECS" 'BEGIN { printf "%.2f", (b - a) * 100 / (hz * s) }')
row coord-heartbeats "stardust coordinator" 1 ok 1 "$PCT" "$PCT" "$PCT" value "% of one core" \
	"$NODES simulated nodes heartbeating once a second"

printf 'generate(1000000).collect()\n' >"$D/job.sd"
ID=$("$CLI" --coordinator "http://$HTTP" --token T -o json submit "$D/job.sd" |
	sed 's/.*"id":"\([0-9a-f]*\)".*/\1/')
i=0
state() { "$CLI" --coordinator "http://$HTTP" -o json status "$ID" | sed 's/^{"id":"[0-9a-f]*","name":"[^"]*","state":"\([A-Z]*\)".*/\1/'; }
while [ "$(state)" != RUNNING ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
if [ "$(state)" != RUNNING ]; then
	row coord-status "stardust coordinator" 1 failed 0 0 0 0 0 "req/s" "job did not reach RUNNING"
	exit 0
fi
if ! command -v wrk >/dev/null 2>&1; then
	row coord-status "stardust coordinator" 1 cannot-run 0 0 0 0 0 "req/s" "wrk not installed"
	exit 0
fi
t0=$(ticks)
wrk -t1 -c32 -d"${SECS}s" "http://$HTTP/v1/jobs/$ID" >"$D/wrk.out" 2>&1
t1=$(ticks)
RPS=$(awk '/Requests\/sec/ { print $2 }' "$D/wrk.out")
REQS=$(awk '/requests in/ { print $1 }' "$D/wrk.out")
# Coordinator CPU per request: what the rate would be with a core to itself.
US=$(awk -v a="$t0" -v b="$t1" -v hz="$HZ" -v n="$REQS" 'BEGIN { printf "%.1f", (b - a) * 1e6 / hz / n }')
NON2XX=$(awk '/Non-2xx/ { print $NF }' "$D/wrk.out")
if [ -n "$NON2XX" ] || [ "$(state)" != RUNNING ]; then
	row coord-status "stardust coordinator" 1 wrong 1 0 0 0 0 "req/s" "non-2xx responses or job not running"
	exit 0
fi
row coord-status "stardust coordinator" 1 ok 1 "$RPS" "$RPS" "$RPS" value "req/s" \
	"wrk -t1 -c32 GET /v1/jobs/:id, job RUNNING on $NODES simulated nodes (shared cores)"
row coord-status-cpu "stardust coordinator" 1 ok 1 "$US" "$US" "$US" value "µs CPU/request" \
	"coordinator CPU per GET /v1/jobs/:id under that load"
