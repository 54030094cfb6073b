/**
 * Hashing one file with all the pool's threads: a big file's SHA-256 is one
 * sequential job, but its block sums cut into independent slices of whole
 * blocks, so they run beside it on the other threads. The CPU is the same as
 * one job's; on 2 idle cores the wall time is about half (on cores other
 * processes keep busy it gains little; docs/DELTA.md has the figures).
 */
import { blockCount, blockSizeFor, isDeltaSized, sliceSignature, STRONG_BYTES, type Signature } from '../delta/signature.js';
import type { StatKey } from '../index/hash.js';
import { inlineRunner, type JobRunner } from './pool.js';

/**
 * Files up to this size are hashed on the calling thread: reading and hashing
 * 64 KiB takes tens of microseconds, less than the hop to a worker, and small
 * files then never queue behind a big file's jobs on the pool.
 */
export const INLINE_MAX_BYTES = 64 * 1024;
/** Below this a file is hashed by one job: a thread hop per slice costs more than it saves. */
export const SPLIT_MIN_BYTES = 16 * 1024 * 1024;
/** Most sums slices per file: enough to balance the SHA-256 job across 2 to 4 threads. */
const MAX_SLICES = 8;
/** Fewest bytes per slice, so slicing never makes jobs smaller than what a hop is worth. */
const MIN_SLICE_BYTES = 8 * 1024 * 1024;

/**
 * The block ranges `[first, count]` to compute the sums of a file of `size`
 * bytes in separate jobs: consecutive, covering every block, each of at least
 * MIN_SLICE_BYTES except when the file is smaller, at most MAX_SLICES.
 */
export function sumsSlices(size: number, blockSize: number): Array<[number, number]> {
  const blocks = blockCount(size, blockSize);
  const slices = Math.max(1, Math.min(MAX_SLICES, Math.floor(size / MIN_SLICE_BYTES)));
  const per = Math.ceil(blocks / slices);
  const out: Array<[number, number]> = [];
  for (let first = 0; first < blocks; first += per) out.push([first, Math.min(per, blocks - first)]);
  return out;
}

/**
 * SHA-256 and (for delta-sized files) block sums of the file at `path`, which
 * must still match `stat` throughout (CHANGED otherwise). Same result as the
 * single `hash` job, only split over the pool's threads for big files.
 * `prior` is the stored signature of the version this one replaces: blocks
 * whose strong hash did not change keep their weak sum (SignatureBuilder), so
 * an edit in a big file costs about SHA-256 twice instead of three times.
 */
export async function hashFile(runner: JobRunner, path: string, stat: StatKey, prior?: Signature): Promise<{ hash: string; sums: Signature | undefined }> {
  const blockSize = blockSizeFor(stat.size);
  // Sums at another block size (the file changed size class) have nothing to give.
  const usable = prior?.blockSize === blockSize ? prior : undefined;
  const args = { path, stat, ...(usable === undefined ? {} : { prior: usable }) };
  if (stat.size <= INLINE_MAX_BYTES) return inlineRunner.run('hash', args);
  if (stat.size < SPLIT_MIN_BYTES || !isDeltaSized(stat.size)) return runner.run('hash', args);
  const whole = runner.run('hash', { path, stat, noSums: true });
  const parts = sumsSlices(stat.size, blockSize).map(([first, count]) =>
    runner.run('sums', { path, stat, blockSize, first, count, ...(usable === undefined ? {} : { prior: sliceSignature(usable, first, count) }) }),
  );
  // Wait for every job even when one fails, so none is still reading after we report.
  const settled = await Promise.allSettled([whole, ...parts]);
  for (const r of settled) if (r.status === 'rejected') throw r.reason;
  const { hash } = await whole;
  const slices = await Promise.all(parts);
  const weak = new Uint32Array(blockCount(stat.size, blockSize));
  const strong = new Uint8Array(weak.length * STRONG_BYTES);
  let at = 0;
  for (const s of slices) {
    weak.set(s.weak, at);
    strong.set(s.strong, at * STRONG_BYTES);
    at += s.weak.length;
  }
  return { hash, sums: { blockSize, fileSize: stat.size, weak, strong } };
}
