#!/usr/bin/env bash
# Runs the driver interop scripts (Node.js cassandra-driver, Python
# cassandra-driver) against a fresh ringdb node. Skips a driver that is not
# installed unless RINGDB_REQUIRE_DRIVERS=1 (set by .ci/run).
#
# Environment:
#   RINGDB_PORT             native port for the node (default 9042)
#   RINGDB_REQUIRE_DRIVERS  1: a missing driver is an error instead of a skip
#   RINGDB_PYTHON           python interpreter to use (default: /usr/bin/python3
#                           if it can import cassandra, else python3 on PATH)
#   RINGDB_BIN              use this ringdb binary instead of building one
#   RINGDB_SERVER_FLAGS     extra flags for `ringdb server` (word-split)
#
# Runs the scripts twice: against a cleartext node (interop.js, interop.py), then
# against a node whose native port requires TLS, with certificates made by
# openssl (tls.js, tls.py).
#
# Prints each script's checks, then one line "interop: N passed, M failed[, K skipped]"
# (K = driver scripts skipped); exits non-zero if any script failed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

port=${RINGDB_PORT:-9042}
host=127.0.0.1
require=${RINGDB_REQUIRE_DRIVERS:-0}
script_timeout=90 # seconds per driver script; the whole run stays well under 3 minutes

