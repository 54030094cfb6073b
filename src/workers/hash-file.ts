/**
 * Hashing one file with all the pool's threads, in one read: the content hash
 * is defined over 64 KiB leaves (core/content-hash.ts), so a big file cuts
 * into slices of whole leaves and whole blocks, each job reads its slice once
 * for both its leaf digests and its block sums, and this thread only joins
 * them. On 2 idle cores the wall time is about half of one job's.
 */
import { hashOfLeaves, LEAF_BYTES, LEAF_DIGEST_BYTES, leafCount } from '../core/content-hash.js';
import { blockCount, blockSizeFor, sliceSignature, storesSums, STRONG_BYTES, type Signature } from '../delta/signature.js';
import { WizardError } from '../core/errors.js';
import type { StatKey } from '../index/hash.js';
import { inlineRunner, type JobRunner } from './pool.js';

/**
 * Files up to this size are hashed on the calling thread (a scan sends its own
 * many to a job instead, hash-batch.ts): reading and hashing
 * 64 KiB takes tens of microseconds, less than the hop to a worker, and small
 * files then never queue behind a big file's jobs on the pool.
 */
export const INLINE_MAX_BYTES = 64 * 1024;
/** Below this a file is hashed by one job: a thread hop per slice costs more than it saves. */
export const SPLIT_MIN_BYTES = 16 * 1024 * 1024;
/** Most slices per file: enough to balance the SHA-256 job across 2 to 4 threads. */
const MAX_SLICES = 8;
/** Fewest bytes per slice, so slicing never makes jobs smaller than what a hop is worth. */
const MIN_SLICE_BYTES = 8 * 1024 * 1024;

/** Least common multiple of the leaf size and `blockSize` (a multiple of 1 KiB): at most 4 MiB. */
function sliceUnit(blockSize: number): number {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  return (LEAF_BYTES / gcd(LEAF_BYTES, blockSize)) * blockSize;
}

/**
 * The byte ranges `[start, length]` to hash a file of `size` bytes in separate
 * jobs: consecutive, covering every byte, each starting on a leaf and (with
 * `blockSize`) a block boundary, of at least MIN_SLICE_BYTES except when the
 * file is smaller, at most MAX_SLICES.
 */
export function hashSlices(size: number, blockSize: number | undefined): Array<[number, number]> {
  const unit = blockSize === undefined ? LEAF_BYTES : sliceUnit(blockSize);
  const units = Math.max(1, Math.ceil(size / unit));
  const slices = Math.max(1, Math.min(MAX_SLICES, Math.floor(size / MIN_SLICE_BYTES)));
  const per = Math.ceil(units / slices) * unit;
  const out: Array<[number, number]> = [];
  for (let start = 0; start < size || out.length === 0; start += per) out.push([start, Math.min(per, size - start)]);
  return out;
}

/** What hashing a file gives: its content hash, its leaf digests, and the block sums the index keeps for it (files of 1 MiB and more), the leaves with them. */
export interface HashedFile {
  readonly hash: string;
  readonly leaves: Uint8Array;
  readonly sums: Signature | undefined;
}

/**
 * Content hash, leaf digests and (files of 1 MiB and more) block sums of the
 * file at `path`, which must still match `stat` throughout (CHANGED
 * otherwise). Small files are hashed here, middling ones by one job, big ones
 * by slices across the pool: the same result whichever way.
 * `prior` is the stored signature of the version this one replaces: blocks
 * whose strong hash did not change keep their weak sum (SignatureBuilder).
 */
export async function hashFile(runner: JobRunner, path: string, stat: StatKey, prior?: Signature): Promise<HashedFile> {
  const blockSize = storesSums(stat.size) ? blockSizeFor(stat.size) : undefined;
  // Sums at another block size (the file changed size class) have nothing to give.
  const usable = blockSize !== undefined && prior?.blockSize === blockSize ? prior : undefined;
  const args = { path, stat, ...(usable === undefined ? {} : { prior: usable }) };
  if (stat.size < SPLIT_MIN_BYTES) {
    const got = await (stat.size <= INLINE_MAX_BYTES ? inlineRunner : runner).run('hash', args);
    return got.sums === undefined ? got : { ...got, sums: { ...got.sums, leaves: got.leaves } };
  }
  const ranges = hashSlices(stat.size, blockSize);
  const parts = ranges.map(([start, length], i) => {
    const own = blockSize === undefined ? {} : { blockSize, ...(usable === undefined ? {} : { prior: sliceSignature(usable, start / blockSize, Math.ceil(length / blockSize)) }) };
    return runner.run('slice', { path, stat, start, length, last: i === ranges.length - 1, ...own });
  });
  // Wait for every job even when one fails, so none is still reading after we report.
  const settled = await Promise.allSettled(parts);
  for (const r of settled) if (r.status === 'rejected') throw r.reason;
  const slices = await Promise.all(parts);
  const leaves = new Uint8Array(leafCount(stat.size) * LEAF_DIGEST_BYTES);
  let at = 0;
  for (const s of slices) {
    leaves.set(s.leaves, at);
    at += s.leaves.length;
  }
  if (blockSize === undefined) return { hash: hashOfLeaves(stat.size, leaves), leaves, sums: undefined };
  const weak = new Uint32Array(blockCount(stat.size, blockSize));
  const strong = new Uint8Array(weak.length * STRONG_BYTES);
  let block = 0;
  for (const s of slices) {
    if (s.sums === undefined) throw new WizardError('INTERNAL', 'a slice came back without its sums');
    weak.set(s.sums.weak, block);
    strong.set(s.sums.strong, block * STRONG_BYTES);
    block += s.sums.weak.length;
  }
  return { hash: hashOfLeaves(stat.size, leaves), leaves, sums: { blockSize, fileSize: stat.size, weak, strong, leaves } };
}
