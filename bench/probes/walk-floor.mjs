// The floor under a scan of a tree, in one thread with no index: a walk that lists every dir and lstats every
// entry (what a no-change rescan must do at least), then the same walk reading and SHA-256-hashing every file
// (what a first index must do at least, before any index write). CPU and wall time of each, and the load.
// Usage: node bench/probes/walk-floor.mjs DIR
import fs from 'node:fs'; import path from 'node:path'; import os from 'node:os'; import { createHash } from 'node:crypto';
const root = process.argv[2];
if (root === undefined) throw new Error('usage: node bench/probes/walk-floor.mjs DIR');
function walk(read) {
  let files = 0; let bytes = 0; const stack = [root]; const buf = Buffer.allocUnsafe(1 << 16);
  while (stack.length > 0) {
    const dir = stack.pop();
    for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
      const abs = path.join(dir, d.name); const st = fs.lstatSync(abs);
      if (st.isDirectory()) { stack.push(abs); continue; }
      files++;
      if (!read) continue;
      const fd = fs.openSync(abs, 'r'); const h = createHash('sha256');
      for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) { h.update(buf.subarray(0, n)); bytes += n; }
      fs.closeSync(fd); h.digest();
    }
  }
  return { files, bytes };
}
for (const [label, read] of [['walk + lstat', false], ['walk + lstat + read + SHA-256', true]]) {
  const cpu0 = process.cpuUsage(); const t0 = performance.now();
  const { files, bytes } = walk(read);
  const ms = performance.now() - t0; const cpu = process.cpuUsage(cpu0);
  console.log(`${label}: ${files} files, ${(bytes / 1048576).toFixed(0)} MiB, ${ms.toFixed(0)} ms wall, ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms CPU (load ${os.loadavg()[0].toFixed(1)})`);
}
