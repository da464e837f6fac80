#!/bin/bash
# tests/qemu/deploy/sim_chaos.sh — exactly-once output through a node VM
# crash and a region partition, inside the simulation:
#
#   sim_chaos.sh REPO STARDUST_SIM BIN_DIR MODE [IMAGE]     MODE = vm | hosted
#
# 1. `stardust-sim up` on chaos-two-regions.json (beside this script): two
#    regions 20 ms and 8 Mbit/s apart; eu-west-1 and eu-west-2 beside the
#    coordinator and the file service, us-east-1 alone. Each node has 8
#    slots, so both jobs (8 tasks) still fit on the one node left while the
#    other two are gone. The link's bandwidth makes the word count's reader
#    in us-east take seconds for its half of the corpus however fast the
#    host is, so both faults find it running.
# 2. Two jobs, each @spread(by = "region"):
#    - an unbounded 1 s tumbling-window count over a CSV file a writer here
#      appends to for 25 s (restarts from its latest checkpoint; output is
#      published once per checkpoint, `checkpoint = 1s`);
#    - once that completed a checkpoint, a bounded word count over generated
#      files (restarts from the beginning; output committed at its end).
# 3. As soon as the word count runs: kill -9 of the QEMU process
#    (`stardust-sim kill`) of the eu-west node holding a running task of the
#    word count (and of the window job, when one does). Every job with a
#    task there must restart and run again in a newer attempt.
# 4. Then `stardust sim ctl partition eu-west us-east` for PARTITION_S
#    seconds, longer than the coordinator's heartbeat timeout, and heal:
#    us-east-1 is declared lost, the jobs with a task there restart on the
#    survivor, and us-east-1 comes back holding tasks of an older attempt.
# 5. The word count must FINISH with output equal to awk's count and nothing
#    else visible beside it; the window job must show every window of the
#    written events in its part files, and is then canceled: the
#    concatenated parts must equal awk's windows. Both comparisons are
#    `sort | uniq -c` of lines: nothing missing, nothing twice.
# Recovery times (fault -> each affected job RUNNING in a newer attempt with
# every task running) come from `stardust -o json status` sampled every
# 0.2 s (sim_chaos_poll.sh) and are printed, not asserted (timing goals live
# in bench/). The EXIT trap runs `down`, so a failure midway cleans up too.
# Needs root (namespaces, taps) and, for MODE vm, qemu-system-x86_64: exits
# 77 (skipped) naming the one missing. SD_QEMU_ACCEL=kvm|tcg picks the
# accelerator (default: KVM only where it can run the image, else TCG).
# MODE hosted (stardust-node processes) is a quick check of the script.
# SIM_CHAOS_KEEP=1 keeps the work directory with the logs (`down
# --keep-logs`); SIM_CHAOS_KEEP_FAILED=1 only when the run fails.
set -eu
set -o pipefail
repo=$1 sim=$2 bin=$3 mode=$4 image=${5:-}
here=$(cd "$(dirname "$0")" && pwd)

