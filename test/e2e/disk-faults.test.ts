/**
 * Two real daemons, the receiver's disks small real tmpfs mounts that fill up
 * (THREATS.md §7.2):
 * - S1: the receiver's folder runs out of space while a download writes its
 *   temp file. The temp file is removed, nothing is renamed, the error is one
 *   line in status and the log, the sender keeps its whole file (a truncated
 *   one never comes back), and the download completes once space frees.
 * - S2: the receiver's home (its SQLite index, its config) is full. The
 *   folder is restarted by the supervisor with backoff, the index is not
 *   taken for damaged (no rebuild), no deletion reaches the peer, a config
 *   edit fails whole, and everything recorded late syncs once space frees.
 * - K4: a file left as after a power cut (the indexed mtime and inode, 0
 *   bytes) is kept as a conflict copy and restored from the peer; the peer's
 *   good copy is never overwritten.
 *
 * Mounting needs root (or CAP_SYS_ADMIN): without it S1 and S2 are skipped
 * (the unit tests in test/sync/puller.test.ts and test/sync/folder.test.ts
 * inject the same faults), K4 runs on plain dirs.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { configPath } from '../../src/config/file.js';
import { cleanup, initNode, runCli, setPeer, startDaemon, tempDir, treeOf, waitConnected, waitSameTree, type TestNode } from '../support/daemon.js';
import { canMountTmpfs, fillDisk, mountTmpfs, NO_TMPFS_REASON, resizeTmpfs, unmount } from '../support/tmpfs.js';
import { waitFor } from '../support/wait.js';

const MiB = 1024 * 1024;
const skipReason = canMountTmpfs ? '' : ` (skipped: ${NO_TMPFS_REASON})`;

let base: string;
let a: TestNode;
let b: TestNode;
let sentinel: string;
const mounts: string[] = [];

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The errors a node's status reports. */
async function errorsOf(node: TestNode): Promise<string[]> {
  return (await node.daemon?.status())?.errors ?? [];
}

/** Names anywhere under `root` that are Wizard temp files. */
function tempFiles(root: string): string[] {
  return readdirSync(root, { recursive: true }).map(String).filter((n) => path.basename(n).startsWith('.~wizard-'));
}

/** Every service of the node's daemon is running (the process is alive and nothing is in backoff). */
async function allRunning(node: TestNode): Promise<boolean> {
  const services = (await node.daemon?.status())?.services ?? [];
  return services.length > 0 && services.every((s) => s.state === 'running');
}

/** The outside-the-root sentinel kept its content and mode. */
function expectSentinelIntact(): void {
  expect(readFileSync(sentinel, 'utf8')).toBe('outside every folder');
  expect(statSync(sentinel).mode & 0o777).toBe(0o600);
}

beforeAll(async () => {
  base = tempDir('disk');
  sentinel = path.join(base, 'sentinel.txt');
  writeFileSync(sentinel, 'outside every folder', { mode: 0o600 });
  a = await initNode(base, 'alpha');
  if (canMountTmpfs) {
    // Beta's home (index, config) and folder each on a small tmpfs of their own, mounted before init writes into them.
    for (const [dir, size] of [
      [path.join(base, 'beta', 'home'), '4m'],
      [path.join(base, 'beta', 'folder'), '2m'],
    ] as const) {
      mkdirSync(dir, { recursive: true });
      mountTmpfs(dir, size);
      mounts.push(dir);
    }
  }
  b = await initNode(base, 'beta', a);
  setPeer(a, b, '');
  setPeer(b, a, `127.0.0.1:${a.port}`);
  await startDaemon(a);
  await startDaemon(b);
  await waitConnected(a, b);
});

afterAll(async () => {
  await Promise.all([a, b].map((n) => n.daemon?.kill() ?? Promise.resolve()));
  for (const dir of mounts) unmount(dir);
  await cleanup(base, []);
});

