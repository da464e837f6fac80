#!/bin/sh
# tests/integration/dataflow/run_local.sh LOCAL_BIN REPO — runs the example
# jobs with stardust-local over examples/data/gen.sh data and checks each
# answer against an independent awk computation.
set -eu
bin=$1
repo=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$repo/examples/data/gen.sh" "$work" 4000

check() { # name got want
	sort "$2" > "$work/got.sorted"
	sort "$3" > "$work/want.sorted"
	cmp -s "$work/got.sorted" "$work/want.sorted" || {
		diff "$work/got.sorted" "$work/want.sorted" | head -20 >&2
		fail "$1 differs from the awk computation"
	}
	[ -s "$work/want.sorted" ] || fail "$1: empty expectation"
	echo "ok: $1 ($(wc -l < "$work/want.sorted") lines)"
}

# word count: lower-case, split on runs of spaces
for par in 1 3; do
	"$bin" --root "$work" --parallelism $par "$repo/examples/wordcount.sd"
	cat "$work"/corpus/*.txt | awk '{ n = split(tolower($0), w, / +/)
		for (i = 1; i <= n; i++) if (w[i] != "") c[w[i]]++ }
		END { for (k in c) print k "," c[k] }' > "$work/wc.want"
	check "wordcount parallelism $par" "$work/out/wordcount.csv" "$work/wc.want"
done

# clicks per url per 10 s tumbling window (the data is never later than 2 s)
"$bin" --root "$work" "$repo/examples/clicks.sd"
awk -F, '{ ws = sprintf("%.0f", ($1 - $1 % 10000)); c[$3 "," ws] ++ }
	END { for (k in c) { split(k, a, ","); printf "%s,%s,%.0f,%d\n", a[1], a[2], a[2] + 10000, c[k] } }' \
	"$work/logs/clicks.csv" > "$work/clicks.want"
check "clicks window" "$work/dash/clicks_per_url.csv" "$work/clicks.want"

# views joined with buys of the same user within 30 s
"$bin" --root "$work" "$repo/examples/attribution.sd"
awk -F, 'NR == FNR { n++; vt[n] = $1; vu[n] = $2; vp[n] = $3; next }
	{ for (i = 1; i <= n; i++) if (vu[i] == $2 && (vt[i] - $1 <= 30000 && $1 - vt[i] <= 30000))
		printf "%s,%s,%.15g\n", $2, vp[i], $3 }' \
	"$work/logs/views.csv" "$work/logs/buys.csv" > "$work/attr.want"
check "attribution join" "$work/out/attributed.csv" "$work/attr.want"

# top ten items by revenue
"$bin" --root "$work" "$repo/examples/top-items.sd" > "$work/top.got"
cat "$work"/sales/*.csv | awk -F, '{ s[$1] += $2 } END { for (k in s) printf "%s,%.15g\n", k, s[k] }' |
	sort -t, -k2,2gr | head -10 > "$work/top.want"
check "top items" "$work/top.got" "$work/top.want"

# a job that fails leaves no output behind; errors carry file:line:col
rm -rf "$work/out"
if "$bin" --root "$work" --memory 2000 "$repo/examples/wordcount.sd" 2> "$work/err"; then
	fail "wordcount within 2000 bytes should fail"
fi
grep -q "memory budget" "$work/err" || fail "no memory budget message"
[ ! -e "$work/out/wordcount.csv" ] || fail "a failed job left its output"
printf 'job "x"\nread_text("netfs://a").map(x -> x +).print()\n' > "$work/bad.sd"
if "$bin" "$work/bad.sd" 2> "$work/err"; then fail "bad job compiled"; fi
grep -q "bad.sd:2:36: error: expected an expression" "$work/err" || { cat "$work/err" >&2; fail "diagnostic"; }
echo "ok: failures"