skip() {
	echo "sim_chaos: SKIP ($*)"
	exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root: network namespaces and tap devices"
command -v ip >/dev/null || skip "needs ip (iproute2) for network namespaces"
probe_ns=sdprobe$$
ip netns add "$probe_ns" 2>/dev/null || skip "cannot create a network namespace (ip netns add)"
ip netns del "$probe_ns"
if [ "$mode" = vm ]; then
	command -v qemu-system-x86_64 >/dev/null || skip "needs qemu-system-x86_64"
fi
[ -n "${SD_QEMU_ACCEL:-}" ] && export SIM_ACCEL=$SD_QEMU_ACCEL

export STARDUST_BIN_DIR=$bin
export STARDUST_SIM=$sim # `stardust sim ...` runs this very script
# A lost node is noticed after this; the partition lasts longer, so that the
# coordinator gives up on us-east-1 while it still runs its tasks.
export SIM_HEARTBEAT_TIMEOUT=4s
PARTITION_S=7
WC_REPEAT=30          # gen.sh's corpus 30 times: 14 MB, ~10 s on two TCG VMs
WIN_CHUNKS=50         # the writer appends one chunk every CHUNK_S...
WIN_LINES=20          # ...of this many events, 500 ms of event time each
CHUNK_S=0.5
WAIT_RUNNING_S=60     # submit -> the job running
RECOVER_S=60          # fault -> the affected jobs running again
WC_DONE_S=120         # after the partition: the word count's end
VISIBLE_S=60          # writer done -> every window in the part files
topo=$here/chaos-two-regions.json
cli=$(readlink -f "$bin/../../coordinator/stardust" 2>/dev/null) || cli=
[ -x "$cli" ] || cli=$(command -v stardust) || {
	echo "sim_chaos: FAIL: no stardust CLI beside $bin or on PATH"
	exit 1
}

work=$(mktemp -d /tmp/sim-chaos-XXXXXX)
run=$work/run
data=$work/data
samples=$work/samples
poll_pid='' writer_pid='' corpus_pid=''
cleanup() {
	set +e # every step runs, whatever failed before
	[ -z "$writer_pid" ] || kill "$writer_pid" 2>/dev/null
	[ -z "$poll_pid" ] || kill "$poll_pid" 2>/dev/null
	[ -z "$corpus_pid" ] || kill "$corpus_pid" 2>/dev/null
	if [ -n "${SIM_CHAOS_KEEP:-}" ]; then
		"$sim" down --run-dir "$run" --keep-logs >/dev/null 2>&1
		echo "sim_chaos: kept $work (logs in run/logs, run/console)"
	else
		"$sim" down --run-dir "$run" >/dev/null 2>&1
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
t_start=$(date +%s%3N)
now_ms() { date +%s%3N; }
stamp() { printf '%6.1fs' "$(awk -v t="$(now_ms)" -v s="$t_start" 'BEGIN { print (t - s) / 1000 }')"; }
say() { echo "sim_chaos: [$(stamp)] $*"; }
fail() {
	echo "sim_chaos: [$(stamp)] FAIL: $*"
	[ -s "$samples" ] && { echo "--- last samples"; tail -12 "$samples"; }
	# shellcheck disable=SC2016,SC2086
	[ -z "${win_job:-}" ] || sx sh -c 'for j; do
		echo "--- job $j"; stardust status "$j"; stardust checkpoints "$j"
		curl -s --max-time 5 "$STARDUST_COORDINATOR/v1/jobs/$j/exceptions"; echo
	done' - ${wc_job:-} "$win_job" 2>&1 | tail -120
	for f in "$run"/logs/*.log "$run"/console/*.log; do
		[ -f "$f" ] && { echo "--- $f"; tr -d '\r' <"$f" | tail -25; }
	done
	SIM_CHAOS_KEEP=${SIM_CHAOS_KEEP_FAILED:-${SIM_CHAOS_KEEP:-}}
	exit 1
}
sx() { "$sim" exec --run-dir "$run" -- "$@"; }
exceptions() { # job -> GET /v1/jobs/:id/exceptions
	# shellcheck disable=SC2016
	sx sh -c 'curl -sf --max-time 5 "$STARDUST_COORDINATOR/v1/jobs/$1/exceptions"' - "$1"
}

# --- samples (sim_chaos_poll.sh) -------------------------------------------------
# last JOB: the latest sample "T STATE ATTEMPT TOTAL UP CHK NODES" of JOB.
last() { awk -v j="$1" '$2 == j {l = $1 " " $3 " " $4 " " $5 " " $6 " " $7 " " $8} END {print l}' "$samples"; }
field() { last "$1" | awk -v k="$2" '{print $k}'; }
healthy_line() { # "T STATE ATTEMPT TOTAL UP ..." -> exit 0 when RUNNING with all up, or FINISHED
	awk '{exit !(($2 == "RUNNING" && $4 > 0 && $5 == $4) || $2 == "FINISHED")}' <<<"$1"
}
wait_until() { # what timeout_s command...
	local what=$1 end=$(($(date +%s) + $2))
	shift 2
	until "$@"; do
		[ "$(date +%s)" -lt "$end" ] || fail "timed out waiting for $what"
		sleep 0.2
	done
}
not_failed() { # job: fail at once when a job ended badly
	case $(field "$1" 2) in FAILED | CANCELED) fail "job $1 is $(field "$1" 2)" ;; esac
}
hosts() { # job node -> exit 0 when node holds one of job's unfinished tasks
	local nodes
	nodes=$(field "$1" 7)
	[ "$(field "$1" 2)" != FINISHED ] && [[ ",$nodes," == *",$2,"* ]]
}

# recover LABEL T_FAULT JOB:ATTEMPT...: waits until each JOB runs again in an
# attempt after ATTEMPT with every task up, and prints the time from the fault
# to the first such sample. A bounded job that finishes in its attempt of the
# fault was not interrupted (its tasks there had just finished): said so.
recover() {
	local label=$1 t0=$2 spec job a0 end=$(($(date +%s) + RECOVER_S)) line rec
	shift 2
	for spec in "$@"; do
		job=${spec%%:*} a0=${spec#*:}
		while :; do
			not_failed "$job"
			line=$(awk -v j="$job" -v t0="$t0" -v a0="$a0" '$2 == j && $1 > t0 && $4 > a0 &&
				(($3 == "RUNNING" && $5 > 0 && $6 == $5) || $3 == "FINISHED") {print $1, $4; exit}' "$samples")
			[ -n "$line" ] && break
			if [ "$(field "$job" 2)" = FINISHED ] && [ "$(field "$job" 3)" = "$a0" ]; then
				line=finished
				break
			fi
			[ "$(date +%s)" -lt "$end" ] || fail "$label: job $job (attempt $a0 at the fault) did not run again within ${RECOVER_S}s"
			sleep 0.2
		done
		if [ "$line" = finished ]; then
			say "$label: $(name_of "$job") FINISHED in attempt $a0 without a restart (its tasks there had finished)"
			continue
		fi
		rec=$((${line% *} - t0))
		say "$label: $(name_of "$job") RUNNING again in attempt ${line#* } ${rec} ms after the fault"
		echo "$label $(name_of "$job") $rec" >>"$work/recoveries"
	done
}
name_of() { [ "$1" = "${wc_job:-}" ] && echo wordcount || echo window; }

# --- 1. inputs and up ------------------------------------------------------------
root=$data/eu-west # the primary file server's root (netfs://)
mkdir -p "$root/out" "$root/live"
# The corpus: gen.sh's four files, each repeated WC_REPEAT times (generating
# that much with gen.sh itself takes ~20 s on a loaded 2-core host), and
# awk's count of it. Made while the simulation comes up.
make_corpus() {
	"$repo/examples/data/gen.sh" "$work/gen" 20000 >/dev/null || return 1
	mkdir -p "$root/corpus"
	for f in "$work"/gen/corpus/*.txt; do
		for _ in $(seq "$WC_REPEAT"); do cat "$f"; done >"$root/corpus/$(basename "$f")"
	done
	cat "$root"/corpus/*.txt | awk '{ n = split(tolower($0), w, / +/)
		for (i = 1; i <= n; i++) if (w[i] != "") c[w[i]]++ }
		END { for (k in c) print k "," c[k] }' | sort | uniq -c >"$work/wc.want"
}
make_corpus &
corpus_pid=$!
# Window events: chunk i holds WIN_LINES events in [i*500, i*500+500) ms of
# event time, each moved back by less than 300 ms (never late: lateness is
# 1 s), keys k0..k7 from a fixed generator.
mkdir -p "$work/chunks"
awk -v chunks="$WIN_CHUNKS" -v lines="$WIN_LINES" -v dir="$work/chunks" 'BEGIN {
	seed = 7; base = 1700000000000
	for (i = 0; i < chunks; i++) {
		f = sprintf("%s/%03d", dir, i)
		for (j = 0; j < lines; j++) {
			seed = (seed * 16807) % 2147483647; back = int(seed / 16) % 300
			seed = (seed * 16807) % 2147483647; key = int(seed / 16) % 8
			printf "%.0f,k%d,%d\n", base + i * 500 + int(j * 500 / lines) - back, key, i > f
		}
		close(f)
	}
}'
far=1700000100000000 # far beyond every window: its watermark closes them all
# The windows: key,start,end,count. Timestamps are 13-digit ms: the window
# start is the seconds prefix (mawk's % and int() lose such numbers).
cat "$work"/chunks/* | awk -F, '{ c[$2 "," substr($1, 1, length($1) - 3)]++ }
	END { for (k in c) { split(k, p, ","); printf "%s,%s000,%.0f000,%d\n", p[1], p[2], p[2] + 1, c[k] } }' |
	sort | uniq -c >"$work/win.want"
: >"$root/live/events.csv"

up_args=(--topology "$topo" --run-dir "$run" --data "$data" --timeout 120)
if [ "$mode" = hosted ]; then up_args+=(--hosted); else up_args+=(--image "$image"); fi
"$sim" up "${up_args[@]}" >"$work/up.out" 2>&1 || fail "sim up: $(cat "$work/up.out")"
say "$(head -1 "$work/up.out")"

# --- 2. the two jobs ---------------------------------------------------------------
cat >"$work/wordcount.sd" <<'JOB'
job "chaos-wordcount" { parallelism = 2, @spread(by = "region") }

read_text("netfs://corpus/*.txt")
  .flat_map(line -> split(lower(line), " "))
  .filter(w -> w != "")
  .map(w -> (w, 1))
  .reduce_by_key((a, b) -> a + b)
  .write_csv("netfs://out/wordcount.csv")
JOB
cat >"$work/window.sd" <<'JOB'
job "chaos-window" { parallelism = 3, checkpoint = 1s, @spread(by = "region") }

tail_csv("netfs://live/events.csv", { ts: int, key: str, tick: int })
  .event_time(e -> e.ts, lateness = 1s)
  .key_by(e -> e.key)
  .window(tumbling(1s))
  .count()
  .write_csv("netfs://live/counts.csv")
JOB
submit() { # file -> job_id (not a $(...): fail must end this shell)
	local out
	out=$(sx stardust submit "$1" 2>&1) || fail "submit $1: $out"
	job_id=$(sed -n 's/^submitted job \([0-9a-f]*\).*/\1/p' <<<"$out" | head -1)
	[ -n "$job_id" ] || fail "submit $1: no job id in: $out"
}
running() { # job: RUNNING with every task up
	not_failed "$1"
	[ "$(field "$1" 2)" = RUNNING ] && healthy_line "$(last "$1")"
}
submit "$work/window.sd"
win_job=$job_id
echo "$win_job" >"$work/jobs"
: >"$samples"
# Not through sx: $! must be the poller itself (exec all the way down).
"$sim" exec --run-dir "$run" -- bash "$here/sim_chaos_poll.sh" "$work/jobs" >>"$samples" 2>/dev/null &
poll_pid=$!
wait_until "the window job RUNNING" "$WAIT_RUNNING_S" running "$win_job"
(
	for f in "$work"/chunks/*; do
		cat "$f" >>"$root/live/events.csv"
		sleep "$CHUNK_S"
	done
	echo "$far,kfar,-1" >>"$root/live/events.csv"
	touch "$work/writer.done"
) &
writer_pid=$!
chk_done() { [ "$(field "$win_job" 6)" -ge 1 ] 2>/dev/null; }
wait_until "the window job's first checkpoint" 30 chk_done
# The word count comes second and the kill right after it runs: whatever
# the machine's speed, it is then still reading.
wait "$corpus_pid" || fail "making the corpus failed"
[ -s "$work/wc.want" ] || fail "empty word count expectation"
submit "$work/wordcount.sd"
wc_job=$job_id
echo "$wc_job" >>"$work/jobs"
wait_until "the word count RUNNING" "$WAIT_RUNNING_S" running "$wc_job"
say "window $win_job on $(field "$win_job" 7) (checkpoint $(field "$win_job" 6) done), wordcount $wc_job on $(field "$wc_job" 7)"

# --- 3. kill -9 of a node VM ---------------------------------------------------------
# The eu-west node holding unfinished tasks of the word count, and of the
# window job too if there is one that does (us-east-1 is kept for step 4).
victim='' best=0
for n in eu-west-1 eu-west-2; do
	k=0
	hosts "$wc_job" "$n" && k=2
	hosts "$win_job" "$n" && k=$((k + 1))
	[ "$k" -gt "$best" ] && victim=$n best=$k
done
[ "$best" -ge 2 ] || fail "no eu-west node holds a running task of the word count (it is on $(field "$wc_job" 7), $(field "$wc_job" 2)): make WC_REPEAT larger"
affected=()
for j in "$wc_job" "$win_job"; do hosts "$j" "$victim" && affected+=("$j:$(field "$j" 3)"); done
t_kill=$(now_ms)
"$sim" kill --run-dir "$run" "$victim" >/dev/null 2>&1 || fail "stardust-sim kill $victim"
say "kill -9 of $victim ($mode), which held tasks of: $(for a in "${affected[@]}"; do name_of "${a%%:*}"; done | xargs)"
recover kill "$t_kill" "${affected[@]}"

# --- 4. partition us-east from eu-west ------------------------------------------------
affected=()
for j in "$wc_job" "$win_job"; do hosts "$j" us-east-1 && affected+=("$j:$(field "$j" 3)"); done
[ ${#affected[@]} -gt 0 ] || fail "us-east-1 holds no task to cut off: wordcount on $(field "$wc_job" 7), window on $(field "$win_job" 7)"
t_part=$(now_ms)
"$cli" sim ctl --run-dir "$run" partition eu-west us-east >/dev/null || fail "stardust sim ctl partition"
say "partition eu-west/us-east for ${PARTITION_S}s; us-east-1 held tasks of: $(for a in "${affected[@]}"; do name_of "${a%%:*}"; done | xargs)"
sleep "$PARTITION_S"
"$cli" sim ctl --run-dir "$run" heal eu-west us-east >/dev/null || fail "stardust sim ctl heal"
say "healed"
recover partition "$t_part" "${affected[@]}"

# --- 5. outputs ---------------------------------------------------------------------
wc_done() {
	not_failed "$wc_job"
	[ "$(field "$wc_job" 2)" = FINISHED ]
}
wait_until "the word count to finish" "$WC_DONE_S" wc_done
say "wordcount FINISHED (attempt $(field "$wc_job" 3))"
sort "$root/out/wordcount.csv" | uniq -c >"$work/wc.got" || fail "no word count output"
if ! cmp -s "$work/wc.got" "$work/wc.want"; then
	diff "$work/wc.got" "$work/wc.want" | head -20 || true
	fail "word count differs from awk's (< output, > awk)"
fi
say "wordcount: $(wc -l <"$work/wc.want") words, each exactly once and equal to awk's count"
# Nothing else a client can see in out/ (netfs hides its .nfs-tmp-* files).
leftover=$(find "$root/out" -mindepth 1 ! -name wordcount.csv ! -name '.nfs-tmp-*' -printf '%f ')
[ -z "$leftover" ] || fail "files left beside the word count's output: $leftover"
tmps=$(find "$root" -name '.nfs-tmp-*' -printf '%P ')
[ -z "$tmps" ] || say "note: the file server still holds unfinished writes (hidden from clients): $tmps"

writer_done() { [ -e "$work/writer.done" ]; }
wait_until "the writer" $((WIN_CHUNKS + 30)) writer_done
parts() { find "$root/live" -maxdepth 1 -regextype posix-extended \
	-regex ".*/counts\.csv\.$win_job\.(a[0-9]+\.)?part-[0-9]{5}" | sort; }
all_visible() {
	not_failed "$win_job"
	# shellcheck disable=SC2046
	[ -z "$(comm -23 <(awk '{print $2}' "$work/win.want" | cut -d, -f1,2 | sort -u) \
		<(cat $(parts) /dev/null | cut -d, -f1,2 | sort -u))" ]
}
wait_until "every window in the part files" "$VISIBLE_S" all_visible
# Two more checkpoints published: a duplicate published late would show.
chk_seen=$(field "$win_job" 6)
two_more() { not_failed "$win_job" && [ "$(field "$win_job" 6)" -ge $((chk_seen + 2)) ]; }
wait_until "two more checkpoints of the window job" 30 two_more
sx stardust cancel "$win_job" >/dev/null || fail "cancel $win_job"
canceled() { [ "$(field "$win_job" 2)" = CANCELED ]; }
wait_until "the window job CANCELED" 30 canceled
# shellcheck disable=SC2046
cat /dev/null $(parts) | sort | uniq -c >"$work/win.got"
if ! cmp -s "$work/win.got" "$work/win.want"; then
	diff "$work/win.got" "$work/win.want" | head -20 || true
	fail "window counts differ from awk's (< output, > awk); parts: $(parts | xargs -n1 basename | xargs)"
fi
say "window: $(wc -l <"$work/win.want") (key, window) counts in $(parts | wc -l) part files, each exactly once and equal to awk's"

# Why each restart happened, as the coordinator recorded it.
for j in "$wc_job" "$win_job"; do
	exceptions "$j" | jq -r '.exceptions[] | select(.root_cause) | .message' |
		sed "s/^/sim_chaos:   $(name_of "$j"): /" || true
done
say "recovery (ms from the fault): $(awk '{printf "%s%s/%s=%s", (NR > 1 ? ", " : ""), $1, $2, $3}' "$work/recoveries")"
echo "sim_chaos: PASS in $((($(now_ms) - t_start) / 1000)) s"
