/**
 * Downloads a file as a delta against files we already have (zsync's
 * direction; see docs/DELTA.md for why): plan which bytes we have (delta-plan.ts),
 * then write the target in order into a temp file, copying what we have and
 * fetching only the rest. The whole file's SHA-256 is checked before the
 * caller may rename it into place.
 */
import { read } from 'node:fs';
import { promisify } from 'node:util';
import type { FileHandle } from 'node:fs/promises';
import { crashPoint } from '../../core/crash-point.js';
import { WizardError } from '../../core/errors.js';
import type { FillOp } from '../../delta/locate.js';
import { rebuiltSums, storesSums, STRONG_BYTES, type Signature, type SumsReuse } from '../../delta/signature.js';
import type { FileEntry } from '../../index/entry.js';
import type { JobRunner } from '../../workers/pool.js';
import { planDelta, type DeltaPlan, type SearchingPlan, type SumsSource } from './delta-plan.js';
import { fillWhileSearching } from './search-fill.js';
import type { EarlyWriteback } from './writeback.js';
import type { BlockSource } from './fetch.js';
import { hash } from 'node:crypto';
import { ContentHasher, LEAF_BYTES } from '../../core/content-hash.js';

/** What a delta download needs besides the file. */
export interface DeltaDeps {
  readonly readBlock: BlockSource;
  readonly readSums: SumsSource;
  readonly runner: JobRunner;
  readonly signal?: AbortSignal;
  /** Told when a delta could not be used and the file is downloaded whole instead. */
  readonly onDeltaFallback?: (rel: string, err: unknown) => void;
  /**
   * Creates and opens a new temp file for writing (exclusive, mode 0600). The
   * default is node's `open`; tests inject a handle whose writes fail (ENOSPC,
   * EIO) to prove what a download leaves behind when the disk fails it. A
   * small file with nothing to build on is written without it (see
   * WRITE_NOW_MAX_BYTES in fetch.ts).
   */
  readonly openTemp?: (file: string) => Promise<FileHandle>;
}

/** Bytes asked for in one block request (as in fetch.ts). */
const PIECE_BYTES = 256 * 1024;
/** Block requests kept in flight. */
const WINDOW = 8;
/** Local bytes copied per read: few syscalls, and still small enough to interleave. */
const COPY_BYTES = 2 * 1024 * 1024;
/**
 * Local reads started ahead of the piece being hashed. Reads and writes run on
 * libuv's threads while this thread hashes, so a copy costs about the larger
 * of the I/O and the SHA-256 instead of their sum. Each holds a buffer of
 * COPY_BYTES until its write is done: BUFFERS of them, 12 MiB per download.
 */
const READ_AHEAD = 4;
const BUFFERS = READ_AHEAD + 2;

/** The fill plan cut into pieces of at most COPY_BYTES (local) and PIECE_BYTES (remote), small enough to interleave. */
export function pieces(ops: readonly FillOp[]): FillOp[] {
  const out: FillOp[] = [];
  for (const op of ops) {
    const step = op.kind === 'local' ? COPY_BYTES : PIECE_BYTES;
    for (let done = 0; done < op.length; done += step) {
      const length = Math.min(step, op.length - done);
      if (op.kind === 'local') out.push({ kind: 'local', basis: op.basis, at: op.at + done, from: op.from + done, length });
      else out.push({ kind: 'remote', at: op.at + done, length });
    }
  }
  return out;
}

/** What a delta download did. */
export interface DeltaResult {
  /** Signature of the content written, for the index (undefined when it keeps none at this size: storesSums). */
  readonly sums: Signature | undefined;
  /** Bytes taken from our own files. */
  readonly localBytes: number;
  /** Bytes fetched from the peer. */
  readonly remoteBytes: number;
}

/**
 * Writes `entry`'s content into the open, empty temp file `out`, reusing
 * blocks of `bases` (descriptors of our own files, open for reading and
 * owned by the caller: a path looked up after the waits below could lead
 * anywhere, see temp-place.ts), and keeps
 * `progress.written` at the end of what is written so far; `writeback` is told
 * of every write. Throws HASH_MISMATCH when the result is not the announced
 * content: the caller then falls back to a whole download. No write to `out`
 * is still running when it returns or throws. `planned`: a plan already made
 * (against `bases[0]` alone), so the peer is not asked for the same sums twice;
 * a plan with its search still to run searches while it writes (search-fill.ts).
 */
