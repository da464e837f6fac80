#!/bin/sh
# tests/integration/node/run_cluster.sh REPO NODE COORDINATOR CLI NETFSD —
# (paths of the four programs) a real local cluster on
# loopback: stardust-netfsd, stardust-coordinator and three stardust-node
# processes.
#   1. word count over the multi-file corpus, checked against awk;
#   2. the streaming clicks job (tailed file, exchange us-east -> eu-west);
#      killing the source node fails the job with a reason naming it.
set -eu
repo=$1
work=$(mktemp -d)
mkdir "$work/bin"
ln -s "$2" "$work/bin/stardust-node"
ln -s "$3" "$work/bin/stardust-coordinator"
ln -s "$4" "$work/bin/stardust"
ln -s "$5" "$work/bin/stardust-netfsd"
bin=$work/bin
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
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

"$repo/examples/data/gen.sh" "$work/data" 4000 >/dev/null
mkdir -p "$work/data/out" "$work/data/dash"

"$bin/stardust-netfsd" --root "$work/data" --listen 127.0.0.1:0 \
	--port-file "$work/netfs.port" >"$work/netfsd.log" 2>&1 &
pids="$pids $!"
wait_for "netfsd" test -s "$work/netfs.port"
"$bin/stardust-coordinator" --listen-http 127.0.0.1:0 --listen-control 127.0.0.1:0 \
	--state-dir "$work" --netfs "127.0.0.1:$(cat "$work/netfs.port")" \
	--heartbeat-timeout 2s >"$work/coordinator.log" 2>&1 &
pids="$pids $!"
wait_for "coordinator" test -s "$work/endpoints.json"
http=$(sed 's/.*"http":"\([^"]*\)".*/\1/' "$work/endpoints.json")
control=$(sed 's/.*"control":"\([^"]*\)".*/\1/' "$work/endpoints.json")
sd() { "$bin/stardust" --coordinator "http://$http" "$@"; }

node_pid() { eval echo "\$pid_$1"; }
start_node() { # name region
	"$bin/stardust-node" --name "$1" --region "$2" --coordinator "$control" \
		--slots 4 --memory 128M >"$work/$1.log" 2>&1 &
	pids="$pids $!"
	eval "pid_$1=$!"
}
start_node n1 us-east
start_node n2 eu-west
start_node n3 eu-west
ready3() { [ "$(sd nodes | grep -c ' ready ')" -ge 3 ]; }
wait_for "three nodes" ready3

# 1. word count
sd submit "$repo/examples/wordcount.sd" --wait >"$work/wc.out" 2>&1 ||
	fail "wordcount: $(cat "$work/wc.out")"
grep -q FINISHED "$work/wc.out" || fail "wordcount did not finish"
cat "$work"/data/corpus/*.txt | awk '{ n = split(tolower($0), w, / +/)
	for (i = 1; i <= n; i++) if (w[i] != "") c[w[i]]++ }
	END { for (k in c) print k "," c[k] }' | sort >"$work/wc.want"
sort "$work/data/out/wordcount.csv" >"$work/wc.got"
[ -s "$work/wc.want" ] || fail "empty expectation"
cmp -s "$work/wc.got" "$work/wc.want" || {
	diff "$work/wc.got" "$work/wc.want" | head >&2
	fail "word count differs from awk"
}
echo "ok: word count on 3 nodes ($(wc -l <"$work/wc.want") words)"

# 2. streaming job; kill the source node mid-job
sd submit "$repo/examples/clicks.sd" >"$work/clicks.out" 2>&1 || fail "clicks: $(cat "$work/clicks.out")"
job=$(sed -n 's/^submitted job \([0-9a-f]*\).*/\1/p' "$work/clicks.out")
[ -n "$job" ] || fail "no job id"
running() { sd status "$job" | grep -q RUNNING; }
wait_for "clicks running" running
kill -9 "$(node_pid n1)"
failed() { sd status "$job" | grep -q FAILED; }
wait_for "clicks failing after n1 died" failed
sd -o json status "$job" >"$work/clicks.json"
grep -q 'n1' "$work/clicks.json" || fail "the failure does not name n1: $(cat "$work/clicks.json")"
sd status "$job" | head -3
echo "ok: killing n1 failed the streaming job with a reason naming it"
