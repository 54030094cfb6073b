/**
 * Two real daemons: a 64 MiB file edited in place, then shifted by an
 * insertion at offset 0, reaches the peer intact while far fewer bytes than
 * the file cross the wire.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, initNode, runCli, startDaemon, tempDir, waitConnected, type TestNode } from '../support/daemon.js';
import { seededBytes } from '../support/random.js';
import { waitFor } from '../support/wait.js';

const MiB = 1024 * 1024;
let base: string;
let a: TestNode;
let b: TestNode;

const sha = (buf: Buffer) => createHash('sha256').update(buf).digest('hex');

/** Bytes B has received from A so far. */
async function receivedByB(): Promise<number> {
  const status = await b.daemon?.status();
  return status?.peers.find((p) => p.id === a.id)?.bytesReceived ?? 0;
}

/** Waits until B's copy of `name` has the content `expected`. */
async function waitContent(name: string, expected: Buffer): Promise<void> {
  const want = sha(expected);
  await waitFor(`${name} on beta to match`, () => {
    try {
      return sha(readFileSync(path.join(b.folder, name))) === want;
    } catch {
      return false;
    }
  }, 60_000, 100);
}

beforeAll(async () => {
  base = tempDir('delta');
  a = await initNode(base, 'alpha');
  b = await initNode(base, 'beta', a);
  await startDaemon(a);
  await startDaemon(b);
  const paired = await runCli(b.home, ['pair', `127.0.0.1:${a.port}`, '--json']);
  expect(paired.code, paired.stderr).toBe(0);
  await waitConnected(a, b);
});

afterAll(async () => {
  await cleanup(base, [a, b]);
});

describe('delta transfers between two daemons', () => {
  it('sends an in-place edit and a shift of a 64 MiB file as small deltas', async () => {
    const file = path.join(a.folder, 'big.bin');
    const original = seededBytes(64 * MiB, 42);
    writeFileSync(file, original);
    await waitContent('big.bin', original);

    // EDIT: 4 KiB overwritten in the middle, in place.
    const edit = seededBytes(4096, 43);
    const fd = openSync(file, 'r+');
    writeSync(fd, edit, 0, edit.length, 32 * MiB);
    closeSync(fd);
    const edited = Buffer.from(original);
    edit.copy(edited, 32 * MiB);
    const beforeEdit = await receivedByB();
    await waitContent('big.bin', edited);
    const editBytes = (await receivedByB()) - beforeEdit;
    expect(editBytes).toBeLessThan(200 * 1024);

    // SHIFT: 100 bytes inserted at offset 0 moves every block.
    const shifted = Buffer.concat([seededBytes(100, 44), edited]);
    writeFileSync(file, shifted);
    const beforeShift = await receivedByB();
    await waitContent('big.bin', shifted);
    const shiftBytes = (await receivedByB()) - beforeShift;
    expect(shiftBytes).toBeLessThan(200 * 1024);
  });
});
