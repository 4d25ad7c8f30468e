#!/usr/bin/env python3
"""Interop check: drives a running ringdb node with the DataStax Python driver
(Debian python3-cassandra). Exits 1 on any mismatch. Environment:

  RINGDB_HOST           contact point (default 127.0.0.1)
  RINGDB_PORT           native port (default 9042)
  RINGDB_PASSWORD_FILE  file holding the superuser 'cassandra' password (required)

The last line printed is "N passed, M failed".
"""

import datetime
import hashlib
import os
import secrets
import sys
import traceback
import uuid

import cassandra
from cassandra import ConsistencyLevel, InvalidRequest, AuthenticationFailed
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster, ExecutionProfile, EXEC_PROFILE_DEFAULT, NoHostAvailable
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy
from cassandra.query import SimpleStatement, BatchStatement, BatchType, dict_factory

HOST = os.environ.get("RINGDB_HOST", "127.0.0.1")
PORT = int(os.environ.get("RINGDB_PORT", "9042"))
LOCAL_DC = os.environ.get("RINGDB_LOCAL_DC", "datacenter1")
PASSWORD_FILE = os.environ.get("RINGDB_PASSWORD_FILE")

passed = 0
failed = 0


class CheckFailed(Exception):
    pass


def expect(cond, msg):
    if not cond:
        raise CheckFailed(msg)


def expect_eq(got, want, what):
    if got != want:
        raise CheckFailed(f"{what}: got {got!r}, want {want!r}")


def check(name, fn):
    """Runs one named check; fn raises on mismatch and may return a detail string."""
    global passed, failed
    try:
        detail = fn()
    except Exception as exc:  # noqa: BLE001 - every failure is reported, then counted
        failed += 1
        print(f"FAIL {name}: {describe(exc)}", flush=True)
        if not isinstance(exc, CheckFailed):
            traceback.print_exc(limit=4, file=sys.stdout)
        return False
    passed += 1
    print(f"ok   {name}" + (f" — {detail}" if detail else ""), flush=True)
    return True


def describe(exc):
    s = f"{type(exc).__name__}: {exc}"
    code = getattr(exc, "code", None)
    if isinstance(code, int):
        s += f" (code 0x{code:04x})"
    return s


def new_cluster(password):
    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=LOCAL_DC)),
        consistency_level=ConsistencyLevel.LOCAL_ONE,
        request_timeout=20,
        row_factory=dict_factory,
    )
    return Cluster(
        contact_points=[HOST],
        port=PORT,
        protocol_version=4,
        auth_provider=PlainTextAuthProvider(username="cassandra", password=password),
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        connect_timeout=10,
        control_connection_timeout=10,
    )


def uuid_for(pk1, pk2, ck):
    h = hashlib.sha1(f"{pk1}/{pk2}/{ck}".encode()).digest()
    return uuid.UUID(bytes=h[:16], version=5)


def row_values(pk1, pk2, ck):
    """The values written for one row, as the driver must read them back."""
    return {
        "pk1": pk1,
        "pk2": pk2,
        "ck": ck,
        "name": f"name-{pk1}-{pk2}-{ck} ünïcødé",
        "count": 9_000_000_000 + ck,  # > 2^32 to exercise bigint
        "flag": ck % 2 == 0,
        "ratio": ck + 0.25,
        "id": uuid_for(pk1, pk2, ck),
        # naive datetimes are UTC for the driver; timestamps have millisecond precision
        "ts": datetime.datetime(2024, 1, 2, 3, 4, 5, (ck % 1000) * 1000),
        "tags": [f"t{ck}", "x", f"t{ck}"],  # lists keep order and duplicates
        "scores": {"a": ck, "b": -1 - ck},
        "nums": {ck + 2, ck, ck + 1},
    }


COLUMNS = ["pk1", "pk2", "ck", "name", "count", "flag", "ratio", "id", "ts", "tags", "scores", "nums"]


