/**
 * A delta download whose rolling search runs while the temp file is written
 * (issue 18, SHIFT): the search over our file goes slice by slice in a worker,
 * and each block it finds is copied from our file, checked by its leaf digest
 * and written while the next slice is searched. Without it the copy and its
 * writes (and their writeback) waited for the whole search.
 *
 * Blocks of one leaf only: each block is then checked by its own leaf digest
 * against the strong sum the peer gave, and the content hash is made of the
 * leaf digests, so blocks can be written in the order they are found. A block
 * whose bytes are not what the peer's sums say (a run taken on weak sums that
 * broke, or our file changed since) is fetched from the peer in its place:
 * a wrong guess costs one block. The whole file's hash still decides.
 */
import { hash } from 'node:crypto';
import { read } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import { hashOfLeaves, LEAF_BYTES, LEAF_DIGEST_BYTES } from '../../core/content-hash.js';
import { crashPoint } from '../../core/crash-point.js';
import { WizardError } from '../../core/errors.js';
import { weakSum } from '../../delta/rollsum.js';
import { MIN_BLOCK_BYTES, storesSums, STRONG_BYTES, type Signature, type SumsReuse } from '../../delta/signature.js';
import type { FileEntry } from '../../index/entry.js';
import { foundAt, knownSums, refinedBlocks, type PlanInput, type SearchingPlan } from './delta-plan.js';
import type { DeltaDeps, DeltaResult } from './delta-fetch.js';
import type { EarlyWriteback } from './writeback.js';

/**
 * Bytes of our file searched by the first job, doubling with each job up to
 * LAST_SLICE_BYTES: the copy trails the search by about one slice, so the
 * first is small, and each job costs a hop to the worker, a new block table
 * and a roll from its start to the first match (at most one block), so the later ones are large.
 */
const FIRST_SLICE_BYTES = 2 * 1024 * 1024;
const LAST_SLICE_BYTES = 16 * 1024 * 1024;
/** Copies and fetches in progress at once: reads and writes run on libuv's threads while this thread hashes. */
const IN_FLIGHT = 4;
/** Most blocks copied in one step (2 MiB, as delta-fetch.ts copies). */
const RUN_BLOCKS = 32;
/** Most blocks fetched in one request (256 KiB, as delta-fetch.ts asks). */
const FETCH_BLOCKS = 4;

/** What a download of a SearchingPlan writes with, besides the plan. */
export interface SearchFill {
  readonly out: FileHandle;
  readonly entry: FileEntry;
  readonly sources: readonly string[];
  /** Our current file, open for reading (the caller owns it). */
  readonly fd: number;
  readonly currentSums: Signature | undefined;
  readonly deps: DeltaDeps;
  readonly progress: { written: number };
  readonly writeback?: EarlyWriteback;
}

/**
 * Writes `job.entry`'s content into the empty temp file `job.out` from
 * `plan`, searching our file as it writes. Throws HASH_MISMATCH when the
 * result is not the announced content (the caller then downloads it whole).
 * No write to the file, and no job reading our file, is still running when it
 * returns or throws.
 */
