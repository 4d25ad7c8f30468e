#!/usr/bin/env node
// TLS interop check: drives a ringdb node whose native port requires TLS
// (client_encryption_options) with the DataStax Node.js driver. Environment:
//
//   RINGDB_HOST           contact point (default 127.0.0.1)
//   RINGDB_PORT           native port (default 9042)
//   RINGDB_PASSWORD_FILE  file holding the superuser 'cassandra' password (required)
//   RINGDB_TLS_CA         PEM CA certificate that signed the node's certificate (required)
//   RINGDB_TLS_OTHER_CA   PEM certificate of a CA the node does not use (required)
//
// The last line printed is "N passed, M failed".
'use strict';

const fs = require('fs');
const assert = require('assert');
const cassandra = require('cassandra-driver');

const HOST = process.env.RINGDB_HOST || '127.0.0.1';
const PORT = parseInt(process.env.RINGDB_PORT || '9042', 10);
const password = fs.readFileSync(process.env.RINGDB_PASSWORD_FILE, 'utf8').trim();
const ca = fs.readFileSync(process.env.RINGDB_TLS_CA);
const otherCA = fs.readFileSync(process.env.RINGDB_TLS_OTHER_CA);

let passed = 0;
let failed = 0;

async function check(name, fn) {
  try {
    const detail = await fn();
    passed++;
    console.log(`ok   ${name}${detail ? ': ' + detail : ''}`);
  } catch (err) {
    failed++;
    console.log(`FAIL ${name}: ${err && err.stack ? err.stack.split('\n').slice(0, 3).join(' | ') : err}`);
  }
}

function newClient(sslOptions) {
  const opts = {
    contactPoints: [`${HOST}:${PORT}`],
    localDataCenter: 'datacenter1',
    credentials: { username: 'cassandra', password },
    socketOptions: { connectTimeout: 5000, readTimeout: 10000 },
    policies: { reconnection: new cassandra.policies.reconnection.ConstantReconnectionPolicy(60000) },
  };
  if (sslOptions) {
    opts.sslOptions = sslOptions;
  }
  return new cassandra.Client(opts);
}

// expectConnectFails connects and expects the connection to be refused.
async function expectConnectFails(client, pattern) {
  try {
    await client.connect();
  } catch (err) {
    const text = JSON.stringify(err.innerErrors || {}) + String(err.message);
    assert.match(text, pattern);
    return err.message.slice(0, 120);
  } finally {
    await client.shutdown();
  }
  throw new Error('connected');
}

async function main() {
  console.log(`node cassandra-driver ${require('cassandra-driver/package.json').version} (TLS) -> ${HOST}:${PORT}`);
  const client = newClient({ ca: [ca], rejectUnauthorized: true });
  await check('connect with TLS, server certificate verified', async () => {
    await client.connect();
    const rs = await client.execute('SELECT release_version FROM system.local');
    return `release_version ${rs.first().release_version}`;
  });
  await check('writes and paged reads over TLS', async () => {
    await client.execute("CREATE KEYSPACE IF NOT EXISTS tls_node WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
    await client.execute('CREATE TABLE IF NOT EXISTS tls_node.t (k int PRIMARY KEY, v text)');
    for (let i = 0; i < 20; i++) {
      await client.execute('INSERT INTO tls_node.t (k, v) VALUES (?, ?)', [i, 'v' + i], { prepare: true });
    }
    const seen = new Set();
    for await (const row of client.stream('SELECT k FROM tls_node.t', [], { prepare: true, fetchSize: 3 })) {
      assert.ok(!seen.has(row.k), `row ${row.k} twice`);
      seen.add(row.k);
    }
    assert.strictEqual(seen.size, 20);
    return '20 rows in pages of 3';
  });
  await client.shutdown();
  await check('cleartext client refused', () => expectConnectFails(newClient(null), /./));
  await check('server certificate from an untrusted CA refused', () =>
    expectConnectFails(newClient({ ca: [otherCA], rejectUnauthorized: true }), /certificate|self.signed|verify/i));
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((err) => {
  console.log(`FAIL unexpected: ${err.stack}`);
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exit(1);
});
