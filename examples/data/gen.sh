#!/bin/sh
# examples/data/gen.sh DIR [LINES] — writes the example inputs under DIR,
# deterministically (a fixed linear congruential generator in awk, so every
# awk gives the same bytes):
#   DIR/corpus/part-0..3.txt   text for wordcount.sd (Zipf-like words, mixed case)
#   DIR/logs/clicks.csv        ts,user,url for clicks.sd (ms, jitter < 2 s)
#   DIR/logs/views.csv, buys.csv  for attribution.sd
#   DIR/sales/part-0..1.csv    item,amount for top-items.sd
set -eu
dir=${1:?usage: gen.sh DIR [LINES]}
lines=${2:-2000}
mkdir -p "$dir/corpus" "$dir/logs" "$dir/sales"
awk -v dir="$dir" -v lines="$lines" '
function rnd(n) { seed = (seed * 16807) % 2147483647; return int(seed / 16) % n }
function word(   r, k) {
	r = rnd(1000); k = int(200 * (r / 1000) ^ 3)   # skewed towards small k
	return (rnd(7) == 0 ? toupper(substr(v[k], 1, 1)) substr(v[k], 2) : v[k])
}
BEGIN {
	seed = 42
	split("a b c d e f g h i j k l m n o p q r s t", al, " ")
	for (k = 0; k < 200; k++) v[k] = al[k % 20 + 1] al[int(k / 20) + 1] (k % 3 == 0 ? "x" : "")
	for (p = 0; p < 4; p++) {
		f = dir "/corpus/part-" p ".txt"
		for (l = 0; l < lines / 4; l++) {
			n = rnd(14); s = ""
			for (w = 0; w < n; w++) s = s (w ? (rnd(5) == 0 ? "  " : " ") : "") word()
			print s > f
		}
		close(f)
	}
	ts = 1700000000000
	f = dir "/logs/clicks.csv"
	for (l = 0; l < lines; l++) {
		ts += rnd(400)
		printf "%.0f,u%d,/page/%d\n", ts - rnd(1500), rnd(50), rnd(12) > f
	}
	close(f)
	ts = 1700000000000
	for (l = 0; l < lines / 4; l++) {
		ts += rnd(3000)
		printf "%.0f,u%d,/p%d\n", ts, rnd(40), rnd(9) > (dir "/logs/views.csv")
		if (rnd(3) == 0)
			printf "%.0f,u%d,%d.%02d\n", ts + 500, rnd(40), rnd(200), rnd(100) > (dir "/logs/buys.csv")
	}
	for (p = 0; p < 2; p++) {
		f = dir "/sales/part-" p ".csv"
		for (l = 0; l < lines / 2; l++)
			printf "item%d,%d.%d\n", rnd(60), rnd(500), rnd(4) * 25 > f
		close(f)
	}
}'
