#!/usr/bin/env bash
# Runs the driver interop scripts (Node.js cassandra-driver, Python
# cassandra-driver) against a fresh ringdb node. Skips a driver that is not
# installed unless RINGDB_REQUIRE_DRIVERS=1 (set by .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "interop: no driver scripts yet"
