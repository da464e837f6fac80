#!/bin/bash
# stardust-sim — a multi-node, multi-region Stardust cluster on one machine.
#
#   stardust-sim up --topology FILE [--run-dir DIR] [--data DIR] [--hosted]
#                   [--image ELF] [--accel kvm|tcg] [--timeout SEC]
#   stardust-sim status [--run-dir DIR] [-o json]
#   stardust-sim down [--run-dir DIR] [--keep-logs]
#   stardust-sim ctl [--run-dir DIR] partition A B | heal A B | heal all | link A B k=v... | stats
#   stardust-sim exec [--run-dir DIR] [--in coordinator|REGION|NODE] -- COMMAND...
#   stardust-sim env [--run-dir DIR]        shell lines: coordinator URL, netfs address, namespace
#   stardust-sim kill [--run-dir DIR] NODE  crash a node (SIGKILL its VM or process)
#   stardust-sim start [--run-dir DIR] NODE start a killed node again, same address and name
#
# What `up` builds (docs/simulation.md): one WAN switch process (stardust-wan)
# whose ports are the nodes and the host-side services; each service runs in
# its own network namespace with a tap device the switch opens; each node is a
# QEMU microvm booted from the unikernel image with its virtio-net device on a
# unix stream socket of the switch (--hosted: a stardust-node process in its
# own namespace instead). Links between regions get the topology's latency,
# jitter, loss and bandwidth inside the switch (the kernel has no netem).
#
# Every resource is written to RUN/state BEFORE it is created, so `down`
# removes everything even after a crash midway. Needs root (namespaces, taps).
#
# `stardust sim ARGS` runs this script (the CLI's dispatch).
set -u
set -o pipefail

SIM_SELF=$0
# Not resolved through symlinks: the build tree links stardust-sim here, and
# its neighbours there are the programs.
SIM_DIR_OF_SELF=$(cd "$(dirname "$0")" && pwd)
SIM_DEFAULT_RUN=${STARDUST_SIM_DIR:-/tmp/stardust-sim}
SIM_HTTP_PORT=8080
SIM_CONTROL_PORT=7000
SIM_NETFS_PORT=7070
SIM_STOP_GRACE=3 # seconds between SIGTERM and SIGKILL

