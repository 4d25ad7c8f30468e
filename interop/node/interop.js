'use strict';
// Interop check: drives a running ringdb node with the DataStax Node.js driver
// (npm cassandra-driver). Exits 1 on any mismatch. Environment:
//   RINGDB_HOST           contact point (default 127.0.0.1)
//   RINGDB_PORT           native port (default 9042)
//   RINGDB_PASSWORD_FILE  file holding the superuser 'cassandra' password (required)
// The last line printed is "N passed, M failed".

const fs = require('fs');
const crypto = require('crypto');
const assert = require('assert');
const cassandra = require('cassandra-driver');

const { types, errors, auth } = cassandra;
const Long = types.Long;
const Uuid = types.Uuid;

const HOST = process.env.RINGDB_HOST || '127.0.0.1';
const PORT = parseInt(process.env.RINGDB_PORT || '9042', 10);
const LOCAL_DC = process.env.RINGDB_LOCAL_DC || 'datacenter1';
const PASSWORD_FILE = process.env.RINGDB_PASSWORD_FILE;

let passed = 0;
let failed = 0;

function log(msg) {
  process.stdout.write(msg + '\n');
}

// check records one named check; fn may be async and throws on mismatch.
async function check(name, fn) {
  try {
    const detail = await fn();
    passed++;
    log(`ok   ${name}${detail ? ' — ' + detail : ''}`);
    return true;
  } catch (err) {
    failed++;
    log(`FAIL ${name}: ${describe(err)}`);
    return false;
  }
}

function describe(err) {
  if (!err) return String(err);
  let s = `${err.name || 'Error'}: ${err.message}`;
  if (typeof err.code === 'number') s += ` (code 0x${err.code.toString(16)})`;
  if (err.innerErrors) {
    for (const [host, inner] of Object.entries(err.innerErrors)) {
      s += `\n       ${host}: ${describe(inner)}`;
    }
  }
  return s;
}

function newClient(password, extra) {
  return new cassandra.Client(Object.assign({
    contactPoints: [HOST],
    protocolOptions: { port: PORT, maxVersion: types.protocolVersion.v4 },
    localDataCenter: LOCAL_DC,
    authProvider: new auth.PlainTextAuthProvider('cassandra', password),
    socketOptions: { connectTimeout: 10000, readTimeout: 20000 },
    queryOptions: { consistency: types.consistencies.localOne },
  }, extra || {}));
}

function sortedNums(arr) {
  return (arr || []).slice().sort((a, b) => a - b);
}

// The value a row written by rowValues(pk1, pk2, ck) must read back as.
function rowValues(pk1, pk2, ck) {
  return {
    pk1,
    pk2,
    ck,
    name: `name-${pk1}-${pk2}-${ck}`,
    count: Long.fromString(String(9000000000 + ck)), // > 2^32 to exercise bigint
    flag: ck % 2 === 0,
    ratio: ck + 0.25,
    id: Uuid.fromString(uuidFor(pk1, pk2, ck)),
    ts: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, ck % 1000)),
    tags: [`t${ck}`, 'x', `t${ck}`], // lists keep order and duplicates
    scores: { a: ck, b: -1 - ck },
    nums: [ck + 2, ck, ck + 1], // sets come back sorted, deduplicated
  };
}

