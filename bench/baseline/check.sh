#!/bin/sh
# bench/baseline/check.sh — the C baselines agree with mawk on awkward inputs.
#
# Usage: check.sh SD_BENCH_WC SD_BENCH_WINDOW SD_BENCH_GEN_WORDS
# Inputs: empty file; whitespace only; no final newline; tabs, CR, runs of
# spaces; words of 1..40 bytes (across the 8-byte inline key); bytes >= 0x80;
# a generated Zipf corpus; events with comma and space separators, a final
# line without newline, and other types. Counts are compared as sorted lines.
set -eu
wc_bin=$1 win_bin=$2 gen=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
export LC_ALL=C
fail=0

check_wc() { # NAME FILE
	"$wc_bin" "$2" -o "$tmp/c.out"
	sort "$tmp/c.out" >"$tmp/c.sorted"
	# words are separated by ASCII whitespace (isspace), as in tr '[:space:]'
	mawk -F'[ \t\r\v\f]+' '{ for (i = 1; i <= NF; i++) if ($i != "") c[$i]++ }
		END { for (w in c) print w, c[w] }' "$2" |
		sort >"$tmp/m.sorted"
	if cmp -s "$tmp/c.sorted" "$tmp/m.sorted"; then
		echo "ok   wc $1 ($(wc -l <"$tmp/m.sorted") distinct)"
	else
		echo "FAIL wc $1"
		diff "$tmp/c.sorted" "$tmp/m.sorted" | head -5
		fail=1
	fi
}

check_win() { # NAME FILE
	"$win_bin" "$2" -o "$tmp/c.out"
	sort "$tmp/c.out" >"$tmp/c.sorted"
	mawk -F'[ ,\t]+' '$3 == "view" { c[int($1 / 10000) * 10000 " " $2]++ }
		END { for (k in c) print k, c[k] }' "$2" | sort >"$tmp/m.sorted"
	if cmp -s "$tmp/c.sorted" "$tmp/m.sorted"; then
		echo "ok   window $1 ($(wc -l <"$tmp/m.sorted") keys)"
	else
		echo "FAIL window $1"
		diff "$tmp/c.sorted" "$tmp/m.sorted" | head -5
		fail=1
	fi
}

: >"$tmp/empty"
check_wc empty "$tmp/empty"
printf ' \n\t \n\n' >"$tmp/blank"
check_wc whitespace-only "$tmp/blank"
printf 'alpha beta\nbeta gamma' >"$tmp/nofinal"
check_wc no-final-newline "$tmp/nofinal"
printf 'a  b\t\tc\r\nd \f e\vf\n  lead trail  \n' >"$tmp/spaces"
check_wc mixed-whitespace "$tmp/spaces"
mawk 'BEGIN { srand(7); for (l = 0; l < 3000; l++) { s = ""
	for (i = 0; i < 12; i++) { n = 1 + int(rand() * 40); w = ""
		for (j = 0; j < n; j++) w = w sprintf("%c", 97 + int(rand() * 3))
		s = s (i ? " " : "") w }
	print s } }' >"$tmp/lengths"
check_wc word-lengths-1-40 "$tmp/lengths"
printf 'caf\303\251 na\303\257ve caf\303\251 \377\376 \377\376\n' >"$tmp/bytes"
check_wc high-bytes "$tmp/bytes"
"$gen" --bytes 300000 --vocab 5000 --seed 9 "$tmp/zipf" >/dev/null
check_wc zipf-corpus "$tmp/zipf"

printf '0,1,view\n5,1,view\n9999,2,view\n10000,1,view\n10001,1,click\n25000 3 view\n30000,3,purchase\n99999,7,view' >"$tmp/events"
check_win mixed-separators "$tmp/events"
mawk 'BEGIN { srand(3); split("view click purchase", t, " ")
	for (i = 0; i < 20000; i++) print int(i / 3) "," int(rand() * 50) "," t[1 + int(rand() * 3)] }' \
	>"$tmp/ev2"
check_win random-events "$tmp/ev2"

exit "$fail"
