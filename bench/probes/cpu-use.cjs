// Preload for the daemons (or any node process): samples the process's CPU time every 50 ms and
// writes the series to $WZB_CPU_DIR/<pid>.json when it exits. cpu-window.mjs reads them.
//
//   mkdir -p /tmp/cpu && WZB_CPU_DIR=/tmp/cpu WZB_NODE_ARGS="--require $PWD/bench/probes/cpu-use.cjs" \
//     npm run bench -- --workloads BURST --reps 1 && node bench/probes/cpu-window.mjs /tmp/cpu
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const dir = process.env.WZB_CPU_DIR;
if (dir) {
  const samples = [];
  const timer = setInterval(() => {
    const u = process.cpuUsage();
    samples.push([Date.now(), u.user / 1000, u.system / 1000]);
  }, 50);
  timer.unref();
  process.on('exit', () => {
    try {
      fs.writeFileSync(path.join(dir, `${process.pid}.json`), JSON.stringify({ argv: process.argv.slice(1), samples }));
    } catch {
      // a probe must never change how the process ends
    }
  });
}
