/**
 * The download path against an in-memory peer on a real temp dir: deltas
 * against our own file, fallback to a whole transfer when a delta would land
 * wrong bytes, and resume from a partial download.
 */
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { contentHash } from '../../src/core/content-hash.js';
import { signatureOf, storesSums, type Signature } from '../../src/delta/signature.js';
import { tempNameFor } from '../../src/core/paths.js';
import type { FileEntry } from '../../src/index/entry.js';
import { download, WRITE_NOW_MAX_BYTES } from '../../src/sync/pull/fetch.js';
import { tempPlaceFor, type TempPlace } from '../../src/sync/disk/temp-place.js';
import { hasCode } from '../../src/core/errors.js';
import { inlineRunner } from '../../src/workers/pool.js';
import { fakePeer } from '../support/peer.js';
import { seededBytes } from '../support/random.js';
import { canMountTmpfs, fillDisk, mountTmpfs, NO_TMPFS_REASON, unmount } from '../support/tmpfs.js';

const KiB = 1024;
/** The folder root, with its `.wizard` dir. */
let dir: string;
/** Where the temp files of `f` go: the folder's `.wizard/tmp`. */
let place: TempPlace;
/** Descriptors a test opened for a basis, closed after it. */
const opened: number[] = [];

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'wizard-download-'));
  mkdirSync(path.join(dir, '.wizard'));
  place = tempPlaceFor(dir, 'f');
});

afterEach(() => {
  for (const fd of opened.splice(0)) closeSync(fd);
  rmSync(dir, { recursive: true, force: true });
});

/** Our file `f` with `content`, open as a delta basis. */
function basisOf(content: Buffer, sums: Signature | undefined): { fd: number; sums: Signature | undefined } {
  writeFileSync(path.join(dir, 'f'), content);
  const fd = openSync(path.join(dir, 'f'), 'r');
  opened.push(fd);
  return { fd, sums };
}

function entryOf(rel: string, content: Buffer): FileEntry {
  return { path: rel, type: 'file', size: content.length, mtimeMs: 0, mode: 0o644, hash: contentHash(content), target: '', version: { p: 1 }, deleted: false, sequence: 1 };
}

const temps = () => (existsSync(place.dir) ? readdirSync(place.dir).filter((n) => n.startsWith('.~wizard-')) : []);

