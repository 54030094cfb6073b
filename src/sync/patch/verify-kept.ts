/**
 * Checking a patch in place without reading what it keeps: the new content
 * hash is the hash of the leaf digests (core/content-hash.ts), and every leaf
 * the patch does not touch, at the same offset and length as before, has the
 * digest stored for our current version. Only leaves and blocks that overlap
 * a write are read (from the basis, with the fetched bytes laid over them) and
 * hashed; the rest of the new block sums come from the stored ones too.
 *
 * The stored digests describe our file only while it is the version the index
 * records: the patch opened the basis checked against the index, and checks
 * size, mtime and ctime again under the folder lock before and after writing.
 */
import { createHash, hash } from 'node:crypto';
import { hashOfLeaves, LEAF_BYTES, LEAF_DIGEST_BYTES, leafCount } from '../../core/content-hash.js';
import { WizardError } from '../../core/errors.js';
import { weakSum } from '../../delta/rollsum.js';
import { blockCount, blockSizeFor, storesSums, STRONG_BYTES, type Signature } from '../../delta/signature.js';

/** Reads `length` bytes at `position` of the basis into a fresh buffer; fewer at its end. */
export type ReadBasis = (position: number, length: number) => Promise<Buffer>;

/** What the check needs. */
export interface KeptCheck {
  /** The content hash the result must have, and its size. */
  readonly hash: string;
  readonly size: number;
  /** Our current version: its size and stored sums (with leaves). */
  readonly oldSize: number;
  readonly oldSums: Signature | undefined;
  /** The ranges the patch writes, [offset, length], in order, and their new bytes. */
  readonly writes: ReadonlyArray<readonly [number, number]>;
  readonly fresh: readonly Buffer[];
  readonly read: ReadBasis;
}

/**
 * The new file's block sums (with its leaves; undefined when the index keeps
 * none at that size) once its hash is checked, or `unusable` when the stored
 * sums cannot stand in for the kept bytes (no leaves, another block size):
 * the caller then reads the whole file. HASH_MISMATCH when the result would
 * not be the announced content.
 */
export async function verifyKept(c: KeptCheck): Promise<{ sums: Signature | undefined } | 'unusable'> {
  const old = c.oldSums;
  const wantSums = storesSums(c.size);
  const blockSize = blockSizeFor(c.size);
  if (old?.leaves === undefined || old.fileSize !== c.oldSize || old.leaves.length !== leafCount(c.oldSize) * LEAF_DIGEST_BYTES) return 'unusable';
  if (wantSums && old.blockSize !== blockSize) return 'unusable';
  const touched = overlapTest(c.writes);
  const readNew = async (at: number, length: number): Promise<Buffer> => {
    const out = Buffer.alloc(length);
    if (at < c.oldSize) (await c.read(at, Math.min(length, c.oldSize - at))).copy(out);
    for (const [k, [wAt, wLen]] of c.writes.entries()) {
      const from = Math.max(at, wAt);
      const to = Math.min(at + length, wAt + wLen);
      if (from < to) (c.fresh[k] as Buffer).copy(out, from - at, from - wAt, to - wAt);
    }
    return out;
  };
  // A unit (leaf or block) is kept when no write overlaps it and the old file had it at the same offset and length.
  const kept = (unit: number, i: number) => {
    const start = i * unit;
    const end = Math.min(c.size, start + unit);
    return !touched(start, end) && Math.min(c.oldSize, start + unit) === end;
  };
  const leaves = new Uint8Array(leafCount(c.size) * LEAF_DIGEST_BYTES);
  for (let i = 0; i < leaves.length / LEAF_DIGEST_BYTES; i++) {
    const at = i * LEAF_BYTES;
    if (kept(LEAF_BYTES, i) && c.size > 0) leaves.set(old.leaves.subarray(i * LEAF_DIGEST_BYTES, (i + 1) * LEAF_DIGEST_BYTES), i * LEAF_DIGEST_BYTES);
    else leaves.set(createHash('sha256').update(await readNew(at, Math.min(LEAF_BYTES, c.size - at))).digest(), i * LEAF_DIGEST_BYTES);
  }
  if (hashOfLeaves(c.size, leaves) !== c.hash) throw new WizardError('HASH_MISMATCH', `content patched from the delta would not match its hash`);
  if (!wantSums) return { sums: undefined };
  const weak = new Uint32Array(blockCount(c.size, blockSize));
  const strong = new Uint8Array(weak.length * STRONG_BYTES);
  for (let i = 0; i < weak.length; i++) {
    if (kept(blockSize, i)) {
      weak[i] = old.weak[i] as number;
      strong.set(old.strong.subarray(i * STRONG_BYTES, (i + 1) * STRONG_BYTES), i * STRONG_BYTES);
      continue;
    }
    const at = i * blockSize;
    const bytes = await readNew(at, Math.min(blockSize, c.size - at));
    weak[i] = weakSum(bytes, 0, bytes.length);
    strong.set(hash('sha256', bytes, 'buffer').subarray(0, STRONG_BYTES), i * STRONG_BYTES);
  }
  return { sums: { blockSize, fileSize: c.size, weak, strong, leaves } };
}

/** Whether [start, end) overlaps any of `writes` (in order, not overlapping): a binary search. */
function overlapTest(writes: ReadonlyArray<readonly [number, number]>): (start: number, end: number) => boolean {
  return (start, end) => {
    let lo = 0;
    let hi = writes.length;
    // First write that ends after start.
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const [at, len] = writes[mid] as readonly [number, number];
      if (at + len <= start) lo = mid + 1;
      else hi = mid;
    }
    const w = writes[lo];
    return w !== undefined && w[0] < end;
  };
}
