/**
 * Crash safety with real processes (THREATS.md §7.2 K1, K5): the receiving
 * daemon is killed with SIGKILL in the middle of a large transfer, and its
 * user file must be the old or the new content, never a mix; after a restart
 * it converges. A damaged or missing index is rebuilt by rescanning, and what
 * it no longer knows turns into pulls or conflict copies, never deletions.
 *
 * Beta dials alpha through a throttling proxy (alpha has no address for
 * beta), so a transfer takes long enough to be killed half-way.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { indexPath } from '../../src/cli/home.js';
import { cleanup, initNode, setPeer, startDaemon, tempDir, waitConnected, waitSameTree, type TestNode } from '../support/daemon.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { waitFor } from '../support/wait.js';

const TIMINGS = { WIZARD_PING_INTERVAL_MS: '400', WIZARD_IDLE_TIMEOUT_MS: '2000' };
const MiB = 1024 * 1024;

let base: string;
let a: TestNode;
let b: TestNode;
let proxy: FaultProxy;

async function restartBeta(): Promise<void> {
  await startDaemon(b, TIMINGS);
  await waitConnected(b, a);
}

/** Names anywhere under `root` that are Wizard temp files. */
function tempFiles(root: string): string[] {
  return readdirSync(root, { recursive: true }).map(String).filter((n) => path.basename(n).startsWith('.~wizard-'));
}

beforeAll(async () => {
  base = tempDir('crash');
  a = await initNode(base, 'alpha');
  b = await initNode(base, 'beta', a);
  proxy = await FaultProxy.start(a.port, { closeWithTest: false });
  setPeer(a, b, '');
  setPeer(b, a, `127.0.0.1:${proxy.port}`);
  mkdirSync(a.folder, { recursive: true });
  await startDaemon(a, TIMINGS);
  await startDaemon(b, TIMINGS);
  await waitConnected(a, b);
});

afterAll(async () => {
  await proxy.close();
  await cleanup(base, [a, b]);
});

it('a receiver killed with SIGKILL mid-transfer keeps the old file whole, and converges after restart', async () => {
  const oldContent = randomBytes(MiB);
  writeFileSync(path.join(a.folder, 'big.bin'), oldContent);
  await waitSameTree(a, b);

  // Kill at two points of the new version's transfer: early and late.
  for (const fraction of [0.25, 0.7]) {
    const previous = readFileSync(path.join(b.folder, 'big.bin'));
    const newContent = randomBytes(8 * MiB);
    proxy.faults.bytesPerSecond = 4 * MiB;
    const start = proxy.forwarded.toClient;
    writeFileSync(path.join(a.folder, 'big.bin'), newContent);
    await waitFor(`${fraction * 100}% of the file to cross`, () => proxy.forwarded.toClient - start > newContent.length * fraction, 20_000, 10);
    await b.daemon?.kill();
    proxy.cut();
    proxy.faults.bytesPerSecond = 0;

    // The user's file is exactly the old content: the new bytes only ever went to a temp file.
    const onDisk = readFileSync(path.join(b.folder, 'big.bin'));
    expect(onDisk.equals(previous), `after a kill at ${fraction}: ${onDisk.length} bytes, neither old nor new`).toBe(true);

    await restartBeta();
    await waitSameTree(a, b, 40_000);
    expect(readFileSync(path.join(b.folder, 'big.bin')).equals(newContent)).toBe(true);
    // A left-over partial is reused or cleaned, never left to pile up.
    await waitFor('no temp files left on beta', () => tempFiles(b.folder).length === 0, 10_000);
  }
});

it('a damaged index is rebuilt by rescanning: a deletion it forgot is undone, a local edit survives, nothing is deleted', async () => {
  writeFileSync(path.join(a.folder, 'keep.txt'), 'v1');
  writeFileSync(path.join(a.folder, 'gone-on-alpha.txt'), 'still wanted');
  writeFileSync(path.join(a.folder, 'edited-on-beta.txt'), 'v1');
  await waitSameTree(a, b);
  await b.daemon?.stop();

  // While beta is down: alpha deletes a file, beta's user edits one, and beta's index is destroyed.
  rmSync(path.join(a.folder, 'gone-on-alpha.txt'));
  writeFileSync(path.join(b.folder, 'edited-on-beta.txt'), 'v2 from beta');
  writeFileSync(indexPath(b.home), Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(16 * 1024, 0x5a)]));

  await restartBeta();
  expect(b.daemon?.log).toContain('index database was damaged');
  const tree = await waitSameTree(a, b, 40_000);
  const names = tree.map((l) => l.split(' ')[1]);
  // Beta no longer knows it ever saw alpha's deletion, so its copy is a new file: it comes back rather than being deleted.
  expect(readFileSync(path.join(a.folder, 'gone-on-alpha.txt'), 'utf8')).toBe('still wanted');
  // Beta's edit is kept on both sides, as the file or as a conflict copy.
  const edits = names.filter((n) => n?.startsWith('edited-on-beta')).map((n) => readFileSync(path.join(a.folder, n ?? ''), 'utf8'));
  expect(edits).toContain('v2 from beta');
  expect(readFileSync(path.join(b.folder, 'keep.txt'), 'utf8')).toBe('v1');
  expect(existsSync(path.join(b.folder, 'big.bin'))).toBe(true);
});

it('a missing index is rebuilt the same way, with nothing lost', async () => {
  const before = await waitSameTree(a, b);
  await b.daemon?.stop();
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${indexPath(b.home)}${suffix}`, { force: true });
  writeFileSync(path.join(a.folder, 'after-index-loss.txt'), 'new');
  await restartBeta();
  const after = await waitSameTree(a, b, 40_000);
  expect(after.filter((l) => !l.includes('after-index-loss.txt'))).toEqual(before);
  expect(after.some((l) => l.includes('after-index-loss.txt'))).toBe(true);
});