describe('download', () => {
  const edited = (seed: number) => {
    const t = seededBytes(1024 * KiB, seed);
    t.fill(1, 500 * KiB, 504 * KiB);
    return t;
  };
  /** Each case: what we have (with stored sums or not), what the peer has, and the most content bytes the peer may send. */
  const cases: Array<{ description: string; basis: Buffer | undefined; hasSums?: boolean; target: Buffer; maxSent: number }> = [
    { description: 'no basis: the whole file', basis: undefined, target: seededBytes(300 * KiB, 1), maxSent: 300 * KiB },
    { description: 'a small file goes whole even with a basis', basis: seededBytes(8 * KiB, 2), target: seededBytes(8 * KiB, 3), maxSent: 8 * KiB },
    {
      description: 'an in-place edit fetches about one block',
      basis: seededBytes(1024 * KiB, 4),
      target: Buffer.concat([seededBytes(1024 * KiB, 4).subarray(0, 500 * KiB), Buffer.alloc(4 * KiB, 1), seededBytes(1024 * KiB, 4).subarray(504 * KiB)]),
      maxSent: 2 * 5 * KiB + 4 * KiB,
    },
    {
      description: 'an in-place edit with our stored sums fetches only the changed KiB',
      basis: seededBytes(1024 * KiB, 4),
      hasSums: true,
      target: edited(4),
      maxSent: 4 * KiB,
    },
    {
      description: 'an append with our stored sums fetches only the new bytes',
      basis: seededBytes(1024 * KiB, 8),
      hasSums: true,
      target: Buffer.concat([seededBytes(1024 * KiB, 8), seededBytes(3000, 9)]),
      maxSent: 3000 + 5 * KiB,
    },
    {
      description: 'an insertion at offset 0 with our stored sums fetches about one block',
      basis: seededBytes(1024 * KiB, 10),
      hasSums: true,
      target: Buffer.concat([Buffer.from('y'.repeat(100)), seededBytes(1024 * KiB, 10)]),
      maxSent: 6 * KiB,
    },
    {
      description: 'an insertion in the middle with our stored sums finds the shifted blocks after it',
      basis: seededBytes(4096 * KiB, 11),
      hasSums: true,
      target: Buffer.concat([seededBytes(4096 * KiB, 11).subarray(0, 2000 * KiB), Buffer.from('z'.repeat(100)), seededBytes(4096 * KiB, 11).subarray(2000 * KiB)]),
      maxSent: 2 * 10 * KiB,
    },
    {
      description: 'an insertion at offset 0 fetches about one block',
      basis: seededBytes(1024 * KiB, 5),
      target: Buffer.concat([Buffer.from('x'.repeat(100)), seededBytes(1024 * KiB, 5)]),
      maxSent: 6 * KiB,
    },
  ];
  for (const c of cases) {
    it(c.description, async () => {
      const peer = fakePeer({ f: c.target });
      const basis = c.basis === undefined ? undefined : basisOf(c.basis, c.hasSums === true ? signatureOf(c.basis) : undefined);
      const { temp, sums } = await download(place, entryOf('f', c.target), ['peer'], basis, { ...peer, runner: inlineRunner });
      expect(readFileSync(temp).equals(c.target)).toBe(true);
      expect(peer.blockBytes).toBeLessThanOrEqual(c.maxSent);
      // The sums recorded for the new file are its own, whether hashed or reused from the old file's; none below STORED_SUMS_MIN_BYTES.
      const expected = storesSums(c.target.length) ? signatureOf(c.target) : undefined;
      expect(sums?.weak).toEqual(expected?.weak);
      expect(Buffer.from(sums?.strong ?? []).equals(Buffer.from(expected?.strong ?? []))).toBe(true);
    });
  }

  describe('issue 18 item 4: an edit in place is found from the block sums at the same offsets, with no rolling search', () => {
    const old = seededBytes(4096 * KiB, 13);
    /** Each case: the new version, whether a rolling search ('locate' job) may run, and the most content bytes the peer may send. */
    const cases: Array<{ description: string; target: Buffer; searches: boolean; maxSent: number }> = [
      { description: '4 KiB overwritten in the middle', target: Buffer.concat([old.subarray(0, 2050 * KiB), Buffer.alloc(4 * KiB, 7), old.subarray(2054 * KiB)]), searches: false, maxSent: 4 * KiB },
      { description: 'two edits in place, groups apart', target: Buffer.concat([old.subarray(0, 100 * KiB), Buffer.alloc(KiB, 7), old.subarray(101 * KiB, 3000 * KiB), Buffer.alloc(KiB, 8), old.subarray(3001 * KiB)]), searches: false, maxSent: 2 * KiB },
      { description: 'an append', target: Buffer.concat([old, seededBytes(3000, 14)]), searches: false, maxSent: 3000 + 10 * KiB },
      { description: 'an insertion in the middle still rolls near it', target: Buffer.concat([old.subarray(0, 2000 * KiB), Buffer.from('z'.repeat(100)), old.subarray(2000 * KiB)]), searches: true, maxSent: 2 * 10 * KiB },
    ];
    for (const c of cases) {
      it(c.description, async () => {
        const peer = fakePeer({ f: c.target });
        const kinds: string[] = [];
        const runner: typeof inlineRunner = { run: (kind, args) => (kinds.push(kind), inlineRunner.run(kind, args)), close: () => Promise.resolve() };
        const { temp } = await download(place, entryOf('f', c.target), ['peer'], basisOf(old, signatureOf(old)), { ...peer, runner });
        expect(readFileSync(temp).equals(c.target)).toBe(true);
        expect(kinds.includes('locate'), kinds.join(', ')).toBe(c.searches);
        expect(peer.blockBytes).toBeLessThanOrEqual(c.maxSent);
      });
    }
  });

  describe('protocol 7: a file of 16 MiB or more has blocks of one leaf', () => {
    const MiB = 1024 * KiB;
    const size = 17 * MiB;
    /** Two bytes 4,096 apart at `at` of our old file, 16 apart in value: swapping them keeps a 64 KiB block's weak sum. */
    const at = 650_000;
    const old = seededBytes(size, 21);
    old[at] = 0;
    old[at + 4096] = 16;
    /** SHIFT: 100 bytes inserted at offset 0. */
    const shifted = Buffer.concat([seededBytes(100, 22), old]);
    /** Counts the jobs of `kind` a download runs, and what they were given. */
    const counting = () => {
      const jobs: Array<{ kind: string; args: unknown }> = [];
      const runner: typeof inlineRunner = { run: (kind, args) => (jobs.push({ kind, args }), inlineRunner.run(kind, args)), close: () => Promise.resolve() };
      return { jobs, runner };
    };

    it('a shift fetches one block, searches our file taking runs on weak sums, and records the sums a sender computes for the new file', async () => {
      const peer = fakePeer({ f: shifted });
      const { jobs, runner } = counting();
      const fallbacks: unknown[] = [];
      const { temp, sums } = await download(place, entryOf('f', shifted), ['peer'], basisOf(old, signatureOf(old)), { ...peer, runner, onDeltaFallback: (_r, err) => fallbacks.push(err) });
      expect(readFileSync(temp).equals(shifted)).toBe(true);
      expect(fallbacks).toEqual([]);
      expect(peer.blockBytes).toBe(64 * KiB);
      // One job per slice of our file (search-fill.ts).
      const locates = jobs.filter((j) => j.kind === 'locate');
      expect(locates.length).toBeGreaterThan(1);
      expect(locates.every((j) => (j.args as { runsByWeak?: boolean }).runsByWeak === true)).toBe(true);
      // What the sender stores for the same bytes (workers/hash-file.ts gives signatureOf's sums, test/workers).
      const expected = signatureOf(shifted);
      expect(expected.blockSize).toBe(64 * KiB);
      expect(sums?.blockSize).toBe(64 * KiB);
      expect(Array.from(sums?.weak ?? [])).toEqual(Array.from(expected.weak));
      expect(Buffer.from(sums?.strong ?? []).equals(Buffer.from(expected.strong))).toBe(true);
    });

    it('a block our file holds with the right weak sum but other bytes is fetched in its place, not the whole file', async () => {
      // Our file: the two bytes swapped, so target block 9 (our bytes from 576 KiB - 100) keeps its weak sum and not its strong one.
      const ours = Buffer.from(old);
      ours[at] = 16;
      ours[at + 4096] = 0;
      const peer = fakePeer({ f: shifted });
      const fallbacks: unknown[] = [];
      const { temp, sums } = await download(place, entryOf('f', shifted), ['peer'], basisOf(ours, signatureOf(ours)), { ...peer, runner: inlineRunner, onDeltaFallback: (_r, err) => fallbacks.push(err) });
      expect(readFileSync(temp).equals(shifted)).toBe(true);
      expect(fallbacks).toEqual([]);
      // The new first block, and block 9 again.
      expect(peer.blockBytes).toBe(2 * 64 * KiB);
      const expected = signatureOf(shifted);
      expect(Array.from(sums?.weak ?? [])).toEqual(Array.from(expected.weak));
      expect(Buffer.from(sums?.strong ?? []).equals(Buffer.from(expected.strong))).toBe(true);
    });

    it('our stored sums at the block size of protocol 6 (an index from before) are not taken as ours: no group digests at either size, and the shift still costs one block', async () => {
      const peer = fakePeer({ f: shifted });
      const asked: number[] = [];
      const readSums: typeof peer.readSums = (p, req) => (asked.push(req.group > 1 ? -req.blockSize : req.blockSize), peer.readSums(p, req));
      const oldRule = 20 * KiB; // round(sqrt(24 x 17 MiB) / 1 KiB) KiB
      const { temp, sums } = await download(place, entryOf('f', shifted), ['peer'], basisOf(old, signatureOf(old, oldRule)), { ...peer, readSums, runner: inlineRunner });
      expect(readFileSync(temp).equals(shifted)).toBe(true);
      expect(peer.blockBytes).toBe(64 * KiB);
      // Block sums at 64 KiB, never group digests, never 20 KiB (and no 1 KiB refinement of the new first block: its neighbour moved).
      expect(new Set(asked)).toEqual(new Set([64 * KiB]));
      expect(sums?.blockSize).toBe(64 * KiB);
    });

    it('F7: sums a peer sends at another block size than asked are refused, and the file is downloaded whole', async () => {
      const peer = fakePeer({ f: shifted });
      const readSums: typeof peer.readSums = (p, req) => peer.readSums(p, { ...req, blockSize: 20 * KiB });
      const fallbacks: unknown[] = [];
      const { temp } = await download(place, entryOf('f', shifted), ['peer'], basisOf(old, signatureOf(old)), { ...peer, readSums, runner: inlineRunner, onDeltaFallback: (_r, err) => fallbacks.push(err) });
      expect(readFileSync(temp).equals(shifted)).toBe(true);
      expect(fallbacks).toHaveLength(1);
      expect(hasCode(fallbacks[0], 'PROTOCOL')).toBe(true);
      expect(peer.blockBytes).toBe(shifted.length);
    });
  });

  it('hands over a temp file stamped with the entry\'s mtime and mode, ready to rename', async () => {
    const content = seededBytes(3000, 16);
    const entry = { ...entryOf('f', content), mtimeMs: 1_600_000_000_123, mode: 0o640 };
    const { temp } = await download(place, entry, ['peer'], undefined, { ...fakePeer({ f: content }), runner: inlineRunner });
    const st = statSync(temp);
    expect(Math.round(st.mtimeMs)).toBe(1_600_000_000_123);
    expect(st.mode & 0o777).toBe(0o640);
  });

  describe('a small file (written with synchronous calls once its bytes are here)', () => {
    const content = seededBytes(WRITE_NOW_MAX_BYTES, 30);

    it('is fetched in one request and handed over with the stat of the temp file it wrote', async () => {
      const peer = fakePeer({ f: content });
      const { temp, stat, sums } = await download(place, entryOf('f', content), ['peer'], undefined, { ...peer, runner: inlineRunner });
      expect(readFileSync(temp).equals(content)).toBe(true);
      expect(peer.blockBytes).toBe(content.length);
      expect(sums).toBeUndefined();
      const onDisk = statSync(temp);
      expect([stat.ino, stat.size, stat.mtimeMs, stat.mode]).toEqual([onDisk.ino, onDisk.size, onDisk.mtimeMs, onDisk.mode]);
    });

    it('creates nothing when the bytes that came do not match the hash', async () => {
      const err: unknown = await download(place, entryOf('f', content), ['peer'], undefined, { ...fakePeer({ f: Buffer.from('forged') }), runner: inlineRunner }).catch((e: unknown) => e);
      expect(hasCode(err, 'HASH_MISMATCH')).toBe(true);
      expect(temps()).toEqual([]);
    });

    it.skipIf(!canMountTmpfs)(`S1: leaves no temp file on a disk too full for it, and fails with ENOSPC${canMountTmpfs ? '' : ` (skipped: ${NO_TMPFS_REASON})`}`, async () => {
      const disk = path.join(dir, 'disk');
      mkdirSync(disk);
      mountTmpfs(disk, '1m');
      try {
        mkdirSync(path.join(disk, '.wizard'));
        const full = tempPlaceFor(disk, 'f');
        fillDisk(disk);
        const err: unknown = await download(full, entryOf('f', content), ['peer'], undefined, { ...fakePeer({ f: content }), runner: inlineRunner }).catch((e: unknown) => e);
        expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
        expect(readdirSync(full.dir).filter((n) => n.startsWith('.~wizard-'))).toEqual([]);
      } finally {
        unmount(disk);
      }
    });
  });

  it('says when every byte is here, once, before the local finish', async () => {
    const content = seededBytes(40 * KiB, 17);
    const peer = fakePeer({ f: content });
    const heard: number[] = [];
    let resolved = false;
    const done = download(place, entryOf('f', content), ['peer'], undefined, { ...peer, runner: inlineRunner }, () => {
      expect(resolved).toBe(false);
      heard.push(peer.blockBytes);
    }).then((d) => {
      resolved = true;
      return d;
    });
    await done;
    expect(heard).toEqual([content.length]);
  });

  for (const hasSums of [false, true]) {
    it(`F7: falls back to a whole transfer when the sums lie about the blocks (${hasSums ? 'group digests' : 'block sums'})`, async () => {
      const basis = seededBytes(512 * KiB, 6);
      const target = Buffer.from(basis);
      target[100] = (target[100] as number) ^ 1;
      // The peer announces the basis's sums for content that differs from them: every block "matches".
      const peer = fakePeer({ f: target });
      const liar = { ...peer, readSums: fakePeer({ f: basis }).readSums };
      const current = basisOf(basis, hasSums ? signatureOf(basis) : undefined);
      const fallbacks: unknown[] = [];
      const deps = { ...liar, runner: inlineRunner, onDeltaFallback: (_rel: string, err: unknown) => fallbacks.push(err) };
      const { temp } = await download(place, entryOf('f', target), ['peer'], current, deps);
      expect(readFileSync(temp).equals(target)).toBe(true);
      expect(peer.blockBytes).toBe(target.length);
      expect(fallbacks).toHaveLength(1);
    });
  }

  it('reuses and then removes a partial left by a download of an older version', async () => {
    const older = seededBytes(1024 * KiB, 12);
    const target = Buffer.concat([older.subarray(0, 700 * KiB), seededBytes(2 * KiB, 13), older.subarray(702 * KiB)]);
    const stale = path.join(place.dir, tempNameFor(place.stem, `${'0'.repeat(16)}-abcdef01`));
    writeFileSync(stale, older);
    // A symlink's temp name, another path's partial, and a partial of a file `f` in another dir are not ours to touch.
    const others = [tempNameFor(place.stem, 'abcdef01'), tempNameFor(tempPlaceFor(dir, 'g').stem, `${'0'.repeat(16)}-abcdef01`)];
    mkdirSync(path.join(dir, 'd'));
    others.push(tempNameFor(tempPlaceFor(dir, 'd/f').stem, `${'0'.repeat(16)}-abcdef01`));
    for (const n of others) writeFileSync(path.join(place.dir, n), older);
    const peer = fakePeer({ f: target });
    const { temp } = await download(place, entryOf('f', target), ['peer'], undefined, { ...peer, runner: inlineRunner });
    expect(readFileSync(temp).equals(target)).toBe(true);
    expect(peer.blockBytes).toBeLessThanOrEqual(3 * 5 * KiB);
    expect(temps().sort()).toEqual([path.basename(temp), ...others].sort());
  });

  it('fetches a one-request file with no basis whole, without looking for partials of it', async () => {
    // 32 KiB: delta-sized, yet one request. An older version's partial of it stays where it is (the stale temps take it).
    const target = seededBytes(32 * KiB, 21);
    const stale = path.join(place.dir, tempNameFor(place.stem, `${'0'.repeat(16)}-abcdef01`));
    writeFileSync(stale, seededBytes(32 * KiB, 22));
    const peer = fakePeer({ f: target });
    const { temp } = await download(place, entryOf('f', target), ['peer'], undefined, { ...peer, runner: inlineRunner });
    expect(readFileSync(temp).equals(target)).toBe(true);
    expect(peer.sumsRequests).toBe(0);
    expect(temps().sort()).toEqual([path.basename(temp), path.basename(stale)].sort());
  });

  it('F6: sizes nothing by a huge size a peer announces (2^50 bytes): no delta, no sums, the short answer fails the download', async () => {
    const basis = basisOf(seededBytes(64 * KiB, 15), undefined);
    const entry = { ...entryOf('f', Buffer.alloc(0)), size: 2 ** 50 };
    const peer = fakePeer({ f: seededBytes(64 * KiB, 15) });
    const fallbacks: unknown[] = [];
    const deps = { ...peer, runner: inlineRunner, onDeltaFallback: (_rel: string, err: unknown) => fallbacks.push(err) };
    await expect(download(place, entry, ['peer'], basis, deps)).rejects.toMatchObject({ code: 'HASH_MISMATCH' });
    expect(peer.sumsRequests).toBe(0);
    expect(temps()).toEqual([]);
  });

  it('resumes an interrupted transfer from the partial file it left', async () => {
    const target = seededBytes(2048 * KiB, 7);
    const entry = entryOf('f', target);
    const peer = fakePeer({ f: target });
    peer.failAfterBytes = 1024 * KiB;
    await expect(download(place, entry, ['peer'], undefined, { ...peer, runner: inlineRunner })).rejects.toThrow('link cut');
    expect(temps()).toHaveLength(1);

    const sentBefore = peer.blockBytes;
    peer.failAfterBytes = undefined;
    const { temp } = await download(place, entry, ['peer'], undefined, { ...peer, runner: inlineRunner });
    expect(readFileSync(temp).equals(target)).toBe(true);
    // The second attempt fetched only what the first did not write (plus a block at the seam).
    expect(peer.blockBytes - sentBefore).toBeLessThanOrEqual(target.length - sentBefore + 64 * KiB);
    expect(peer.blockBytes - sentBefore).toBeLessThan(target.length * 0.75);
    // The partial is gone; only the finished temp file remains.
    expect(temps()).toEqual([path.basename(temp)]);
  });
});
