#!/bin/sh
# tests/integration/deploy/check_topologies.sh STARDUST_WAN TOPOLOGY_DIR —
# every shipped topology validates; broken variants (made with jq) are
# refused with a message naming the offending field.
set -eu
wan=$1
dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n=0
for f in "$dir"/*.json; do
	"$wan" --check-topology "$f" >"$work/out" || { echo "FAIL: $f refused" >&2; exit 1; }
	nodes=$(jq '.nodes | length' "$f")
	[ "$(grep -c '^node ' "$work/out")" -eq "$nodes" ] || { echo "FAIL: $f node count" >&2; exit 1; }
	n=$((n + 1))
done
[ $n -ge 2 ] || { echo "FAIL: fewer than two topologies in $dir" >&2; exit 1; }

base=$dir/three-regions.json
bad() { # jq-filter expected-message
	jq "$1" "$base" >"$work/bad.json"
	if "$wan" --check-topology "$work/bad.json" >/dev/null 2>"$work/err"; then
		echo "FAIL: accepted after $1" >&2
		exit 1
	fi
	grep -qF "$2" "$work/err" || {
		echo "FAIL: after $1 wanted '$2', got: $(cat "$work/err")" >&2
		exit 1
	}
}
bad '.nodes[2].region = "mars"' 'nodes[2].region: unknown region "mars"'
bad '.links[1].loss = 2' 'links[1].loss: must be a number in 0..1'
bad '.links[0].jitter_ms = 90' 'links[0].jitter_ms: 90 exceeds latency_ms 40'
bad 'del(.nodes)' 'nodes: missing'
bad '.nodes[1].name = "eu-west-1"' 'nodes[1].name: duplicate node "eu-west-1"'
bad '.regions[0].name = "host"' 'regions[0].name: "host" is reserved'
bad '.links[0].latency = 3' 'links[0].latency: unknown field'
bad '.subnet = "10.42.0.0/8"' 'subnet: must be'
bad '.netfs += [{"region": "eu-west"}]' 'netfs[3].region: a second netfs server in eu-west'
bad '.nodes[0].labels = {"rack": 3}' 'nodes[0].labels.rack'
echo "ok: $n topologies valid, 10 broken variants refused"
# The three-regions addresses: coordinator .0.1, eu-west's first node .1.10.
"$wan" --check-topology "$base" >"$work/out"
grep -qx 'coordinator eu-west 10.42.0.1' "$work/out"
grep -qx 'node eu-west-1 eu-west eu-west-a 10.42.1.10 4 64 tier=core' "$work/out"
grep -qx 'netfs us-east 10.42.2.1 us-east primary' "$work/out"