function uuidFor(pk1, pk2, ck) {
  const h = crypto.createHash('sha1').update(`${pk1}/${pk2}/${ck}`).digest('hex');
  // RFC 4122 version 5 layout
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function assertRowMatches(row, want) {
  assert.ok(row, 'row missing');
  assert.strictEqual(row.pk1, want.pk1, 'pk1');
  assert.strictEqual(row.pk2, want.pk2, 'pk2');
  assert.strictEqual(row.ck, want.ck, 'ck');
  assert.strictEqual(row.name, want.name, 'name (text)');
  assert.ok(row.count instanceof Long, `count is not a Long: ${typeof row.count}`);
  assert.strictEqual(row.count.toString(), want.count.toString(), 'count (bigint)');
  assert.strictEqual(row.flag, want.flag, 'flag (boolean)');
  assert.strictEqual(row.ratio, want.ratio, 'ratio (double)');
  assert.ok(row.id instanceof Uuid, 'id is not a Uuid');
  assert.strictEqual(row.id.toString(), want.id.toString(), 'id (uuid)');
  assert.ok(row.ts instanceof Date, 'ts is not a Date');
  assert.strictEqual(row.ts.getTime(), want.ts.getTime(), 'ts (timestamp)');
  assert.deepStrictEqual(row.tags, want.tags, 'tags (list<text>)');
  assert.deepStrictEqual(Object.assign({}, row.scores), want.scores, 'scores (map<text,int>)');
  assert.deepStrictEqual(row.nums, Array.from(new Set(sortedNums(want.nums))), 'nums (set<int>)');
}

async function main() {
  if (!PASSWORD_FILE) {
    log('RINGDB_PASSWORD_FILE is not set');
    process.exit(2);
  }
  const password = fs.readFileSync(PASSWORD_FILE, 'utf8').trim();
  const ks = `interop_node_${crypto.randomBytes(4).toString('hex')}`;
  const table = 'items';
  const fq = `${ks}.${table}`;
  log(`node cassandra-driver ${require('cassandra-driver/package.json').version} -> ${HOST}:${PORT}, keyspace ${ks}`);

  const client = newClient(password);
  const connected = await check('connect with PasswordAuthenticator', async () => {
    await client.connect();
    const hosts = client.hosts.values().map((h) => `${h.address} dc=${h.datacenter}`);
    return hosts.join(', ');
  });
  if (!connected) return finish(client);

  await check('protocol negotiation: unpinned driver settles on v4', async () => {
    // Without maxVersion the driver opens with its newest protocol and must
    // step down to v4 on ringdb's "Invalid or unsupported protocol version".
    const c2 = new cassandra.Client({
      contactPoints: [HOST], protocolOptions: { port: PORT }, localDataCenter: LOCAL_DC,
      credentials: { username: 'cassandra', password },
    });
    try {
      await c2.connect();
      const rs = await c2.execute('SELECT release_version FROM system.local');
      const v = c2.controlConnection.protocolVersion;
      assert.strictEqual(v, types.protocolVersion.v4, 'negotiated protocol version');
      return `negotiated v${v}, release_version=${rs.rows[0].release_version}`;
    } finally {
      await c2.shutdown();
    }
  });

  await check('select release_version from system.local', async () => {
    const rs = await client.execute('SELECT release_version, cluster_name FROM system.local');
    assert.strictEqual(rs.rowLength, 1, 'system.local rows');
    return `release_version=${rs.first().release_version}`;
  });

  await check('create keyspace (SimpleStrategy RF 1)', async () => {
    await client.execute(
      `CREATE KEYSPACE ${ks} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`);
  });

  await check('create table (composite partition key, clustering column, 12 columns)', async () => {
    await client.execute(`CREATE TABLE ${fq} (
      pk1 text, pk2 int, ck int,
      name text, count bigint, flag boolean, ratio double, id uuid, ts timestamp,
      tags list<text>, scores map<text,int>, nums set<int>,
      PRIMARY KEY ((pk1, pk2), ck)
    ) WITH CLUSTERING ORDER BY (ck ASC)`);
  });

  // Simple (unprepared) statements: literals in the CQL text.
  await check('insert with simple statements (CQL literals)', async () => {
    for (let ck = 0; ck < 3; ck++) {
      const v = rowValues('simple', 1, ck);
      const lit = (s) => `'${s.replace(/'/g, "''")}'`;
      await client.execute(`INSERT INTO ${fq} (pk1, pk2, ck, name, count, flag, ratio, id, ts, tags, scores, nums)
        VALUES (${lit(v.pk1)}, ${v.pk2}, ${v.ck}, ${lit(v.name)}, ${v.count.toString()}, ${v.flag}, ${v.ratio},
                ${v.id.toString()}, ${v.ts.getTime()}, [${v.tags.map(lit).join(', ')}],
                {${Object.entries(v.scores).map(([k, n]) => `${lit(k)}: ${n}`).join(', ')}},
                {${v.nums.join(', ')}})`);
    }
  });

  // Simple statements with positional bind values (QUERY with values, no PREPARE).
  await check('insert with simple statements + bound values (unprepared)', async () => {
    const v = rowValues('simple', 1, 3);
    await client.execute(`INSERT INTO ${fq} (pk1, pk2, ck, name, count, flag, ratio, id, ts, tags, scores, nums)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [v.pk1, v.pk2, v.ck, v.name, v.count, v.flag, v.ratio, v.id, v.ts, v.tags, v.scores, v.nums],
    { prepare: false, hints: ['text', 'int', 'int', 'text', 'bigint', 'boolean', 'double', 'uuid', 'timestamp',
      'list<text>', 'map<text,int>', 'set<int>'] });
  });

  await check('read back simple-statement rows (exact values)', async () => {
    const rs = await client.execute(`SELECT * FROM ${fq} WHERE pk1 = 'simple' AND pk2 = 1`);
    assert.strictEqual(rs.rowLength, 4, 'row count');
    rs.rows.forEach((row, i) => assertRowMatches(row, rowValues('simple', 1, i)));
    return `${rs.rowLength} rows`;
  });

  const insertCql = `INSERT INTO ${fq} (pk1, pk2, ck, name, count, flag, ratio, id, ts, tags, scores, nums)
    VALUES (:pk1, :pk2, :ck, :name, :count, :flag, :ratio, :id, :ts, :tags, :scores, :nums)`;
  await check('insert 250 rows with a prepared statement (named bind markers)', async () => {
    // Sequential keeps the load light; 250 round trips are quick on loopback.
    for (let ck = 0; ck < 250; ck++) {
      await client.execute(insertCql, rowValues('paged', 7, ck), { prepare: true });
    }
  });

  await check('prepared select reads back exact values', async () => {
    const q = `SELECT * FROM ${fq} WHERE pk1 = ? AND pk2 = ? AND ck = ?`;
    for (const ck of [0, 1, 123, 249]) {
      const rs = await client.execute(q, ['paged', 7, ck], { prepare: true });
      assert.strictEqual(rs.rowLength, 1, `row count for ck=${ck}`);
      assertRowMatches(rs.first(), rowValues('paged', 7, ck));
    }
  });

  await check('SELECT * column order: partition key, clustering, then regular columns by name', async () => {
    const q = `SELECT * FROM ${fq} WHERE pk1 = ? AND pk2 = ? AND ck = ?`;
    const cols = (await client.execute(q, ['paged', 7, 5], { prepare: true })).columns.map((c) => c.name);
    assert.deepStrictEqual(cols, ['pk1', 'pk2', 'ck', 'count', 'flag', 'id', 'name', 'nums', 'ratio', 'scores',
      'tags', 'ts']);
  });

  await check('paging: 250 rows, fetchSize 50, via pageState', async () => {
    const q = `SELECT ck FROM ${fq} WHERE pk1 = ? AND pk2 = ?`;
    const seen = new Map();
    let pageState;
    let pages = 0;
    do {
      const rs = await client.execute(q, ['paged', 7], { prepare: true, fetchSize: 50, pageState });
      pages++;
      assert.ok(rs.rowLength <= 50, `page ${pages} has ${rs.rowLength} rows > fetchSize`);
      for (const row of rs.rows) seen.set(row.ck, (seen.get(row.ck) || 0) + 1);
      pageState = rs.pageState;
      assert.ok(pages <= 10, 'too many pages (paging state does not advance?)');
    } while (pageState);
    assert.ok(pages >= 5, `only ${pages} pages for 250 rows`);
    assert.strictEqual(seen.size, 250, 'distinct rows seen');
    for (let ck = 0; ck < 250; ck++) assert.strictEqual(seen.get(ck), 1, `ck=${ck} seen ${seen.get(ck)} times`);
    return `${pages} pages`;
  });

  await check('paging: client.eachRow with autoPage, fetchSize 50', async () => {
    const cks = [];
    await new Promise((resolve, reject) => {
      client.eachRow(`SELECT ck FROM ${fq} WHERE pk1 = ? AND pk2 = ?`, ['paged', 7],
        { prepare: true, fetchSize: 50, autoPage: true },
        (n, row) => cks.push(row.ck),
        (err) => (err ? reject(err) : resolve()));
    });
    assert.strictEqual(cks.length, 250, 'rows');
    cks.forEach((ck, i) => assert.strictEqual(ck, i, 'clustering order'));
  });

  await check('paging: full table scan (several partitions), fetchSize 50', async () => {
    const seen = new Set();
    let n = 0;
    for await (const row of client.stream(`SELECT pk1, pk2, ck FROM ${fq}`, [], { fetchSize: 50 })) {
      const key = `${row.pk1}/${row.pk2}/${row.ck}`;
      assert.ok(!seen.has(key), `row ${key} seen twice`);
      seen.add(key);
      n++;
    }
    assert.strictEqual(n, 254, 'rows in table');
  });

  await check('token-aware: server token(pk1, pk2) == driver Murmur3 of the routing key; replicas', async () => {
    // Composite partition key routing key: per component, 2-byte length, bytes, 0x00.
    const component = (buf) => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(buf.length);
      return Buffer.concat([len, buf, Buffer.from([0])]);
    };
    const pk2 = Buffer.alloc(4);
    pk2.writeInt32BE(7);
    const routingKey = Buffer.concat([component(Buffer.from('paged', 'utf8')), component(pk2)]);
    const rs = await client.execute(`SELECT token(pk1, pk2) AS t FROM ${fq} WHERE pk1 = ? AND pk2 = ? LIMIT 1`,
      ['paged', 7], { prepare: true });
    assert.strictEqual(rs.rowLength, 1, 'rows');
    const serverToken = rs.first().t.toString();
    const driverToken = client.metadata.newToken(routingKey).getValue().toString();
    assert.strictEqual(serverToken, driverToken, 'token(pk1, pk2) vs driver Murmur3');
    const replicas = client.getReplicas(ks, routingKey) || [];
    assert.deepStrictEqual(replicas.map((h) => h.address), [`${HOST}:${PORT}`], 'replicas for the key');
    return `token ${serverToken}`;
  });

  await check('schema metadata: keyspace', async () => {
    const meta = await client.metadata.refreshKeyspace(ks).then(() => client.metadata.keyspaces[ks]);
    assert.ok(meta, `keyspace ${ks} not in client.metadata.keyspaces`);
    assert.strictEqual(meta.name, ks);
    assert.ok(/SimpleStrategy$/.test(meta.strategy), `strategy ${meta.strategy}`);
    assert.strictEqual(String(meta.strategyOptions.replication_factor), '1', 'replication_factor');
    return meta.strategy;
  });

  await check('schema metadata: table columns and types', async () => {
    const t = await client.metadata.getTable(ks, table);
    assert.ok(t, `table ${fq} not found by metadata.getTable`);
    assert.strictEqual(t.name, table);
    assert.deepStrictEqual(t.partitionKeys.map((c) => c.name), ['pk1', 'pk2'], 'partition keys');
    assert.deepStrictEqual(t.clusteringKeys.map((c) => c.name), ['ck'], 'clustering keys');
    const dt = types.dataTypes;
    // The driver parses the CQL type names in system_schema.columns: 'text' -> dataTypes.text (0x0a),
    // while result metadata on the wire uses varchar (0x0d); both are the same CQL type.
    const TEXT = dt.text;
    const want = {
      pk1: TEXT, pk2: dt.int, ck: dt.int, name: TEXT, count: dt.bigint, flag: dt.boolean,
      ratio: dt.double, id: dt.uuid, ts: dt.timestamp, tags: dt.list, scores: dt.map, nums: dt.set,
    };
    const got = {};
    for (const c of t.columns) got[c.name] = c.type.code === dt.varchar ? TEXT : c.type.code;
    assert.deepStrictEqual(got, want, 'column type codes');
    const isText = (code) => code === dt.text || code === dt.varchar;
    assert.ok(isText(t.columnsByName.tags.type.info.code), 'list element type');
    assert.ok(isText(t.columnsByName.scores.type.info[0].code), 'map key type');
    assert.deepStrictEqual(t.columnsByName.scores.type.info[1].code, dt.int,
      'map value type');
    assert.strictEqual(t.columnsByName.nums.type.info.code, dt.int, 'set element type');
    return `${t.columns.length} columns`;
  });

  await check('batch (logged, prepared) of 3 inserts + read back', async () => {
    await client.batch([1000, 1001, 1002].map((ck) => ({ query: insertCql, params: rowValues('batch', 2, ck) })),
      { prepare: true });
    const rs = await client.execute(`SELECT * FROM ${fq} WHERE pk1 = ? AND pk2 = ?`, ['batch', 2], { prepare: true });
    assert.strictEqual(rs.rowLength, 3, 'rows');
    rs.rows.forEach((row, i) => assertRowMatches(row, rowValues('batch', 2, 1000 + i)));
  });

  await check('batch (unlogged, simple statements) update + delete', async () => {
    await client.batch([
      { query: `UPDATE ${fq} SET name = 'renamed', nums = nums + {99} WHERE pk1 = 'batch' AND pk2 = 2 AND ck = 1000` },
      { query: `DELETE FROM ${fq} WHERE pk1 = 'batch' AND pk2 = 2 AND ck = 1001` },
    ], { logged: false });
    const rs = await client.execute(`SELECT ck, name, nums FROM ${fq} WHERE pk1 = 'batch' AND pk2 = 2`);
    assert.deepStrictEqual(rs.rows.map((r) => r.ck), [1000, 1002], 'rows after delete');
    assert.strictEqual(rs.rows[0].name, 'renamed');
    assert.deepStrictEqual(rs.rows[0].nums, [1000, 1001, 1002, 99].sort((a, b) => a - b), 'set after add');
  });

  await check('unknown table -> ResponseError code 0x2200 (Invalid)', async () => {
    let err;
    try {
      await client.execute(`SELECT * FROM ${ks}.no_such_table`);
    } catch (e) {
      err = e;
    }
    assert.ok(err, 'query on an unknown table succeeded');
    assert.ok(err instanceof errors.ResponseError, `not a ResponseError: ${describe(err)}`);
    assert.strictEqual(err.code, types.responseErrorCodes.invalid, `code 0x${err.code.toString(16)}`);
    return err.message;
  });

  await check('wrong password -> AuthenticationError', async () => {
    const bad = newClient(password + 'x', { pooling: { warmup: false } });
    let err;
    try {
      await bad.connect();
    } catch (e) {
      err = e;
    } finally {
      await bad.shutdown().catch(() => {});
    }
    assert.ok(err, 'connect with a wrong password succeeded');
    assert.ok(err instanceof errors.NoHostAvailableError, `not NoHostAvailableError: ${describe(err)}`);
    const inner = Object.values(err.innerErrors || {});
    assert.ok(inner.length > 0, 'no inner errors');
    assert.ok(inner.every((e) => e instanceof errors.AuthenticationError),
      `inner errors are not AuthenticationError: ${describe(err)}`);
    return inner[0].message;
  });

  await check('drop keyspace', async () => {
    await client.execute(`DROP KEYSPACE ${ks}`);
  });

  return finish(client);
}

async function finish(client) {
  await client.shutdown().catch(() => {});
  log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

main().catch((err) => {
  failed++;
  log(`FAIL unexpected: ${describe(err)}`);
  log(`${passed} passed, ${failed} failed`);
  process.exit(1);
});
