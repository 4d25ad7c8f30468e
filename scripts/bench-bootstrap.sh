#!/usr/bin/env bash
# Measures a bootstrap on this machine: three nodes (127.0.0.1-3, default
# ports) load ROWS rows of VALUE bytes at RF=3 with `ringdb stress`, then a
# fourth node bootstraps (it streams about three quarters of the data).
# Prints the bytes streamed, the duration and rate, and the peak RSS of the
# joining node and of a source during the bootstrap.
#
# Environment: ROWS (default 1400000), VALUE (default 1000 bytes),
# THROUGHPUT (stream_throughput_outbound of the sources in MiB/s; default 0,
# unthrottled), RINGDB_BIN (a built binary; default: build one).
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${ROWS:-1400000}
value=${VALUE:-1000}
throughput=${THROUGHPUT:-0}
bin=${RINGDB_BIN:-}
if [[ -z "$bin" ]]; then
	go build -o bin/ringdb ./cmd/ringdb
	bin=bin/ringdb
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/ringdb-bench-bootstrap.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

"$bin" cert init --dir "$work/ca" --cluster-name bench >/dev/null
start() {
	local a=$1
	"$bin" cert node --dir "$work/ca" --address "$a" --out "$work/$a/certs" >/dev/null
	"$bin" server --data-dir "$work/$a" --listen-address "$a" --certs-dir "$work/$a/certs" --cluster-name bench \
		--seeds 127.0.0.1 --stream-throughput-outbound "$throughput" >"$work/$a.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 1 600); do
		(echo >/dev/tcp/"$a"/9042) 2>/dev/null && return 0
		sleep 0.2
	done
	echo "node $a did not start" >&2
	tail -20 "$work/$a.log" >&2
	exit 1
}
for a in 127.0.0.1 127.0.0.2 127.0.0.3; do start "$a"; done
until "$bin" nodetool --host 127.0.0.1:7199 --data-dir "$work/127.0.0.1" status 2>/dev/null | grep -c '^UN' | grep -q 3; do sleep 1; done

partitions=$((rows / 10))
echo "loading $rows rows of $value bytes at RF=3..."
"$bin" stress --host 127.0.0.1 --password-file "$work/127.0.0.1/superuser.password" --mode write \
	--replication-factor 3 --partitions "$partitions" --clustering 10 --value-size "$value" \
	--max-ops "$rows" --duration 30m --concurrency 64 | tail -3
for a in 127.0.0.1 127.0.0.2 127.0.0.3; do "$bin" nodetool --host "$a:7199" --data-dir "$work/$a" flush; done
"$bin" nodetool --host 127.0.0.1:7199 --data-dir "$work/127.0.0.1" status

peak() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
src_pid=${pids[1]}
src_before=$(rss "$src_pid")
start 127.0.0.4 &
starter=$!
sleep 1
join_pid=$(pgrep -f -- "--listen-address 127.0.0.4" | head -1)
max_join=0
max_src=0
while kill -0 "$starter" 2>/dev/null; do
	if [[ -n "$join_pid" ]]; then
		r=$(rss "$join_pid" 2>/dev/null || echo 0)
		((r > max_join)) && max_join=$r
	fi
	r=$(rss "$src_pid")
	((r > max_src)) && max_src=$r
	sleep 0.5
done
wait "$starter"
pids+=("$join_pid")
begin=$(grep -m1 'bootstrap: streaming' "$work/127.0.0.4.log" | sed -E 's/^time=([^ ]+).*/\1/')
end=$(grep -m1 'bootstrap: complete' "$work/127.0.0.4.log" | sed -E 's/^time=([^ ]+).*/\1/')
"$bin" nodetool --host 127.0.0.4:7199 --data-dir "$work/127.0.0.4" netstats
secs=$(python3 -c "from datetime import datetime as d; f=lambda s: d.fromisoformat(s.replace('Z','+00:00')); print((f('$end')-f('$begin')).total_seconds())")
echo "bootstrap: ${secs}s (from the joining node's log)"
echo "joining node: peak RSS during bootstrap $((max_join / 1024)) MiB (VmHWM $(( $(peak "$join_pid") / 1024 )) MiB)"
echo "source 127.0.0.2: RSS before $((src_before / 1024)) MiB, peak during $((max_src / 1024)) MiB"
du -sh "$work"/127.0.0.*/ | sed 's/^/disk: /'
