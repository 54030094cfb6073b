/**
 * The CPU-heavy work on file contents: hashing with block sums, locating a
 * target's blocks in local files, and sums of part of a file. Each job reads
 * with one reusable buffer and synchronous calls, because it runs in a worker
 * thread (pool.ts), where blocking is the point: the daemon's event loop never waits on it.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync } from 'node:fs';
import { hashOfLeaves, LEAF_BYTES, LeafHasher } from '../core/content-hash.js';
import { describeError, WizardError } from '../core/errors.js';
import { BlockLocator } from '../delta/locate.js';
import { blockSizeFor, SignatureBuilder, storesSums, type Signature } from '../delta/signature.js';
import { sameStat, statKey, type StatKey } from '../index/hash.js';

/** Read-only, and never through a symlink that replaced a file after it was stat'ed. */
const NO_FOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW;

/** Bytes read per call: large enough to amortise syscalls, small enough to stay in cache. */
const READ_BYTES = 1024 * 1024;
/**
 * Bytes read between checks that the file is still the one we started on: a
 * file still being written, or renamed away (a temp file of an editor), is
 * dropped after this much, not after all of it (a 64 MiB temp file hashed to
 * the end held up the scan of the file it was renamed to).
 */
const RECHECK_BYTES = 16 * 1024 * 1024;

/** The job kinds with their arguments and results. */
export interface Jobs {
  /**
   * SHA-256 of a file and, when it is big enough for deltas and `noSums` is not
   * set, its block sums; `prior` is the signature of the version it replaces (see SignatureBuilder).
   */
  hash: { args: { path: string; stat: StatKey; noSums?: boolean; prior?: Signature }; result: { hash: string; sums: Signature | undefined; leaves: Uint8Array } };
  /**
   * Content hashes of many small files in one job, each file's own or the error it met (`code`
   * as a failed job's: a WizardError's code or an errno code). Each must still match its `stat`
   * throughout, as with `hash`; none has block sums (too small for deltas). One job for many
   * files, because a file of a few KiB is read and hashed in less time than a hop to a thread.
   */
  hashBatch: { args: { files: ReadonlyArray<{ path: string; stat: StatKey }> }; result: { hashes: Array<string | { code: string; message: string }> } };
  /**
   * The leaf digests of `length` bytes from `start` (a multiple of the leaf size) of a file that
   * must still match `stat` throughout, and with `blockSize`, the block sums of the same bytes
   * (`start` then a multiple of it too; `prior`: the earlier version's sums of those blocks,
   * sliceSignature). `last`: the slice ends the file, so a byte past its end means CHANGED.
   */
  slice: {
    args: { path: string; stat: StatKey; start: number; length: number; last: boolean; blockSize?: number; prior?: Signature };
    result: { leaves: Uint8Array; sums: Pick<Signature, 'weak' | 'strong'> | undefined };
  };
  /**
   * For each block of `target`, where it is found in one of `bases` (`basis[i]` -1: nowhere).
   * `bases` are descriptors open for reading, owned by the caller (worker threads share the
   * process's descriptors): a path opened here, after the caller's waits, could lead anywhere.
   * With `ranges`, only those byte ranges of `bases[0]` are searched. `runsByWeak`: see BlockMatcher.
   */
  locate: { args: { bases: number[]; target: Signature; ranges?: Array<[number, number]>; runsByWeak?: boolean }; result: { basis: Int8Array; offset: Float64Array } };
  /**
   * Block sums of `count` blocks from block `first`, of a file that must still
   * match `stat`; `prior` is the earlier version's signature of the same blocks (sliceSignature).
   */
  sums: { args: { path: string; stat: StatKey; blockSize: number; first: number; count: number; prior?: Signature }; result: Pick<Signature, 'weak' | 'strong'> };
  /**
   * The leaf digests and weak sums of `length` bytes at `start` (a multiple of the leaf size) of a
   * file being downloaded, read back through `fd`, the caller's descriptor open on its temp file
   * (kept open until the job ends): bytes the caller has written, in blocks of one leaf.
   */
  written: { args: { fd: number; start: number; length: number }; result: { leaves: Uint8Array; weak: Uint32Array } };
}

/** The name of a job. */
export type JobKind = keyof Jobs;

