// Real SQL through Node 26's compiled-in SQLite (node:sqlite), for tests/patch/run-tests.
const { DatabaseSync } = require('node:sqlite');
const db = new DatabaseSync(':memory:');
db.exec('create table t(a integer, b text)');
const ins = db.prepare('insert into t values (?, ?)');
for (let i = 0; i < 100; i++) ins.run(i, 'row-' + (i * 37 % 100));
const r = db.prepare('select sum(a) as s, count(distinct b) as d, sqlite_version() as v from t').get();
let caught = '';
try { db.prepare('select nope from t'); } catch (e) { caught = e.message; }
db.exec('vacuum');
db.close();
console.log(JSON.stringify({ ...r, caught }));
