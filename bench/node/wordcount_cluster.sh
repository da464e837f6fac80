#!/bin/sh
# bench/node/wordcount_cluster.sh BUILD_DIR [BYTES] — W1 word count end to end
# on a real local cluster (netfsd + coordinator + 2 hosted nodes) against the
# single-threaded C baseline (sd-bench-wc) on the same corpus. Prints both
# times and the ratio; checks the answers agree.
set -eu
b=$(cd "$1" && pwd)
bytes=${2:-100000000}
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/data/in" "$work/data/out"
"$b/bench/gen/sd-bench-gen-words" --bytes "$bytes" "$work/data/in/words.txt"
t0=$(date +%s.%N)
"$b/bench/baseline/sd-bench-wc" "$work/data/in/words.txt" -o "$work/base.txt"
t1=$(date +%s.%N)
"$b/netfs/stardust-netfsd" --root "$work/data" --listen 127.0.0.1:0 --port-file "$work/nfs.port" \
	>"$work/netfsd.log" 2>&1 &
pids="$pids $!"
sleep 0.3
"$b/coordinator/stardust-coordinator" --listen-http 127.0.0.1:0 --listen-control 127.0.0.1:0 \
	--state-dir "$work" --netfs "127.0.0.1:$(cat "$work/nfs.port")" >"$work/coord.log" 2>&1 &
pids="$pids $!"
sleep 0.5
http=$(sed 's/.*"http":"\([^"]*\)".*/\1/' "$work/endpoints.json")
control=$(sed 's/.*"control":"\([^"]*\)".*/\1/' "$work/endpoints.json")
for n in 1 2; do
	"$b/node/stardust-node" --name "w$n" --coordinator "$control" --slots 4 --memory 1G \
		>"$work/node$n.log" 2>&1 &
	pids="$pids $!"
done
sleep 1.5
sed -e 's|@INPUT@|netfs://in/words.txt|' -e 's|@OUTPUT@|netfs://out/wc.csv|' \
	"$repo/bench/jobs/w1_wordcount.sd.in" >"$work/w1.sd"
t2=$(date +%s.%N)
"$b/coordinator/stardust" --coordinator "http://$http" submit "$work/w1.sd" --wait >"$work/job.out" 2>&1 ||
	{ cat "$work/job.out"; exit 1; }
t3=$(date +%s.%N)
cat "$work/job.out"
awk '{print $1","$2}' "$work/base.txt" | sort >"$work/base.sorted"
sort "$work/data/out/wc.csv" >"$work/got.sorted"
if cmp -s "$work/base.sorted" "$work/got.sorted"; then echo "answers agree"; else echo "ANSWERS DIFFER"; fi
awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" -v n="$bytes" 'BEGIN {
	printf "baseline %.2f s, cluster (2 nodes) %.2f s, ratio %.2f of baseline speed, %.1f MB/s\n",
		b - a, d - c, (b - a) / (d - c), n / 1e6 / (d - c) }'
