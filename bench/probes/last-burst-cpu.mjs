#!/usr/bin/env node
/**
 * CPU of the two daemons of one bench group in its last live change (EDIT after BIG): the
 * sender's last busy stretch (samples over 10 ms, gaps of up to half a second), and both
 * daemons' CPU from its start to 3 s after its end, pool threads included. Reads the series
 * cpu-use.mjs writes; cpu-window.mjs takes the longest busy stretch instead (BIG's sync here).
 *
 *   mkdir -p /tmp/cpu && WZB_CPU_DIR=/tmp/cpu WZB_NODE_ARGS="--import $PWD/bench/probes/cpu-use.mjs" \
 *     npm run bench -- --workloads EDIT --reps 1 && node bench/probes/last-burst-cpu.mjs /tmp/cpu [big-1]
 */
import fs from 'node:fs';
import path from 'node:path';

const [dir, group = 'big-1'] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node bench/probes/last-burst-cpu.mjs DIR [GROUP] (the WZB_CPU_DIR of a run; GROUP big-1 by default)');
  process.exit(2);
}
const series = fs
  .readdirSync(dir)
  .filter((n) => n.endsWith('.json'))
  .map((n) => JSON.parse(fs.readFileSync(path.join(dir, n), 'utf8')))
  .map(({ argv, samples }) => ({ home: argv.includes('--home') ? argv[argv.indexOf('--home') + 1] : '', samples }))
  .filter((s) => s.home.includes(`/${group}/`) && s.samples.length > 10);
/** The last started daemon of a home (BIG restarts A). */
const last = (h) => series.filter((s) => s.home.endsWith(h)).sort((a, b) => a.samples[0][0] - b.samples[0][0]).at(-1);
const [A, B] = [last('hA'), last('hB')];
if (!A || !B) {
  console.error(`no series of ${group}'s hA and hB in ${dir}`);
  process.exit(1);
}
/** CPU ms per sample interval: [time, ms]. */
const steps = (s) => s.samples.slice(1).map(([t, u, y], i) => [t, u + y - s.samples[i][1] - s.samples[i][2]]);
const a = steps(A);
let i = a.length - 1;
while (i > 0 && !(a[i][1] > 10 && a[i - 1][1] > 10)) i--;
const end = a[i][0];
let j = i;
let gap = 0;
while (j > 0 && gap <= 10) {
  j--;
  gap = a[j][1] > 10 ? 0 : gap + 1;
}
const from = a[j + gap][0] - 100;
const sum = (s) => Math.round(steps(s).filter(([t]) => t >= from && t <= end + 3000).reduce((n, [, ms]) => n + ms, 0));
console.log(`sender busy ${((end - from) / 1000).toFixed(2)} s; to 3 s after: sender (hA) ${sum(A)} ms CPU, receiver (hB) ${sum(B)} ms CPU`);
