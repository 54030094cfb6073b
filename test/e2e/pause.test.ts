/**
 * Pausing a folder, with two real daemons that share two folders: a paused
 * folder is not scanned, pulled or offered to the peer, while the other
 * folder syncs on over the same link; unpausing scans what changed meanwhile
 * on both sides and syncs it, a deletion included (the index was kept).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanup, runCli, startPairedNodes, waitConnected, type TestNode } from '../support/daemon.js';
import { waitFor } from '../support/wait.js';

let base: string;
let a: TestNode;
let b: TestNode;
const other = (n: TestNode) => path.join(base, n.name, 'other');

beforeAll(async () => {
  ({ base, a, b } = await startPairedNodes('pause'));
  for (const [n, peer] of [
    [a, b],
    [b, a],
  ] as const) {
    mkdirSync(other(n), { recursive: true });
    const added = await runCli(n.home, ['folder', 'add', 'other', other(n), '--share', peer.id]);
    expect(added.code, added.stderr).toBe(0);
  }
  writeFileSync(path.join(a.folder, 'old.txt'), 'there before the pause');
  await waitFor('old.txt on beta', () => existsSync(path.join(b.folder, 'old.txt')));
  await waitConnected(a, b);
}, 60_000);

afterAll(async () => {
  await cleanup(base, [a, b]);
});

const folderOf = async (n: TestNode, id: string) => (await n.daemon?.status())?.folders.find((f) => f.id === id);
const read = (dir: string, rel: string) => (existsSync(path.join(dir, rel)) ? readFileSync(path.join(dir, rel), 'utf8') : undefined);

it('a paused folder is neither scanned nor synced while the other folder syncs over the same link; unpaused, both sides catch up', async () => {
  const paused = await runCli(a.home, ['folder', 'pause', 'shared', '--json']);
  expect(paused.code, paused.stderr).toBe(0);
  expect(JSON.parse(paused.stdout)).toEqual({ id: 'shared', paused: true, daemonNotified: true });
  await waitFor('alpha to show shared paused', async () => (await folderOf(a, 'shared'))?.state === 'paused');
  const status = await runCli(a.home, ['status']);
  expect(status.stdout).toContain("paused ('wizard folder unpause shared' resumes it)");
  const atPause = await folderOf(a, 'shared');
  await waitConnected(a, b);

  // Changes on both sides while paused: a new file and a deletion on alpha, a new file on beta.
  writeFileSync(path.join(a.folder, 'new.txt'), 'written while paused');
  rmSync(path.join(a.folder, 'old.txt'));
  writeFileSync(path.join(b.folder, 'theirs.txt'), 'beta wrote it while alpha paused');
  // Then a file in the folder that is not paused. Once it is on beta, a live 'shared' would most
  // likely have recorded alpha's changes (written first, watched the same way) and sent them, and
  // taken beta's file: what is asserted next would then fail, though no ordering guarantees it.
  writeFileSync(path.join(other(a), 'o.txt'), 'the other folder syncs on');
  await waitFor('o.txt on beta', () => read(other(b), 'o.txt') === 'the other folder syncs on');
  await waitFor('beta in step on other', async () => (await folderOf(b, 'other'))?.inSync === true);
  // What alpha's index holds of the paused folder has not moved: the new file and the deletion would
  // change the bytes (20 in, 22 out), though they cancel out in the file count.
  const nowPaused = await folderOf(a, 'shared');
  expect({ files: nowPaused?.files, bytes: nowPaused?.bytes, state: nowPaused?.state }).toEqual({ files: atPause?.files, bytes: atPause?.bytes, state: 'paused' });
  expect(read(b.folder, 'new.txt')).toBeUndefined();
  expect(read(b.folder, 'old.txt')).toBe('there before the pause');
  expect(read(a.folder, 'theirs.txt')).toBeUndefined();

  const unpaused = await runCli(a.home, ['folder', 'unpause', 'shared']);
  expect(unpaused.code, unpaused.stderr).toBe(0);
  expect(unpaused.stdout).toContain("Folder 'shared' is unpaused.");
  await waitFor('alpha\'s changes on beta', () => read(b.folder, 'new.txt') === 'written while paused' && read(b.folder, 'old.txt') === undefined);
  await waitFor('beta\'s file on alpha', () => read(a.folder, 'theirs.txt') === 'beta wrote it while alpha paused');
  await waitFor('alpha in sync on shared', async () => (await folderOf(a, 'shared'))?.inSync === true);
  // No paused key is left behind in the file once unpaused.
  expect(readFileSync(path.join(a.home, 'config.yaml'), 'utf8')).not.toMatch(/^\s+paused:/m);
});

it('commands that need the folder running say it is paused, and a pause answers once the folder has stopped', async () => {
  const paused = await runCli(a.home, ['folder', 'pause', 'shared']);
  expect(paused.code, paused.stderr).toBe(0);
  // The reload answered after the stop: the status already says paused, with no wait.
  expect((await folderOf(a, 'shared'))?.state).toBe('paused');
  const resume = await runCli(a.home, ['resume', 'shared']);
  expect(resume.code).not.toBe(0);
  expect(resume.stderr).toContain("folder 'shared' is paused; 'wizard folder unpause shared' first");
  const unpaused = await runCli(a.home, ['folder', 'unpause', 'shared']);
  expect(unpaused.code, unpaused.stderr).toBe(0);
  await waitFor('alpha in sync on shared again', async () => (await folderOf(a, 'shared'))?.inSync === true);
});
