#!/usr/bin/env node
// Read-modify-write workload through node's `sqlite3` package (or better-sqlite3), with its
// defaults.
//
// Usage: node rmw.js DB N [HOLD_MS [WRITER_ID]]
//   Which installation is used is chosen with NODE_PATH, e.g.
//     NODE_PATH=tests/node-system/node_modules   sqlite3 linked to the system libsqlite3
//     NODE_PATH=tests/node-bundled/node_modules  sqlite3 with its own bundled SQLite
//   RMW_NODE_API=better uses better-sqlite3 (NODE_PATH=tests/node-better/node_modules).
//   RMW_NODE_API=node:sqlite uses node's built-in DatabaseSync (node 22.5+; SQLite compiled into
//   the node executable), with its defaults (busy timeout 0).
//   `node rmw.js --version [DB]` prints `sqlite_version()` (asked of DB, default :memory:) and exits.
//
// Runs N transactions of
//   BEGIN; SELECT v FROM counter WHERE id=1; (sleep HOLD_MS);
//   UPDATE counter SET v=<v read>+1 WHERE id=1; INSERT INTO log(writer, i) VALUES(?, ?); COMMIT
// sqlite3: Database#run / #get (each a prepared statement: sqlite3_prepare_v2) awaited one after
// the other; the package's own busy timeout (1000 ms, set at open) is left alone.
// better-sqlite3: db.exec for BEGIN/COMMIT, prepare().get()/.run(); its default timeout (5000 ms).
// A plain deferred BEGIN. A failed transaction is rolled back and counted; errors containing
// "database is locked" are counted separately. The only stdout line is `ok=N failed=M locked=L`.
'use strict';

const api = process.env.RMW_NODE_API || 'sqlite3';
const verbose = !!process.env.RMW_VERBOSE;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The same small interface over both packages: run(sql, params), get(sql) -> first column,
// inTransaction(), close(). All return promises.
function openSqlite3(path) {
  const sqlite3 = require('sqlite3');
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(path, (err) => {
      if (err) return reject(err);
      resolve({
        run: (sql, params) => new Promise((res, rej) => db.run(sql, params || [], (e) => (e ? rej(e) : res()))),
        get: (sql) => new Promise((res, rej) =>
          db.get(sql, [], (e, row) => (e ? rej(e) : res(row ? Object.values(row)[0] : undefined)))),
        // node-sqlite3 has no autocommit accessor: a ROLLBACK that finds no transaction is harmless.
        inTransaction: () => true,
        close: () => new Promise((res, rej) => db.close((e) => (e ? rej(e) : res()))),
      });
    });
  });
}

function openBetter(path) {
  const Database = require('better-sqlite3');
  const db = new Database(path);
  return Promise.resolve({
    run: async (sql, params) => {
      if (params && params.length) db.prepare(sql).run(...params);
      else db.exec(sql);
    },
    get: async (sql) => db.prepare(sql).pluck().get(),
    inTransaction: () => db.inTransaction,
    close: async () => db.close(),
  });
}

function openNodeSqlite(path) {
  const { DatabaseSync } = require('node:sqlite');
  const db = new DatabaseSync(path);
  return Promise.resolve({
    run: async (sql, params) => {
      if (params && params.length) db.prepare(sql).run(...params);
      else db.exec(sql);
    },
    get: async (sql) => {
      const row = db.prepare(sql).get();
      return row ? Object.values(row)[0] : undefined;
    },
    inTransaction: () => db.isTransaction,
    close: async () => db.close(),
  });
}

async function main(argv) {
  const open = api === 'better' ? openBetter : api === 'node:sqlite' ? openNodeSqlite : openSqlite3;
  if (argv[0] === '--version') {
    const db = await open(argv[1] || ':memory:');
    console.log(await db.get('SELECT sqlite_version()'));
    await db.close();
    return 0;
  }
  if (argv.length < 2) {
    process.stderr.write('usage: rmw.js DB N [HOLD_MS [WRITER_ID]]\n');
    return 2;
  }
  const [path, nArg, holdArg, writerArg] = argv;
  const n = parseInt(nArg, 10);
  const hold = holdArg ? parseInt(holdArg, 10) : 0;
  const writer = writerArg ? parseInt(writerArg, 10) : 0;

  const db = await open(path);
  let ok = 0, failed = 0, locked = 0;
  for (let i = 0; i < n; i++) {
    try {
      await db.run('BEGIN');
      const v = await db.get('SELECT v FROM counter WHERE id=1');
      if (v === undefined) throw new Error('no counter row');
      if (hold > 0) await sleep(hold);
      await db.run('UPDATE counter SET v=? WHERE id=1', [v + 1]);
      await db.run('INSERT INTO log(writer, i) VALUES(?, ?)', [writer, i]);
      await db.run('COMMIT');
      ok++;
    } catch (e) {
      failed++;
      if (String(e.message).includes('database is locked')) locked++;
      if (verbose) process.stderr.write(`rmw.js: transaction ${i} failed: ${e.message}\n`);
      if (db.inTransaction()) {
        try {
          await db.run('ROLLBACK');
        } catch (e2) {
          if (!String(e2.message).includes('no transaction is active')) {
            process.stderr.write(`rmw.js: rollback failed: ${e2.message}\n`);
          }
        }
      }
    }
  }
  await db.close();
  console.log(`ok=${ok} failed=${failed} locked=${locked}`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e) => { process.stderr.write(`rmw.js: ${e.stack || e}\n`); process.exitCode = 1; });
