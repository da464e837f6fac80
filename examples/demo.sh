#!/usr/bin/env bash
# examples/demo.sh BUILD — what `make demo` runs:
#   1. writes the example data (examples/data/gen.sh, deterministic);
#   2. `stardust run examples/wordcount.sd` on a private local cluster: a
#      netfs server, the coordinator and three hosted nodes in two regions;
#   3. checks the job's output file against an independent count
#      (tr | sort | uniq -c), and shows the top words;
#   4. shows where placement put each task and why;
#   5. boots the unikernel node image under QEMU, when it was built.
# Every figure printed comes from Stardust and is checked, or says so.
set -euo pipefail

build=${1:-build/release}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bin=$build/coordinator/stardust
data=$build/demo/data

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

[ -x "$bin" ] || { echo "demo: $bin not built (run make build)" >&2; exit 1; }

say "1. example data in $data"
rm -rf "$data"
sh examples/data/gen.sh "$data" 20000
echo "$(cat "$data"/corpus/*.txt | wc -l) lines of text in $(ls "$data"/corpus | wc -l) files"

say "2. stardust run examples/wordcount.sd (3 nodes: eu-west x2, us-east x1)"
cat examples/wordcount.sd
echo
"$bin" run examples/wordcount.sd --data "$data" --regions eu-west:2,us-east:1 >"$build/demo/run.log" 2>&1 ||
	{ cat "$build/demo/run.log"; echo "demo: the job failed" >&2; exit 1; }
# The status table, without the sink dump that follows it.
sed -n '1,/^== netfs/p' "$build/demo/run.log" | sed '$d'

say "3. checking out/wordcount.csv against tr | sort | uniq -c"
out=$data/out/wordcount.csv
[ -s "$out" ] || { echo "demo: $out missing or empty" >&2; exit 1; }
expected=$build/demo/expected.txt
actual=$build/demo/actual.txt
cat "$data"/corpus/*.txt | tr 'A-Z' 'a-z' | tr ' ' '\n' | grep -v '^$' | sort | uniq -c |
	awk '{ print $2 "," $1 }' | sort >"$expected"
sort "$out" >"$actual"
if ! cmp -s "$expected" "$actual"; then
	echo "demo: MISMATCH between Stardust and the independent count:" >&2
	diff "$expected" "$actual" | head -20 >&2
	exit 1
fi
echo "match: $(wc -l <"$actual") distinct words, $(awk -F, '{ s += $2 } END { print s }' "$actual") words in all"
echo "top words:"
sort -t, -k2,2nr -k1,1 "$actual" | head -5 | awk -F, '{ printf "  %-8s %s\n", $1, $2 }'

say "4. the plan dataflow/ compiled: stages cut at the shuffle, a combiner before it"
"$build/dataflow/stardust-local" --plan examples/wordcount.sd

image=$build/metal/stardust-node.elf
if [ -f "$image" ]; then
	say "5. the unikernel node image ($(stat -c %s "$image") bytes) booting under QEMU microvm"
	tests/qemu/node/boot_test.sh "$image" 33 "boot ok" 2>&1 | tail -5
fi
say "done: see docs/ for the language, the CLI, the API and the simulation"
