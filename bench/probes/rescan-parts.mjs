// The two halves of a no-change rescan, apart, on a tree kept by scan-heap.mjs (KEEP=DIR): the walk
// (walkDirs: readdir, lstat, names, ignore rules; no index) and the read of every dir's index rows (as
// stepChanges reads them: LocalReads.comparedBelow, dir by dir; WHOLE=1 reads whole entries with
// LocalReads.below instead). CPU time of each of ROUNDS rounds after one to warm up, and the load.
// Usage: npm run build && node bench/probes/rescan-parts.mjs DIR [ROUNDS]
import os from 'node:os'; import path from 'node:path';
const W = new URL('../../dist', import.meta.url).pathname;
const { walkDirs } = await import(`${W}/index/scanner.js`);
const { compileIgnore } = await import(`${W}/ignore/matcher.js`);
const { IndexStore } = await import(`${W}/index/store.js`);
const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: node bench/probes/rescan-parts.mjs DIR [ROUNDS]');
const rounds = Number(process.argv[3] ?? 5);
const root = path.join(dir, 'f');
const store = IndexStore.open(path.join(dir, 'index.db'));
const opts = { matcher: compileIgnore([]), isInternal: (p) => p === '.wizard' || p.startsWith('.wizard/') };
const read = process.env.WHOLE === '1' ? (d) => store.reads.below('f', d, () => false) : (d) => store.reads.comparedBelow('f', d, () => false);
let files = 0; let rows = 0;
async function timed(fn) { const c = process.cpuUsage(); await fn(); const u = process.cpuUsage(c); return (u.user + u.system) / 1000; }
const dirs = []; for await (const step of walkDirs(root, '', opts)) for (const o of step.seen.values()) if (o.type === 'dir') dirs.push(o.path);
const readAll = () => { for (const d of dirs) for (const r of read(d)) if (r.size >= 0) rows++; };
readAll();
const walkMs = []; const readMs = [];
for (let i = 0; i < rounds; i++) { files = 0; walkMs.push(await timed(async () => { for await (const step of walkDirs(root, '', opts)) files += step.seen.size; })); rows = 0; readMs.push(await timed(readAll)); }
const fmt = (a) => a.map((x) => x.toFixed(0)).join(' ');
console.log(`walk of ${files} paths: ${fmt(walkMs)} ms CPU; read of ${rows} rows (${process.env.WHOLE === '1' ? 'whole entries' : 'compared columns'}) in ${dirs.length} dirs: ${fmt(readMs)} ms CPU; load ${os.loadavg()[0].toFixed(1)}`);
store.close();