/** Runs one job here and now (in a worker, or inline in tests). */
export function runJob<K extends JobKind>(kind: K, args: Jobs[K]['args']): Jobs[K]['result'] {
  switch (kind) {
    case 'hash': {
      const a = args as Jobs['hash']['args'];
      return hashJob(a.path, a.stat, a.noSums === true, a.prior);
    }
    case 'hashBatch': {
      const a = args as Jobs['hashBatch']['args'];
      return hashBatchJob(a.files);
    }
    case 'slice': {
      const a = args as Jobs['slice']['args'];
      return sliceJob(a);
    }
    case 'locate': {
      const a = args as Jobs['locate']['args'];
      return locateJob(a.bases, a.target, a.ranges, a.runsByWeak === true);
    }
    case 'sums': {
      const a = args as Jobs['sums']['args'];
      return sumsJob(a.path, a.stat, a.blockSize, a.first, a.count, a.prior);
    }
    case 'written': {
      const a = args as Jobs['written']['args'];
      return writtenJob(a.fd, a.start, a.length);
    }
  }
  throw new WizardError('INTERNAL', `unknown job ${String(kind)}`);
}

/**
 * Streams `length` bytes at `offset` of an open file into `onChunk`; returns
 * the bytes read. With `expect`, throws CHANGED as soon as the file (by its
 * descriptor) or its path (another file renamed over it, or it renamed away)
 * stops matching `expect.stat`, checked every RECHECK_BYTES.
 */
function readRange(fd: number, offset: number, length: number, buf: Buffer, onChunk: (chunk: Buffer) => void, expect?: { path: string; stat: StatKey }): number {
  let done = 0;
  let sinceCheck = 0;
  while (done < length) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, length - done), offset + done);
    if (n === 0) break;
    onChunk(buf.subarray(0, n));
    done += n;
    sinceCheck += n;
    if (expect !== undefined && sinceCheck >= RECHECK_BYTES && done < length) {
      sinceCheck = 0;
      if (!isStill(fd, expect.path, expect.stat)) throw new WizardError('CHANGED', `${expect.path} changed while it was read`);
    }
  }
  return done;
}

/** Whether the open file and the file at `path` are both still the version `stat` describes. */
function isStill(fd: number, path: string, stat: StatKey): boolean {
  if (!sameStat(stat, statKey(fstatSync(fd)))) return false;
  const now = lstatSync(path, { throwIfNoEntry: false });
  return now !== undefined && now.ino === stat.inode;
}

function hashJob(path: string, stat: StatKey, noSums: boolean, prior: Signature | undefined): Jobs['hash']['result'] {
  const blockSize = !noSums && storesSums(stat.size) ? blockSizeFor(stat.size) : undefined;
  const { leaves, sums } = sliceJob({ path, stat, start: 0, length: stat.size, last: true, ...(blockSize === undefined ? {} : { blockSize }), ...(prior === undefined ? {} : { prior }) });
  return { hash: hashOfLeaves(stat.size, leaves), sums: sums === undefined || blockSize === undefined ? undefined : { blockSize, fileSize: stat.size, ...sums }, leaves };
}

function hashBatchJob(files: Jobs['hashBatch']['args']['files']): Jobs['hashBatch']['result'] {
  const hashes = files.map(({ path, stat }) => {
    try {
      return hashJob(path, stat, true, undefined).hash;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      return { code: typeof code === 'string' ? code : 'INTERNAL', message: describeError(err) };
    }
  });
  return { hashes };
}

/**
 * One read of a slice: its leaf digests and, when asked, its block sums. With
 * blocks of one leaf (files from 16 MiB, blockSizeFor) a block's strong hash is its leaf
 * digest cut short, so each byte goes through SHA-256 once.
 */
