#!/bin/sh
# bench/netfs/run.sh [BUILD_DIR] — netfs figures on loopback:
#   (a) one client reading a 1 GiB file (GB/s)
#   (b) 64 concurrent clients doing 4 KiB reads (ops/s): 64 threads with
#       blocking connections, then 64 connections driven from one thread
#   (c) iperf3 loopback, the ceiling, when iperf3 is installed
# Env: NFS_BENCH_SIZE_MB (1024), NFS_BENCH_CLIENTS (64), NFS_BENCH_SECONDS (5).
set -eu
BUILD=${1:-build/release}
SIZE_MB=${NFS_BENCH_SIZE_MB:-1024}
CLIENTS=${NFS_BENCH_CLIENTS:-64}
SECONDS_=${NFS_BENCH_SECONDS:-5}
DIR=$(mktemp -d /tmp/nfs-bench.XXXXXX)
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

mkdir -p "$DIR/root"
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >"$DIR/root/big.bin"
sync # no writeback competing with the reads
"$BUILD/netfs/stardust-netfsd" --root "$DIR/root" --listen 127.0.0.1:0 \
	--port-file "$DIR/port" --region bench --log-level warn &
PID=$!
i=0
while [ ! -s "$DIR/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
PORT=$(cat "$DIR/port")
B="$BUILD/bench/netfs/nfs_bench --server 127.0.0.1:$PORT"

echo "== (a) one client, ${SIZE_MB} MiB file, page cache warm, three runs"
$B read big.bin >/dev/null
for run in 1 2 3; do $B read big.bin; done
echo "== (b) $CLIENTS clients, 4 KiB reads, ${SECONDS_} s"
$B small big.bin --clients "$CLIENTS" --seconds "$SECONDS_"
echo "== (b') the same load from one thread: $CLIENTS connections, poll, sans-I/O core"
$B multi big.bin --clients "$CLIENTS" --seconds "$SECONDS_"
if command -v iperf3 >/dev/null 2>&1; then
	echo "== (c) iperf3 loopback ceiling"
	iperf3 -s -1 -p 5299 >/dev/null 2>&1 &
	sleep 0.3
	iperf3 -c 127.0.0.1 -p 5299 -t 3 | tail -4
else
	echo "== (c) iperf3 not installed: skipped"
fi