it.skipIf(!canMountTmpfs)(`S1: ENOSPC while writing the temp file: removed, nothing renamed, one clear error with backoff, the peer keeps its whole file, resumes when space frees${skipReason}`, async () => {
  const content = randomBytes(3 * MiB);
  writeFileSync(path.join(a.folder, 'big.bin'), content);
  writeFileSync(path.join(a.folder, 'small.txt'), 'fits');
  // The rest keeps syncing.
  await waitFor('small.txt on beta', () => existsSync(path.join(b.folder, 'small.txt')), 30_000);
  const reported = await waitFor('beta to report the full disk for big.bin', async () => (await errorsOf(b)).find((e) => e.includes('big.bin')), 30_000);
  expect(reported).toMatch(/^shared\/big\.bin: no space left on this folder's disk .*ENOSPC.*free some space, the download is retried automatically$/);
  expect(b.daemon?.log).toMatch(/"path":"big\.bin".*"msg":"sync of path failed; will retry"/);
  // Nothing renamed into place, and no temp file kept: the retries clean up after themselves too.
  expect(existsSync(path.join(b.folder, 'big.bin'))).toBe(false);
  await waitFor('no temp file left on beta', () => tempFiles(b.folder).length === 0, 15_000);
  // Never propagated back: alpha still has the whole file, and both daemons run every service.
  expect(sha(readFileSync(path.join(a.folder, 'big.bin')))).toBe(sha(content));
  expect(await allRunning(a)).toBe(true);
  expect(await allRunning(b)).toBe(true);

  resizeTmpfs(b.folder, '16m');
  await waitSameTree(a, b, 60_000);
  expect(sha(readFileSync(path.join(b.folder, 'big.bin')))).toBe(sha(content));
  expect(sha(readFileSync(path.join(a.folder, 'big.bin')))).toBe(sha(content));
  await waitFor('the error to clear', async () => !(await errorsOf(b)).some((e) => e.includes('big.bin')), 15_000);
  expect(tempFiles(b.folder)).toEqual([]);
  expectSentinelIntact();
});

it.skipIf(!canMountTmpfs)(`S2: ENOSPC writing the index and the config: the folder restarts with backoff, the index stays valid, no deletion propagates, and it catches up once space frees${skipReason}`, async () => {
  const before = await waitSameTree(a, b);
  const config = readFileSync(configPath(b.home));
  const filler = fillDisk(b.home, 'filler');

  // Local edits on beta: the scan that records them must write the index, which has no room.
  mkdirSync(path.join(b.folder, 'many'));
  for (let i = 0; i < 400; i++) writeFileSync(path.join(b.folder, 'many', `f${i}.txt`), `file ${i} ${'x'.repeat(200)}`);
  const folderService = async () => (await b.daemon?.status())?.services.find((s) => s.name === 'folder:shared');
  const crashed = await waitFor('beta to restart its folder after the failed index write', async () => {
    const s = await folderService();
    return s?.lastError?.includes('SQLITE_FULL') === true ? s : undefined;
  }, 30_000);
  expect(crashed.lastError).not.toContain('\n');
  expect(b.daemon?.log).toContain('cannot write the index');

  // A config edit on the full disk fails whole: one line, exit code for a config error, the file as it was.
  const edit = await runCli(b.home, ['folder', 'add', 'extra', path.join(base, 'extra')]);
  expect(edit.code).toBe(2);
  expect(edit.stderr.trim().split('\n')).toHaveLength(1);
  expect(edit.stderr).toContain('ENOSPC');
  expect(readFileSync(configPath(b.home)).equals(config)).toBe(true);

  // The daemon is alive, the index was not taken for damaged, and alpha lost nothing.
  expect((await b.daemon?.status())?.id).toBe(b.id);
  expect(readdirSync(b.home).filter((n) => n.includes('damaged'))).toEqual([]);
  expect(b.daemon?.log).not.toContain('index database was damaged');
  for (const line of before) expect(treeOf(a.folder)).toContain(line);

  rmSync(filler);
  // The supervisor's backoff restarts the folder; its first scan records the 400 files, which reach alpha.
  await waitFor('the 400 files on alpha', () => existsSync(path.join(a.folder, 'many', 'f399.txt')), 90_000);
  const after = await waitSameTree(a, b, 60_000);
  for (const line of before) expect(after).toContain(line);
  await waitFor('every service of beta running again', () => allRunning(b), 30_000);
  expect((await folderService())?.restarts).toBeGreaterThanOrEqual(1);

  // A restart opens the same index as it is: still valid, nothing rebuilt.
  await b.daemon?.stop();
  await startDaemon(b);
  await waitConnected(a, b);
  expect(await waitSameTree(a, b, 60_000)).toEqual(after);
  expect(b.daemon?.log).not.toContain('index database was damaged');
  expectSentinelIntact();
}, 240_000);

it('K4: a file left at its indexed mtime with 0 bytes (power cut) becomes a conflict copy and is restored; the peer keeps its copy', async () => {
  const good = Buffer.from('the version both nodes had synced, before the power cut');
  const past = Math.floor(Date.now() / 1000) - 3600;
  const onAlpha = path.join(a.folder, 'k4.txt');
  const onBeta = path.join(b.folder, 'k4.txt');
  writeFileSync(onAlpha, good);
  utimesSync(onAlpha, past, past);
  // Pulled files take the peer's mtime: wait until beta has the aged file, and for the index to settle.
  await waitFor('k4.txt on beta with its old mtime', () => existsSync(onBeta) && statSync(onBeta).mtimeMs === past * 1000 && readFileSync(onBeta).equals(good), 30_000);
  await waitSameTree(a, b);
  await waitFor('beta idle', async () => (await b.daemon?.status())?.folders.every((f) => f.state === 'idle' && f.inSync) ?? false, 30_000);

  // The power cut on beta: the file's size is lost, its mtime and inode are what the index recorded.
  await b.daemon?.stop();
  const inode = statSync(onBeta).ino;
  truncateSync(onBeta, 0);
  utimesSync(onBeta, past, past);
  expect(statSync(onBeta).ino).toBe(inode);
  await startDaemon(b);
  await waitConnected(a, b);

  const tree = await waitFor('a conflict copy on both sides and the same trees', async () => {
    const t = await waitSameTree(a, b, 30_000);
    return t.some((l) => l.includes('k4.sync-conflict-')) ? t : undefined;
  }, 60_000);
  // The peer's good copy was never overwritten, and beta has it back.
  expect(readFileSync(onAlpha).equals(good)).toBe(true);
  expect(readFileSync(onBeta).equals(good)).toBe(true);
  const copy = tree.find((l) => l.includes('k4.sync-conflict-'))?.split(' ')[1] ?? '';
  expect(readFileSync(path.join(a.folder, copy))).toHaveLength(0);
  expect(b.daemon?.log).toContain('file changed size without a new modification time');
  expect(await allRunning(b)).toBe(true);
  expectSentinelIntact();
});
