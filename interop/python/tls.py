#!/usr/bin/env python3
"""TLS interop check: drives a ringdb node whose native port requires TLS
(client_encryption_options) with the DataStax Python driver. Environment:

  RINGDB_HOST           contact point (default 127.0.0.1)
  RINGDB_PORT           native port (default 9042)
  RINGDB_PASSWORD_FILE  file holding the superuser 'cassandra' password (required)
  RINGDB_TLS_CA         PEM CA certificate that signed the node's certificate (required)
  RINGDB_TLS_OTHER_CA   PEM certificate of a CA the node does not use (required)

The last line printed is "N passed, M failed".
"""

import os
import ssl
import sys

import cassandra
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster, NoHostAvailable
from cassandra.policies import ConstantReconnectionPolicy
from cassandra.query import SimpleStatement

HOST = os.environ.get("RINGDB_HOST", "127.0.0.1")
PORT = int(os.environ.get("RINGDB_PORT", "9042"))
with open(os.environ["RINGDB_PASSWORD_FILE"]) as f:
    PASSWORD = f.read().strip()
CA = os.environ["RINGDB_TLS_CA"]
OTHER_CA = os.environ["RINGDB_TLS_OTHER_CA"]

passed = 0
failed = 0


def check(name, fn):
    global passed, failed
    try:
        detail = fn()
    except Exception as exc:  # noqa: BLE001 - every failure is reported, then counted
        failed += 1
        print(f"FAIL {name}: {type(exc).__name__}: {str(exc)[:300]}", flush=True)
        return
    passed += 1
    print(f"ok   {name}" + (f": {detail}" if detail else ""), flush=True)


def context(ca):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_verify_locations(ca)
    ctx.check_hostname = True
    return ctx


def cluster(ca):
    kw = {}
    if ca:
        kw = {"ssl_context": context(ca), "ssl_options": {"server_hostname": HOST}}
    return Cluster([HOST], port=PORT, protocol_version=4, connect_timeout=5,
                   auth_provider=PlainTextAuthProvider("cassandra", PASSWORD),
                   reconnection_policy=ConstantReconnectionPolicy(60), **kw)


def expect_refused(c):
    try:
        c.connect()
    except NoHostAvailable as exc:
        return str(exc)[:120]
    finally:
        c.shutdown()
    raise AssertionError("connected")


def main():
    print(f"python cassandra-driver {cassandra.__version__} (TLS) -> {HOST}:{PORT}", flush=True)
    c = cluster(CA)
    session = None

    def connect():
        nonlocal session
        session = c.connect()
        return "release_version " + session.execute("SELECT release_version FROM system.local").one().release_version

    check("connect with TLS, server certificate verified", connect)

    def paged():
        session.execute("CREATE KEYSPACE IF NOT EXISTS tls_py WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
        session.execute("CREATE TABLE IF NOT EXISTS tls_py.t (k int PRIMARY KEY, v text)")
        ins = session.prepare("INSERT INTO tls_py.t (k, v) VALUES (?, ?)")
        for i in range(20):
            session.execute(ins, (i, f"v{i}"))
        keys = [r.k for r in session.execute(SimpleStatement("SELECT k FROM tls_py.t", fetch_size=3))]
        assert sorted(keys) == list(range(20)), keys
        return "20 rows in pages of 3"

    if session is not None:
        check("writes and paged reads over TLS", paged)
    c.shutdown()
    check("cleartext client refused", lambda: expect_refused(cluster(None)))
    check("server certificate from an untrusted CA refused", lambda: expect_refused(cluster(OTHER_CA)))
    print(f"{passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
