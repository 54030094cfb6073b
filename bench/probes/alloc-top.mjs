#!/usr/bin/env node
// Usage: node bench/probes/alloc-top.mjs FILE.heapprofile [ROWS] [--parents]
// Bytes allocated by function (self), from a sampling heap profile written by alloc-use.mjs.
// --parents: an allocation in a library or in node's own code charged to the nearest caller in our
// code (dist/ or src/), so `Buffer.from` shows as what called it.
import fs from 'node:fs';

const args = process.argv.slice(2);
const rows = Number(args.find((a, i) => i > 0 && /^\d+$/.test(a)) ?? 40);
const byParent = args.includes('--parents');
const { head } = JSON.parse(fs.readFileSync(args[0], 'utf8'));
const isOurs = (cf) => /\/(dist|src)\//.test(cf.url) && !cf.url.includes('node_modules');
const label = (cf) => `${cf.functionName || '(anon)'} ${cf.url.split('/').slice(-2).join('/')}:${cf.lineNumber}`;
const bytes = new Map();
let total = 0;
const walk = (node, ourCaller) => {
  const cf = node.callFrame;
  const here = isOurs(cf) ? label(cf) : ourCaller;
  const self = node.selfSize ?? 0;
  if (self > 0) {
    const key = byParent && !isOurs(cf) && here !== undefined ? `${cf.functionName || '(anon)'} <- ${here}` : label(cf);
    bytes.set(key, (bytes.get(key) ?? 0) + self);
    total += self;
  }
  for (const c of node.children ?? []) walk(c, here);
};
walk(head, undefined);
console.log(`total ${(total / 1048576).toFixed(1)} MiB sampled`);
for (const [k, b] of [...bytes].sort((x, y) => y[1] - x[1]).slice(0, rows)) {
  console.log(`${(b / 1048576).toFixed(1).padStart(8)} MiB ${((100 * b) / total).toFixed(1).padStart(5)}%  ${k}`);
}
