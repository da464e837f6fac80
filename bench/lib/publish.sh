#!/usr/bin/env bash
# bench/lib/publish.sh — put the latest table and plot into the docs.
#
# Usage: publish.sh OUTDIR DOCSDIR
# Replaces the text between the bench:results markers of DOCSDIR/performance.md
# with OUTDIR/results.md, and copies OUTDIR/bench.png to DOCSDIR/img/bench.png.
set -euo pipefail
out=$1 docs=$2
page=$docs/performance.md
begin='<!-- bench:results:begin -->' end='<!-- bench:results:end -->'
if ! grep -qF "$begin" "$page" || ! grep -qF "$end" "$page"; then
	echo "bench: $page has no $begin ... $end markers; not published" >&2
	exit 1
fi
mawk -v b="$begin" -v e="$end" -v table="$out/results.md" '
	$0 == b { print; while ((getline line < table) > 0) print line; skip = 1; next }
	$0 == e { skip = 0 }
	!skip' "$page" >"$page.tmp"
mv "$page.tmp" "$page"
if [ -f "$out/bench.png" ]; then
	mkdir -p "$docs/img"
	cp "$out/bench.png" "$docs/img/bench.png"
fi
echo "bench: published to ${page} and $docs/img/bench.png" >&2
