#!/usr/bin/env bash
# bench/lib/report.sh — results.tsv -> results.md (the table) and bench.png (the plot).
#
# Usage: report.sh RESULTS.tsv OUTDIR MODE
# Throughput is records / median seconds. "x C" is a row's throughput over the
# C baseline's in the same run; "Stardust ÷ this" is the best Stardust row of
# the workload over this row. COST is the fewest cores at which a Stardust
# row beats the C baseline's median. Rows that did not run show why.
set -euo pipefail
results=$1 out=$2 mode=$3
md=$out/results.md

host_line() {
	local cpu virt kvm
	cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')
	virt=$(systemd-detect-virt 2>/dev/null || true)
	grep -q hypervisor /proc/cpuinfo 2>/dev/null && virt="${virt:+$virt in }a virtual machine"
	# the rule tests/qemu and bench/lib/workloads.sh use
	if [ -c /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null; then
		if grep -q -w -E 'vmx|svm' /proc/cpuinfo; then kvm="KVM"; else kvm="TCG (/dev/kvm opens but the CPU shows no vmx/svm: KVM-PVM)"; fi
	else
		kvm="TCG (no usable /dev/kvm)"
	fi
	printf '%s, %s CPUs, %s GiB; %s; QEMU rows use %s; %s; git %s' \
		"${cpu:-unknown CPU}" "$(nproc)" \
		"$(mawk '/MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)" "${virt:-bare metal}" \
		"$kvm" "$(date -u '+%Y-%m-%d %H:%M UTC')" \
		"$(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo '?')$(
			git -C "$(dirname "$0")" diff --quiet HEAD 2>/dev/null || echo ' plus uncommitted changes in the work tree')"
}

{
	echo "### Results ($mode run)"
	echo
	echo "Measured on: $(host_line)."
	if [ -f "$out/work/load.start" ]; then
		echo "Load average (1, 5, 15 min) at start: $(cat "$out/work/load.start"); at end: $(cat "$out/work/load.end" 2>/dev/null)"
		echo "— above 2 the machine was busy with other work and every time is inflated."
	fi
	echo
	echo "| workload | system | cores | runs | median s | min s | max s | throughput | × C baseline | Stardust ÷ this | notes |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|"
	mawk -F'\t' '
	function tp(i) { return (rec[i] == "value") ? med[i] : rec[i] / med[i] }
	function fmt_tp(i,  v) {
		if (rec[i] == "value") return sprintf("%.4g %s", med[i], unit[i])
		v = rec[i] / med[i]
		return sprintf("%.2f M %s/s", v / 1e6, unit[i])
	}
	{ n++; w[n] = $1; sys[n] = $2; gsub(/\|/, "\\|", sys[n]); cores[n] = $3; st[n] = $4; runs[n] = $5
	  med[n] = $6; mn[n] = $7; mx[n] = $8; rec[n] = $9; unit[n] = $10; note[n] = $11
	  if ($4 == "ok" && $2 == "c-baseline") cbase[$1] = n
	  if ($4 == "ok" && $2 ~ /^stardust/ && $9 != "value" && (!($1 in best) || tp(n) > tp(best[$1]))) best[$1] = n }
	END {
		# W1..W6 first, then any other workload a hook added; Stardust rows last in each
		nw = 0
		for (k = 1; k <= 6; k++) order[++nw] = "W" k
		for (i = 1; i <= n; i++) if (!(w[i] in seen) && w[i] !~ /^W[1-6]$/) { seen[w[i]] = 1; order[++nw] = w[i] }
		for (k = 1; k <= nw; k++) for (pass = 0; pass < 2; pass++) for (i = 1; i <= n; i++) {
			if (w[i] != order[k] || (sys[i] ~ /^stardust/) != pass) continue
			if (st[i] != "ok") {
				label = (st[i] == "cannot-run") ? "**cannot run yet**" : \
					(st[i] == "wrong") ? "**WRONG OUTPUT — not timed**" : \
					(st[i] == "failed") ? "**failed**" : "skipped"
				printf "| %s | %s | %s | — | — | — | — | — | — | — | %s: %s |\n", \
					w[i], sys[i], cores[i], label, note[i]
				continue
			}
			xc = "—"; sd = "—"
			if (rec[i] != "value" && (w[i] in cbase)) xc = sprintf("%.2f", tp(i) / tp(cbase[w[i]]))
			if (rec[i] != "value" && (w[i] in best)) sd = sprintf("%.2f", tp(best[w[i]]) / tp(i))
			if (rec[i] == "value")
				printf "| %s | %s | %s | %s | — | %.4g %s | %.4g %s | %s | — | — | %s |\n", \
					w[i], sys[i], cores[i], runs[i], mn[i], unit[i], mx[i], unit[i], fmt_tp(i), note[i]
			else
				printf "| %s | %s | %s | %s | %.3f | %.3f | %.3f | %s | %s | %s | %s |\n", \
					w[i], sys[i], cores[i], runs[i], med[i], mn[i], mx[i], fmt_tp(i), xc, sd, note[i]
		}
		printf "\n"
		for (k = 1; k <= 2; k++) {
			wl = "W" k
			if (!(wl in cbase)) continue
			cost = ""; ran = 0; tried = ""
			for (i = 1; i <= n; i++)
				if (w[i] == wl && sys[i] ~ /^stardust/ && st[i] == "ok") {
					ran = 1
					tried = tried (tried == "" ? "" : ", ") sys[i] " at " cores[i] " core(s)"
					if (med[i] + 0 < med[cbase[wl]] + 0 && (cost == "" || cores[i] + 0 < cost + 0)) cost = cores[i]
				}
			if (!ran) printf "- **COST %s**: unknown — no Stardust row ran (see the table).\n", wl
			else if (cost == "") printf "- **COST %s**: not reached — no Stardust row that ran (%s) beat the C baseline (%.3f s).\n", wl, tried, med[cbase[wl]]
			else printf "- **COST %s**: %s core(s) — the fewest at which Stardust beat the C baseline (%.3f s).\n", wl, cost, med[cbase[wl]]
		}
	}' "$results"
	echo
	echo "Throughput is records ÷ median time (W1 words, W2 events read). Ratios compare rows of"
	echo "this one run only. Every timed row's output matched the C baseline's before its time was kept."
} >"$md"

