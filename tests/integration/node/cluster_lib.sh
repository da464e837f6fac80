# tests/integration/node/cluster_lib.sh — sourced by the cluster tests (sh).
# With the positional parameters REPO NODE COORDINATOR CLI NETFSD:
#   cluster_init         work dir ($work, $work/data the netfs root), the
#                        programs in $bin, cleanup on exit; fail, wait_for
#   cluster_start        stardust-netfsd (extra flags: $NETFSD_FLAGS),
#                        stardust-coordinator and three
#                        stardust-node processes (n1 us-east, n2 n3 eu-west;
#                        CLUSTER_NODES=2 starts n1 n2 only);
#                        defines sd (the CLI) and node_pid NAME
cluster_init() {
	repo=$1
	work=$(mktemp -d)
	mkdir "$work/bin" "$work/data"
	ln -s "$2" "$work/bin/stardust-node"
	ln -s "$3" "$work/bin/stardust-coordinator"
	ln -s "$4" "$work/bin/stardust"
	ln -s "$5" "$work/bin/stardust-netfsd"
	bin=$work/bin
	pids=""
	trap cleanup EXIT
}
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
fail() {
	echo "FAIL: $*" >&2
	for f in "$work"/*.log; do echo "--- $f" >&2; tail -20 "$f" >&2; done
	exit 1
}
wait_for() { # what command...
	what=$1
	shift
	i=0
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 100 ] || fail "timed out waiting for $what"
		sleep 0.1
	done
}
sd() { "$bin/stardust" --coordinator "http://$http" "$@"; }
node_pid() { eval echo "\$pid_$1"; }
start_node() { # name region
	"$bin/stardust-node" --name "$1" --region "$2" --coordinator "$control" \
		--slots 4 --memory 128M >"$work/$1.log" 2>&1 &
	pids="$pids $!"
	eval "pid_$1=$!"
}
ready3() { [ "$(sd nodes | grep -c ' ready ')" -ge "${CLUSTER_NODES:-3}" ]; }
cluster_start() {
	# shellcheck disable=SC2086 # NETFSD_FLAGS: extra words on purpose
	"$bin/stardust-netfsd" --root "$work/data" --listen 127.0.0.1:0 \
		--port-file "$work/netfs.port" ${NETFSD_FLAGS:-} >"$work/netfsd.log" 2>&1 &
	pids="$pids $!"
	wait_for "netfsd" test -s "$work/netfs.port"
	"$bin/stardust-coordinator" --listen-http 127.0.0.1:0 --listen-control 127.0.0.1:0 \
		--state-dir "$work" --netfs "127.0.0.1:$(cat "$work/netfs.port")" \
		--heartbeat-timeout 2s >"$work/coordinator.log" 2>&1 &
	pids="$pids $!"
	wait_for "coordinator" test -s "$work/endpoints.json"
	http=$(sed 's/.*"http":"\([^"]*\)".*/\1/' "$work/endpoints.json")
	control=$(sed 's/.*"control":"\([^"]*\)".*/\1/' "$work/endpoints.json")
	start_node n1 us-east
	start_node n2 eu-west
	[ "${CLUSTER_NODES:-3}" -lt 3 ] || start_node n3 eu-west
	wait_for "${CLUSTER_NODES:-3} nodes" ready3
}
