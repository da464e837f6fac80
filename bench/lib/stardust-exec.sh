#!/usr/bin/env bash
# bench/lib/stardust-exec.sh — run one benchmark job with stardust-local and
# gather its sink output into one file for the output check.
#
# Usage: stardust-exec.sh BIN JOB ROOT SINK OUT PARALLELISM
#   Runs `BIN --root ROOT --parallelism P JOB` (netfs://X is ROOT/X); then
#   copies the sink ROOT/SINK (a file, or a directory of part files) to OUT,
#   or the job's standard output when it wrote no sink.
set -euo pipefail
bin=$1 job=$2 root=$3 sink=$4 out=$5 par=$6
rm -rf "${root:?}/$sink"
"$bin" --root "$root" --parallelism "$par" "$job" >"$out.stdout"
if [ -d "$root/$sink" ]; then
	find "$root/$sink" -type f -print0 | sort -z | xargs -0 cat >"$out"
elif [ -f "$root/$sink" ]; then
	cp "$root/$sink" "$out"
else
	cp "$out.stdout" "$out"
fi