export async function fetchDelta(
  out: FileHandle,
  entry: FileEntry,
  sources: readonly string[],
  bases: readonly number[],
  currentSums: Signature | undefined,
  deps: DeltaDeps,
  progress: { written: number },
  writeback?: EarlyWriteback,
  planned?: DeltaPlan | SearchingPlan,
): Promise<DeltaResult> {
  const plan =
    planned ??
    (await planDelta(
      // Nothing is patched in place here: a search may always run while the file is written.
      { peer: sources[0] as string, readSums: deps.readSums, runner: deps.runner, bases, signal: deps.signal, defersSearch: () => true, ...(currentSums === undefined ? {} : { currentSums }) },
      entry,
    ));
  if (plan.kind === 'searching') return fillWhileSearching({ out, entry, sources, fd: bases[0] as number, currentSums, deps, progress, ...(writeback === undefined ? {} : { writeback }) }, plan);
  const { ops, reuse } = plan;
  const steps = pieces(ops);
  // With blocks of one leaf, each copied block is checked by its leaf digest as it is written (the locator took
  // runs of blocks on their weak sums alone); one that is not what the peer's sums say is fetched instead.
  const checksLeaves = reuse !== undefined && reuse.from.blockSize === LEAF_BYTES;
  const repaired = new Set<number>();
  const free: Buffer[] = Array.from({ length: BUFFERS }, () => Buffer.allocUnsafe(COPY_BYTES));
  const writes = new Set<Promise<void>>();
  try {
    const hash = new ContentHasher();
    // Blocks copied from where they were in our current file take both sums from our stored ones (prior); a
    // repaired block's sums are not the ones the plan knew.
    const sumsReuse = reuse === undefined ? undefined : { ...reuse, isSame: (i: number) => reuse.isSame(i) && !repaired.has(i) };
    const sums = storesSums(entry.size) ? rebuiltSums(entry.size, sumsReuse, currentSums) : undefined;
    const remote = steps.filter((s) => s.kind === 'remote');
    const inflight = new Map<number, Promise<Buffer>>();
    let next = 0;
    let sourceIndex = 0;
    const fill = () => {
      while (inflight.size < WINDOW && next < remote.length) {
        const s = remote[next++] as FillOp;
        const p = deps.readBlock(sources[sourceIndex++ % sources.length] as string, { path: entry.path, hash: entry.hash, offset: s.at, length: s.length });
        // Pieces behind a failed one are abandoned; keep their rejections from going unhandled.
        p.catch(() => undefined);
        inflight.set(s.at, p);
      }
    };
    // Local reads started ahead, by step index, with the buffer each holds.
    const reads = new Map<number, { buf: Buffer; data: Promise<Buffer> }>();
    let readNext = 0;
    const readAhead = () => {
      while (readNext < steps.length && reads.size < READ_AHEAD && free.length > 0) {
        const s = steps[readNext] as FillOp;
        if (s.kind === 'local') {
          const fd = bases[s.basis];
          const buf = free.pop() as Buffer;
          const data = (async () => {
            if (fd === undefined) throw new WizardError('INTERNAL', `${entry.path}: the plan names basis ${s.basis} of ${bases.length}`);
            const { bytesRead } = await readAt(fd, buf, 0, s.length, s.from);
            if (bytesRead !== s.length) throw new WizardError('HASH_MISMATCH', `${entry.path}: a local basis shrank while it was reused`);
            return buf.subarray(0, s.length);
          })();
          // A read behind a failed step is abandoned; keep its rejection from going unhandled.
          data.catch(() => undefined);
          reads.set(readNext, { buf, data });
        }
        readNext++;
      }
    };
    let localBytes = 0;
    let remoteBytes = 0;
    for (const [k, s] of steps.entries()) {
      deps.signal?.throwIfAborted();
      // A local step's buffer may still be out in a write: wait for one to come back.
      while (s.kind === 'local' && k >= readNext && free.length === 0) await Promise.race(writes);
      readAhead();
      let data: Buffer;
      let held: Buffer | undefined;
      let leaves: Buffer[] | undefined;
      if (s.kind === 'local') {
        const read = reads.get(k) as { buf: Buffer; data: Promise<Buffer> };
        reads.delete(k);
        held = read.buf;
        data = await read.data;
        localBytes += s.length;
        if (checksLeaves && hash.atLeaf && s.at % LEAF_BYTES === 0 && (s.length % LEAF_BYTES === 0 || s.at + s.length === entry.size)) {
          const fetchBlock = (offset: number, length: number) => deps.readBlock(sources[sourceIndex++ % sources.length] as string, { path: entry.path, hash: entry.hash, offset, length });
          const checked = await checkedLeaves(entry.path, data, s.at, reuse, fetchBlock);
          leaves = checked.digests;
          for (const b of checked.repaired) repaired.add(b);
          localBytes -= checked.fetched;
          remoteBytes += checked.fetched;
        }
      } else {
        fill();
        data = await (inflight.get(s.at) as Promise<Buffer>);
        inflight.delete(s.at);
        if (data.length !== s.length) throw new WizardError('HASH_MISMATCH', `${entry.path}: peer sent ${data.length} bytes at ${s.at}, expected ${s.length}`);
        remoteBytes += s.length;
        fill();
      }
      // Positional writes may land in any order; a local buffer goes back to `free` once written.
      const w = out.write(data, 0, data.length, s.at).then(({ bytesWritten }) => {
        if (bytesWritten !== data.length) throw new WizardError('INTERNAL', `${entry.path}: short write to the temp file`);
        if (held !== undefined) free.push(held);
        writeback?.wrote(data.length);
        // Crash point: a temp file with holes (writes land in any order), the target untouched.
        crashPoint('mid-block-write');
      });
      writes.add(w);
      w.then(
        () => writes.delete(w),
        () => undefined,
      );
      if (leaves === undefined) hash.update(data);
      else for (const [j, digest] of leaves.entries()) hash.updateLeaf(digest, Math.min(LEAF_BYTES, data.length - j * LEAF_BYTES));
      sums?.push(data);
      progress.written = s.at + s.length;
    }
    await Promise.all(writes);
    const got = hash.finish();
    if (got.hash !== entry.hash) throw new WizardError('HASH_MISMATCH', `${entry.path}: content rebuilt from the delta does not match its hash`);
    const sig = sums?.finish(got.leaves);
    return { sums: sig === undefined ? undefined : { ...sig, leaves: got.leaves }, localBytes, remoteBytes };
  } finally {
    await Promise.allSettled(writes);
  }
}

