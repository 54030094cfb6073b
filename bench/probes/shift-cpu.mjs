#!/usr/bin/env node
/**
 * CPU of the two daemons for each SHIFT repetition of a bench run (groups shift-1, shift-2, ...):
 * each daemon's last busy stretch of the group (samples of the series cpu-use.mjs writes, over
 * 5 ms per 50 ms, gaps under 0.6 s; stretches under 80 ms, small work after the change such as its index exchange and the shutdown, left out). On A
 * that is the rescan of the shifted file, on B its pull. last-burst-cpu.mjs does the same for
 * EDIT from the sender's side; in a SHIFT group the sender's last stretch is not always the change.
 *
 *   mkdir -p /tmp/cpu && WZB_CPU_DIR=/tmp/cpu WZB_NODE_ARGS="--import $PWD/bench/probes/cpu-use.mjs" \
 *     npm run bench -- --workloads SHIFT --reps 3 && node bench/probes/shift-cpu.mjs /tmp/cpu
 */
import fs from 'node:fs';
import path from 'node:path';

const [dir] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node bench/probes/shift-cpu.mjs DIR (the WZB_CPU_DIR of a run)');
  process.exit(2);
}
const all = fs
  .readdirSync(dir)
  .filter((n) => n.endsWith('.json'))
  .map((n) => JSON.parse(fs.readFileSync(path.join(dir, n), 'utf8')))
  .map(({ argv, samples }) => ({ home: argv.includes('--home') ? argv[argv.indexOf('--home') + 1] : '', samples }))
  .filter((s) => s.samples.length > 5);
const groups = [...new Set(all.map((s) => /\/(shift-\d+)\//.exec(s.home)?.[1]).filter(Boolean))].sort();
/** The CPU (ms) and length (s) of the last busy stretch of the last daemon started in `home` of `group`. */
function lastStretch(group, home) {
  const s = all.filter((x) => x.home.includes(`/${group}/`) && x.home.endsWith(home)).sort((a, b) => a.samples[0][0] - b.samples[0][0]).at(-1);
  if (!s) return undefined;
  const stretches = [];
  let cur;
  for (let i = 1; i < s.samples.length; i++) {
    const d = s.samples[i][1] + s.samples[i][2] - s.samples[i - 1][1] - s.samples[i - 1][2];
    if (d <= 5) continue;
    const t = s.samples[i][0];
    if (cur === undefined || t - cur.end > 600) stretches.push((cur = { start: t, end: t, cpu: 0 }));
    cur.end = t;
    cur.cpu += d;
  }
  const last = stretches.filter((x) => x.cpu >= 80).at(-1);
  return last && { cpu: Math.round(last.cpu), s: ((last.end - last.start) / 1000 + 0.05).toFixed(2) };
}
for (const g of groups) {
  const [a, b] = [lastStretch(g, 'hA'), lastStretch(g, 'hB')];
  console.log(`${g}: sender (hA) ${a ? `${a.cpu} ms CPU in ${a.s} s` : '?'}; receiver (hB) ${b ? `${b.cpu} ms CPU in ${b.s} s` : '?'}`);
}
