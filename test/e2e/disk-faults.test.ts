/**
 * Per-file disk errors (THREATS.md §7.2 S3): a target dir the receiver cannot
 * write, or a source file the sender cannot read, fails that path alone. It
 * is reported in status, retried with backoff, and syncs once the cause is
 * gone, while everything else keeps syncing.
 *
 * Root ignores permission bits, and CI may run as root. The receiver case
 * therefore makes the dir immutable (`chattr +i`, which stops root too) when
 * it can, and falls back to chmod 555 for a normal user. The sender case has
 * no such trick (no attribute stops root reading), so it runs only as a
 * normal user.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanup, startPairedNodes, tempDir, type TestNode } from '../support/daemon.js';
import { waitFor } from '../support/wait.js';

const isRoot = process.getuid?.() === 0;

/** Makes `dir` unwritable for this process, or returns undefined when no means works here; the result undoes it. */
function lockDir(dir: string): (() => void) | undefined {
  try {
    execFileSync('chattr', ['+i', dir], { stdio: 'ignore' });
    return () => execFileSync('chattr', ['-i', dir], { stdio: 'ignore' });
  } catch {
    if (isRoot) return undefined;
    chmodSync(dir, 0o555);
    return () => chmodSync(dir, 0o755);
  }
}

/** Whether this machine can lock a dir against us at all; decided before the daemons start. */
const canLock = (() => {
  const probeBase = tempDir('lockprobe');
  const probe = path.join(probeBase, 'd');
  mkdirSync(probe);
  const unlock = lockDir(probe);
  if (unlock === undefined) return false;
  let blocked = false;
  try {
    writeFileSync(path.join(probe, 'x'), 'x');
  } catch {
    blocked = true;
  }
  unlock();
  rmSync(probeBase, { recursive: true, force: true });
  return blocked;
})();

let base: string;
let a: TestNode;
let b: TestNode;

beforeAll(async () => {
  ({ base, a, b } = await startPairedNodes('diskfaults'));
});

afterAll(async () => {
  await cleanup(base, [a, b]);
});

async function errorsOf(node: TestNode): Promise<string[]> {
  return (await node.daemon?.status())?.errors ?? [];
}

it.skipIf(!canLock)('a target dir the receiver cannot write fails only that file: reported, retried, and synced once writable', async () => {
  mkdirSync(path.join(a.folder, 'locked'), { recursive: true });
  writeFileSync(path.join(a.folder, 'locked', 'first.txt'), 'first');
  await waitFor('locked/first.txt on beta', () => existsSync(path.join(b.folder, 'locked', 'first.txt')));

  const unlock = lockDir(path.join(b.folder, 'locked'));
  expect(unlock).toBeDefined();
  try {
    writeFileSync(path.join(a.folder, 'locked', 'second.txt'), 'second');
    writeFileSync(path.join(a.folder, 'free.txt'), 'the rest keeps syncing');
    await waitFor('free.txt on beta', () => existsSync(path.join(b.folder, 'free.txt')));
    await waitFor('beta to report locked/second.txt', async () => (await errorsOf(b)).some((e) => e.includes('locked/second.txt')), 15_000);
    expect(existsSync(path.join(b.folder, 'locked', 'second.txt'))).toBe(false);
  } finally {
    unlock?.();
  }
  // Retried with backoff (at most a few seconds after a short failure), then the report clears.
  await waitFor('locked/second.txt on beta after unlocking', () => existsSync(path.join(b.folder, 'locked', 'second.txt')), 30_000);
  expect(readFileSync(path.join(b.folder, 'locked', 'second.txt'), 'utf8')).toBe('second');
  await waitFor('the error to clear', async () => !(await errorsOf(b)).some((e) => e.includes('locked/second.txt')), 15_000);
});

it.skipIf(isRoot)('a source file the sender cannot read is reported and retried, and the rest keeps syncing', async () => {
  const secret = path.join(a.folder, 'unreadable.txt');
  writeFileSync(secret, 'not yet');
  chmodSync(secret, 0o000);
  try {
    writeFileSync(path.join(a.folder, 'readable.txt'), 'fine');
    await waitFor('readable.txt on beta', () => existsSync(path.join(b.folder, 'readable.txt')));
    await waitFor('alpha to report unreadable.txt', async () => (await errorsOf(a)).some((e) => e.includes('unreadable.txt')), 15_000);
  } finally {
    chmodSync(secret, 0o644);
  }
  await waitFor('unreadable.txt on beta once readable', () => existsSync(path.join(b.folder, 'unreadable.txt')), 30_000);
});
