// Where a daemon's main thread spends its time, by part of the data path, from a .cpuprofile (the
// "before and after" tables of docs/BENCHMARKS.md). Each sample goes to the first part that a frame
// of its stack names, looking from the leaf up: a `lstat` called by real-path.js is a path check, a
// `writeBuffer` called by the transport is a message. The rules are below, in order.
// Usage: node bench/probes/prof-parts.mjs FILE.cpuprofile [--from S] [--to S] [--json]
import fs from 'node:fs';

/** Parts in the order they are tried at each frame; the first whose test a frame passes takes the sample. */
const PARTS = [
  ['garbage collection', (fn) => fn === '(garbage collector)'],
  ['idle', (fn) => fn === '(idle)'],
  ['dir fsyncs', (fn, url) => fn === 'fsyncPath' && url.includes('group-commit')],
  ['path checks (lstat of the dirs above, the temp dir)', (fn, url) => url.includes('index/real-path') || fn === 'sharedTempDirStat' || fn === 'sharedTempDir'],
  ['file writes: temp files, write, fsync, rename', (fn, url) => /disk\/temp-place|pull\/fetch|pull\/writeback|\/patch\//.test(url) || fn === 'replaceWith'],
  ['file reads for peers (open, fstat, read)', (fn, url) => url.includes('/serve/')],
  ['SQLite: reads, writes, commits', (fn, url) => /better-sqlite3|\/index\/(store|remote-entries|local-reads|store-rows|stale-hashes|sums|wal-checkpointer|wal-index|index-file|local-stats)/.test(url)],
  ['hashing and scans', (fn, url) => /\/scan\/|index\/(scanner|dir-tree-watch|dir-listings|watcher|inotify-queue|coalescer)|\/workers\/|content-hash|\/delta\/|hasher/.test(url)],
  // Peers' links only: TLS is theirs alone (the control socket and the web page are not TLS); a socket
  // write deep in node's stream code is found by the transport frame above it.
  ['messages: TLS, framing, codec', (fn, url) => /\/transport\/|\/protocol\/|node:tls|_tls_wrap/.test(url)],
];
const OTHER = 'other';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i < 0 ? undefined : Number(args[i + 1]);
};
const from = (opt('--from') ?? 0) * 1e6;
const to = (opt('--to') ?? Infinity) * 1e6;
const file = args.find((a, i) => !a.startsWith('--') && !['--from', '--to'].includes(args[i - 1] ?? ''));
if (file === undefined) throw new Error('usage: node bench/probes/prof-parts.mjs FILE.cpuprofile [--from S] [--to S] [--json]');
const p = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parentOf = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parentOf.set(c, n);

/** The part a node's samples go to: memoised, since every sample of a node has the same stack. */
const partOfNode = new Map();
function partOf(node) {
  let got = partOfNode.get(node.id);
  if (got !== undefined) return got;
  got = OTHER;
  search: for (let n = node; n !== undefined; n = parentOf.get(n.id)) {
    for (const [name, test] of PARTS) {
      if (test(n.callFrame.functionName, n.callFrame.url)) {
        got = name;
        break search;
      }
    }
  }
  partOfNode.set(node.id, got);
  return got;
}

const us = new Map();
let t = 0;
let total = 0;
for (let i = 0; i < p.samples.length; i++) {
  const d = p.timeDeltas[i] ?? 0;
  t += d;
  if (t < from || t > to) continue;
  total += d;
  const part = partOf(byId.get(p.samples[i]));
  us.set(part, (us.get(part) ?? 0) + d);
}
const rows = [...PARTS.map(([name]) => name), OTHER].map((name) => [name, (us.get(name) ?? 0) / 1e6]);
if (args.includes('--json')) console.log(JSON.stringify({ window_s: total / 1e6, parts: Object.fromEntries(rows) }));
else {
  for (const [name, s] of rows) console.log(`${s.toFixed(2).padStart(6)} s  ${name}`);
  console.log(`${(total / 1e6).toFixed(2).padStart(6)} s  window`);
}
