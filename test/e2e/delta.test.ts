/**
 * Two real daemons: a 64 MiB file edited in place, then shifted by an
 * insertion at offset 0, reaches the peer intact while far fewer bytes than
 * the file cross the wire.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, startDaemon, startPairedNodes, waitConnected, type TestNode } from '../support/daemon.js';
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
  ({ base, a, b } = await startPairedNodes('delta'));
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

    // EDIT: 4 KiB overwritten in the middle, in place. Counters are read before each change, so none of its traffic is missed.
    const beforeEdit = await receivedByB();
    const edit = seededBytes(4096, 43);
    const fd = openSync(file, 'r+');
    writeSync(fd, edit, 0, edit.length, 32 * MiB);
    closeSync(fd);
    const edited = Buffer.from(original);
    edit.copy(edited, 32 * MiB);
    await waitContent('big.bin', edited);
    const editBytes = (await receivedByB()) - beforeEdit;
    // Group digests, the sums of one block, its 1 KiB sums and the 4 changed KiB (7,118 B when measured).
    expect(editBytes).toBeLessThan(64 * 1024);

    // SHIFT: 100 bytes inserted at offset 0 moves every block.
    const shifted = Buffer.concat([seededBytes(100, 44), edited]);
    const beforeShift = await receivedByB();
    writeFileSync(file, shifted);
    await waitContent('big.bin', shifted);
    const shiftBytes = (await receivedByB()) - beforeShift;
    // Every block's sums (33,620 B) and the first block (39,936 B): 75,294 B when measured.
    expect(shiftBytes).toBeLessThan(128 * 1024);
  });

  it('resumes a download cut by killing the receiver from the partial file it left', async () => {
    const content = seededBytes(96 * MiB, 45);
    // Largest partial download of resume.bin in beta's temp dir.
    const tmp = path.join(b.folder, '.wizard', 'tmp');
    const partialBytes = () =>
      Math.max(0, ...(existsSync(tmp) ? readdirSync(tmp) : []).filter((n) => n.includes('-resume.bin-')).map((n) => statSync(path.join(tmp, n)).size));
    writeFileSync(path.join(a.folder, 'resume.bin'), content);
    await waitFor('a partial download of at least 16 MiB on beta', () => partialBytes() >= 16 * MiB, 30_000, 2);
    await b.daemon?.kill();
    const kept = partialBytes();
    expect(kept).toBeGreaterThanOrEqual(16 * MiB);

    await startDaemon(b);
    await waitConnected(a, b);
    await waitContent('resume.bin', content);
    // The restarted daemon's counters start at zero: all it fetched is the part the partial did not have.
    expect(await receivedByB()).toBeLessThan(content.length - kept + 4 * MiB);
  });
});