function sliceJob(a: Jobs['slice']['args']): Jobs['slice']['result'] {
  const { path, stat, start, length, blockSize, prior } = a;
  if (start % LEAF_BYTES !== 0 || (blockSize !== undefined && start % blockSize !== 0)) throw new WizardError('INTERNAL', `slice at ${start} is not on a leaf and block boundary`);
  const fd = openSync(path, NO_FOLLOW);
  try {
    if (!sameStat(stat, statKey(fstatSync(fd)))) throw new WizardError('CHANGED', `${path} changed on disk`);
    const shared = blockSize === LEAF_BYTES ? ([] as Buffer[]) : undefined;
    const sums = blockSize === undefined ? undefined : new SignatureBuilder(length, blockSize, undefined, prior, shared);
    const leaves = shared === undefined ? new LeafHasher() : undefined;
    // The last slice reads one byte past the size: a file written while we read must not be announced.
    const want = a.last ? length + 1 : length;
    const buf = Buffer.allocUnsafe(Math.min(READ_BYTES, Math.max(want, 1)));
    const read = readRange(
      fd,
      start,
      want,
      buf,
      (chunk) => {
        leaves?.push(chunk);
        sums?.push(chunk);
      },
      { path, stat },
    );
    if (read !== length || !sameStat(stat, statKey(fstatSync(fd)))) throw new WizardError('CHANGED', `${path} changed while it was hashed`);
    const sig = sums?.finish();
    // An empty file's one leaf is the digest of no bytes, which no block gave.
    const digests = leaves !== undefined ? leaves.finish() : shared?.length === 0 ? new LeafHasher().finish() : Buffer.concat(shared ?? []);
    return { leaves: digests, sums: sig === undefined ? undefined : { weak: sig.weak, strong: sig.strong } };
  } finally {
    closeSync(fd);
  }
}

function locateJob(bases: number[], target: Signature, ranges: Array<[number, number]> | undefined, runsByWeak: boolean): Jobs['locate']['result'] {
  const basis = new Int8Array(target.weak.length).fill(-1);
  const offset = new Float64Array(target.weak.length).fill(-1);
  const buf = Buffer.allocUnsafe(READ_BYTES);
  for (const [b, fd] of bases.entries()) {
    for (const [start, end] of b === 0 && ranges !== undefined ? ranges : [[0, Number.MAX_SAFE_INTEGER] as const]) {
      const locator = new BlockLocator(target, runsByWeak);
      readRange(fd, start, end - start, buf, (chunk) => locator.push(chunk));
      const found = locator.finish();
      for (let i = 0; i < found.length; i++) {
        if (basis[i] === -1 && (found[i] as number) >= 0) {
          basis[i] = b;
          offset[i] = start + (found[i] as number);
        }
      }
    }
    if (!basis.includes(-1)) break;
  }
  return { basis, offset };
}

function sumsJob(path: string, stat: StatKey, blockSize: number, first: number, count: number, prior: Signature | undefined): Jobs['sums']['result'] {
  const fd = openSync(path, NO_FOLLOW);
  try {
    if (!sameStat(stat, statKey(fstatSync(fd)))) throw new WizardError('CHANGED', `${path} changed on disk`);
    const start = Math.min(stat.size, first * blockSize);
    const length = Math.min(stat.size - start, count * blockSize);
    const builder = new SignatureBuilder(length, blockSize, undefined, prior);
    const read = readRange(fd, start, length, Buffer.allocUnsafe(Math.min(READ_BYTES, Math.max(length, 1))), (chunk) => builder.push(chunk), { path, stat });
    if (read !== length) throw new WizardError('CHANGED', `${path} is shorter than indexed`);
    // These sums may be half of a file's signature (hash-file.ts): they must describe the version stat'ed.
    if (!sameStat(stat, statKey(fstatSync(fd)))) throw new WizardError('CHANGED', `${path} changed while its sums were computed`);
    const { weak, strong } = builder.finish();
    return { weak, strong };
  } finally {
    closeSync(fd);
  }
}

function writtenJob(fd: number, start: number, length: number): Jobs['written']['result'] {
  if (start % LEAF_BYTES !== 0 || length <= 0) throw new WizardError('INTERNAL', `written slice of ${length} bytes at ${start} is not on a leaf`);
  const leaves: Buffer[] = [];
  const sums = new SignatureBuilder(length, LEAF_BYTES, undefined, undefined, leaves);
  const read = readRange(fd, start, length, Buffer.allocUnsafe(Math.min(READ_BYTES, length)), (chunk) => sums.push(chunk));
  if (read !== length) throw new WizardError('INTERNAL', `temp file has ${read} of the ${length} bytes written at ${start}`);
  // finish() hashes the last, short block, so its leaf is in `leaves` only after it.
  const { weak } = sums.finish();
  return { leaves: Buffer.concat(leaves), weak };
}
