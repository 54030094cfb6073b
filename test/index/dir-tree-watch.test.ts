import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { watchTree, type TreeWatch } from '../../src/index/dir-tree-watch.js';
import { queueLimit } from '../../src/index/inotify-queue.js';
import { waitFor } from '../support/wait.js';

let root: string;
let tree: TreeWatch | undefined;
let seen: string[];

beforeEach(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'wizard-watch-'));
  mkdirSync(path.join(root, '.wizard'));
  seen = [];
  tree = await watchTree(root, { onPaths: (rels) => seen.push(...rels), onError: (err) => seen.push(`error: ${err.message}`), isExcluded: (rel) => rel === '.wizard' });
});

afterEach(() => {
  tree?.close();
  rmSync(root, { recursive: true, force: true });
});

it('W3: reports a dir created all at once (mkdir -p) again once every dir inside is watched, and sees later changes deep inside', async () => {
  mkdirSync(path.join(root, 'a', 'b', 'c'), { recursive: true });
  writeFileSync(path.join(root, 'a', 'b', 'c', 'first.txt'), '1');
  // A new dir is reported when it appears and again once every dir inside it is watched.
  await waitFor('the new tree to be watched', () => seen.filter((p) => p === 'a').length >= 2);
  writeFileSync(path.join(root, 'a', 'b', 'c', 'second.txt'), '2');
  await waitFor('the save deep inside to be reported', () => seen.includes('a/b/c/second.txt'));
});

it('reports changes at the root and never inside .wizard', async () => {
  writeFileSync(path.join(root, '.wizard', 'internal'), 'x');
  writeFileSync(path.join(root, 'top.txt'), 'x');
  await waitFor('top.txt', () => seen.includes('top.txt'));
  expect(seen.filter((p) => p.startsWith('.wizard'))).toEqual([]);
});

it.skipIf(queueLimit() > 100_000)('W1: a real overflow of the kernel event queue, which libuv drops unseen, is reported as one error', async () => {
  // The JS thread is blocked while a child creates more files than the queue holds: the kernel drops the rest.
  const files = queueLimit() + 2000;
  execFileSync('sh', ['-c', `seq 1 ${files} | xargs touch`], { cwd: root });
  await waitFor('the overflow reported', () => seen.some((p) => p.startsWith('error: the inotify event queue overflowed')));
  // The kernel's events come in order: once a file written after the burst is seen, so is anything the burst set off.
  writeFileSync(path.join(root, 'after-the-burst'), 'x');
  await waitFor('the file written after the burst', () => seen.includes('after-the-burst'));
  expect(seen.filter((p) => p.startsWith('error:'))).toEqual(['error: the inotify event queue overflowed (fs.inotify.max_queued_events): events were lost']);
}, 60_000);

it('W1: an ordinary burst is not taken for an overflow', async () => {
  execFileSync('sh', ['-c', 'seq 1 2000 | xargs touch'], { cwd: root });
  await waitFor('the burst seen', () => seen.includes('2000'));
  // The kernel's events come in order: once a file written after the burst is seen, an overflow the burst caused would be too.
  writeFileSync(path.join(root, 'after-the-burst'), 'x');
  await waitFor('the file written after the burst', () => seen.includes('after-the-burst'));
  expect(seen.filter((p) => p.startsWith('error:'))).toEqual([]);
});
