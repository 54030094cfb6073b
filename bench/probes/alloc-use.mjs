// Preload for the daemons (or any node process): samples what the main thread allocates, the objects
// the young generation's collections freed included, and writes the sampling profile to
// $WZB_ALLOC_DIR/<pid>.heapprofile when it exits. alloc-top.mjs sums it by allocating function.
// Where the scavenges' time comes from: what is allocated, not what is kept.
//
//   mkdir -p /tmp/alloc && WZB_ALLOC_DIR=/tmp/alloc WZB_NODE_ARGS="--import $PWD/bench/probes/alloc-use.mjs" \
//     npm run bench -- --workloads SMALL --reps 1 && node bench/probes/alloc-top.mjs /tmp/alloc/PID.heapprofile
import fs from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';

const dir = process.env.WZB_ALLOC_DIR;
if (dir && isMainThread) {
  const session = new Session();
  session.connect();
  // One sample per 64 KiB allocated on average (V8's default is 32 KiB).
  session.post('HeapProfiler.startSampling', { samplingInterval: 65536, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true });
  process.on('exit', () => {
    // Synchronous within 'exit': the inspector session answers a post on the same thread at once.
    session.post('HeapProfiler.stopSampling', (err, result) => {
      if (err) return;
      try {
        fs.writeFileSync(path.join(dir, `${process.pid}.heapprofile`), JSON.stringify(result.profile));
      } catch {
        // a probe must never change how the process ends
      }
    });
  });
}