export async function fillWhileSearching(job: SearchFill, plan: SearchingPlan): Promise<DeltaResult> {
  const { entry, deps } = job;
  const { located, search } = plan;
  const count = located.basis.length;
  const leaves = Buffer.alloc(count * LEAF_DIGEST_BYTES);
  const weak = new Uint32Array(count);
  /** Per block: 0 not yet found, 1 found and waiting, 2 taken. */
  const state = new Uint8Array(count);
  const ready: number[] = [];
  for (let i = 0; i < count; i++) if (located.basis[i] !== -1) ready.push(i);
  for (const i of ready) state[i] = 1;
  // Expected sums of every block: the peer's (checked by the locator as found), ours for blocks in place.
  const reuse = knownSums(job.currentSums, located, entry.size);
  const totals = { local: 0, remote: 0 };
  let wake: () => void = () => undefined;
  const changed = () => new Promise<void>((resolve) => (wake = resolve));
  let failure: Error | undefined;
  const fail = (err: unknown) => {
    failure ??= err instanceof Error ? err : new WizardError('INTERNAL', String(err));
  };
  let isStopped = false;
  const onAbort = () => wake();
  deps.signal?.addEventListener('abort', onAbort);

  // One job per slice, one after another: the worker reads our file while this thread copies what it found.
  let isSearched = false;
  const searching = (async () => {
    for (const [start, end] of slices(search.ranges ?? [], located.blockSize)) {
      if (isStopped) return;
      const found = await deps.runner.run('locate', { bases: [job.fd], target: search.target, runsByWeak: true, ranges: [[start, end]] });
      for (const [v, i] of search.index.entries()) {
        if ((found.basis[v] as number) < 0 || state[i] !== 0) continue;
        foundAt(located, i, 0, found.offset[v] as number);
        state[i] = 1;
        ready.push(i);
      }
      // Kept in target order here, once a slice, not at every run taken (takeRun).
      ready.sort((a, b) => a - b);
      wake();
    }
  })()
    .catch(fail)
    .finally(() => {
      isSearched = true;
      wake();
    });

  const tasks = new Set<Promise<void>>();
  const start = (task: () => Promise<void>) => {
    const t = task().catch(fail);
    tasks.add(t);
    void t.then(() => {
      tasks.delete(t);
      wake();
    });
  };
  const writer = new BlockWriter(job, reuse, leaves, weak, totals);
  try {
    let fetches: Array<{ run: number[]; pieces: Array<boolean[] | undefined> }> | undefined;
    for (;;) {
      deps.signal?.throwIfAborted();
      if (failure !== undefined) throw failure;
      const next = changed();
      if (tasks.size < IN_FLIGHT && ready.length > 0) {
        const run = takeRun(ready, located);
        for (const i of run) state[i] = 2;
        start(() => writer.copy(run, located.offset[run[0] as number] as number));
        continue;
      }
      if (tasks.size < IN_FLIGHT && fetches !== undefined && fetches.length > 0) {
        const { run, pieces } = fetches.shift() as { run: number[]; pieces: Array<boolean[] | undefined> };
        start(() => writer.fetch(run, pieces));
        continue;
      }
      if (isSearched && ready.length === 0 && fetches === undefined) {
        // The search is over: what it did not find is fetched, or refined to 1 KiB where the blocks around it stayed.
        const input: PlanInput = { peer: job.sources[0] as string, readSums: deps.readSums, runner: deps.runner, bases: [job.fd], ...(job.currentSums === undefined ? {} : { currentSums: job.currentSums }) };
        const refined = await refinedBlocks(input, entry, located);
        fetches = missingRuns(state).map((run) => ({ run, pieces: run.map((i) => refined.get(i)) }));
        continue;
      }
      if (fetches?.length === 0 && tasks.size === 0) break;
      await next;
    }
    const hash = hashOfLeaves(entry.size, leaves);
    if (hash !== entry.hash) throw new WizardError('HASH_MISMATCH', `${entry.path}: content rebuilt from the delta does not match its hash`);
    const strong = new Uint8Array(count * STRONG_BYTES);
    for (let i = 0; i < count; i++) strong.set(leaves.subarray(i * LEAF_DIGEST_BYTES, i * LEAF_DIGEST_BYTES + STRONG_BYTES), i * STRONG_BYTES);
    const sums = storesSums(entry.size) ? { blockSize: located.blockSize, fileSize: entry.size, weak, strong, leaves } : undefined;
    return { sums, localBytes: totals.local, remoteBytes: totals.remote };
  } finally {
    isStopped = true;
    deps.signal?.removeEventListener('abort', onAbort);
    await searching;
    while (tasks.size > 0) await Promise.allSettled([...tasks]);
  }
}

/** `ranges` cut into slices (FIRST_SLICE_BYTES, twice that, ...), each reaching one block less a byte past its end, so a block starting in one is whole in it. */
function slices(ranges: ReadonlyArray<readonly [number, number]>, blockSize: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let step = FIRST_SLICE_BYTES;
  for (const [start, end] of ranges) {
    for (let at = start; at < end; at += step, step = Math.min(LAST_SLICE_BYTES, step * 2)) out.push([at, Math.min(end, at + step + blockSize - 1)]);
  }
  return out;
}

/**
 * The first waiting blocks of `ready` (kept in target order) that follow each other in the target and
 * in our file, at most RUN_BLOCKS, taken off it in one splice: a shift per block would move the whole
 * array each time, and a big file's blocks found in place can number tens of thousands.
 */
function takeRun(ready: number[], located: SearchingPlan['located']): number[] {
  let k = 1;
  while (k < RUN_BLOCKS && k < ready.length && ready[k] === (ready[k - 1] as number) + 1 && located.offset[ready[k] as number] === (located.offset[ready[k - 1] as number] as number) + located.blockSize) k++;
  return ready.splice(0, k);
}

/** Runs of blocks the search did not find, at most FETCH_BLOCKS each. */
function missingRuns(state: Uint8Array): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < state.length; i++) {
    if (state[i] !== 0) continue;
    const last = out.at(-1);
    if (last !== undefined && last.at(-1) === i - 1 && last.length < FETCH_BLOCKS) last.push(i);
    else out.push([i]);
  }
  return out;
}

/** Writes runs of blocks into the temp file, each checked or hashed by its leaf digest, and records their digests and weak sums. */
class BlockWriter {
  private readonly bs = LEAF_BYTES;
  private sourceIndex = 0;
  /** Copy buffers not in use: one per copy in flight, reused. */
  private readonly free: Buffer[] = [];

  constructor(
    private readonly job: SearchFill,
    /** The strong sum each block must have (the peer's, or ours for a block in place), and the weak sums already checked against our bytes. */
    private readonly known: SumsReuse,
    private readonly leaves: Buffer,
    private readonly weak: Uint32Array,
    private readonly totals: { local: number; remote: number },
  ) {}

