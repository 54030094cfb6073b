/**
 * Two real daemons talking through a fault-injecting TCP proxy, and killed
 * or robbed of their index:
 * - network (THREATS.md §7.2 C1): a link reset mid-transfer, a link that
 *   silently drops every byte, and a flipped byte on the wire. Each time the
 *   link must come back by itself and the folders converge, content intact.
 * - crashes (§7.2 K1, K5): the receiver killed with SIGKILL in the middle of
 *   a large transfer keeps its user file old or new, never a mix, and
 *   converges after a restart; a damaged or missing index is rebuilt by
 *   rescanning, and what it no longer knows turns into pulls or conflict
 *   copies, never deletions.
 * - disk (§7.2 S3): a target dir the receiver cannot write, or a source file
 *   the sender cannot read, fails that path alone: reported in status,
 *   retried with backoff, synced once the cause is gone, while the rest keeps
 *   syncing. Root ignores permission bits and CI may run as root, so the
 *   receiver case makes the dir immutable (`chattr +i`, which stops root too)
 *   when it can, else chmod 555 as a normal user; the sender case has no such
 *   trick (nothing stops root reading), so it runs only as a normal user.
 *
 * One file, one pair of nodes: creating nodes (certificates) is the slow
 * part. Only beta dials (through the proxy); alpha has no address for beta,
 * so every byte between them crosses the proxy. Short ping and idle timeouts
 * (env) make a silent drop visible in seconds instead of 90 s.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { indexPath } from '../../src/cli/home.js';
import { cleanup, initNode, isLinked, setPeer, startDaemon, tempDir, waitConnected, waitSameTree, type TestNode } from '../support/daemon.js';
import { itAsNonRoot } from '../support/as-nobody.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { waitFor } from '../support/wait.js';

const TIMINGS = { WIZARD_PING_INTERVAL_MS: '400', WIZARD_IDLE_TIMEOUT_MS: '2000' };
const MiB = 1024 * 1024;

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
let proxy: FaultProxy;

async function restartBeta(): Promise<void> {
  await startDaemon(b, TIMINGS);
  await waitConnected(b, a);
}

/** The errors a node's status reports. */
async function errorsOf(node: TestNode): Promise<string[]> {
  return (await node.daemon?.status())?.errors ?? [];
}

/** Names anywhere under `root` that are Wizard temp files. */
function tempFiles(root: string): string[] {
  return readdirSync(root, { recursive: true }).map(String).filter((n) => path.basename(n).startsWith('.~wizard-'));
}

beforeAll(async () => {
  base = tempDir('faults');
  a = await initNode(base, 'alpha');
  b = await initNode(base, 'beta', a);
  // vitest's onTestFinished does not reach beforeAll; this proxy lives for the file and is closed in afterAll.
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

it('recovers from a connection reset mid-transfer and converges', async () => {
  const content = randomBytes(6 * 1024 * 1024);
  proxy.faults.bytesPerSecond = 2 * 1024 * 1024;
  const before = { connections: proxy.connections, bytes: proxy.forwarded.toClient };
  writeFileSync(path.join(a.folder, 'reset.bin'), content);
  // Cut once a good part of the file has crossed: the transfer is under way, not finished.
  await waitFor('a third of the file to cross the proxy', () => proxy.forwarded.toClient - before.bytes > content.length / 3);
  proxy.cut();
  proxy.faults.bytesPerSecond = 0;
  await waitSameTree(a, b, 40_000);
  expect(proxy.connections).toBeGreaterThan(before.connections);
  expect(readFileSync(path.join(b.folder, 'reset.bin')).equals(content)).toBe(true);
});

it('detects a link that silently drops everything by its idle timeout, and redials', async () => {
  proxy.faults.blackHole = true;
  const connections = proxy.connections;
  writeFileSync(path.join(a.folder, 'during-blackhole.txt'), 'sent while the network ate every byte');
  // No FIN, no RST: only the idle timeout (2 s here) can tell the link is dead.
  await waitFor('beta to notice the dead link', async () => !(await isLinked(b, a)), 15_000);
  await waitFor('alpha to notice the dead link', async () => !(await isLinked(a, b)), 15_000);
  proxy.faults.blackHole = false;
  await waitSameTree(a, b, 40_000);
  expect(proxy.connections).toBeGreaterThan(connections);
  expect(readFileSync(path.join(b.folder, 'during-blackhole.txt'), 'utf8')).toBe('sent while the network ate every byte');
});

it('closes the link on a corrupted byte, reconnects, and never writes corrupt content', async () => {
  const content = randomBytes(2 * 1024 * 1024);
  const connections = proxy.connections;
  // Well into the transfer's bytes, after any handshake a reconnect would need.
  proxy.corrupt('toClient', 512 * 1024);
  writeFileSync(path.join(a.folder, 'flipped.bin'), content);
  await waitSameTree(a, b, 40_000);
  expect(proxy.corruptionsPending).toBe(0);
  // TLS authenticates every record: the flipped byte fails it, the connection closes and a new one carries the rest.
  expect(proxy.connections).toBeGreaterThan(connections);
  expect(readFileSync(path.join(b.folder, 'flipped.bin')).equals(content)).toBe(true);
  expect(readdirSync(b.folder, { recursive: true }).filter((n) => String(n).includes('.~wizard-'))).toEqual([]);
  // Both daemons are still the same processes, running every service.
  for (const node of [a, b]) {
    const services = (await node.daemon?.status())?.services ?? [];
    expect(services.every((s) => s.state === 'running'), JSON.stringify(services)).toBe(true);
  }
});

it('a receiver killed with SIGKILL mid-transfer keeps the old file whole, and converges after restart', async () => {
  const oldContent = randomBytes(MiB);
  writeFileSync(path.join(a.folder, 'large.bin'), oldContent);
  await waitSameTree(a, b);

  // Kill at two points of the new version's transfer: early and late.
  for (const fraction of [0.25, 0.7]) {
    const previous = readFileSync(path.join(b.folder, 'large.bin'));
    const newContent = randomBytes(8 * MiB);
    proxy.faults.bytesPerSecond = 4 * MiB;
    const start = proxy.forwarded.toClient;
    writeFileSync(path.join(a.folder, 'large.bin'), newContent);
    await waitFor(`${fraction * 100}% of the file to cross`, () => proxy.forwarded.toClient - start > newContent.length * fraction, 20_000, 10);
    await b.daemon?.kill();
    proxy.cut();
    proxy.faults.bytesPerSecond = 0;

    // The user's file is exactly the old content: the new bytes only ever went to a temp file.
    const onDisk = readFileSync(path.join(b.folder, 'large.bin'));
    expect(onDisk.equals(previous), `after a kill at ${fraction}: ${onDisk.length} bytes, neither old nor new`).toBe(true);

    await restartBeta();
    await waitSameTree(a, b, 40_000);
    expect(readFileSync(path.join(b.folder, 'large.bin')).equals(newContent)).toBe(true);
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
  expect(existsSync(path.join(b.folder, 'large.bin'))).toBe(true);
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

itAsNonRoot(import.meta.url, 'a source file the sender cannot read is reported and retried, and the rest keeps syncing', async () => {
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