def assert_row(row, want):
    expect(row is not None, "row missing")
    for col in ("pk1", "pk2", "ck", "name", "count", "flag", "ratio", "id", "ts"):
        got = row[col]
        expect_eq(type(got), type(want[col]), f"python type of {col}")
        expect_eq(got, want[col], col)
    expect_eq(list(row["tags"]), want["tags"], "tags (list<text>)")
    expect_eq(dict(row["scores"]), want["scores"], "scores (map<text,int>)")
    # sets come back as a SortedSet: ordered and deduplicated
    expect_eq(list(row["nums"]), sorted(want["nums"]), "nums (set<int>)")


def main():
    if not PASSWORD_FILE:
        print("RINGDB_PASSWORD_FILE is not set", flush=True)
        return 2
    with open(PASSWORD_FILE, encoding="utf-8") as f:
        password = f.read().strip()
    ks = f"interop_py_{secrets.token_hex(4)}"
    table = "items"
    fq = f"{ks}.{table}"
    print(f"python cassandra-driver {cassandra.__version__} -> {HOST}:{PORT}, keyspace {ks}", flush=True)

    cluster = new_cluster(password)
    state = {}

    def connect():
        state["session"] = cluster.connect()
        hosts = [f"{h.endpoint} dc={h.datacenter}" for h in cluster.metadata.all_hosts()]
        return ", ".join(hosts)

    if not check("connect with PasswordAuthenticator", connect):
        return finish(cluster)
    session = state["session"]

    def system_local():
        rows = list(session.execute("SELECT release_version, cluster_name FROM system.local"))
        expect_eq(len(rows), 1, "system.local rows")
        return f"release_version={rows[0]['release_version']}"

    check("select release_version from system.local", system_local)

    def negotiate():
        # Without a pinned version the driver opens with its newest protocol
        # and must step down to v4 on ringdb's "unsupported protocol version".
        c2 = Cluster(contact_points=[HOST], port=PORT,
                     auth_provider=PlainTextAuthProvider(username="cassandra", password=password),
                     connect_timeout=10, control_connection_timeout=10)
        try:
            s2 = c2.connect()
            row = s2.execute("SELECT release_version FROM system.local").one()
            expect_eq(c2.protocol_version, 4, "negotiated protocol version")
            return f"negotiated v{c2.protocol_version}, release_version={row.release_version}"
        finally:
            c2.shutdown()

    check("protocol negotiation: unpinned driver settles on v4", negotiate)

    check("create keyspace (SimpleStrategy RF 1)", lambda: session.execute(
        f"CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"))

    check("create table (composite partition key, clustering column, 12 columns)", lambda: session.execute(f"""
        CREATE TABLE {fq} (
          pk1 text, pk2 int, ck int,
          name text, count bigint, flag boolean, ratio double, id uuid, ts timestamp,
          tags list<text>, scores map<text,int>, nums set<int>,
          PRIMARY KEY ((pk1, pk2), ck)
        ) WITH CLUSTERING ORDER BY (ck ASC)"""))

    insert_simple = (f"INSERT INTO {fq} ({', '.join(COLUMNS)}) VALUES ("
                     + ", ".join(f"%({c})s" for c in COLUMNS) + ")")

    def simple_inserts():
        # The Python driver interpolates the values into the CQL text (no bind values on the wire).
        for ck in range(4):
            session.execute(SimpleStatement(insert_simple), row_values("simple", 1, ck))

    check("insert with simple statements (driver-interpolated CQL literals)", simple_inserts)

    def read_simple():
        rows = list(session.execute(f"SELECT * FROM {fq} WHERE pk1 = %s AND pk2 = %s", ("simple", 1)))
        expect_eq(len(rows), 4, "row count")
        for i, row in enumerate(rows):
            assert_row(row, row_values("simple", 1, i))
        return f"{len(rows)} rows"

    check("read back simple-statement rows (exact values)", read_simple)

    insert_cql = (f"INSERT INTO {fq} ({', '.join(COLUMNS)}) VALUES ("
                  + ", ".join(f":{c}" for c in COLUMNS) + ")")

    def prepared_inserts():
        ps = session.prepare(insert_cql)
        state["insert"] = ps
        expect_eq([c.name for c in ps.column_metadata], COLUMNS, "prepared bind variable names")
        expect_eq(list(ps.routing_key_indexes or []), [0, 1], "routing key indexes (partition key)")
        for ck in range(250):  # sequential keeps the load light
            session.execute(ps, row_values("paged", 7, ck))

    check("insert 250 rows with a prepared statement (named bind markers)", prepared_inserts)

    def prepared_select():
        ps = session.prepare(f"SELECT * FROM {fq} WHERE pk1 = ? AND pk2 = ? AND ck = ?")
        for ck in (0, 1, 123, 249):
            rows = list(session.execute(ps, ("paged", 7, ck)))
            expect_eq(len(rows), 1, f"row count for ck={ck}")
            assert_row(rows[0], row_values("paged", 7, ck))

    check("prepared select reads back exact values", prepared_select)

    def column_order():
        rs = session.execute(f"SELECT * FROM {fq} WHERE pk1 = 'paged' AND pk2 = 7 AND ck = 5")
        expect_eq(list(rs.column_names), ["pk1", "pk2", "ck", "count", "flag", "id", "name", "nums", "ratio",
                                          "scores", "tags", "ts"], "columns")

    check("SELECT * column order: partition key, clustering, then regular columns by name", column_order)

    def paging_manual():
        ps = session.prepare(f"SELECT ck FROM {fq} WHERE pk1 = ? AND pk2 = ?")
        ps.fetch_size = 50
        seen = {}
        pages = 0
        rs = session.execute(ps, ("paged", 7))
        while True:
            pages += 1
            rows = rs.current_rows
            expect(len(rows) <= 50, f"page {pages} has {len(rows)} rows > fetch_size")
            for r in rows:
                seen[r["ck"]] = seen.get(r["ck"], 0) + 1
            expect(pages <= 10, "too many pages (paging state does not advance?)")
            if not rs.has_more_pages:
                break
            # resume from the paging state in a new request, as an application would across requests
            rs = session.execute(ps, ("paged", 7), paging_state=rs.paging_state)
        expect(pages >= 5, f"only {pages} pages for 250 rows")
        expect_eq(len(seen), 250, "distinct rows seen")
        dup = {ck: n for ck, n in seen.items() if n != 1}
        expect(not dup, f"rows seen more than once: {dup}")
        expect_eq(sorted(seen), list(range(250)), "clustering values")
        return f"{pages} pages"

    check("paging: 250 rows, fetch_size 50, via paging_state", paging_manual)

    def paging_iter():
        rs = session.execute(SimpleStatement(f"SELECT ck FROM {fq} WHERE pk1 = 'paged' AND pk2 = 7", fetch_size=50))
        first_page = len(rs.current_rows)
        cks = [r["ck"] for r in rs]  # iterating fetches the following pages transparently
        expect_eq(first_page, 50, "first page size")
        expect_eq(cks, list(range(250)), "rows in clustering order")

    check("paging: ResultSet iteration (automatic paging), fetch_size 50", paging_iter)

    def paging_scan():
        rs = session.execute(SimpleStatement(f"SELECT pk1, pk2, ck FROM {fq}", fetch_size=50))
        keys = [(r["pk1"], r["pk2"], r["ck"]) for r in rs]
        expect_eq(len(keys), 254, "rows in table")
        expect_eq(len(set(keys)), 254, "distinct rows")

    check("paging: full table scan (several partitions), fetch_size 50", paging_scan)

    def paging_matrix():
        # 100 single-row partitions and a wide table with static-only
        # partitions: every shape at every fetch size returns each row once.
        session.execute(f"CREATE TABLE {ks}.single (k int PRIMARY KEY, v int)")
        session.execute(f"CREATE TABLE {ks}.wide (p int, c int, s int static, v int, PRIMARY KEY (p, c))")
        ins = session.prepare(f"INSERT INTO {ks}.single (k, v) VALUES (?, ?)")
        for k in range(100):
            session.execute(ins, (k, k % 7))
        wide = {}
        for p in range(24):
            session.execute(f"UPDATE {ks}.wide SET s = {p} WHERE p = {p}")
            wide[p] = list(range((p * 7) % 13))
            for c in wide[p]:
                session.execute(f"INSERT INTO {ks}.wide (p, c, v) VALUES ({p}, {c}, {p * 100 + c})")
        wide_rows = sorted((p, c) for p, cs in wide.items() for c in (cs or [None]))
        shapes = [
            (f"SELECT k FROM {ks}.single", lambda r: r["k"], sorted(range(100))),
            (f"SELECT DISTINCT k FROM {ks}.single", lambda r: r["k"], sorted(range(100))),
            (f"SELECT k FROM {ks}.single WHERE v = 3 ALLOW FILTERING", lambda r: r["k"],
             [k for k in range(100) if k % 7 == 3]),
            (f"SELECT count(*) AS n FROM {ks}.single", lambda r: r["n"], [100]),
            (f"SELECT p, c FROM {ks}.wide", lambda r: (r["p"], r["c"]), wide_rows),
            (f"SELECT p, c FROM {ks}.wide PER PARTITION LIMIT 2", lambda r: (r["p"], r["c"]),
             sorted((p, c) for p, cs in wide.items() for c in (cs[:2] or [None]))),
            (f"SELECT DISTINCT p FROM {ks}.wide", lambda r: r["p"], sorted(wide)),
        ]
        n = 0
        for query, key, want in shapes:
            for fetch in (1, 2, 7, 10, 33, 100, 999, 5000):
                got = []
                for r in session.execute(SimpleStatement(query, fetch_size=fetch)):
                    got.append(key(r))
                    expect(len(got) <= len(want) + 1, f"{query} (fetch {fetch}): more rows than the table holds")
                expect_eq(sorted(got, key=repr), sorted(want, key=repr), f"{query} (fetch {fetch})")
                n += 1
        # LIMIT with small pages: exactly the first rows of the unpaged scan.
        full = [r["k"] for r in session.execute(SimpleStatement(f"SELECT k FROM {ks}.single", fetch_size=5000))]
        for fetch in (1, 7, 10, 33):
            got = [r["k"] for r in session.execute(SimpleStatement(f"SELECT k FROM {ks}.single LIMIT 37", fetch_size=fetch))]
            expect_eq(got, full[:37], f"LIMIT 37 (fetch {fetch})")
            n += 1
        return f"{n} query/fetch-size combinations"

    check("paging matrix: scans, DISTINCT, filtering, count, PER PARTITION LIMIT, LIMIT at fetch sizes 1..5000", paging_matrix)

    def token_aware():
        ps = session.prepare(f"SELECT token(pk1, pk2) AS t FROM {fq} WHERE pk1 = ? AND pk2 = ? LIMIT 1")
        bound = ps.bind(("paged", 7))
        routing_key = bound.routing_key  # composite: per component 2-byte length, bytes, 0x00
        rows = list(session.execute(bound))
        expect_eq(len(rows), 1, "rows")
        token_map = cluster.metadata.token_map
        expect(token_map is not None, "driver built no token map (system.local tokens/partitioner?)")
        driver_token = token_map.token_class.from_key(routing_key).value
        expect_eq(rows[0]["t"], driver_token, "token(pk1, pk2) vs driver Murmur3")
        replicas = [str(h.endpoint) for h in cluster.metadata.get_replicas(ks, routing_key)]
        expect_eq(replicas, [f"{HOST}:{PORT}"], "replicas for the key")
        return f"token {driver_token}"

    check("token-aware: server token(pk1, pk2) == driver Murmur3 of the routing key; replicas", token_aware)

    def meta_keyspace():
        cluster.refresh_keyspace_metadata(ks)
        km = cluster.metadata.keyspaces.get(ks)
        expect(km is not None, f"keyspace {ks} not in cluster.metadata.keyspaces")
        strategy = type(km.replication_strategy).__name__
        expect_eq(strategy, "SimpleStrategy", "replication strategy")
        expect_eq(km.replication_strategy.replication_factor, 1, "replication_factor")
        return strategy

    check("schema metadata: keyspace", meta_keyspace)

    def meta_table():
        cluster.refresh_table_metadata(ks, table)
        tm = cluster.metadata.keyspaces[ks].tables.get(table)
        expect(tm is not None, f"table {fq} not in metadata")
        expect_eq([c.name for c in tm.partition_key], ["pk1", "pk2"], "partition key")
        expect_eq([c.name for c in tm.clustering_key], ["ck"], "clustering key")
        got = {name: c.cql_type for name, c in tm.columns.items()}
        want = {"pk1": "text", "pk2": "int", "ck": "int", "name": "text", "count": "bigint", "flag": "boolean",
                "ratio": "double", "id": "uuid", "ts": "timestamp", "tags": "list<text>",
                "scores": "map<text, int>", "nums": "set<int>"}
        expect_eq(got, want, "column types")
        expect_eq(tm.clustering_key[0].is_reversed, False, "ck clustering order")
        cql = tm.export_as_string()
        expect("PRIMARY KEY ((pk1, pk2), ck)" in cql, f"exported CQL lacks the primary key: {cql}")
        return f"{len(got)} columns"

    check("schema metadata: table columns and types", meta_table)

    def batch_logged():
        ps = state.get("insert") or session.prepare(insert_cql)
        b = BatchStatement(batch_type=BatchType.LOGGED)
        for ck in (1000, 1001, 1002):
            b.add(ps, row_values("batch", 2, ck))
        session.execute(b)
        rows = list(session.execute(f"SELECT * FROM {fq} WHERE pk1 = %s AND pk2 = %s", ("batch", 2)))
        expect_eq(len(rows), 3, "rows")
        for i, row in enumerate(rows):
            assert_row(row, row_values("batch", 2, 1000 + i))

    check("batch (logged, prepared) of 3 inserts + read back", batch_logged)

    def batch_unlogged():
        b = BatchStatement(batch_type=BatchType.UNLOGGED)
        b.add(SimpleStatement(f"UPDATE {fq} SET name = %s, nums = nums + %s WHERE pk1 = 'batch' AND pk2 = 2 AND ck = 1000"),
              ("renamed", {99}))
        b.add(SimpleStatement(f"DELETE FROM {fq} WHERE pk1 = 'batch' AND pk2 = 2 AND ck = 1001"))
        session.execute(b)
        rows = list(session.execute(f"SELECT ck, name, nums FROM {fq} WHERE pk1 = 'batch' AND pk2 = 2"))
        expect_eq([r["ck"] for r in rows], [1000, 1002], "rows after delete")
        expect_eq(rows[0]["name"], "renamed", "name after update")
        expect_eq(list(rows[0]["nums"]), [99, 1000, 1001, 1002], "set after add")

    check("batch (unlogged, simple statements) update + delete", batch_unlogged)

    def unknown_table():
        try:
            session.execute(f"SELECT * FROM {ks}.no_such_table")
        except InvalidRequest as exc:
            # The driver picks the exception class by the ERROR frame's code (protocol.error_classes):
            # InvalidRequest <- InvalidRequestException.error_code 0x2200; the message carries the wire code.
            expect("code=2200" in str(exc), f"message lacks code=2200: {exc}")
            return str(exc)
        except Exception as exc:  # noqa: BLE001
            raise CheckFailed(f"expected InvalidRequest (0x2200), got {describe(exc)}") from exc
        raise CheckFailed("query on an unknown table succeeded")

    check("unknown table -> InvalidRequest code 0x2200", unknown_table)

    def wrong_password():
        bad = new_cluster(password + "x")
        try:
            bad.connect()
        except NoHostAvailable as exc:
            inner = list(exc.errors.values())
            expect(inner, "NoHostAvailable without per-host errors")
            expect(all(isinstance(e, AuthenticationFailed) for e in inner),
                   f"per-host errors are not AuthenticationFailed: {exc.errors!r}")
            return str(inner[0])
        finally:
            bad.shutdown()
        raise CheckFailed("connect with a wrong password succeeded")

    check("wrong password -> AuthenticationFailed", wrong_password)

    check("drop keyspace", lambda: session.execute(f"DROP KEYSPACE {ks}"))

    return finish(cluster)


def finish(cluster):
    try:
        cluster.shutdown()
    except Exception:  # noqa: BLE001
        pass
    print(f"{passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as exc:  # noqa: BLE001
        failed += 1
        traceback.print_exc(file=sys.stdout)
        print(f"{passed} passed, {failed} failed", flush=True)
        sys.exit(1)