say() { echo "interop: $*"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/ringdb-interop.XXXXXX")
server_pid=""
# stop_server stops the running node (TERM, then KILL after 5 s).
stop_server() {
	if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		# give it a few seconds to stop cleanly, then force it
		for _ in $(seq 1 50); do
			kill -0 "$server_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	server_pid=""
}
cleanup() {
	local rc=$?
	stop_server
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# missing NAME WHY: a driver is not available: fail under RINGDB_REQUIRE_DRIVERS=1, else skip it.
skipped=0
missing() {
	if [[ "$require" == "1" ]]; then
		say "ERROR: $1 driver required (RINGDB_REQUIRE_DRIVERS=1) but $2" >&2
		exit 1
	fi
	say "skipping $1 driver: $2"
	skipped=$((skipped + 1))
}

# ---- find the drivers before starting anything ------------------------------
run_node=0
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	missing node "node and npm are not both on PATH"
else
	if [[ ! -f interop/node/node_modules/cassandra-driver/package.json ]]; then
		if [[ -f interop/node/package-lock.json ]]; then
			say "installing node modules: npm ci"
			npm_cmd=(npm ci --no-audit --no-fund)
		else
			say "installing node modules: npm install"
			npm_cmd=(npm install --no-audit --no-fund)
		fi
		if ! (cd interop/node && "${npm_cmd[@]}" </dev/null); then
			missing node "'${npm_cmd[*]}' failed in interop/node"
		fi
	fi
	if [[ -f interop/node/node_modules/cassandra-driver/package.json ]]; then
		run_node=1
	fi
fi

run_python=0
python=""
if [[ -n "${RINGDB_PYTHON:-}" ]]; then
	candidates=("$RINGDB_PYTHON")
else
	# Debian's python3-cassandra lives in /usr/lib/python3/dist-packages, which a
	# pyenv python3 earlier on PATH does not see: try the system interpreter first.
	candidates=(/usr/bin/python3 python3)
fi
for py in "${candidates[@]}"; do
	if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import cassandra' >/dev/null 2>&1; then
		python=$py
		break
	fi
done
if [[ -n "$python" ]]; then
	run_python=1
else
	missing python "none of (${candidates[*]}) can 'import cassandra' (install the Debian package python3-cassandra)"
fi

if [[ $run_node == 0 && $run_python == 0 ]]; then
	say "no driver available; nothing to run"
	say "0 passed, 0 failed, $skipped skipped"
	exit 0
fi

# ---- build and start a fresh node ------------------------------------------
if [[ -n "${RINGDB_BIN:-}" ]]; then
	bin=$RINGDB_BIN
else
	if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
		export PATH=/usr/local/go/bin:$PATH
	fi
	say "building ringdb"
	bin=$work/ringdb
	go build -o "$bin" ./cmd/ringdb
fi

# A server already on the port would be tested instead of ours: refuse.
port_open() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }
if port_open; then
	say "ERROR: $host:$port is already in use; stop that server or set RINGDB_PORT" >&2
	exit 1
fi

# start_server NAME FLAGS...: starts a fresh node (data dir $work/NAME) and
# waits until it accepts connections and has written its superuser password.
start_server() {
	local name=$1
	shift
	data=$work/$name
	log=$work/$name.log
	mkdir -p "$data"
	# shellcheck disable=SC2086 # RINGDB_SERVER_FLAGS is word-split on purpose
	"$bin" server --data-dir "$data" --native-address "$host" --native-port "$port" \
		"$@" ${RINGDB_SERVER_FLAGS:-} >"$log" 2>&1 </dev/null &
	server_pid=$!
	say "started ringdb (pid $server_pid) on $host:$port, data dir $data"
	local deadline=$((SECONDS + 30))
	until port_open && [[ -s "$data/superuser.password" ]]; do
		if ! kill -0 "$server_pid" 2>/dev/null; then
			say "ERROR: ringdb exited during startup; its log:" >&2
			cat "$log" >&2
			exit 1
		fi
		if ((SECONDS >= deadline)); then
			say "ERROR: ringdb did not accept connections on $host:$port with $data/superuser.password within 30s; its log:" >&2
			cat "$log" >&2
			exit 1
		fi
		sleep 0.2
	done
	say "ringdb is up"
}
start_server data

export RINGDB_HOST=$host RINGDB_PORT=$port RINGDB_PASSWORD_FILE=$data/superuser.password

# ---- run the driver scripts --------------------------------------------------
total_passed=0
total_failed=0
failed_scripts=()

# run_script NAME CMD...: runs one driver script, adds up its "N passed, M failed" line.
run_script() {
	local name=$1 out=$work/$1.out rc=0
	shift
	say "== $name driver =="
	timeout --kill-after=10 "$script_timeout" "$@" </dev/null 2>&1 | tee "$out" || rc=${PIPESTATUS[0]}
	local summary p f
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1 || true)
	if [[ -n "$summary" ]]; then
		p=${summary%% passed*}
		f=${summary#*passed, }
		f=${f%% failed*}
	else
		p=0 f=0
	fi
	if [[ $rc != 0 && $f == 0 ]]; then
		f=1 # crashed or timed out before counting a failure
	fi
	total_passed=$((total_passed + p))
	total_failed=$((total_failed + f))
	if [[ $rc != 0 ]]; then
		[[ $rc == 124 || $rc == 137 ]] && say "$name driver script timed out after ${script_timeout}s"
		failed_scripts+=("$name (exit $rc)")
	fi
}

if [[ $run_node == 1 ]]; then
	run_script node node "$root/interop/node/interop.js"
fi
if [[ $run_python == 1 ]]; then
	run_script python "$python" "$root/interop/python/interop.py"
fi

# ---- client TLS: a second node whose native port requires TLS -------------
# Certificates from openssl (a throwaway CA, the node's certificate for
# 127.0.0.1, and a CA the node does not use).
server_alive() {
	if ! kill -0 "$server_pid" 2>/dev/null; then
		say "ERROR: ringdb is no longer running" >&2
		failed_scripts+=("server died")
		total_failed=$((total_failed + 1))
	fi
}
make_certs() {
	local d=$1
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=interop CA" \
		-keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=other CA" \
		-keyout "$d/other.key" -out "$d/other.pem" 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$host" \
		-keyout "$d/node.key" -out "$d/node.csr" 2>/dev/null
	printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' "$host" >"$d/ext.cnf"
	openssl x509 -req -in "$d/node.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
		-extfile "$d/ext.cnf" -out "$d/node.pem" 2>/dev/null
}
server_alive
if ! command -v openssl >/dev/null 2>&1; then
	missing "client TLS" "openssl is not on PATH (install the Debian package openssl)"
elif ((run_node == 1 || run_python == 1)); then
	stop_server
	certs=$work/certs
	make_certs "$certs"
	start_server tls-data --client-tls --client-tls-cert "$certs/node.pem" --client-tls-key "$certs/node.key"
	export RINGDB_PASSWORD_FILE=$data/superuser.password RINGDB_TLS_CA=$certs/ca.pem RINGDB_TLS_OTHER_CA=$certs/other.pem
	if [[ $run_node == 1 ]]; then
		run_script node-tls node "$root/interop/node/tls.js"
	fi
	if [[ $run_python == 1 ]]; then
		run_script python-tls "$python" "$root/interop/python/tls.py"
	fi
fi

server_alive

if ((${#failed_scripts[@]} > 0)); then
	say "FAILED: ${failed_scripts[*]}; last lines of the server log:"
	tail -n 40 "$log"
fi
summary="$total_passed passed, $total_failed failed"
((skipped > 0)) && summary+=", $skipped skipped"
say "$summary"
((${#failed_scripts[@]} == 0))
