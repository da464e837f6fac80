# bench/lib/peers.sh — install the peers a benchmark run compares against (sourced by bench/run.sh).
#
# peers_install: Debian packages (as root, or through sudo) and the DuckDB
# node package into $NODE_PREFIX (npm install --prefix). A peer that cannot be
# installed is not fatal: its rows say "not installed" and why.
# peers_have_*: 0 when that peer can run now.

BENCH_DEBS=(mawk coreutils python3-dask python3-distributed iperf3 gnuplot-nox)
# node and npm may come from elsewhere than Debian (e.g. a newer nodejs whose
# npm is bundled): only ask Debian for them when the commands are missing.
BENCH_DEBS_IF_NO_CMD=(node:nodejs npm:npm)

deb_installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo -n "$@"
	else
		return 1
	fi
}

peers_install() {
	local missing=() p
	for p in "${BENCH_DEBS[@]}"; do
		deb_installed "$p" || missing+=("$p")
	done
	for p in "${BENCH_DEBS_IF_NO_CMD[@]}"; do
		command -v "${p%%:*}" >/dev/null 2>&1 || missing+=("${p#*:}")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		say "installing Debian packages: ${missing[*]}"
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" \
			>"$WORK/apt.log" 2>&1 ||
			{ as_root apt-get update -qq >>"$WORK/apt.log" 2>&1 &&
				as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
					"${missing[@]}" >>"$WORK/apt.log" 2>&1; } ||
			say "could not install ${missing[*]} (see $WORK/apt.log); their rows will say so"
	fi
	if ! peers_have_duckdb && command -v npm >/dev/null 2>&1; then
		say "installing @duckdb/node-api into $NODE_PREFIX"
		mkdir -p "$NODE_PREFIX"
		npm install --prefix "$NODE_PREFIX" --no-audit --no-fund @duckdb/node-api \
			>"$WORK/npm.log" 2>&1 ||
			say "could not install @duckdb/node-api (see $WORK/npm.log)"
	fi
}

# Debian's dask is for Debian's python: use /usr/bin/python3, not whatever is first in PATH.
DEB_PYTHON=/usr/bin/python3

peers_have_dask() {
	[ -x "$DEB_PYTHON" ] && "$DEB_PYTHON" -c 'import dask.bag, distributed' >/dev/null 2>&1
}
peers_have_duckdb() {
	command -v node >/dev/null 2>&1 && [ -d "$NODE_PREFIX/node_modules/@duckdb/node-api" ]
}
peers_have_iperf3() { command -v iperf3 >/dev/null 2>&1; }
peers_have_mawk() { command -v mawk >/dev/null 2>&1; }
peers_have_gnuplot() { command -v gnuplot >/dev/null 2>&1; }
