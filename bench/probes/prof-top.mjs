// Usage: node bench/probes/prof-top.mjs FILE.cpuprofile [ROWS] [--parents] [--from S] [--to S] [--windows S]
// Self time by function (and by file) from a .cpuprofile.
// --parents: a native or library function's self time charged to the nearest caller in our own code (dist/ or src/),
//   so `writeBuffer` shows as what called it (a socket write or a file write).
// --from/--to: only samples between these seconds after the profile's start.
// --windows S: busy time (not idle) of the main thread per window of S seconds, to find the phases of a run.
import fs from 'node:fs';
const args = process.argv.slice(2);
const opt = (name) => { const i = args.indexOf(name); return i < 0 ? undefined : Number(args[i + 1]); };
const file = args[0];
const rows = Number(args.find((a, i) => i > 0 && /^\d+$/.test(a) && !/^--/.test(args[i - 1] ?? '')) ?? 30);
const byParent = args.includes('--parents');
const from = (opt('--from') ?? 0) * 1e6;
const to = (opt('--to') ?? Infinity) * 1e6;
const windowUs = (opt('--windows') ?? 0) * 1e6;
const p = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parentOf = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parentOf.set(c, n);
const isOurs = (n) => /\/(dist|src)\//.test(n.callFrame.url) && !n.callFrame.url.includes('node_modules');
const label = (n) => { const cf = n.callFrame; return `${cf.functionName || '(anon)'} ${cf.url.split('/').slice(-2).join('/')}:${cf.lineNumber}`; };
const self = new Map();
const windows = new Map();
const dt = p.timeDeltas;
let total = 0;
let t = 0;
for (let i = 0; i < p.samples.length; i++) {
  const d = dt[i] ?? 0;
  t += d;
  if (t < from || t > to) continue;
  const n = byId.get(p.samples[i]);
  total += d;
  let key = label(n);
  if (byParent && !isOurs(n) && !n.callFrame.functionName.startsWith('(')) {
    let up = parentOf.get(n.id);
    while (up !== undefined && !isOurs(up)) up = parentOf.get(up.id);
    if (up !== undefined) key = `${n.callFrame.functionName || '(anon)'} <- ${label(up)}`;
  }
  self.set(key, (self.get(key) ?? 0) + d);
  if (windowUs > 0 && n.callFrame.functionName !== '(idle)') {
    const w = Math.floor(t / windowUs);
    windows.set(w, (windows.get(w) ?? 0) + d);
  }
}
const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, rows);
console.log(`total ${(total / 1e3).toFixed(0)} ms`);
for (const [k, v] of top) console.log(`${(v / 1e3).toFixed(0).padStart(7)} ms ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
if (windowUs > 0) {
  const last = Math.floor(t / windowUs);
  const line = [];
  for (let w = 0; w <= last; w++) line.push(`${((w * windowUs) / 1e6).toFixed(0)}s:${Math.round((100 * (windows.get(w) ?? 0)) / windowUs)}%`);
  console.log(`busy per ${windowUs / 1e6} s: ${line.join(' ')}`);
}
