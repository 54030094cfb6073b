/**
 * Deciding, for a delta download, which bytes of the target we already have
 * and where, asking the peer for as few sums as possible:
 *
 * 1. When our current file has stored sums at the target's block size, ask
 *    for one digest per GROUP_BLOCKS blocks and compare with ours at the same
 *    offsets: equal groups are copied in place, without their blocks' sums.
 * 2. Ask for the sums of the remaining blocks only. Those equal to ours at
 *    the same offset stay in place. When every run still missing ends on a
 *    block that stayed in place (or is the tail from our last block on: an
 *    append), the edit was made in place and its bytes are new: nothing is
 *    searched (issue 18 item 4). Otherwise the missing blocks are searched
 *    for in our bases (rolling, in a worker thread; near where they were
 *    when groups were compared). A search whose outcome cannot be patched in
 *    place may be left to the download, which writes the blocks it finds while
 *    it runs (`SearchingPlan`, search-fill.ts).
 * 3. For a few blocks still missing that our current file has at the same
 *    offset, ask for 1 KiB sums and fetch only the 1 KiB pieces that differ;
 *    not where the blocks around them moved (a shift): nothing lines up there.
 */
import { read } from 'node:fs';
import { promisify } from 'node:util';
import { LEAF_BYTES } from '../../core/content-hash.js';
import { WizardError } from '../../core/errors.js';
import { appendFill, type FillOp } from '../../delta/locate.js';
import {
  blockCount,
  blockLength,
  blockSizeFor,
  checkSignature,
  groupDigests,
  MAX_BLOCKS,
  MIN_BLOCK_BYTES,
  SignatureError,
  signatureOf,
  STRONG_BYTES,
  type Signature,
  type SumsReuse,
} from '../../delta/signature.js';
import type { FileEntry } from '../../index/entry.js';
import { LIMITS } from '../../protocol/messages.js';
import type { JobRunner } from '../../workers/pool.js';
import type { WireSums } from '../serve/serve.js';

/** Reads block sums of a file from one peer. */
export type SumsSource = (peer: string, req: { path: string; hash: string; blockSize: number; first: number; count: number; group: number }) => Promise<WireSums>;

/** Blocks per group digest: 8,192 blocks of a 512 MiB file become 128 digests (2 KiB). */
const GROUP_BLOCKS = 64;
/** Most missing blocks refined to 1 KiB pieces: each costs a round trip and a small local read. */
const MAX_REFINED_BLOCKS = 64;
/** Largest remote fetch in a plan (as fetch.ts asks). */
const MAX_REMOTE = 256 * 1024;

/** The fill plan, and which target blocks hold the same bytes as the same block of our current file (their sums need no hashing). */
export interface DeltaPlan {
  readonly kind?: undefined;
  readonly ops: FillOp[];
  readonly reuse?: SumsReuse;
}

/**
 * A plan whose search for moved blocks is still to run, over `bases[0]`
 * alone with blocks of one leaf: the download runs it while it writes the
 * blocks found so far (search-fill.ts). Made only when `defersSearch` said the
 * result could not be patched in place anyway.
 */
export interface SearchingPlan {
  readonly kind: 'searching';
  readonly located: Located;
  readonly search: Search;
}

/** A search still to run: the missing blocks as one signature (`index[v]`: the target block of its block v), and where to look. */
export interface Search {
  readonly target: Signature;
  readonly index: readonly number[];
  /** Byte ranges of `bases[0]` to search (near where the blocks were); the whole of every basis without. */
  readonly ranges?: Array<[number, number]>;
}

/** What the plan needs besides the entry. */
export interface PlanInput {
  readonly peer: string;
  readonly readSums: SumsSource;
  readonly runner: JobRunner;
  /** Our files to reuse, open for reading (the caller owns them); `bases[0]` is our current file when `currentSums` is given. */
  readonly bases: readonly number[];
  /** Stored sums of our current file, if it has them. */
  readonly currentSums?: Signature;
  readonly signal?: AbortSignal;
  /**
   * Whether a search still to run may be left to the download (a SearchingPlan),
   * given the bytes the plan would fetch if it found nothing: true only when
   * a plan that fetches that much is not patched in place (patch/apply.ts).
   * Without it the search runs here.
   */
  readonly defersSearch?: (missingBytes: number) => boolean;
}

