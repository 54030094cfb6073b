/**
 * Answering sums requests on a real temp dir: stored sums and sums computed
 * on demand agree, group digests fold them, and a request for another
 * version, a moved file or blocks past the end is refused.
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { blockCount, groupDigests, signatureOf } from '../../src/delta/signature.js';
import type { LocalEntry } from '../../src/index/entry.js';
import { readSums, ServeError, type WireSums } from '../../src/sync/serve.js';
import { inlineRunner } from '../../src/workers/pool.js';
import { seededBytes } from '../support/random.js';

let root: string;
const content = seededBytes(300_000, 21);
const hash = createHash('sha256').update(content).digest('hex');

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'wizard-serve-'));
  writeFileSync(path.join(root, 'big.bin'), content);
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function entry(): LocalEntry {
  const st = lstatSync(path.join(root, 'big.bin'));
  return { path: 'big.bin', type: 'file', size: st.size, mtimeMs: st.mtimeMs, mode: 0o644, hash, target: '', version: { me: 1 }, deleted: false, sequence: 1, inode: st.ino };
}

const sig = signatureOf(content, 4096);
const total = blockCount(content.length, 4096);
const ask = (first: number, count: number, group = 1) => ({ path: 'big.bin', hash, blockSize: 4096, first, count, group });

describe('readSums', () => {
  it('answers the same from stored sums and from the file', async () => {
    const stored = await readSums(root, entry(), ask(3, 10), sig, inlineRunner);
    const computed = await readSums(root, entry(), ask(3, 10), undefined, inlineRunner);
    expect(computed).toEqual(stored);
    expect(Buffer.from(stored.weak).readUInt32BE(0)).toBe(sig.weak[3]);
  });

  it('stops at the end of the file', async () => {
    const last = await readSums(root, entry(), ask(total - 2, 100), sig, inlineRunner);
    expect(last.weak.length / 4).toBe(2);
  });

  it('folds group digests the same way from stored and computed sums', async () => {
    const stored = await readSums(root, entry(), ask(0, total, 8), sig, inlineRunner);
    const computed = await readSums(root, entry(), ask(0, total, 8), undefined, inlineRunner);
    expect(computed).toEqual(stored);
    expect(Buffer.from(stored.strong).equals(Buffer.from(groupDigests(sig.strong, 8)))).toBe(true);
    expect(stored.weak.length).toBe(0);
  });

  const refusals: Array<{ description: string; req: ReturnType<typeof ask>; touch?: boolean; wireCode: string }> = [
    { description: 'another version', req: { ...ask(0, 1), hash: 'ee'.repeat(32) }, wireCode: 'changed' },
    { description: 'blocks past the end', req: ask(total, 1), wireCode: 'not-found' },
    { description: 'a file changed on disk since it was indexed', req: ask(0, 1), touch: true, wireCode: 'changed' },
  ];
  for (const c of refusals) {
    it(`R2/F6: refuses ${c.description}`, async () => {
      const indexed = entry();
      if (c.touch === true) writeFileSync(path.join(root, 'big.bin'), 'new');
      const err: unknown = await readSums(root, indexed, c.req, sig, inlineRunner).then(
        (r: WireSums) => r,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ServeError);
      expect((err as ServeError).wireCode).toBe(c.wireCode);
    });
  }
});
