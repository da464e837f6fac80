#!/usr/bin/env python3
"""tests/qemu/node/fault_proxy.py PORTFILE TARGET_PORT — a TCP relay between
the node VM and the coordinator's control port (127.0.0.1) that injects the
faults the node must survive:
  connection 1: waits for the node's first bytes (its Register frame), then
                answers with a malformed frame (bad magic) instead of relaying;
  connection 2: relays both ways for 1.5 s, then drops both sides at once;
  connection 3 and later: relay until either side closes.
Writes its listening port to PORTFILE and the number of connections seen to
PORTFILE.count (for the test to check)."""
import socket
import sys
import threading
import time

portfile, target = sys.argv[1], int(sys.argv[2])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(8)
with open(portfile, "w") as f:
    f.write(f"{srv.getsockname()[1]}\n")


def pump(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def relay(c, seconds=None):
    up = socket.create_connection(("127.0.0.1", target))
    threading.Thread(target=pump, args=(c, up), daemon=True).start()
    threading.Thread(target=pump, args=(up, c), daemon=True).start()
    if seconds is not None:
        time.sleep(seconds)
        for s in (c, up):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


n = 0
srv.settimeout(120)
while True:
    c, _ = srv.accept()
    n += 1
    with open(portfile + ".count", "w") as f:
        f.write(f"{n}\n")
    if n == 1:
        c.recv(65536)
        c.sendall(b"XX\x01\x00" + b"\xff" * 60)  # not "SD": a malformed frame
        threading.Thread(target=lambda s=c: (time.sleep(30), s.close()), daemon=True).start()
    elif n == 2:
        threading.Thread(target=relay, args=(c, 1.5), daemon=True).start()
    else:
        threading.Thread(target=relay, args=(c,), daemon=True).start()
