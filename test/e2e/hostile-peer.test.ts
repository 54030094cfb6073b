/**
 * A paired, CA-signed peer that turns hostile (THREATS.md 7.1): every attack
 * is refused, nothing outside the folder root is touched, and the daemon
 * keeps serving its honest peer.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FileEntry } from '../../src/index/entry.js';
import { cleanup, initNode, runCli, startDaemon, tempDir, waitConnected, type TestNode } from '../support/daemon.js';
import { connectHostile, fileEntry, linkEntry, type HostileLink } from '../support/hostile-peer.js';
import { waitFor } from '../support/wait.js';

let base: string;
let a: TestNode;
let honest: TestNode;
let hostile: TestNode;
let sentinel: string;
let probes = 0;

beforeAll(async () => {
  base = tempDir('hostile');
  a = await initNode(base, 'alpha');
  honest = await initNode(base, 'honest', a);
  hostile = await initNode(base, 'mallory', a);
  sentinel = path.join(base, 'sentinel.txt');
  writeFileSync(sentinel, 'must never change', { mode: 0o600 });
  await startDaemon(a);
  await startDaemon(honest);
  for (const n of [honest, hostile]) {
    const res = await runCli(n.home, ['pair', `127.0.0.1:${a.port}`]);
    expect(res.code, res.stderr).toBe(0);
  }
  await waitConnected(a, honest);
});

afterAll(async () => {
  await cleanup(base, [a, honest, hostile]);
});

/** After every attack: the sentinel is intact, nothing escaped the root, and alpha still syncs with its honest peer. */
async function assertUnharmed(): Promise<void> {
  expect(readFileSync(sentinel, 'utf8')).toBe('must never change');
  expect(statSync(sentinel).mode & 0o777).toBe(0o600);
  for (const name of ['escape.txt', 'f.txt', 'evil.sh']) expect(existsSync(path.join(base, name)), name).toBe(false);
  const probe = `probe-${++probes}.txt`;
  writeFileSync(path.join(a.folder, probe), 'still serving');
  await waitFor(`${probe} on the honest peer`, () => existsSync(path.join(honest.folder, probe)));
}

async function attack(send: (link: HostileLink) => void): Promise<string> {
  const link = await connectHostile(hostile, a, 'shared');
  send(link);
  return Promise.race([link.session.closed, new Promise<string>((resolve) => setTimeout(() => resolve('still open'), 3000))]);
}

const index = (entries: unknown[]) => ({ type: 'index', folder: 'shared', indexId: '0123456789abcdef', reset: false, entries }) as never;

it('P1: a path that climbs out of the folder closes the connection and writes nothing', async () => {
  const reason = await attack((link) => link.session.send(index([{ ...fileEntry(link, hostile, 'x', 'pwned'), path: '../escape.txt' }])));
  expect(reason).toMatch(/protocol error/);
  await assertUnharmed();
});

it('P3: a path inside .wizard/ is refused', async () => {
  const reason = await attack((link) => link.session.send(index([{ ...fileEntry(link, hostile, 'x', 'pwned'), path: '.wizard/trash/evil.sh' }])));
  expect(reason).toMatch(/protocol error/);
  expect(existsSync(path.join(a.folder, '.wizard', 'trash', 'evil.sh'))).toBe(false);
  await assertUnharmed();
});

it('P4/P5: a symlink out of the folder is never created, and nothing is written through it', async () => {
  const link = await connectHostile(hostile, a, 'shared');
  const entries: FileEntry[] = [linkEntry(hostile, 'l', '..'), linkEntry(hostile, 'abs', '/tmp'), fileEntry(link, hostile, 'l/f.txt', 'through the link')];
  link.session.send(index(entries));
  // The file itself may land inside the root (as l/f.txt in a real dir), never outside.
  await waitFor('alpha to act on the index', async () => {
    const status = await a.daemon?.status();
    return status?.errors.some((e) => e.includes('points outside the folder'));
  });
  expect(existsSync(path.join(base, 'f.txt'))).toBe(false);
  expect(existsSync(path.join(a.folder, 'abs'))).toBe(false);
  link.session.close('done');
  await assertUnharmed();
});

it('F1: a frame header announcing 4 GiB closes the connection before anything is allocated', async () => {
  const reason = await attack((link) => link.socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff])));
  expect(reason).not.toBe('still open');
  await assertUnharmed();
});

it('F3: a msgpack bomb (a map claiming 2^32 entries) closes the connection', async () => {
  const body = Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff]);
  const frame = Buffer.concat([Buffer.from([0, 0, 0, body.length]), body]);
  const reason = await attack((link) => link.socket.write(frame));
  expect(reason).not.toBe('still open');
  await assertUnharmed();
});

it('F5: a second hello closes the connection', async () => {
  const reason = await attack((link) =>
    link.session.send({ type: 'hello', protocol: 1, id: hostile.id, name: 'again', listenPort: 0, intent: 'sync', folders: [] }),
  );
  expect(reason).toMatch(/second hello|protocol error/);
  await assertUnharmed();
});

it('P7: a request for a file outside the shared folder or inside .wizard gets no data', async () => {
  const link = await connectHostile(hostile, a, 'shared');
  await expect(link.session.request({ folder: 'not-shared', path: 'x.txt', hash: 'a'.repeat(64), offset: 0, length: 10 })).rejects.toThrow();
  await expect(link.session.request({ folder: 'shared', path: '.wizard/folder', hash: 'a'.repeat(64), offset: 0, length: 10 })).rejects.toThrow();
  link.session.close('done');
  await assertUnharmed();
});
