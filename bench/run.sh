#!/usr/bin/env bash
# bench/run.sh — Stardust side by side with the peers a user would pick instead.
#
# Usage: bench/run.sh [--smoke] [--build DIR] [--out DIR] [--runs N] [--only W1,W2,...]
#                     [--no-install] [--publish]
#   --smoke       tiny inputs, one run each, only the fast peers, no installs;
#                 exits 1 if any output disagrees with the C baseline
#   --build DIR   the CMake build tree with the bench programs (build/release)
#   --out DIR     where inputs, outputs and the report go (build/bench, or
#                 build/bench/smoke with --smoke)
#   --runs N      timed runs per row (5; 1 with --smoke)
#   --only LIST   run only these workloads (comma-separated ids; hooks still run)
#   --no-install  do not install missing peers (their rows say so)
#   --publish     copy the table and plot into docs/performance.md and docs/img/
#
# What it does: installs missing peers (lib/peers.sh), generates the inputs
# with fixed seeds (bench/gen), warms the page cache, runs every workload of
# ../shared/BENCHMARKS.md that has its parts (W1..W6), checks every row's
# output against the single-thread C baseline's, and writes results.tsv,
# results.md (the table) and bench.png (the plot) to the out dir. Rows that
# cannot run say why. Never prints a figure it did not measure in this run.
#
# Environment: SD_BENCH_IMAGE=PATH times that node image for W5 instead of
# the one under BUILD/metal; SD_BENCH_NODE_PREFIX=DIR installs and finds the
# DuckDB npm package there (default build/bench).
#
# Extension: bench/<sub>/bench-rows.sh (executable, owned by whoever owns
# bench/<sub>) is called as `bench-rows.sh BUILD WORKDIR RUNS MODE` and may
# print extra rows in the results.tsv format (see lib/measure.sh); that is how
# the node runtime adds its W3/W4/W6 rows. MODE is full or smoke.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
mode=full build=$top/build/release out= runs= install=1 publish=0 only=W1,W2,W3,W4,W5,W6

while [ $# -gt 0 ]; do
	case $1 in
	--smoke) mode=smoke; shift ;;
	--build) build=$(cd "$2" && pwd); shift 2 ;;
	--out) out=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--no-install) install=0; shift ;;
	--publish) publish=1; shift ;;
	--only) only=$2; shift 2 ;;
	-h | --help) mawk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
	*) echo "bench: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
done

if [ "$mode" = smoke ]; then
	out=${out:-$top/build/bench/smoke}
	RUNS=${runs:-1}
	PEER_TIMEOUT=60
	install=0
	W1_BYTES=2000000 W2_EVENTS=100000
else
	out=${out:-$top/build/bench}
	RUNS=${runs:-5}
	PEER_TIMEOUT=300
	W1_BYTES=100000000 W2_EVENTS=10000000
fi
rm -rf "$out/work"
mkdir -p "$out/data" "$out/work"
out=$(cd "$out" && pwd)
DATA=$out/data WORK=$out/work RESULTS=$out/results.tsv
NODE_PREFIX=${SD_BENCH_NODE_PREFIX:-$top/build/bench}
export LC_ALL=C
: >"$RESULTS"

# shellcheck source=lib/measure.sh
. "$here/lib/measure.sh"
# shellcheck source=lib/peers.sh
. "$here/lib/peers.sh"
# shellcheck source=lib/stardust.sh
. "$here/lib/stardust.sh"
# shellcheck source=lib/workloads.sh
. "$here/lib/workloads.sh"

gen_words=$build/bench/gen/sd-bench-gen-words
gen_events=$build/bench/gen/sd-bench-gen-events
base_wc=$build/bench/baseline/sd-bench-wc
base_win=$build/bench/baseline/sd-bench-window
pingpong=$build/bench/baseline/sd-bench-pingpong
for b in "$gen_words" "$gen_events" "$base_wc" "$base_win"; do
	[ -x "$b" ] || { say "missing $b: build first (make build)"; exit 1; }
done

[ "$install" = 1 ] && peers_install
started=$EPOCHREALTIME
cut -d' ' -f1-3 /proc/loadavg >"$WORK/load.start"
say "mode $mode, $RUNS run(s) per row, inputs in $DATA"
for w in W1 W2 W3 W4 W5 W6; do
	case ",$only," in *",$w,"*) "${w,,}_run" ;; esac
done
rows_from_hooks

cut -d' ' -f1-3 /proc/loadavg >"$WORK/load.end"
"$here/lib/report.sh" "$RESULTS" "$out" "$mode"
[ "$publish" = 1 ] && "$here/lib/publish.sh" "$out" "$top/docs"
say "done in $(mawk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }') s: $out/results.md"
if [ "$WRONG_ROWS" -gt 0 ]; then
	say "$WRONG_ROWS row(s) disagree with the C baseline (or, in smoke runs, a Stardust job failed)"
	exit 1
fi
