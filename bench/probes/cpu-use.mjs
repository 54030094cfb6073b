// Preload for the daemons (or any node process): samples the process's CPU time every 50 ms and
// writes the series to $WZB_CPU_DIR/<pid>.json when it exits. cpu-window.mjs reads them.
//
//   mkdir -p /tmp/cpu && WZB_CPU_DIR=/tmp/cpu WZB_NODE_ARGS="--import $PWD/bench/probes/cpu-use.mjs" \
//     npm run bench -- --workloads BURST --reps 1 && node bench/probes/cpu-window.mjs /tmp/cpu
import fs from 'node:fs';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';

const dir = process.env.WZB_CPU_DIR;
// Worker threads load the preload too; process.cpuUsage() already counts them, once.
if (dir && isMainThread) {
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