/** Sums of target blocks `first .. first+count-1` from the peer, page by page, each answer checked. */
async function fetchSums(input: PlanInput, entry: FileEntry, blockSize: number, first: number, count: number, group: number): Promise<{ weak: Uint32Array; strong: Uint8Array }> {
  const entries = Math.ceil(count / group);
  const weak = new Uint32Array(group === 1 ? count : 0);
  const strong = new Uint8Array(entries * STRONG_BYTES);
  let done = 0;
  while (done < count) {
    input.signal?.throwIfAborted();
    const ask = Math.min(LIMITS.maxSumsPerMessage, count - done);
    const page = await input.readSums(input.peer, { path: entry.path, hash: entry.hash, blockSize, first: first + done, count: ask, group });
    const got = page.strong.length / STRONG_BYTES;
    const blocks = Math.min(got * group, count - done);
    if (page.blockSize !== blockSize || page.first !== first + done || page.group !== group || page.fileSize !== entry.size || got < 1 || got > Math.ceil(ask / group)) {
      throw new WizardError('PROTOCOL', `${entry.path}: peer answered sums for ${got} entries at block ${page.first} of ${page.blockSize} bytes, asked ${ask} at ${first + done} of ${blockSize}`);
    }
    // A page that stops inside a group would misalign every digest after it.
    if (group > 1 && blocks < count - done && blocks % group !== 0) throw new WizardError('PROTOCOL', `${entry.path}: sums page ends inside a group`);
    strong.set(page.strong, (done / group) * STRONG_BYTES);
    if (group === 1) {
      const view = Buffer.from(page.weak.buffer, page.weak.byteOffset, page.weak.byteLength);
      for (let i = 0; i < got; i++) weak[done + i] = view.readUInt32BE(i * 4);
    }
    done += blocks;
  }
  return { weak, strong };
}

/** Runs of consecutive block indexes where `isWanted` holds. */
function runs(count: number, isWanted: (i: number) => boolean): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < count; i++) {
    if (!isWanted(i)) continue;
    const last = out.at(-1);
    if (last !== undefined && last[1] === i) last[1] = i + 1;
    else out.push([i, i + 1]);
  }
  return out;
}

/** Where target blocks are in our bases: basis index and offset per block (-1 for nowhere), and the target's block size. */
export interface Located {
  readonly blockSize: number;
  readonly basis: Int8Array;
  readonly offset: Float64Array;
  /**
   * The peer's sums of the blocks found by rolling (`isKnown[i]` 1): the
   * locator compared them with our bytes (see runsByWeak below for which),
   * so the new file's signature takes those instead of summing the blocks again.
   */
  readonly peerSums: { readonly weak: Uint32Array; readonly strong: Uint8Array; readonly isKnown: Uint8Array };
}

/**
 * Where each target block is in our bases: in place by group digests or by
 * block sums at the same offsets; `search`, when blocks are still missing
 * that may have moved, is the rolling search over our files still to run.
 */
