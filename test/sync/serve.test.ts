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
import { HeldFiles } from '../../src/sync/serve/held-files.js';
import { openToServe, readBlock as readBlockOf, readSums, ServeError, type WireSums } from '../../src/sync/serve/serve.js';
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

  it('answers from the file, at the size asked, when the stored sums are of another block size (an index from before protocol 7)', async () => {
    const oldRule = signatureOf(content, 2048);
    const computed = await readSums(root, entry(), ask(3, 10), oldRule, inlineRunner);
    expect(computed).toEqual(await readSums(root, entry(), ask(3, 10), sig, inlineRunner));
    expect(computed.blockSize).toBe(4096);
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
    { kind: 'a big file held open across requests', size: 300_000 },
  ];
  for (const { kind, size } of sizes) {
    describe(kind, () => {
      const held = new HeldFiles(manualClock(), openToServe);
      const readBlock = (r: string, e: LocalEntry | undefined, req: { path: string; hash: string; offset: number; length: number }) => readBlockOf(r, e, req, req.path, held);
      afterEach(() => held.closeAll());
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
    const held = new HeldFiles(manualClock(), openToServe);
    const block = await readBlockOf(root, e, { path: nfc, hash, offset: 4096, length: 4096 }, nfd, held);
    expect(block.equals(content.subarray(4096, 8192))).toBe(true);
    const sums = await readSums(root, e, { ...ask(0, 4), path: nfc }, undefined, inlineRunner, undefined, nfd);
    expect(Buffer.from(sums.weak).readUInt32BE(0)).toBe(sig.weak[0]);
    // Asked for under its NFC spelling on disk, it is not there.
    await expect(readBlockOf(root, e, { path: nfc, hash, offset: 0, length: 10 }, nfc, held)).rejects.toMatchObject({ wireCode: 'changed' });
    held.closeAll();
  });
});

function entry0(st: { size: number; mtimeMs: number; ino: number }): LocalEntry {
  return { path: 'big.bin', type: 'file', size: st.size, mtimeMs: st.mtimeMs, mode: 0o644, hash, target: '', version: { me: 1 }, deleted: false, sequence: 1, inode: st.ino };
}

/** A clock whose timers run only when the test says. */
function manualClock(): { setTimer: (ms: number, fn: () => void) => () => void; fire: () => void; pending: () => number } {
  const timers = new Set<() => void>();
  return {
    setTimer: (_ms, fn) => {
      timers.add(fn);
      return () => timers.delete(fn);
    },
    fire: () => {
      const due = [...timers];
      timers.clear();
      for (const fn of due) fn();
    },
    pending: () => timers.size,
  };
}

describe('HeldFiles: a big file served across requests (issue 17)', () => {
  const req = (offset: number) => ({ path: 'big.bin', hash, offset, length: 65_536 });
  const counting = () => {
    const opened: string[] = [];
    return { opened, open: (abs: string) => (opened.push(abs), openToServe(abs)) };
  };

  it('opens the file once for a window of requests, and closes it once they stop', async () => {
    const clock = manualClock();
    const { opened, open } = counting();
    const held = new HeldFiles(clock, open);
    const e = entry();
    const blocks = await Promise.all([0, 65_536, 131_072, 196_608].map((o) => readBlockOf(root, e, req(o), 'big.bin', held)));
    blocks.forEach((b, i) => expect(b.equals(content.subarray(i * 65_536, (i + 1) * 65_536))).toBe(true));
    expect((await readBlockOf(root, e, req(262_144), 'big.bin', held)).equals(content.subarray(262_144, 300_000))).toBe(true);
    expect(opened).toHaveLength(1);
    expect(held.size).toBe(1);
    // Idle: the timer closes it, and the next request opens it again.
    expect(clock.pending()).toBe(1);
    clock.fire();
    expect(held.size).toBe(0);
    await readBlockOf(root, e, req(0), 'big.bin', held);
    expect(opened).toHaveLength(2);
    held.closeAll();
    expect(held.size).toBe(0);
  });

  it('R2/F6: refuses from a held file once the path names another file, a link, or the file changed in place or cut short, and lets it go', async () => {
    const clock = manualClock();
    const held = new HeldFiles(clock, openToServe);
    const abs = path.join(root, 'big.bin');
    const refusal = (e: LocalEntry) => readBlockOf(root, e, req(0), 'big.bin', held).then(() => 'served', (err: unknown) => (err instanceof ServeError ? err.wireCode : String(err)));
    let e = entry();
    await readBlockOf(root, e, req(0), 'big.bin', held);
    expect(held.size).toBe(1);

    // Moved aside, a link to it in its place: the held descriptor is the indexed file, but the path no longer names it.
    renameSync(abs, path.join(root, 'aside.bin'));
    symlinkSync(path.join(root, 'aside.bin'), abs);
    expect(await refusal(e)).toBe('changed');
    expect(held.size).toBe(0);

    // Back, and written in place while held: the stat after the read says so, and the file is let go.
    rmSync(abs);
    renameSync(path.join(root, 'aside.bin'), abs);
    e = entry();
    await readBlockOf(root, e, req(0), 'big.bin', held);
    const changed = Buffer.from(content);
    changed[10] = (changed[10] as number) ^ 0xff;
    writeFileSync(abs, changed);
    expect(await refusal(e)).toBe('changed');
    expect(held.size).toBe(0);

    // Cut short while held: the read comes up short, and the file is let go too.
    e = entry();
    await readBlockOf(root, e, req(0), 'big.bin', held);
    expect(held.size).toBe(1);
    writeFileSync(abs, changed.subarray(0, 1000));
    expect(await refusal(e)).toBe('changed');
    expect(held.size).toBe(0);
  });

  it("holds at most its limit, giving an idle file's place to a new one, and lends one that finds none idle for one read", async () => {
    const clock = manualClock();
    const { opened, open } = counting();
    const held = new HeldFiles(clock, open, 2_000, 1);
    writeFileSync(path.join(root, 'other.bin'), content);
    const other: LocalEntry = { ...entry0(lstatSync(path.join(root, 'other.bin'))), path: 'other.bin' };
    await readBlockOf(root, entry(), req(0), 'big.bin', held);
    await readBlockOf(root, other, { ...req(0), path: 'other.bin' }, 'other.bin', held);
    expect(held.size).toBe(1);
    const lease = await held.lease(path.join(root, 'other.bin'), other);
    const once = await held.lease(path.join(root, 'big.bin'), entry());
    expect(held.size).toBe(1);
    once?.release();
    lease?.release();
    expect(opened).toEqual([path.join(root, 'big.bin'), path.join(root, 'other.bin'), path.join(root, 'big.bin')]);
    held.closeAll();
  });
});
