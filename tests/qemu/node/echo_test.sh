#!/bin/sh
# tests/qemu/node/echo_test.sh — a real TCP exchange between the guest's
# lwIP (through plat.h TCP and virtio-net) and the host.
#
#   echo_test.sh IMAGE EXPECTED_STATUS PATTERN MODE
#
# Starts a TCP echo server on 127.0.0.1 (python3, any free port), boots the
# image with virtio-net on QEMU user-mode networking and echo=10.0.2.2:PORT
# (slirp forwards the guest's 10.0.2.2 to the host's 127.0.0.1), then leaves
# the verdict to boot_test.sh. MODE "listen" runs the server; "closed" points
# the guest at a port nobody listens on, so the guest must report the refusal.
set -u
image=${1:?image}
status=${2:?status}
pattern=${3:?pattern}
mode=${4:?mode}
here=$(dirname "$0")

portfile=$(mktemp)
python3 - "$portfile" "$mode" <<'PY' &
import socket, sys, threading
s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
if sys.argv[2] == "closed":
    s.close()  # the port was free a moment ago: nothing listens on it now
    open(sys.argv[1], "w").write(f"{port}\n")
    sys.exit(0)
s.listen(4)
open(sys.argv[1], "w").write(f"{port}\n")
def serve(c):
    while True:
        d = c.recv(65536)
        if not d:
            break
        c.sendall(d)
    c.close()
s.settimeout(90)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
server=$!
trap 'kill $server 2>/dev/null; rm -f "$portfile"' EXIT INT TERM
for _ in $(seq 50); do
	[ -s "$portfile" ] && break
	sleep 0.1
done
port=$(cat "$portfile")
[ -n "$port" ] || { echo "echo_test: the echo server did not start"; exit 1; }
echo "echo_test: host echo server ($mode) on 127.0.0.1:$port"
SD_QEMU_EXTRA="-global virtio-mmio.force-legacy=false -netdev user,id=n0 -device virtio-net-device,netdev=n0" \
	"$here/boot_test.sh" "$image" "$status" "$pattern" "echo=10.0.2.2:$port"