# The plot: throughput of every timed W1 and W2 row, error bars from min and max.
if command -v gnuplot >/dev/null 2>&1; then
	for wl in W1 W2; do
		mawk -F'\t' -v wl="$wl" '$1 == wl && $4 == "ok" && $9 != "value" {
			label = $2 " (" $3 ")"; gsub(/ /, "\\ ", label)
			printf "\"%s\" %.3f %.3f %.3f\n", $2 " (" $3 ")", $9 / $6 / 1e6, $9 / $8 / 1e6, $9 / $7 / 1e6 }' \
			"$results" >"$out/plot_$wl.dat"
	done
	gnuplot <<GP 2>"$out/gnuplot.err" || echo "bench: gnuplot failed: $(head -n 3 "$out/gnuplot.err")" >&2
set terminal pngcairo size 1200,520 font ",10" noenhanced
set output "$out/bench.png"
set multiplot layout 1,2 title "Stardust benchmarks ($mode run, $(date -u +%Y-%m-%d)) — median, bars min..max"
set style fill solid 0.6 border -1
set boxwidth 0.6
set grid ytics
set yrange [0:*]
set xtics rotate by -30 left
set ylabel "million words/s"
set title "W1 word count"
plot "$out/plot_W1.dat" using 0:2:xtic(1) with boxes lc rgb "#4472c4" notitle, \
     "" using 0:2:3:4 with yerrorbars lc rgb "black" pt 0 notitle, \
     "" using 0:4:(sprintf("%.1f", \$2)) with labels offset 0,0.8 notitle
set ylabel "million events/s"
set title "W2 tumbling-window count"
plot "$out/plot_W2.dat" using 0:2:xtic(1) with boxes lc rgb "#ed7d31" notitle, \
     "" using 0:2:3:4 with yerrorbars lc rgb "black" pt 0 notitle, \
     "" using 0:4:(sprintf("%.1f", \$2)) with labels offset 0,0.8 notitle
unset multiplot
GP
fi
