// What the path-by-hash index costs an insert, by transaction size: N rows (100,000 by default) of commitLocal's
// shape, each read first as commitLocal does, in transactions of each size in BS (300 and 5,000 by default), with
// local_by_hash keyed on the whole hash ('full', schema 5), without it ('none'), and keyed on an 8-character prefix
// ('prefix', as the schema makes it since 6).
// Usage: npm run build && [N=100000] [BS=300,1000,5000] node bench/probes/index-insert.mjs
import Database from 'better-sqlite3';
import { IndexStore } from '../../dist/index/store.js';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
const N = Number(process.env.N ?? 100000);
// Since index schema 6 the schema's own index is the prefix one.
const variants = { full: "DROP INDEX local_by_hash_prefix; CREATE INDEX local_by_hash ON local (folder, hash) WHERE deleted = 0 AND type = 'file'", none: 'DROP INDEX local_by_hash_prefix', prefix: null };
for (const B of (process.env.BS ?? '300,5000').split(',').map(Number)) for (const [name, sql] of Object.entries(variants)) {
  fs.rmSync('/tmp/index-insert', { recursive: true, force: true }); fs.mkdirSync('/tmp/index-insert');
  IndexStore.open('/tmp/index-insert/i.db').close();
  const db = new Database('/tmp/index-insert/i.db'); db.pragma('journal_mode = WAL'); db.pragma('synchronous = NORMAL');
  if (sql) db.exec(sql);
  const cols = db.prepare("PRAGMA table_info(local)").all().map((c) => c.name);
  const ins = db.prepare(`INSERT OR REPLACE INTO local (${cols.join(',')}) VALUES (${cols.map((c) => '@' + c).join(',')})`);
  const get = db.prepare('SELECT * FROM local WHERE folder = ? AND path = ?');
  const tx = db.transaction((rows) => { for (const r of rows) { get.get(r.folder, r.path); ins.run(r); } });
  let t = 0; const cpu0 = process.cpuUsage();
  for (let i = 0; i < N; i += B) {
    const rows = [];
    for (let j = i; j < Math.min(N, i + B); j++) rows.push({ folder: 'f', path: `d${Math.floor(j / 100)}/f${j % 100}`, type: 'file', size: 2000, mtime_ms: 1e12 + j, mode: 420, hash: createHash('sha256').update(String(j)).digest('hex'), target: '', version: `{"a":${j}}`, deleted: 0, sequence: j + 1, inode: j, disk_name: '' });
    const s = performance.now(); tx(rows); t += performance.now() - s;
  }
  const c = process.cpuUsage(cpu0);
  console.log(`batch ${B} ${name}: ${(1000 * t / N).toFixed(1)} us/row wall, cpu ${((c.user + c.system) / 1000).toFixed(0)} ms; load ${fs.readFileSync('/proc/loadavg','utf8').split(' ')[0]}`);
  db.close();
}