async function sketch(input: PlanInput, entry: FileEntry): Promise<{ located: Located; search?: Search }> {
  const blockSize = blockSizeFor(entry.size);
  const count = blockCount(entry.size, blockSize);
  // The size comes from the peer's index entry: bound it before sizing arrays by it.
  if (count > MAX_BLOCKS) throw new SignatureError(`${entry.path}: ${count} blocks, more than ${MAX_BLOCKS}`);
  const basis = new Int8Array(count).fill(-1);
  const offset = new Float64Array(count).fill(-1);
  const peerSums = { weak: new Uint32Array(count), strong: new Uint8Array(count * STRONG_BYTES), isKnown: new Uint8Array(count) };
  const own = input.currentSums;
  let ranges: Array<[number, number]> | undefined;
  if (own !== undefined && own.blockSize === blockSize && own.weak.length > 0) {
    const theirs = (await fetchSums(input, entry, blockSize, 0, count, GROUP_BLOCKS)).strong;
    const ours = groupDigests(own.strong, GROUP_BLOCKS);
    let changedGroups = 0;
    for (let g = 0; g * GROUP_BLOCKS < count; g++) {
      const end = Math.min(count, (g + 1) * GROUP_BLOCKS);
      // Our group must cover the same blocks: a shorter file's last group is not comparable.
      if (end > own.weak.length || (end === own.weak.length) !== (end === count)) continue;
      if (Buffer.compare(theirs.subarray(g * STRONG_BYTES, (g + 1) * STRONG_BYTES), ours.subarray(g * STRONG_BYTES, (g + 1) * STRONG_BYTES)) !== 0) {
        changedGroups++;
        continue;
      }
      for (let i = g * GROUP_BLOCKS; i < end; i++) [basis[i], offset[i]] = [0, i * blockSize];
    }
    // An edit in place changes a group or a few apart; content that moved changes every group after it, and the
    // rolling search that follows needs a thread: start one during the block sums' round trip.
    if (changedGroups > 1 && basis.includes(-1) && basis.lastIndexOf(0) < basis.indexOf(-1)) input.runner.warm?.();
  } else input.runner.warm?.();
  const located: Located = { blockSize, basis, offset, peerSums };
  const wanted = runs(count, (i) => basis[i] === -1);
  if (wanted.length === 0) return { located };
  // The sums of the blocks not yet placed; those equal to ours at the same offset stay where they are.
  const sums: Array<{ weak: Uint32Array; strong: Uint8Array }> = [];
  for (const [a, b] of wanted) sums.push(await fetchSums(input, entry, blockSize, a, b - a, 1));
  const comparable = own !== undefined && own.blockSize === blockSize && own.weak.length > 0 ? own : undefined;
  for (const [k, [a, b]] of wanted.entries()) {
    const got = sums[k] as { weak: Uint32Array; strong: Uint8Array };
    for (let i = a; i < b; i++) {
      const strong = got.strong.subarray((i - a) * STRONG_BYTES, (i - a + 1) * STRONG_BYTES);
      peerSums.weak[i] = got.weak[i - a] as number;
      peerSums.strong.set(strong, i * STRONG_BYTES);
      if (comparable !== undefined && sameBlockInPlace(comparable, entry.size, i, got.weak[i - a] as number, strong)) [basis[i], offset[i]] = [0, i * blockSize];
    }
  }
  const missing = runs(count, (i) => basis[i] === -1);
  if (missing.length === 0) return { located };
  // Edits in place: every changed run ends where a block of ours is still in place (nothing after it moved), or
  // is the tail from our last block on (an append), so its bytes are new: rolling for them in our file would cost
  // seconds and find nothing. A partial download (another basis) may hold them: then it is searched.
  const isInPlace = (i: number): boolean => basis[i] === 0 && offset[i] === i * blockSize;
  if (comparable !== undefined && input.bases.length === 1 && missing.every(([a, b]) => (b < count ? isInPlace(b) : a >= comparable.weak.length - 1))) {
    return { located };
  }
  if (comparable !== undefined) {
    // Where groups were compared in place, changed blocks are searched for near where they were, one group either
    // side: rolling over a whole unchanged 512 MiB file to find one edited block would cost seconds.
    const margin = GROUP_BLOCKS * blockSize;
    ranges = [];
    for (const [a, b] of missing) {
      const start = Math.max(0, a * blockSize - margin);
      const end = b * blockSize + margin;
      const last = ranges.at(-1);
      if (last !== undefined && last[1] >= start) last[1] = Math.max(last[1], end);
      else ranges.push([start, end]);
    }
  }
  // One signature made of the missing runs back to back: only the file's last block can be short, and it can only come last.
  const index: number[] = [];
  let size = 0;
  for (const [a, b] of missing) {
    for (let i = a; i < b; i++) index.push(i);
    size += Math.min(b * blockSize, entry.size) - a * blockSize;
  }
  const weak = new Uint32Array(index.length);
  const strongs = new Uint8Array(index.length * STRONG_BYTES);
  for (const [v, i] of index.entries()) {
    weak[v] = peerSums.weak[i] as number;
    strongs.set(peerSums.strong.subarray(i * STRONG_BYTES, (i + 1) * STRONG_BYTES), v * STRONG_BYTES);
  }
  const target: Signature = { blockSize, fileSize: size, weak, strong: strongs };
  checkSignature(target);
  return { located, search: { target, index, ...(ranges === undefined ? {} : { ranges }) } };
}

