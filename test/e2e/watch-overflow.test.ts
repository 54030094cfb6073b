/**
 * W1 with real daemons and a real inotify queue overflow: alpha is stopped
 * (SIGSTOP) while more events happen in its folder than the kernel queues for
 * it, so the files created last are never reported (libuv drops the overflow
 * notice). Once alpha runs again it notices the overflow, rescans in full, and
 * every file reaches beta, long before the periodic rescan.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { queueLimit } from '../../src/index/inotify-queue.js';
import { cleanup, startPairedNodes, type TestNode, waitSameTree } from '../support/daemon.js';

let base: string;
let a: TestNode;
let b: TestNode;

beforeAll(async () => {
  ({ base, a, b } = await startPairedNodes('overflow'));
});

afterAll(async () => {
  await cleanup(base, [a, b]);
});

it.skipIf(queueLimit() > 100_000)('W1: events lost to an inotify queue overflow end in a full rescan, and every file syncs', async () => {
  writeFileSync(path.join(a.folder, 'x'), 'x');
  writeFileSync(path.join(a.folder, 'y'), 'y');
  await waitSameTree(a, b);
  const pid = a.daemon?.pid as number;
  process.kill(pid, 'SIGSTOP');
  try {
    // Alternating x and y, so the kernel cannot merge them: enough attribute changes to fill alpha's queue, then new files it never hears of.
    const script = `const fs = require('fs'); const t = new Date();
      for (let i = 0; i < ${Math.ceil(queueLimit() / 2) + 500}; i++) { fs.utimesSync('x', t, t); fs.utimesSync('y', t, t); }
      for (let i = 0; i < 30; i++) fs.writeFileSync('lost-' + i + '.txt', 'after the overflow ' + i);`;
    const res = spawnSync(process.execPath, ['-e', script], { cwd: a.folder });
    expect(res.status, res.stderr.toString()).toBe(0);
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  const tree = await waitSameTree(a, b, 60_000);
  expect(tree.filter((l) => l.startsWith('f lost-'))).toHaveLength(30);
  expect(a.daemon?.log).toContain('the inotify event queue overflowed');
}, 120_000);
