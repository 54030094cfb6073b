/**
 * Answering block and sums requests on a real temp dir: stored sums and sums
 * computed on demand agree, group digests fold them, and a request for
 * another version, a moved file or blocks past the end is refused. Blocks are
 * read the same, and refused the same, whether the file is small enough to be
 * read on the calling thread or not.
 */
import { lstatSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { contentHash } from '../../src/core/content-hash.js';
import { blockCount, groupDigests, signatureOf } from '../../src/delta/signature.js';
import type { LocalEntry } from '../../src/index/entry.js';
import { readBlock, readSums, ServeError, type WireSums } from '../../src/sync/serve/serve.js';
import { INLINE_MAX_BYTES } from '../../src/workers/hash-file.js';
import { inlineRunner } from '../../src/workers/pool.js';
import { seededBytes } from '../support/random.js';

let root: string;
const content = seededBytes(300_000, 21);
const hash = contentHash(content);

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

describe('readBlock', () => {
  const sizes = [
    { kind: 'a small file (read on the calling thread)', size: 10_000 },
    { kind: 'a big file (read through the pool)', size: 300_000 },
  ];
  for (const { kind, size } of sizes) {
    describe(kind, () => {
      const bytes = content.subarray(0, size);
      const sha = contentHash(bytes);
      const indexed = (rel: string): LocalEntry => {
        const st = lstatSync(path.join(root, rel));
        return { path: rel, type: 'file', size: st.size, mtimeMs: st.mtimeMs, mode: 0o644, hash: sha, target: '', version: { me: 1 }, deleted: false, sequence: 1, inode: st.ino };
      };
      const refusal = (p: Promise<Buffer>) => p.then(() => 'served', (e: unknown) => (e instanceof ServeError ? e.wireCode : `not a ServeError: ${String(e)}`));

      beforeEach(() => {
        mkdirSync(path.join(root, 'd'));
        writeFileSync(path.join(root, 'd', 'f.bin'), bytes);
      });

      it('serves the bytes asked for, cut at the end of the file, and nothing past it', async () => {
        expect(size <= INLINE_MAX_BYTES).toBe(size === 10_000);
        const e = indexed('d/f.bin');
        expect((await readBlock(root, e, { path: 'd/f.bin', hash: sha, offset: 0, length: size })).equals(bytes)).toBe(true);
        expect((await readBlock(root, e, { path: 'd/f.bin', hash: sha, offset: 100, length: size })).equals(bytes.subarray(100))).toBe(true);
        expect((await readBlock(root, e, { path: 'd/f.bin', hash: sha, offset: size, length: 10 })).length).toBe(0);
      });

      it('R2/F6: refuses another version, a file changed on disk, one swapped for a symlink, and one below a symlinked dir', async () => {
        const e = indexed('d/f.bin');
        const ask = { path: 'd/f.bin', hash: sha, offset: 0, length: 1024 };
        expect(await refusal(readBlock(root, e, { ...ask, hash: 'ee'.repeat(32) }))).toBe('changed');
        expect(await refusal(readBlock(root, undefined, ask))).toBe('not-found');

        writeFileSync(path.join(root, 'd', 'f.bin'), bytes.subarray(1));
        expect(await refusal(readBlock(root, e, ask))).toBe('changed');

        // The indexed file moved aside and a link to it put in its place: not read through the link.
        writeFileSync(path.join(root, 'd', 'f.bin'), bytes);
        const again = indexed('d/f.bin');
        renameSync(path.join(root, 'd', 'f.bin'), path.join(root, 'real.bin'));
        symlinkSync(path.join(root, 'real.bin'), path.join(root, 'd', 'f.bin'));
        expect(await refusal(readBlock(root, again, ask))).toBe('changed');

        // The dir swapped for a link to a dir holding the same file: not followed either.
        rmSync(path.join(root, 'd'), { recursive: true });
        mkdirSync(path.join(root, 'elsewhere'));
        renameSync(path.join(root, 'real.bin'), path.join(root, 'elsewhere', 'f.bin'));
        symlinkSync(path.join(root, 'elsewhere'), path.join(root, 'd'));
        expect(await refusal(readBlock(root, again, ask))).toBe('changed');
      });
    });
  }
});

describe('a file whose name is NFD on disk (issue 15, item 12)', () => {
  it('is served under its NFC path from the file its name on disk names', async () => {
    const nfd = 'dire\u0301/cafe\u0301.bin';
    const nfc = nfd.normalize('NFC');
    mkdirSync(path.join(root, 'dire\u0301'));
    renameSync(path.join(root, 'big.bin'), path.join(root, nfd));
    const st = lstatSync(path.join(root, nfd));
    const e: LocalEntry = { ...entry0(st), path: nfc, diskName: 'cafe\u0301.bin' };
    const block = await readBlock(root, e, { path: nfc, hash, offset: 4096, length: 4096 }, nfd);
    expect(block.equals(content.subarray(4096, 8192))).toBe(true);
    const sums = await readSums(root, e, { ...ask(0, 4), path: nfc }, undefined, inlineRunner, undefined, nfd);
    expect(Buffer.from(sums.weak).readUInt32BE(0)).toBe(sig.weak[0]);
    // Asked for under its NFC spelling on disk, it is not there.
    await expect(readBlock(root, e, { path: nfc, hash, offset: 0, length: 10 })).rejects.toMatchObject({ wireCode: 'changed' });
  });
});

function entry0(st: { size: number; mtimeMs: number; ino: number }): LocalEntry {
  return { path: 'big.bin', type: 'file', size: st.size, mtimeMs: st.mtimeMs, mode: 0o644, hash, target: '', version: { me: 1 }, deleted: false, sequence: 1, inode: st.ino };
}
