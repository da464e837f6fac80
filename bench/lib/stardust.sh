# bench/lib/stardust.sh — the Stardust rows (sourced by bench/run.sh).
#
# Stardust rows run only when their parts exist in the build tree; otherwise
# they are reported as cannot-run with the missing part named. Nothing here
# ever prints a figure for a part that did not run.

# stardust_find NAME -> the first executable called NAME under $build (or nothing)
stardust_find() {
	local perm=(-perm -u+x)
	case $1 in *.elf) perm=() ;; esac
	find "$build" -maxdepth 4 -type f -name "$1" "${perm[@]}" 2>/dev/null | sort | head -n 1
}

# stardust_local_rows W TEMPLATE INPUT NORMALIZER: the job in stardust-local,
# which compiles the job and runs every task in one process, one thread
# (stages in order, batches encoded between tasks as on the wire).
stardust_local_rows() {
	local w=$1 tmpl=$2 input=$3 norm=$4 bin
	bin=$(stardust_find stardust-local)
	if [ -z "$bin" ]; then
		row_cannot "$w" stardust-local 1 \
			"runtime not built yet — stardust-local not found under ${build#"$top"/}"
		return 0
	fi
	local job=$WORK/$w.sd sink=out/$w.csv
	sed -e "s|@INPUT@|netfs://$input|g" -e "s|@OUTPUT@|netfs://$sink|g" "$tmpl" >"$job"
	mkdir -p "$DATA/out"
	ROW_NOTE="one process, one thread, --parallelism 1" \
		measure_cmd "$w" stardust-local 1 "$norm" "$WORK/$w.sd.out" -- \
		"$here/lib/stardust-exec.sh" "$bin" "$job" "$DATA" "$sink" "$WORK/$w.sd.out" 1
}

stardust_node_rows() { # W: hosted or metal node rows come from bench/node hooks
	local w=$1 what=$2 need=$3
	if grep "^$w	stardust" "$RESULTS" 2>/dev/null | grep -vq "stardust image"; then
		return 0
	fi
	local bin
	bin=$(stardust_find "$need")
	[ -z "$bin" ] && [ "$need" = stardust-node.elf ] && [ -f "${SD_BENCH_IMAGE:-}" ] && bin=$SD_BENCH_IMAGE
	if [ -z "$bin" ]; then
		row_cannot "$w" stardust 2 "$what — runtime not built yet ($need not found under ${build#"$top"/})"
	else
		row_cannot "$w" stardust 2 "$what — $need exists but no bench/node/bench-rows.sh measures this row yet"
	fi
}
