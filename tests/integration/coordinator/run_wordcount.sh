#!/bin/sh
# tests/integration/coordinator/run_wordcount.sh STARDUST_CLI REPO
#
# `stardust run examples/wordcount.sd` on a private local cluster (netfsd,
# coordinator, 3 hosted nodes) over a generated corpus; the word counts must
# equal an independent computation (tr, sort, uniq), the collect/print
# scratch space must be gone and so must every process of the run.
set -eu
CLI=$1 REPO=$2
D=$(mktemp -d "${TMPDIR:-/tmp}/sd-run-wc-XXXXXX")
trap 'rm -rf "$D"' EXIT
sh "$REPO/examples/data/gen.sh" "$D" 1000 >/dev/null
cp "$REPO/examples/wordcount.sd" "$D/"
mkdir "$D/tmp"
if ! TMPDIR="$D/tmp" "$CLI" run "$D/wordcount.sd" --nodes 3 >"$D/run.out" 2>"$D/run.err"; then
	echo "stardust run failed:" >&2
	cat "$D/run.err" >&2
	for f in "$D"/tmp/*/*.log; do echo "== $f" >&2; tail -5 "$f" >&2; done
	exit 1
fi
grep -q "FINISHED" "$D/run.out"
cat "$D"/corpus/*.txt | tr 'A-Z' 'a-z' | tr ' ' '\n' | grep -v '^$' | sort | uniq -c |
	awk '{ print $2 "," $1 }' | sort >"$D/want"
sort "$D/out/wordcount.csv" >"$D/got"
cmp "$D/want" "$D/got"
[ "$(wc -l <"$D/want")" -gt 10 ]
# The run cleaned up after itself: no run directory, no results scratch space.
[ -z "$(ls -A "$D/tmp")" ]
[ ! -e "$D/.stardust" ]
echo "wordcount: $(wc -l <"$D/got") words, counts match"
