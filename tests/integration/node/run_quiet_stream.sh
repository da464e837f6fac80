#!/bin/sh
# tests/integration/node/run_quiet_stream.sh REPO NODE COORDINATOR CLI NETFSD —
# a streaming job without checkpoints (its sink appends as it goes) outlives
# a quiet spell longer than netfsd's idle timeout: netfsd closes the idle
# append link, and the node opens it anew for the next lines instead of
# failing the job. Both bursts must be in the output exactly once.
set -eu
. "$(dirname "$0")/cluster_lib.sh"
cluster_init "$@"
mkdir -p "$work/data/live"
: >"$work/data/live/in.csv"
NETFSD_FLAGS="--idle-timeout-ms 1000"
CLUSTER_NODES=2
cluster_start

# A tumbling count: a window's row is appended once a later event passes it.
cat >"$work/quiet.sd" <<'SD'
job "quiet" { parallelism = 1 checkpoint = 0s }
tail_csv("netfs://live/in.csv", { ts: int, url: str })
  .event_time(c -> c.ts, lateness = 0s)
  .key_by(c -> c.url)
  .window(tumbling(1s))
  .count()
  .write_csv("netfs://live/out.csv")
SD
sd submit "$work/quiet.sd" >"$work/submit.out" 2>&1 || fail "submit: $(cat "$work/submit.out")"
job=$(sed -n 's/^submitted job \([0-9a-f]*\).*/\1/p' "$work/submit.out")
running() { sd status "$job" | grep -q RUNNING; }
wait_for "the job running" running
lines() { cat "$work/data/live/out.csv.$job".part-* 2>/dev/null | wc -l; }
printf '1000,/a\n1500,/a\n2100,/b\n' >>"$work/data/live/in.csv"
one() { [ "$(lines)" -ge 1 ]; }
wait_for "the first window" one
sleep 3 # three idle timeouts: netfsd has closed the sink's append link
printf '2200,/b\n3100,/c\n' >>"$work/data/live/in.csv"
two() { [ "$(lines)" -ge 2 ]; }
wait_for "the window after the quiet spell" two
running || fail "the job did not survive the quiet spell: $(sd status "$job")"
got=$(cat "$work/data/live/out.csv.$job".part-* | sort | tr '\n' ' ')
[ "$got" = "/a,1000,2000,2 /b,2000,3000,2 " ] || fail "output after a quiet spell: '$got'"
echo "ok: a streaming sink outlived netfsd's idle timeout (reconnected, nothing lost or doubled)"
