#!/usr/bin/env bash
# deploy/setup.sh — bring a Debian 12 machine to the point where Stardust builds.
#
# What it does, in order, each step skipped when already done:
#   1. installs the Debian packages the project needs (as root, or via sudo);
#   2. adds deb-src entries mirroring the machine's own Debian sources, so
#      that `apt-get source` works;
#   3. fetches the *source* packages of lwIP and protobuf-c into the build
#      tree (build/third_party by default) for the freestanding node image.
#
# Nothing it fetches is ever committed: build/ is ignored by git.
#
# Usage: deploy/setup.sh [--third-party DIR] [--check]
#   --check   only report what is missing; exit 1 if anything is.
# Environment: SD_THIRD_PARTY overrides the source directory.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
third_party=${SD_THIRD_PARTY:-$top/build/third_party}
check_only=0

while [ $# -gt 0 ]; do
	case "$1" in
	--third-party) third_party=$2; shift 2 ;;
	--check) check_only=1; shift ;;
	-h|--help) sed -n '2,16p' "$0"; exit 0 ;;
	*) echo "setup: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
done

# Debian packages, one per line with why we need it.
packages=(
	build-essential       # gcc 12, make
	cmake                 # the build
	pkg-config            # finding libraries
	clang-format          # the format check
	dpkg-dev              # apt-get source unpacks with dpkg-source
	libuv1-dev            # coordinator and netfsd event loops
	libcjson-dev          # coordinator JSON
	libprotobuf-c-dev     # wire messages (hosted side)
	protobuf-c-compiler   # protoc-c generates the wire code
	libhttp-parser-dev    # coordinator HTTP API
	libcurl4-openssl-dev  # the stardust CLI
	libxxhash-dev         # checksums
	libcmocka-dev         # unit tests
	qemu-system-x86       # boot tests and the simulation
	iproute2              # namespaces and taps for the simulation
	gnuplot-nox           # benchmark plots
	mawk                  # benchmark peer
	jq                    # simulation and test scripts read JSON
	curl                  # simulation scripts query the coordinator
	python3               # QEMU network test helpers
)
# make bench installs its heavier peers itself (python3-dask,
# python3-distributed, iperf3, wrk, DuckDB from npm); make test needs none.
# Source packages brought into the build tree: name -> directory link.
source_packages=(lwip protobuf-c)

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "'$*' needs root and sudo is not installed; run this script as root"
	fi
}

missing_packages() {
	local p name
	for p in "${packages[@]}"; do
		name=${p%%#*}
		name=${name// /}
		[ -z "$name" ] && continue
		if ! dpkg-query -W -f='${Status}' "$name" 2>/dev/null |
			grep -q 'install ok installed'; then
			echo "$name"
		fi
	done
}

apt_updated=0
apt_update() {
	[ "$apt_updated" -eq 1 ] && return 0
	say "apt-get update"
	as_root apt-get update -qq || die "apt-get update failed (is a Debian mirror reachable?)"
	apt_updated=1
}

install_packages() {
	local missing
	missing=$(missing_packages | tr '\n' ' ')
	if [ -z "${missing// /}" ]; then
		say "Debian packages: all present"
		return 0
	fi
	if [ "$check_only" -eq 1 ]; then
		say "missing Debian packages: $missing"
		return 1
	fi
	apt_update
	say "installing: $missing"
	# shellcheck disable=SC2086
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends $missing ||
		die "apt-get install failed for: $missing"
}

# Write deb-src stanzas for every Debian 'deb' source the machine already
# uses. Both formats are read: deb822 (*.sources) and one-line (*.list).
derive_deb_src() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		case "$f" in *stardust-src.sources) continue ;; esac
		awk 'BEGIN { RS = ""; ORS = "\n\n" }
		     /(^|\n)Types:[^\n]*deb([ \n]|$)/ && /URIs:[^\n]*debian/ {
			sub(/Types:[^\n]*/, "Types: deb-src"); print }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk '$1 == "deb" && $0 ~ /debian/ { $1 = "deb-src"; print }' "$f"
	done
}

enable_deb_src() {
	local target=/etc/apt/sources.list.d/stardust-src.sources content
	if apt-cache showsrc lwip 2>/dev/null | grep -q '^Package: lwip'; then
		return 0
	fi
	[ "$check_only" -eq 1 ] && { say "deb-src entries missing"; return 1; }
	content=$(derive_deb_src)
	[ -n "$content" ] || die "found no Debian 'deb' entries in /etc/apt to derive deb-src from"
	if printf '%s\n' "$content" | grep -q '^deb-src '; then
		target=/etc/apt/sources.list.d/stardust-src.list
	fi
	say "adding deb-src entries in $target"
	printf '# Added by Stardust deploy/setup.sh: source packages for the node image.\n%s\n' \
		"$content" | as_root tee "$target" >/dev/null
	apt_updated=0
	apt_update
	apt-cache showsrc lwip 2>/dev/null | grep -q '^Package: lwip' ||
		die "deb-src entries added to $target but 'apt-cache showsrc lwip' still finds nothing"
}

# Fetch one source package into $third_party and point $third_party/NAME at it.
fetch_source() {
	local name=$1 link=$third_party/$1 version dir
	version=$(apt-cache showsrc "$name" 2>/dev/null | awk '/^Version:/ { print $2; exit }')
	[ -n "$version" ] || die "no source package '$name' known to apt"
	if [ -f "$link/.stardust-version" ] && [ "$(cat "$link/.stardust-version")" = "$version" ]; then
		return 0
	fi
	[ "$check_only" -eq 1 ] && { say "source of $name missing in $third_party"; return 1; }
	say "fetching source package $name $version into $third_party"
	mkdir -p "$third_party/.fetch-$name"
	(cd "$third_party/.fetch-$name" && apt-get source -qq "$name" >/dev/null 2>fetch.log) ||
		die "apt-get source $name failed: $(tail -3 "$third_party/.fetch-$name/fetch.log")"
	dir=$(find "$third_party/.fetch-$name" -mindepth 1 -maxdepth 1 -type d | head -1)
	[ -n "$dir" ] || die "apt-get source $name unpacked nothing"
	rm -rf "$link"
	mv "$dir" "$link"
	rm -rf "$third_party/.fetch-$name"
	echo "$version" >"$link/.stardust-version"
}

main() {
	local rc=0
	install_packages || rc=1
	enable_deb_src || rc=1
	mkdir -p "$third_party"
	for p in "${source_packages[@]}"; do
		fetch_source "$p" || rc=1
	done
	[ "$rc" -eq 0 ] && say "ready (sources in $third_party)"
	return $rc
}

main
