#!/bin/sh
# tests/integration/node/run_cluster.sh REPO NODE COORDINATOR CLI NETFSD —
# (paths of the four programs) a real local cluster on
# loopback: stardust-netfsd, stardust-coordinator and three stardust-node
# processes.
#   1. word count over the multi-file corpus, checked against awk;
#   2. the streaming clicks job (tailed file, exchange us-east -> eu-west);
#      killing the source node fails the job with a reason naming it.
set -eu
. "$(dirname "$0")/cluster_lib.sh"
cluster_init "$@"
"$repo/examples/data/gen.sh" "$work/data" 4000 >/dev/null
mkdir -p "$work/data/out" "$work/data/dash"
cluster_start

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
