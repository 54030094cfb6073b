#!/usr/bin/env node
/**
 * CPU each sampled process used (user and system, pool and GC threads included) in the longest
 * busy stretch of a run: the 100 ms buckets where the processes together used more than 40 ms,
 * joined across gaps of up to half a second. With cpu-use.mjs as the daemons' preload, this is
 * a workload's CPU per daemon without the start-up and shut-down around it.
 *
 *   node bench/probes/cpu-window.mjs DIR
 */
import fs from 'node:fs';
import path from 'node:path';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node bench/probes/cpu-window.mjs DIR (the WZB_CPU_DIR of a run)');
  process.exit(2);
}
/** A process's name: the dir of its --home (the bench's daemons are homes hA and hB), else its script. */
const name = (argv) => (argv.includes('--home') ? path.basename(argv[argv.indexOf('--home') + 1]) : path.basename(argv[0] ?? '?'));
const series = Object.fromEntries(
  fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .map((n) => [n.replace(/\.json$/, ''), JSON.parse(fs.readFileSync(path.join(dir, n), 'utf8'))])
    .map(([pid, { argv, samples }]) => [`${name(argv)} (pid ${pid})`, samples]),
);
const deltas = (s) => s.slice(1).map(([t, u, sy], i) => ({ t, user: u - s[i][1], sys: sy - s[i][2] }));
const busy = new Map();
for (const s of Object.values(series)) for (const d of deltas(s)) busy.set(Math.floor(d.t / 100), (busy.get(Math.floor(d.t / 100)) ?? 0) + d.user + d.sys);
const buckets = [...busy].filter(([, ms]) => ms > 40).map(([b]) => b).sort((a, b) => a - b);
if (buckets.length === 0) {
  console.log('no busy stretch');
  process.exit(0);
}
const runs = [[buckets[0]]];
for (const b of buckets.slice(1)) {
  const run = runs[runs.length - 1];
  if (b - run[run.length - 1] <= 5) run.push(b);
  else runs.push([b]);
}
const longest = runs.reduce((a, b) => (b[b.length - 1] - b[0] > a[a.length - 1] - a[0] ? b : a));
const [lo, hi] = [longest[0] * 100, (longest[longest.length - 1] + 1) * 100];
console.log(`busy stretch: ${hi - lo} ms`);
for (const [who, s] of Object.entries(series)) {
  let user = 0;
  let sys = 0;
  for (const d of deltas(s)) if (d.t >= lo && d.t < hi) (user += d.user), (sys += d.sys);
  if (user + sys > 0) console.log(`${who}: ${Math.round(user)} ms user, ${Math.round(sys)} ms system`);
}
