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

# 2. streaming job; kill the source node mid-job. Its source may run only in
# us-east, where n1 is alone: the job restarts and waits for a node there.
sd submit "$repo/examples/clicks.sd" >"$work/clicks.out" 2>&1 || fail "clicks: $(cat "$work/clicks.out")"
job=$(sed -n 's/^submitted job \([0-9a-f]*\).*/\1/p' "$work/clicks.out")
[ -n "$job" ] || fail "no job id"
state() { sd -o json status "$job" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }
is_state() { [ "$(state)" = "$1" ]; }
wait_for "clicks running" is_state RUNNING
kill -9 "$(node_pid n1)"
wait_for "clicks restarting after n1 died" is_state RESTARTING
sd -o json status "$job" >"$work/exc.txt"
grep -q 'n1' "$work/exc.txt" || fail "the restart does not name n1: $(cat "$work/exc.txt")"
# 3. n1 comes back (same name): the job runs again on it.
start_node n1 us-east
wait_for "clicks running again with n1 back" is_state RUNNING
echo "ok: killing n1 restarted the streaming job; it ran again once n1 rejoined"
# 4. n1 gone for good: no node satisfies @region("us-east"), so after the
# wait for nodes the job fails with the placement's explanation.
kill -9 "$(node_pid n1)"
failed_long() { # the restart waits up to 15 s for nodes (coordinator/recovery.c)
	i=0
	until is_state FAILED; do
		i=$((i + 1))
		[ $i -lt 300 ] || fail "timed out waiting for clicks to fail without n1"
		sleep 0.1
	done
}
failed_long
sd -o json status "$job" >"$work/clicks.json"
grep -q 'infeasible' "$work/clicks.json" ||
	fail "the failure does not give the placement's reason: $(cat "$work/clicks.json")"
sd status "$job" | head -3
echo "ok: without n1 the streaming job failed with the placement explanation"