/** Records that target block `i` is at `at` of basis `b`, found by rolling: the locator compared the peer's sums of it with our bytes. */
export function foundAt(located: Located, i: number, b: number, at: number): void {
  located.basis[i] = b;
  located.offset[i] = at;
  located.peerSums.isKnown[i] = 1;
}

/** `search` run here, over every basis, its finds recorded in `located`. */
async function runSearch(input: PlanInput, located: Located, search: Search): Promise<void> {
  const found = await locateIn(input, search.target, search.ranges);
  for (const [v, i] of search.index.entries()) {
    if ((found.basis[v] as number) >= 0) foundAt(located, i, found.basis[v] as number, found.offset[v] as number);
  }
}

/**
 * Where the blocks of `target` are in our bases: one 'locate' job. With blocks
 * of one leaf the download checks each block it copies by its leaf digest as
 * it writes it (delta-fetch.ts), so a run of blocks after a match needs only
 * their weak sums here, not a second SHA-256 of our file.
 */
function locateIn(input: PlanInput, target: Signature, ranges: Array<[number, number]> | undefined): Promise<{ basis: Int8Array; offset: Float64Array }> {
  const runsByWeak = target.blockSize === LEAF_BYTES;
  return input.runner.run('locate', { bases: [...input.bases], target, runsByWeak, ...(ranges === undefined ? {} : { ranges }) });
}

/**
 * Whether target block `i` (of a file of `size` bytes, with the peer's sums `weak` and `strong`) is
 * our block `i`: the same length at the same offset and the same sums. Our sums are our own, stored
 * when we last hashed or wrote the file, so equal sums say the bytes are already in place.
 */
function sameBlockInPlace(own: Signature, size: number, i: number, weak: number, strong: Uint8Array): boolean {
  if (i >= own.weak.length || blockLength(own, i) !== Math.min(own.blockSize, size - i * own.blockSize) || own.weak[i] !== weak) return false;
  return Buffer.compare(own.strong.subarray(i * STRONG_BYTES, (i + 1) * STRONG_BYTES), strong) === 0;
}

/**
 * The fill plan for `entry`: local copies from `input.bases` and remote
 * fetches, in target order; or, when `input.defersSearch` allows it, the
 * plan with its search still to run (a SearchingPlan). Throws PROTOCOL when
 * the peer's sums break a rule.
 */
export async function planDelta(input: PlanInput, entry: FileEntry): Promise<DeltaPlan | SearchingPlan> {
  const { located, search } = await sketch(input, entry);
  if (search !== undefined) {
    if (isSearchedWhileWriting(input, located, search)) return { kind: 'searching', located, search };
    await runSearch(input, located, search);
  }
  return fillPlan(input, entry, located, await refinedBlocks(input, entry, located));
}

/**
 * Whether `search` may run while the download writes: over our current
 * file alone (a partial download as another basis is searched whole), with
 * blocks of one leaf (each block written is then checked by its own leaf
 * digest, in any order), and a result that would not be patched in place.
 */
function isSearchedWhileWriting(input: PlanInput, located: Located, search: Search): boolean {
  if (input.defersSearch === undefined || input.bases.length !== 1 || located.blockSize !== LEAF_BYTES || search.ranges === undefined) return false;
  return input.defersSearch(search.target.fileSize);
}

/**
 * The blocks still missing worth refining to 1 KiB pieces, each with which of
 * its pieces our current file has at the same offset (asked of the peer at
 * 1 KiB). Only when few are missing, and not a run whose neighbours were found
 * elsewhere in our file: its bytes moved with them (a shift), and compared at
 * the same offsets no piece would match, at the cost of a round trip.
 */
