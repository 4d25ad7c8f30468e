#!/usr/bin/env bash
# Measures nodetool repair on this machine: three nodes (PREFIX.21-23 by
# default, default ports, hinted handoff off) load ROWS rows of VALUE bytes
# at RF=3 with `ringdb stress --sequential` (every row once), then:
#   1. repair with the replicas in sync (validation: every replica scans
#      and hashes its data);
#   2. node 3 stops, MISSING more rows are written at QUORUM, node 3
#      restarts, and repair streams what it lacks.
# Prints each repair's summary line and elapsed time, and the peak RSS of
# the coordinator and of node 3 during each repair.
#
# Environment: ROWS (default 1000000), VALUE (default 100), MISSING
# (default 10000), PREFIX (default 127.0.0), RINGDB_BIN.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${ROWS:-1000000}
value=${VALUE:-100}
missing=${MISSING:-10000}
prefix=${PREFIX:-127.0.0}
bin=${RINGDB_BIN:-}
if [[ -z "$bin" ]]; then
	go build -o bin/ringdb ./cmd/ringdb
	bin=bin/ringdb
fi
a1=$prefix.21 a2=$prefix.22 a3=$prefix.23
work=$(mktemp -d "${TMPDIR:-/tmp}/ringdb-bench-repair.XXXXXX")
declare -A pid
cleanup() {
	for p in "${pid[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
"$bin" cert init --dir "$work/ca" --cluster-name bench >/dev/null
for a in $a1 $a2 $a3; do "$bin" cert node --dir "$work/ca" --address "$a" --out "$work/$a/certs" >/dev/null; done
start() {
	local a=$1
	"$bin" server --data-dir "$work/$a" --listen-address "$a" --certs-dir "$work/$a/certs" --cluster-name bench \
		--seeds "$a1" --hinted-handoff-enabled=false --stream-throughput-outbound 0 >>"$work/$a.log" 2>&1 &
	pid[$a]=$!
	for _ in $(seq 1 600); do
		(echo >/dev/tcp/"$a"/9042) 2>/dev/null && return 0
		sleep 0.2
	done
	echo "node $a did not start" >&2
	tail -20 "$work/$a.log" >&2
	exit 1
}
nt() { local a=$1; shift; "$bin" nodetool --host "$a:7199" --data-dir "$work/$a" "$@"; }
for a in $a1 $a2 $a3; do start "$a"; done
until nt "$a1" status 2>/dev/null | grep -c '^UN' | grep -q 3; do sleep 1; done

stress() {
	"$bin" stress --host "$a1" --password-file "$work/$a1/superuser.password" --mode write --sequential \
		--replication-factor 3 --consistency quorum --clustering 10 --value-size "$value" --duration 30m "$@" | grep -E "Total ops|Total errors|Operations/s"
}
echo "loading $rows rows of $value bytes at RF=3 (QUORUM)..."
stress --partitions $((rows / 10)) --max-ops "$rows"
for a in $a1 $a2 $a3; do nt "$a" flush; done

rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
measure() { # runs nodetool repair on a1, sampling RSS of a1 and a3
	local before1 before3 max1=0 max3=0 r
	before1=$(rss "${pid[$a1]}")
	before3=$(rss "${pid[$a3]}")
	local t0=$SECONDS
	nt "$a1" repair stress >"$work/repair.out" 2>&1 &
	local rp=$!
	while kill -0 "$rp" 2>/dev/null; do
		r=$(rss "${pid[$a1]}"); ((r > max1)) && max1=$r
		r=$(rss "${pid[$a3]}"); ((r > max3)) && max3=$r
		sleep 0.2
	done
	wait "$rp" || { tail -5 "$work/repair.out"; exit 1; }
	tail -1 "$work/repair.out"
	echo "wall time: $((SECONDS - t0)) s; coordinator RSS $((before1 / 1024)) -> peak $((max1 / 1024)) MiB; node 3 RSS $((before3 / 1024)) -> peak $((max3 / 1024)) MiB"
}
echo "== repair, replicas in sync"
measure
echo "== node 3 misses $missing rows"
kill -TERM "${pid[$a3]}"; wait "${pid[$a3]}" 2>/dev/null || true
until nt "$a1" status 2>/dev/null | grep -q "^DN  $a3 "; do sleep 1; done
stress --partitions $(((rows + missing) / 10)) --first-row "$rows" --max-ops "$missing" >/dev/null
start "$a3"
until nt "$a1" status 2>/dev/null | grep -c '^UN' | grep -q 3; do sleep 1; done
measure
du -sh "$work"/$prefix.2?/ | sed 's/^/disk: /'