die() {
	echo "stardust-sim: $*" >&2
	exit 1
}
usage() {
	sed -n '3,13p' "$SIM_SELF" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
log() { echo "stardust-sim: $*" >&2; }

# --- finding programs -------------------------------------------------------

# find_bin NAME: $STARDUST_BIN_DIR, this script's build-tree neighbours, $PATH.
find_bin() {
	local name=$1 d
	for d in "${STARDUST_BIN_DIR:-}" "$SIM_DIR_OF_SELF" "$SIM_DIR_OF_SELF/../../coordinator" \
		"$SIM_DIR_OF_SELF/../../netfs" "$SIM_DIR_OF_SELF/../../node" \
		"$SIM_DIR_OF_SELF/../../node/plat/hosted"; do
		if [ -n "$d" ] && [ -x "$d/$name" ]; then
			readlink -f "$d/$name"
			return 0
		fi
	done
	command -v "$name" || die "cannot find $name (set STARDUST_BIN_DIR)"
}

find_image() {
	local img
	for img in "${STARDUST_IMAGE:-}" "$SIM_DIR_OF_SELF/../../metal/stardust-node.elf"; do
		if [ -n "$img" ] && [ -f "$img" ]; then
			readlink -f "$img"
			return 0
		fi
	done
	die "no node image: build it (SD_BUILD_METAL=ON), pass --image ELF, or use --hosted"
}

# --- the run directory and its state file -----------------------------------

# Names of namespaces derive from the run directory, so two simulations with
# different run directories do not collide. Linux caps names we use at 15+.
sim_id() { printf 'sd%s' "$(printf '%s' "$RUN" | md5sum | cut -c1-6)"; }

state_add() { echo "$*" >>"$RUN/state"; }

# Each record is written before the thing exists: "ns NAME", "pid PID PROG",
# "file PATH". The last field of a pid record guards against a recycled pid.
proc_matches() { # pid prog
	[ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q -- "$2"
}

# spawn LOG PROG-TAG CMD...: run detached (own session), record its pid.
spawn() {
	local logf=$1 tag=$2
	shift 2
	setsid "$@" </dev/null >>"$logf" 2>&1 &
	local pid=$!
	state_add "pid $pid $tag"
	echo "$pid"
}

ns_exec() { # ns cmd...
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# ns_create NS IP: a namespace with lo up and tap wan0 at IP/16.
ns_create() {
	local ns=$1 ip=$2
	state_add "ns $ns"
	ip netns add "$ns" || die "ip netns add $ns failed (root needed)"
	ip -n "$ns" link set lo up
	ip -n "$ns" tuntap add dev wan0 mode tap || die "cannot create a tap in $ns"
	ip -n "$ns" addr add "$ip/16" dev wan0
	ip -n "$ns" link set wan0 up
}

# --- topology (validated and flattened by stardust-wan --check-topology) ---

load_topology() { # file -> RUN/topology.txt
	"$WAN" --check-topology "$1" >"$RUN/topology.txt" || exit 1
}
topo_lines() { grep "^$1 " "$RUN/topology.txt"; }

# --- up -----------------------------------------------------------------------

accel_choice() {
	case "${SIM_ACCEL:-}" in
	kvm | tcg)
		echo "$SIM_ACCEL"
		return
		;;
	esac
	if [ -r /dev/kvm ] && [ -w /dev/kvm ] && grep -qw -e vmx -e svm /proc/cpuinfo; then
		echo kvm
	else
		echo tcg # KVM-PVM hosts (no vmx/svm) cannot run the image
	fi
}

start_switch() {
	local ports=() name region zone ip r
	local coord_region
	coord_region=$(topo_lines coordinator | awk '{print $2}')
	ports+=(--port "coordinator:$coord_region:tap:$(sim_id)-c/wan0")
	while read -r _ region ip _ _; do
		r=$(topo_lines region | awk -v n="$region" '$3 == n {print $2}')
		ports+=(--port "netfs-$region:$region:tap:$(sim_id)-f$r/wan0")
	done < <(topo_lines netfs)
	local i=0
	while read -r _ name region zone ip _; do
		if [ "$HOSTED" = 1 ]; then
			ports+=(--port "$name:$region:tap:$(sim_id)-n$i/wan0")
		else
			state_add "file $RUN/sock/$name.sock"
			ports+=(--port "$name:$region:unix:$RUN/sock/$name.sock")
		fi
		i=$((i + 1))
	done < <(topo_lines node)
	state_add "file $RUN/wan.ctl"
	spawn "$RUN/logs/wan.log" stardust-wan "$WAN" --control "$RUN/wan.ctl" \
		--topology "$TOPOLOGY" "${ports[@]}" >/dev/null
	for _ in $(seq 100); do
		"$WAN" --ctl "$RUN/wan.ctl" stats >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	die "the WAN switch did not start: $(tail -3 "$RUN/logs/wan.log")"
}

start_netfs() {
	local region ip root r
	while read -r _ region ip root _; do
		r=$(topo_lines region | awk -v n="$region" '$3 == n {print $2}')
		mkdir -p "$DATA/$root"
		spawn "$RUN/logs/netfs-$region.log" stardust-netfsd ip netns exec "$(sim_id)-f$r" \
			"$NETFSD" --root "$DATA/$root" --listen "$ip:$SIM_NETFS_PORT" --region "$region" \
			--name "netfs-$region" >/dev/null
	done < <(topo_lines netfs)
}

start_coordinator() {
	local ip primary=() nfs
	ip=$(topo_lines coordinator | awk '{print $3}')
	nfs=$(topo_lines netfs | awk '$5 == "primary" {print $3}')
	[ -n "$nfs" ] && primary=(--netfs "$nfs:$SIM_NETFS_PORT")
	mkdir -p "$RUN/coordinator"
	spawn "$RUN/logs/coordinator.log" stardust-coordinator ip netns exec "$(sim_id)-c" \
		"$COORDINATOR" --listen-http "$ip:$SIM_HTTP_PORT" \
		--listen-control "$ip:$SIM_CONTROL_PORT" --state-dir "$RUN/coordinator" \
		--heartbeat-timeout "${SIM_HEARTBEAT_TIMEOUT:-20s}" "${primary[@]}" >/dev/null
}

# VM mode: one QEMU microvm per node, NIC on the switch's unix socket. The
# image's command line (docs/node-image.md): ip= gw= name= region= zone=
# slots= memory= label=K=V... coordinator=HOST:PORT. QEMU gets the topology's
# memory_mb; the node's own budget (memory=) is half of it.
start_vm() { # index name region zone ip slots mem labels
	local i=$1 name=$2 region=$3 zone=$4 ip=$5 slots=$6 mem=$7 labels=$8 coord l mac
	coord=$(topo_lines coordinator | awk '{print $3}')
	mac=$(printf '52:54:00:5d:%02x:%02x' $((i / 256)) $((i % 256)))
	local append="ip=$ip/16 gw=$coord coordinator=$coord:$SIM_CONTROL_PORT name=$name"
	append="$append region=$region zone=$zone slots=$slots memory=$((mem / 2))M"
	if [ "$labels" != - ]; then
		for l in ${labels//,/ }; do append="$append label=$l"; done
	fi
	append="$append ${SIM_APPEND:-}"
	local pid
	pid=$(spawn "$RUN/logs/qemu-$name.log" qemu-system-x86_64 qemu-system-x86_64 -M microvm \
		-accel "$ACCEL" -m "${mem}M" -smp 1 -display none -monitor none \
		-no-reboot -nodefaults -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-global virtio-mmio.force-legacy=false \
		-serial "file:$RUN/console/$name.log" -kernel "$IMAGE" -append "$append" \
		-netdev "stream,id=n0,server=off,addr.type=unix,addr.path=$RUN/sock/$name.sock" \
		-device "virtio-net-device,netdev=n0,mac=$mac")
	state_add "node $name $pid qemu-system-x86_64"
}

# The image calibrates its TSC against the PIT at boot; under TCG, VMs that
# boot at the same moment on a busy host starve each other's calibration
# window (seen: "TSC 4 MHz", timers then fire hundreds of times too early).
# So VMs start one after another: the next once this one printed its banner,
# which comes after calibration (at most SIM_BOOT_WAIT seconds).
wait_calibrated() { # name
	local n
	for n in $(seq $((${SIM_BOOT_WAIT:-10} * 20))); do
		grep -q 'booting' "$RUN/console/$1.log" 2>/dev/null && return 0
		sleep 0.05
	done
	log "$1: no boot banner after ${SIM_BOOT_WAIT:-10}s; starting the next node anyway"
}

# Hosted mode: stardust-node in its own namespace, behind the same switch.
start_hosted() { # index name region zone ip slots mem labels
	local i=$1 name=$2 region=$3 zone=$4 ip=$5 slots=$6 mem=$7 labels=$8 coord l
	local extra=()
	coord=$(topo_lines coordinator | awk '{print $3}')
	if [ "$labels" != - ]; then
		for l in ${labels//,/ }; do extra+=(--label "$l"); done
	fi
	local pid
	pid=$(spawn "$RUN/console/$name.log" stardust-node ip netns exec "$(sim_id)-n$i" "$NODE" \
		--name "$name" --region "$region" --zone "$zone" --coordinator "$coord:$SIM_CONTROL_PORT" \
		--listen "$ip:0" --slots "$slots" --memory "${mem}M" "${extra[@]}")
	state_add "node $name $pid stardust-node"
}

coord_curl() { # path
	local ip
	ip=$(topo_lines coordinator | awk '{print $3}')
	ns_exec "$(sim_id)-c" curl -sf --max-time 3 "http://$ip:$SIM_HTTP_PORT$1"
}

wait_registered() {
	local deadline=$((SECONDS + TIMEOUT)) want missing json
	want=$(topo_lines node | awk '{print $2}' | sort)
	while :; do
		json=$(coord_curl /v1/nodes 2>/dev/null) || json='{"nodes":[]}'
		missing=$(comm -23 <(echo "$want") \
			<(echo "$json" | jq -r '.nodes[] | select(.state == "ready") | .name' | sort))
		[ -z "$missing" ] && return 0
		if [ $SECONDS -ge $deadline ]; then
			log "timed out after ${TIMEOUT}s; not registered: $(echo $missing)"
			for n in $missing; do
				log "  $n: console $RUN/console/$n.log: $(tail -1 "$RUN/console/$n.log" 2>/dev/null)"
			done
			return 1
		fi
		sleep 0.5
	done
}

cmd_up() {
	local t0=$SECONDS
	[ -n "$TOPOLOGY" ] || usage
	[ "$(id -u)" = 0 ] || die "up needs root (network namespaces and tap devices)"
	TOPOLOGY=$(readlink -f "$TOPOLOGY")
	[ -f "$TOPOLOGY" ] || die "no such topology file: $TOPOLOGY"
	if [ -s "$RUN/state" ]; then
		die "$RUN holds a simulation already: stardust-sim down --run-dir $RUN"
	fi
	WAN=$(find_bin stardust-wan) || exit 1
	COORDINATOR=$(find_bin stardust-coordinator) || exit 1
	NETFSD=$(find_bin stardust-netfsd) || exit 1
	if [ "$HOSTED" = 1 ]; then NODE=$(find_bin stardust-node) || exit 1; else IMAGE=${IMAGE:-$(find_image)} || exit 1; fi
	mkdir -p "$RUN" || die "cannot create $RUN"
	RUN=$(readlink -f "$RUN")
	DATA=${DATA:-$RUN/data}
	state_add "rundir $RUN"
	mkdir -p "$RUN/logs" "$RUN/console" "$RUN/sock" "$DATA"
	DATA=$(readlink -f "$DATA")
	load_topology "$TOPOLOGY"
	ACCEL=$(accel_choice)
	{
		echo "topology $TOPOLOGY"
		echo "mode $([ "$HOSTED" = 1 ] && echo hosted || echo "vm $ACCEL")"
		echo "data $DATA"
		echo "accel $ACCEL"
		echo "image ${IMAGE:--}"
		echo "nodebin ${NODE:--}"
	} >"$RUN/info"
	# Until the nodes are started, any exit (die, a signal) undoes everything.
	UP_STARTED=0
	trap 'up_exit' EXIT
	trap 'exit 130' INT TERM

	local i=0 name region zone ip slots mem labels
	create_namespaces # the switch opens their taps, so they come first
	start_switch
	start_netfs
	start_coordinator
	i=0
	while read -r _ name region zone ip slots mem labels; do
		if [ "$HOSTED" = 1 ]; then
			start_hosted "$i" "$name" "$region" "$zone" "$ip" "$slots" "$mem" "$labels"
		else
			start_vm "$i" "$name" "$region" "$zone" "$ip" "$slots" "$mem" "$labels"
			wait_calibrated "$name"
		fi
		i=$((i + 1))
	done < <(topo_lines node)
	UP_STARTED=1
	if ! wait_registered; then
		log "the simulation stays up for inspection: stardust-sim status/down --run-dir $RUN"
		exit 1
	fi
	echo "up in $((SECONDS - t0))s: $(topo_lines node | wc -l) nodes registered ($(cut -d' ' -f2- <<<"$(grep ^mode "$RUN/info")"))"
	cmd_env
}

up_exit() {
	local rc=$?
	if [ "${UP_STARTED:-1}" = 0 ]; then
		log "up failed midway; removing what it created"
		KEEP_LOGS=1 cmd_down >/dev/null 2>&1
	fi
	exit $rc
}

# Namespaces: the coordinator's, one per netfs server, one per hosted node.
create_namespaces() {
	local region ip r name i=0
	ns_create "$(sim_id)-c" "$(topo_lines coordinator | awk '{print $3}')"
	while read -r _ region ip _ _; do
		r=$(topo_lines region | awk -v n="$region" '$3 == n {print $2}')
		ns_create "$(sim_id)-f$r" "$ip"
	done < <(topo_lines netfs)
	[ "$HOSTED" = 1 ] || return 0
	while read -r _ name region _ ip _; do
		ns_create "$(sim_id)-n$i" "$ip"
		i=$((i + 1))
	done < <(topo_lines node)
}

# --- down, status, ctl, exec ------------------------------------------------------

cmd_down() {
	[ -f "$RUN/state" ] || {
		log "nothing to stop in $RUN"
		return 0
	}
	local kind a b pids=()
	while read -r kind a b; do
		[ "$kind" = pid ] && proc_matches "$a" "$b" && kill -TERM "$a" 2>/dev/null && pids+=("$a")
	done <"$RUN/state"
	local waited=0
	while [ ${#pids[@]} -gt 0 ] && [ $waited -lt $((SIM_STOP_GRACE * 10)) ]; do
		local alive=()
		for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive+=("$p"); done
		pids=("${alive[@]+"${alive[@]}"}")
		[ ${#pids[@]} -gt 0 ] && sleep 0.1
		waited=$((waited + 1))
	done
	for p in "${pids[@]+"${pids[@]}"}"; do kill -KILL "$p" 2>/dev/null; done
	while read -r kind a b; do
		case $kind in
		ns) ip netns del "$a" 2>/dev/null ;;
		file) rm -f "$a" ;;
		esac
	done <"$RUN/state"
	if [ "$KEEP_LOGS" = 1 ]; then
		rm -rf "$RUN/state" "$RUN/sock" "$RUN/wan.ctl"
		log "stopped; logs kept in $RUN"
	else
		rm -rf "$RUN"
		log "stopped and removed $RUN"
	fi
}

require_up() {
	[ -s "$RUN/state" ] && [ -f "$RUN/topology.txt" ] || die "no simulation in $RUN"
	WAN=$(find_bin stardust-wan) || exit 1
}

cmd_env() {
	local ip nfs
	ip=$(topo_lines coordinator | awk '{print $3}')
	nfs=$(topo_lines netfs | awk '$5 == "primary" {print $3}')
	echo "SIM_RUN_DIR=$RUN"
	echo "SIM_NETNS=$(sim_id)-c"
	echo "STARDUST_COORDINATOR=http://$ip:$SIM_HTTP_PORT"
	[ -n "$nfs" ] && echo "STARDUST_NETFS=$nfs:$SIM_NETFS_PORT"
	echo "# run the CLI inside the simulation: stardust-sim exec --run-dir $RUN -- stardust nodes"
}

# The namespace of the coordinator, a region's netfs server or a hosted node.
ns_of() {
	local what=$1 r i
	[ "$what" = coordinator ] && {
		echo "$(sim_id)-c"
		return
	}
	r=$(topo_lines region | awk -v n="$what" '$3 == n {print $2}')
	if [ -n "$r" ] && ip netns list | grep -q "^$(sim_id)-f$r\b"; then
		echo "$(sim_id)-f$r"
		return
	fi
	i=$(topo_lines node | awk -v n="$what" '$2 == n {print NR - 1}')
	[ -n "$i" ] && ip netns list | grep -q "^$(sim_id)-n$i\b" && {
		echo "$(sim_id)-n$i"
		return
	}
	die "no namespace for '$what' (coordinator, a region with a netfs server, or a hosted node)"
}

cmd_exec() {
	require_up
	local ns p path=$PATH
	ns=$(ns_of "$EXEC_IN") || exit 1
	for p in stardust stardust-wan; do # the CLI and the RTT probe on PATH
		p=$(find_bin "$p" 2>/dev/null) && path=$(dirname "$p"):$path
	done
	# shellcheck disable=SC2046
	exec ip netns exec "$ns" env PATH="$path" $(cmd_env | grep -v '^#') "$@"
}

# The pid and program of NODE's latest start ("PID PROGRAM"), from the state.
node_proc() { awk -v n="$1" '$1 == "node" && $2 == n {p = $3 " " $4} END {print p}' "$RUN/state"; }

cmd_kill() { # node
	require_up
	[ -n "${1:-}" ] || usage
	local pp
	pp=$(node_proc "$1")
	[ -n "$pp" ] || die "no node $1 in this simulation"
	# shellcheck disable=SC2086
	proc_matches $pp || die "$1 is not running"
	kill -KILL "${pp%% *}"
	log "killed $1 (pid ${pp%% *})"
}

cmd_start() { # node
	require_up
	[ -n "${1:-}" ] || usage
	local pp line i
	pp=$(node_proc "$1")
	[ -n "$pp" ] || die "no node $1 in this simulation"
	# shellcheck disable=SC2086
	if proc_matches $pp; then die "$1 is running"; fi
	line=$(topo_lines node | awk -v n="$1" '$2 == n {print NR - 1, $0}')
	i=${line%% *}
	# shellcheck disable=SC2086
	set -- ${line#* }
	# The coordinator refuses a name that is still alive: wait until it has
	# noticed the crash (its --heartbeat-timeout, SIM_HEARTBEAT_TIMEOUT).
	local n state
	for n in $(seq 1200); do
		state=$(coord_curl /v1/nodes | jq -r --arg n "$2" '.nodes[] | select(.name == $n) | .state')
		[ "$state" = ready ] || break
		[ "$n" = 1 ] && log "waiting until the coordinator sees $2 gone"
		sleep 0.1
	done
	[ "$state" != ready ] || die "the coordinator still lists $2 as ready"
	ACCEL=$(awk '$1 == "accel" {print $2}' "$RUN/info")
	IMAGE=$(awk '$1 == "image" {print $2}' "$RUN/info")
	NODE=$(awk '$1 == "nodebin" {print $2}' "$RUN/info")
	if grep -q '^mode hosted' "$RUN/info"; then
		start_hosted "$i" "$2" "$3" "$4" "$5" "$6" "$7" "$8"
	else
		: >"$RUN/console/$2.log"
		start_vm "$i" "$2" "$3" "$4" "$5" "$6" "$7" "$8"
	fi
	TIMEOUT=${TIMEOUT:-300}
	wait_registered || exit 1
	log "$2 is back"
}

cmd_ctl() {
	require_up
	exec "$WAN" --ctl "$RUN/wan.ctl" "$@"
}

# {run_dir, mode, processes: [{program, pid, running}], regions: [...],
#  partitions: [[A, B]], nodes: /v1/nodes' array or null when unreachable}
status_json() { # nodes-json
	local kind a b procs='' parts
	while read -r kind a b; do
		[ "$kind" = pid ] || continue
		procs="$procs{\"program\":\"$b\",\"pid\":$a,\"running\":$(proc_matches "$a" "$b" && echo true || echo false)},"
	done <"$RUN/state"
	parts=$("$WAN" --ctl "$RUN/wan.ctl" stats 2>/dev/null | awk '$1 == "partition" {printf "[\"%s\",\"%s\"],", $2, $3}')
	echo "${1:-null}" | jq --arg run "$RUN" --arg mode "$(grep ^mode "$RUN/info" | cut -d' ' -f2-)" \
		--argjson procs "[${procs%,}]" --argjson parts "[${parts%,}]" \
		--argjson regions "$(topo_lines region | awk '{print $3}' | jq -R . | jq -cs .)" \
		'{run_dir: $run, mode: $mode, processes: $procs, regions: $regions,
		  partitions: $parts, nodes: (if . == null then null else .nodes end)}'
}

cmd_status() {
	require_up
	local json kind a b down=0
	json=$(coord_curl /v1/nodes) || json=''
	if [ "$OUTPUT" = json ]; then
		status_json "$json"
		return
	fi
	echo "run dir: $RUN ($(grep ^mode "$RUN/info" | cut -d' ' -f2-)), topology $(grep ^topology "$RUN/info" | cut -d' ' -f2-)"
	echo "processes:"
	local superseded # pids of nodes started again since
	superseded=" $(awk '$1 == "node" {if ($2 in last) old = old " " last[$2]; last[$2] = $3}
		END {print old}' "$RUN/state") "
	while read -r kind a b; do
		[ "$kind" = pid ] || continue
		case $superseded in *" $a "*) continue ;; esac
		if proc_matches "$a" "$b"; then echo "  $b ($a) running"; else
			echo "  $b ($a) NOT RUNNING"
			down=1
		fi
	done <"$RUN/state"
	echo "regions:"
	topo_lines region | while read -r _ _ name lat lon n; do
		printf '  %-14s %7s %8s  %d nodes\n' "$name" "$lat" "$lon" "$n"
	done
	echo "links (one-way latency ms, jitter ms, loss, Mbit/s):"
	topo_lines link | awk '$2 != $3 {printf "  %s <-> %s: %s %s %s %s\n", $2, $3, $4, $5, $6, $7}'
	"$WAN" --ctl "$RUN/wan.ctl" stats 2>/dev/null | awk '$1 == "partition" {print "  PARTITIONED: " $2 " <-> " $3}'
	echo "nodes:"
	if [ -z "$json" ]; then
		echo "  coordinator unreachable"
		down=1
	else
		printf '  %-14s %-7s %-12s %-12s %9s %10s\n' NAME STATE REGION ZONE RTT HEARTBEAT
		echo "$json" | jq -r '.nodes[] | [.name, .state, .region, .zone,
			(if .rtt_us == null then "-" else ((.rtt_us / 1000 | tostring) + "ms") end),
			((.heartbeat_age_ms | tostring) + "ms")] | @tsv' |
			while IFS=$'\t' read -r n s r z rtt hb; do
				printf '  %-14s %-7s %-12s %-12s %9s %10s\n' "$n" "$s" "$r" "$z" "$rtt" "$hb"
			done
		local want ready
		want=$(topo_lines node | wc -l)
		ready=$(echo "$json" | jq '[.nodes[] | select(.state == "ready")] | length')
		echo "health: $ready of $want nodes ready"
		[ "$ready" = "$want" ] || down=1
	fi
	return $down
}

# --- arguments ----------------------------------------------------------------------

main() {
	[ $# -ge 1 ] || usage
	local cmd=$1
	shift
	RUN=$SIM_DEFAULT_RUN TOPOLOGY='' DATA='' HOSTED=0 IMAGE='' TIMEOUT=300 KEEP_LOGS=0
	OUTPUT=table EXEC_IN=coordinator
	while [ $# -gt 0 ]; do
		case $1 in
		--topology) TOPOLOGY=$2 && shift ;;
		--run-dir) RUN=$2 && shift ;;
		--data) DATA=$2 && shift ;;
		--hosted) HOSTED=1 ;;
		--image) IMAGE=$2 && shift ;;
		--accel) SIM_ACCEL=$2 && shift ;;
		--timeout) TIMEOUT=$2 && shift ;;
		--keep-logs) KEEP_LOGS=1 ;;
		--in) EXEC_IN=$2 && shift ;;
		-o) OUTPUT=$2 && shift ;;
		--) shift && break ;;
		-h | --help) usage ;;
		-*) [ "$cmd" = ctl ] && break || usage ;;
		*) break ;;
		esac
		shift
	done
	[ -d "$RUN" ] && RUN=$(readlink -f "$RUN")
	case $cmd in
	up) cmd_up ;;
	down) cmd_down ;;
	status) cmd_status ;;
	env) require_up && cmd_env ;;
	ctl) cmd_ctl "$@" ;;
	kill) cmd_kill "$@" ;;
	start) cmd_start "$@" ;;
	exec) cmd_exec "$@" ;;
	*) usage ;;
	esac
}

main "$@"
