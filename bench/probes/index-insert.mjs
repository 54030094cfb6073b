// What each index of the local table costs an insert: 20,000 rows of commitLocal's shape in
// batches of 500, with the indexes as the schema makes them, then with some dropped.
// Usage: npm run build && node bench/probes/index-insert.mjs
import Database from 'better-sqlite3';
import { IndexStore } from '../../dist/index/store.js';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
for (const drop of [[], ['local_by_hash'], ['local_by_hash', 'local_by_sequence'], ['local_by_hash', 'local_by_sequence', 'local_disk_names']]) {
  fs.rmSync('/tmp/index-insert', { recursive: true, force: true }); fs.mkdirSync('/tmp/index-insert');
  IndexStore.open('/tmp/index-insert/i.db').close?.();
  const db = new Database('/tmp/index-insert/i.db'); db.pragma('journal_mode = WAL'); db.pragma('synchronous = NORMAL');
  for (const i of drop) db.exec(`DROP INDEX ${i}`);
  const cols = db.prepare("PRAGMA table_info(local)").all().map((c) => c.name);
  const ins = db.prepare(`INSERT OR REPLACE INTO local (${cols.join(',')}) VALUES (${cols.map((c) => '@' + c).join(',')})`);
  const get = db.prepare('SELECT * FROM local WHERE folder = ? AND path = ?');
  const tx = db.transaction((rows) => { for (const r of rows) { get.get(r.folder, r.path); ins.run(r); } });
  const N = 20000, B = 500; let t = 0;
  for (let i = 0; i < N; i += B) {
    const rows = [];
    for (let j = i; j < i + B; j++) { const r = {}; for (const c of cols) r[c] = null;
      Object.assign(r, { folder: 'f', path: `d${Math.floor(j / 100)}/f${j % 100}`, type: 'file', size: 2000, mtime_ms: 1e12 + j, mode: 420, hash: createHash('sha256').update(String(j)).digest('hex'), target: '', version: `{"a":${j}}`, deleted: 0, sequence: j + 1, inode: j, disk_name: '' });
      for (const c of cols) if (r[c] === null) r[c] = 0; rows.push(r); }
    const s = performance.now(); tx(rows); t += performance.now() - s;
  }
  console.log(`dropped [${drop}]: ${(1000 * t / N).toFixed(1)} us/row`);
  db.close();
}