export async function refinedBlocks(input: PlanInput, entry: FileEntry, located: Located): Promise<Map<number, boolean[]>> {
  const { blockSize, basis, offset } = located;
  const count = basis.length;
  const missing = runs(count, (i) => basis[i] === -1);
  const refined = new Map<number, boolean[]>();
  const own = input.currentSums;
  if (own === undefined || missing.length === 0 || missing.reduce((n, [a, b]) => n + b - a, 0) > MAX_REFINED_BLOCKS) return refined;
  const isInPlace = (i: number): boolean => basis[i] === 0 && offset[i] === i * blockSize;
  const fd = input.bases[0] as number;
  for (const [a, b] of missing) {
    const neighbours = [a - 1, b].filter((n) => n >= 0 && n < count);
    if (neighbours.length > 0 && !neighbours.some(isInPlace)) continue;
    for (let i = a; i < b; i++) {
      const at = i * blockSize;
      const length = Math.min(blockSize, entry.size - at);
      if (at + length > own.fileSize || length < 2 * MIN_BLOCK_BYTES) continue;
      const buf = Buffer.allocUnsafe(length);
      const { bytesRead } = await readAt(fd, buf, 0, length, at);
      if (bytesRead !== length) continue;
      const ours = signatureOf(buf, MIN_BLOCK_BYTES);
      const theirs = await fetchSums(input, entry, MIN_BLOCK_BYTES, at / MIN_BLOCK_BYTES, ours.weak.length, 1);
      // Block sizes are multiples of 1 KiB, so the peer's 1 KiB blocks line up with ours.
      refined.set(i, Array.from(ours.weak, (w, j) => w === theirs.weak[j] && Buffer.compare(ours.strong.subarray(j * STRONG_BYTES, (j + 1) * STRONG_BYTES), theirs.strong.subarray(j * STRONG_BYTES, (j + 1) * STRONG_BYTES)) === 0));
    }
  }
  return refined;
}

/** The fill ops of `located` with its `refined` blocks, and the sums the new file may take instead of hashing. */
function fillPlan(input: PlanInput, entry: FileEntry, located: Located, refined: Map<number, boolean[]>): DeltaPlan {
  const { blockSize, basis, offset } = located;
  const count = basis.length;
  const ops: FillOp[] = [];
  for (let i = 0; i < count; i++) {
    const at = i * blockSize;
    const length = Math.min(blockSize, entry.size - at);
    const same = refined.get(i);
    if (basis[i] !== -1) appendFill(ops, { kind: 'local', at, from: offset[i] as number, length, basis: basis[i] as number }, MAX_REMOTE);
    else if (same === undefined) appendFill(ops, { kind: 'remote', at, length }, MAX_REMOTE);
    else {
      for (const [j, isSame] of same.entries()) {
        const subAt = at + j * MIN_BLOCK_BYTES;
        const subLength = Math.min(MIN_BLOCK_BYTES, at + length - subAt);
        appendFill(ops, isSame ? { kind: 'local', at: subAt, from: subAt, length: subLength, basis: 0 } : { kind: 'remote', at: subAt, length: subLength }, MAX_REMOTE);
      }
    }
  }
  return { ops, reuse: knownSums(input.currentSums, located, entry.size) };
}

/**
 * Sums the new file's signature can take instead of hashing: the peer's for
 * blocks found by rolling, ours for blocks that stayed in place in our
 * current file `current` (copied into `located.peerSums`).
 */
export function knownSums(current: Signature | undefined, located: Located, size: number): SumsReuse {
  const { blockSize, basis, offset, peerSums } = located;
  const count = basis.length;
  const from: Signature = { blockSize, fileSize: size, weak: peerSums.weak, strong: peerSums.strong };
  const isKnown = peerSums.isKnown;
  if (current !== undefined && current.blockSize === blockSize) {
    const lastOfCurrent = current.weak.length - 1;
    for (let i = 0; i < count && i <= lastOfCurrent; i++) {
      const isSame =
        basis[i] === 0 &&
        offset[i] === i * blockSize &&
        // Block i has the same length in both files: full in both, or the last of both with equal sizes.
        (i < lastOfCurrent ? (i + 1) * blockSize <= size : size === current.fileSize);
      if (!isSame || isKnown[i] === 1) continue;
      from.weak[i] = current.weak[i] as number;
      from.strong.set(current.strong.subarray(i * STRONG_BYTES, (i + 1) * STRONG_BYTES), i * STRONG_BYTES);
      isKnown[i] = 1;
    }
  }
  // The sums of every known block are checked: ours are our own; the locator compared the peer's with our bytes
  // (with blocks of one leaf, the weak sums of a run after its first block: the download checks the strong ones).
  return { from, isSame: (i) => isKnown[i] === 1, weakChecked: true };
}

const readAt = promisify(read);