  /**
   * Copies blocks `run` (consecutive) from `from` of our file. A block whose
   * leaf digest is not its expected strong sum is fetched in its place; a
   * block's weak sum is the known one or computed.
   */
  async copy(run: readonly number[], from: number): Promise<void> {
    const { entry } = this.job;
    const at = (run[0] as number) * this.bs;
    const length = Math.min(run.length * this.bs, entry.size - at);
    const held = this.free.pop() ?? Buffer.allocUnsafe(RUN_BLOCKS * this.bs);
    try {
      await this.copyInto(held.subarray(0, length), run, at, from);
    } finally {
      this.free.push(held);
    }
  }

  private async copyInto(data: Buffer, run: readonly number[], at: number, from: number): Promise<void> {
    const { entry } = this.job;
    const length = data.length;
    const { bytesRead } = await readAt(this.job.fd, data, 0, length, from);
    if (bytesRead !== length) throw new WizardError('HASH_MISMATCH', `${entry.path}: a local basis shrank while it was reused`);
    this.totals.local += length;
    for (const [k, i] of run.entries()) {
      const block = data.subarray(k * this.bs, Math.min(length, (k + 1) * this.bs));
      let digest = hash('sha256', block, 'buffer');
      if (digest.compare(this.known.from.strong, i * STRONG_BYTES, (i + 1) * STRONG_BYTES, 0, STRONG_BYTES) !== 0) {
        (await this.fetchRange(i * this.bs, block.length)).copy(block);
        digest = hash('sha256', block, 'buffer');
        this.weak[i] = weakSum(block);
        this.totals.local -= block.length;
      } else this.weak[i] = this.known.isSame(i) ? (this.known.from.weak[i] as number) : weakSum(block);
      digest.copy(this.leaves, i * LEAF_DIGEST_BYTES);
    }
    await this.write(data, at);
  }

  /**
   * Fetches blocks `run` (consecutive) from the peer; a block with `pieces`
   * (refined) takes the pieces our file has at the same offset and fetches only the others.
   */
  async fetch(run: readonly number[], pieces: ReadonlyArray<boolean[] | undefined>): Promise<void> {
    const { entry } = this.job;
    const at = (run[0] as number) * this.bs;
    const length = Math.min(run.length * this.bs, entry.size - at);
    const data = pieces.every((p) => p === undefined) ? await this.fetchRange(at, length) : await this.assemble(at, length, run, pieces);
    for (const [k, i] of run.entries()) {
      const block = data.subarray(k * this.bs, Math.min(length, (k + 1) * this.bs));
      hash('sha256', block, 'buffer').copy(this.leaves, i * LEAF_DIGEST_BYTES);
      this.weak[i] = weakSum(block);
    }
    await this.write(data, at);
  }

  /** Blocks `run` at `at`: refined ones from our pieces at the same offsets and the peer's others, the rest from the peer. */
  private async assemble(at: number, length: number, run: readonly number[], pieces: ReadonlyArray<boolean[] | undefined>): Promise<Buffer> {
    const data = Buffer.allocUnsafe(length);
    for (const [k, same] of pieces.entries()) {
      const blockAt = (run[k] as number) * this.bs;
      const blockLength = Math.min(this.bs, at + length - blockAt);
      const into = data.subarray(blockAt - at, blockAt - at + blockLength);
      if (same === undefined) {
        (await this.fetchRange(blockAt, blockLength)).copy(into);
        continue;
      }
      const { bytesRead } = await readAt(this.job.fd, into, 0, blockLength, blockAt);
      if (bytesRead !== blockLength) throw new WizardError('HASH_MISMATCH', `${this.job.entry.path}: a local basis shrank while it was reused`);
      this.totals.local += blockLength;
      // The pieces that differ, asked for together (a round trip each, one after another, would add up).
      const differing = [...same.keys()].filter((j) => same[j] !== true);
      const fresh = await Promise.all(differing.map((j) => this.fetchRange(blockAt + j * MIN_BLOCK_BYTES, Math.min(MIN_BLOCK_BYTES, blockLength - j * MIN_BLOCK_BYTES))));
      for (const [n, j] of differing.entries()) {
        const piece = fresh[n] as Buffer;
        piece.copy(into, j * MIN_BLOCK_BYTES);
        this.totals.local -= piece.length;
      }
    }
    return data;
  }

  private async fetchRange(offset: number, length: number): Promise<Buffer> {
    const { entry, sources, deps } = this.job;
    const data = await deps.readBlock(sources[this.sourceIndex++ % sources.length] as string, { path: entry.path, hash: entry.hash, offset, length });
    if (data.length !== length) throw new WizardError('HASH_MISMATCH', `${entry.path}: peer sent ${data.length} bytes at ${offset}, expected ${length}`);
    this.totals.remote += length;
    return data;
  }

  private async write(data: Buffer, at: number): Promise<void> {
    const { bytesWritten } = await this.job.out.write(data, 0, data.length, at);
    if (bytesWritten !== data.length) throw new WizardError('INTERNAL', `${this.job.entry.path}: short write to the temp file`);
    this.job.writeback?.wrote(data.length);
    this.job.progress.written = Math.max(this.job.progress.written, at + data.length);
    // Crash point: a temp file with holes (writes land in any order), the target untouched.
    crashPoint('mid-block-write');
  }
}

const readAt = promisify(read);
