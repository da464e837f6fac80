#!/bin/bash
# deploy/sim/figures.sh STARDUST_SIM IMAGE [N...] — the simulation's figures:
# for each N (default 2 4 8) nodes spread over two regions, the time from
# `stardust-sim up` to every node registered; with the largest N, each VM's
# resident memory and the host CPU the idle simulation uses over 10 s
# (QEMU, switch, coordinator, netfs servers). Needs root.
set -eu
sim=$1 image=$2
shift 2
sizes=${*:-2 4 8}
work=$(mktemp -d /tmp/sim-figures-XXXXXX)
trap '"$sim" down --run-dir "$work/run" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
topo() { # n -> topology with n nodes over two regions 20 ms apart
	jq -n --argjson n "$1" '{name: "figures", regions: [{name: "r1"}, {name: "r2"}],
		links: [{a: "r1", b: "r2", latency_ms: 20}],
		nodes: [range($n) | {name: "n\(.)", region: (if . % 2 == 0 then "r1" else "r2" end)}],
		netfs: [{region: "r1"}]}'
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
for n in $sizes; do
	topo "$n" >"$work/t$n.json"
	t0=$(date +%s%N)
	"$sim" up --topology "$work/t$n.json" --run-dir "$work/run" --image "$image" >/dev/null
	echo "N=$n: up to all registered $((($(date +%s%N) - t0) / 1000000)) ms"
	last=$n
	[ "$n" = "$(echo $sizes | awk '{print $NF}')" ] && break
	"$sim" down --run-dir "$work/run" >/dev/null 2>&1
done
pids=$(awk '$1 == "pid" {print $2}' "$work/run/state")
qpids=$(awk '$1 == "pid" && $3 ~ /qemu/ {print $2}' "$work/run/state")
rss=0
for p in $qpids; do rss=$((rss + $(awk '/VmRSS/ {print $2}' "/proc/$p/status"))); done
echo "N=$last: QEMU resident memory $((rss / last / 1024)) MiB per VM (sum $((rss / 1024)) MiB)"
sleep 5 # past boot
declare -A a
for p in $pids; do a[$p]=$(ticks "$p"); done
sleep 10
tot=0
for p in $pids; do tot=$((tot + $(ticks "$p") - a[$p])); done
hz=$(getconf CLK_TCK)
echo "N=$last idle: $(awk -v t="$tot" -v hz="$hz" 'BEGIN { printf "%.1f", 100 * t / hz / 10 }') % of one core over 10 s (all processes)"
for p in $pids; do
	echo "  $(awk '$1 == "pid" && $2 == '"$p"' {print $3}' "$work/run/state") $p: $(awk -v t=$(($(ticks "$p") - a[$p])) -v hz="$hz" 'BEGIN { printf "%.1f", 100 * t / hz / 10 }') %"
done