/**
 * The leaf digests of `data`, bytes of our own files to be written at `at` (a
 * leaf boundary) of a file with blocks of one leaf, each block the plan knows
 * (`reuse.isSame`) checked against its strong sum: a block that differs (a
 * run taken on weak sums that broke, or our file changed since it was
 * searched) is fetched with `fetchBlock` into `data` in its place. The whole
 * file's hash still decides.
 */
async function checkedLeaves(
  rel: string,
  data: Buffer,
  at: number,
  reuse: SumsReuse,
  fetchBlock: (offset: number, length: number) => Promise<Buffer>,
): Promise<{ digests: Buffer[]; repaired: number[]; fetched: number }> {
  const digests: Buffer[] = [];
  const repaired: number[] = [];
  let fetched = 0;
  for (let off = 0; off < data.length; off += LEAF_BYTES) {
    const length = Math.min(LEAF_BYTES, data.length - off);
    let digest = hash('sha256', data.subarray(off, off + length), 'buffer');
    const block = (at + off) / LEAF_BYTES;
    const expected = reuse.from.strong.subarray(block * STRONG_BYTES, (block + 1) * STRONG_BYTES);
    if (reuse.isSame(block) && digest.compare(expected, 0, STRONG_BYTES, 0, STRONG_BYTES) !== 0) {
      const fresh = await fetchBlock(at + off, length);
      if (fresh.length !== length) throw new WizardError('HASH_MISMATCH', `${rel}: peer sent ${fresh.length} bytes at ${at + off}, expected ${length}`);
      fresh.copy(data, off);
      digest = hash('sha256', fresh, 'buffer');
      repaired.push(block);
      fetched += length;
    }
    digests.push(digest);
  }
  return { digests, repaired, fetched };
}

const readAt = promisify(read);
