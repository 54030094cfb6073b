/**
 * Block signatures: a file cut into equal blocks (the last may be short), each
 * with a weak rolling sum and a strong hash. A signature that came from a peer
 * is checked with `checkSignature` before anything indexes by it.
 */
import { hash } from 'node:crypto';
import { LEAF_BYTES, LEAF_DIGEST_BYTES } from '../core/content-hash.js';
import { WizardError } from '../core/errors.js';
import { weakSum } from './rollsum.js';

/** Smallest block: below this the per-block hash costs more than the bytes it saves (rsync's floor too). */
export const MIN_BLOCK_BYTES = 1024;
/** Largest block: keeps one changed byte from costing more than 64 KiB on the wire. */
export const MAX_BLOCK_BYTES = 64 * 1024;
/** Bytes of strong hash kept per block: a truncated SHA-256; the whole-file SHA-256 still decides. */
export const STRONG_BYTES = 16;
/** Most blocks a signature may have: a 256 GiB file at the largest block size. */
export const MAX_BLOCKS = 4 * 1024 * 1024;

/** The block hashes of one file's content. */
export interface Signature {
  /** Bytes per block; every block but the last is exactly this long. */
  readonly blockSize: number;
  /** Length of the file the signature describes. */
  readonly fileSize: number;
  /** Weak sum of each block. */
  readonly weak: Uint32Array;
  /** `STRONG_BYTES` of strong hash per block, back to back. */
  readonly strong: Uint8Array;
  /**
   * The whole file's leaf digests (core/content-hash.ts), kept with our own
   * files' stored sums: a patch in place checks its result from them without
   * reading the leaves it kept. Never sent.
   */
  readonly leaves?: Uint8Array;
}

/** Sums a SignatureBuilder may take instead of computing them: block i's from `from` where `isSame(i)`. */
export interface SumsReuse {
  readonly from: Signature;
  /** Whether block i of the file being summed holds the bytes `from` describes (the caller checked its strong hash). */
  readonly isSame: (block: number) => boolean;
  /** The caller checked the weak sums of those blocks against the bytes too, so they are taken as well. */
  readonly weakChecked?: boolean;
}

/** A signature that breaks a rule; a peer that sends one is not believed. */
export class SignatureError extends WizardError {
  constructor(message: string) {
    super('PROTOCOL', `bad block signature: ${message}`);
    this.name = 'SignatureError';
  }
}

/**
 * Files from this size on have blocks of one leaf (64 KiB), whatever the
 * formula below would give: a block's strong hash is then its leaf digest cut
 * short, so hashing such a file puts each byte through SHA-256 once, for its
 * content hash and its block sums together (wire protocol 7). Below it the
 * second pass costs less than the bytes the smaller blocks save on the wire.
 */
export const LEAF_BLOCKS_MIN_BYTES = 16 * 1024 * 1024;

/**
 * Block size for a file of `length` bytes: one leaf (64 KiB) from
 * LEAF_BLOCKS_MIN_BYTES on; below, sqrt(24 x length), the optimum of the rsync
 * thesis, rounded to a multiple of 1 KiB and clamped to [1 KiB, 64 KiB]. A
 * 64 MiB file has 1,024 blocks (a 20 KiB signature), a 512 MiB file 8,192 (160 KiB).
 */
export function blockSizeFor(length: number): number {
  if (length >= LEAF_BLOCKS_MIN_BYTES) return LEAF_BYTES;
  const ideal = Math.round(Math.sqrt(24 * length) / 1024) * 1024;
  return Math.min(MAX_BLOCK_BYTES, Math.max(MIN_BLOCK_BYTES, ideal));
}

/** Files below this are sent whole: a signature and a round trip cost more than the bytes. */
export const DELTA_MIN_BYTES = 16 * 1024;

/** Whether a file of `size` bytes gets delta transfers: not too small, and not past MAX_BLOCKS blocks. */
export function isDeltaSized(size: number): boolean {
  return size >= DELTA_MIN_BYTES && blockCount(size, blockSizeFor(size)) <= MAX_BLOCKS;
}

/**
 * Files below this keep no block sums in the index: when a delta needs them
 * they are computed from the file, which at this size costs less than
 * computing and storing them for every file hashed or downloaded (thousands
 * in a burst, most of which never change again).
 */
export const STORED_SUMS_MIN_BYTES = 1024 * 1024;

/** Whether the block sums of a file of `size` bytes are kept in the index (computed as it is hashed or downloaded). */
export function storesSums(size: number): boolean {
  return size >= STORED_SUMS_MIN_BYTES && isDeltaSized(size);
}

/** Number of blocks of `blockSize` in `fileSize` bytes (the last one may be short). */
export function blockCount(fileSize: number, blockSize: number): number {
  return Math.ceil(fileSize / blockSize);
}

/** Length of block `i`. */
export function blockLength(sig: Pick<Signature, 'blockSize' | 'fileSize'>, i: number): number {
  return Math.min(sig.blockSize, sig.fileSize - i * sig.blockSize);
}

/** The truncated strong hash of `buf[start..end)`, written into `out` at `outOffset`. */
export function strongHashInto(buf: Uint8Array, start: number, end: number, out: Uint8Array, outOffset: number): void {
  const digest = hash('sha256', buf.subarray(start, end), 'buffer');
  out.set(digest.subarray(0, STRONG_BYTES), outOffset);
}

/**
 * Builds a signature from a stream of chunks of any size, with one reusable
 * block buffer. Feed every byte of the file with `push`, then call `finish`.
 */
export class SignatureBuilder {
  private readonly weak: Uint32Array;
  private readonly strong: Uint8Array;
  private readonly block: Uint8Array;
  private filled = 0;
  private blocks = 0;
  private seen = 0;

  /**
   * With `reuse`, blocks for which `isSame(i)` holds take block i's strong
   * hash from `reuse.from` instead of hashing: the caller checked they hold
   * those bytes. Their weak sums are computed here, unless `reuse.weakChecked`
   * says the caller checked those too (the block locator compares both sums
   * with the bytes before it reports a block).
   * With `prior` (the signature of an earlier version of the same file, at the
   * same block size), a block whose strong hash equals prior's block i of the
   * same length takes its weak sum from there: the strong hash already says the
   * bytes are the same, and the weak sum costs twice the strong one in JS.
   * With `strongFromLeaves` (blocks of one leaf), no strong hash is computed
   * or taken: `finish` is given the leaf digests the caller computed over the
   * same bytes anyway, and cuts them short (so `reuse` gives weak sums only).
   */
  constructor(
    readonly fileSize: number,
    readonly blockSize = blockSizeFor(fileSize),
    private readonly reuse?: SumsReuse,
    private readonly prior?: Pick<Signature, 'blockSize' | 'fileSize' | 'weak' | 'strong'>,
    private readonly leafSink?: Buffer[],
    private readonly strongFromLeaves = false,
  ) {
    // With blocks of one leaf, a block's strong hash is its leaf digest cut short: one SHA-256 gives both.
    if (leafSink !== undefined && (blockSize !== LEAF_BYTES || reuse !== undefined)) throw new WizardError('INTERNAL', 'leaf digests need blocks of one leaf and no reuse');
    if (strongFromLeaves && (blockSize !== LEAF_BYTES || leafSink !== undefined)) throw new WizardError('INTERNAL', 'strong hashes from leaves need blocks of one leaf');
    const count = blockCount(fileSize, blockSize);
    if (count > MAX_BLOCKS) throw new SignatureError(`${count} blocks, more than ${MAX_BLOCKS}`);
    this.weak = new Uint32Array(count);
    this.strong = new Uint8Array(count * STRONG_BYTES);
    this.block = new Uint8Array(blockSize);
  }

  /** Adds the next bytes of the file. Throws when they run past the announced size. */
  push(chunk: Uint8Array): void {
    this.seen += chunk.length;
    if (this.seen > this.fileSize) throw new WizardError('CHANGED', `file grew past ${this.fileSize} bytes while its signature was built`);
    let at = 0;
    while (at < chunk.length) {
      if (this.filled === 0 && chunk.length - at >= this.blockSize) {
        // Whole blocks straight from the chunk, without a copy.
        this.add(chunk, at, at + this.blockSize);
        at += this.blockSize;
        continue;
      }
      const n = Math.min(this.blockSize - this.filled, chunk.length - at);
      this.block.set(chunk.subarray(at, at + n), this.filled);
      this.filled += n;
      at += n;
      if (this.filled === this.blockSize) {
        this.add(this.block, 0, this.blockSize);
        this.filled = 0;
      }
    }
  }

  /**
   * The finished signature. Throws when fewer bytes than announced were
   * pushed. `leaves`: the file's leaf digests, which built with
   * `strongFromLeaves` it needs (and otherwise ignores).
   */
  finish(leaves?: Uint8Array): Signature {
    if (this.filled > 0) this.add(this.block, 0, this.filled);
    this.filled = 0;
    if (this.seen !== this.fileSize) throw new WizardError('CHANGED', `file has ${this.seen} bytes, expected ${this.fileSize}`);
    if (this.strongFromLeaves) {
      if (leaves?.length !== Math.max(1, this.blocks) * LEAF_DIGEST_BYTES) throw new WizardError('INTERNAL', `${leaves?.length ?? 0} bytes of leaf digests for ${this.blocks} blocks`);
      for (let i = 0; i < this.blocks; i++) this.strong.set(leaves.subarray(i * LEAF_DIGEST_BYTES, i * LEAF_DIGEST_BYTES + STRONG_BYTES), i * STRONG_BYTES);
    }
    return { blockSize: this.blockSize, fileSize: this.fileSize, weak: this.weak, strong: this.strong };
  }

  private add(buf: Uint8Array, start: number, end: number): void {
    const i = this.blocks;
    if (this.reuse?.isSame(i) === true) {
      // The strong hash is the one the caller checked our bytes against; the weak sum, unless the
      // caller checked it too, is ours to compute (it may come from a peer), unless `prior` (our own
      // sums) has this block with the same strong hash: then it is our own weak sum of the same bytes.
      if (!this.strongFromLeaves) this.strong.set(this.reuse.from.strong.subarray(i * STRONG_BYTES, (i + 1) * STRONG_BYTES), i * STRONG_BYTES);
      if (this.reuse.weakChecked === true) this.weak[i] = this.reuse.from.weak[i] as number;
      else this.weak[i] = this.isPriorBlock(i, end - start) ? (this.prior?.weak[i] as number) : weakSum(buf, start, end);
      this.blocks++;
      return;
    }
    if (this.strongFromLeaves) {
      // Its strong hash comes with the leaves at finish.
    } else if (this.leafSink === undefined) strongHashInto(buf, start, end, this.strong, i * STRONG_BYTES);
    else {
      const digest = hash('sha256', buf.subarray(start, end), 'buffer');
      this.leafSink.push(digest);
      this.strong.set(digest.subarray(0, STRONG_BYTES), i * STRONG_BYTES);
    }
    this.weak[i] = this.isPriorBlock(i, end - start) ? (this.prior?.weak[i] as number) : weakSum(buf, start, end);
    this.blocks++;
  }

  /** Whether block i (of `length` bytes, its strong hash just computed) equals block i of `prior`. */
  private isPriorBlock(i: number, length: number): boolean {
    const p = this.prior;
    // Without its strong hash yet, nothing says block i is prior's.
    if (this.strongFromLeaves || p === undefined || p.blockSize !== this.blockSize || i >= p.weak.length || blockLength(p, i) !== length) return false;
    for (let k = 0; k < STRONG_BYTES; k++) if (p.strong[i * STRONG_BYTES + k] !== this.strong[i * STRONG_BYTES + k]) return false;
    return true;
  }
}

/**
 * A builder for the sums of a file being written in order beside a
 * ContentHasher (a download, a patch's check): for blocks of one leaf it
 * computes no strong hash, and `finish` takes them from that hasher's leaves.
 */
export function rebuiltSums(fileSize: number, reuse?: SumsReuse, prior?: Signature): SignatureBuilder {
  const blockSize = blockSizeFor(fileSize);
  return new SignatureBuilder(fileSize, blockSize, reuse, prior, undefined, blockSize === LEAF_BYTES);
}

/**
 * One digest per `group` consecutive blocks: the first STRONG_BYTES of the
 * SHA-256 of their strong hashes back to back. Two files whose digests agree
 * for a group have, with overwhelming odds, the same bytes there.
 */
export function groupDigests(strong: Uint8Array, group: number): Uint8Array {
  const blocks = strong.length / STRONG_BYTES;
  const groups = Math.ceil(blocks / group);
  const out = new Uint8Array(groups * STRONG_BYTES);
  for (let g = 0; g < groups; g++) {
    const span = strong.subarray(g * group * STRONG_BYTES, Math.min(blocks, (g + 1) * group) * STRONG_BYTES);
    out.set(hash('sha256', span, 'buffer').subarray(0, STRONG_BYTES), g * STRONG_BYTES);
  }
  return out;
}

/**
 * Blocks `first .. first+count-1` of `sig` as a signature of their own (the
 * bytes they cover), copied so it clones alone to a worker; empty past the end.
 */
export function sliceSignature(sig: Signature, first: number, count: number): Signature {
  const end = Math.min(sig.weak.length, first + count);
  const start = Math.min(first, end);
  const fileSize = end === start ? 0 : Math.min(sig.fileSize, end * sig.blockSize) - start * sig.blockSize;
  return { blockSize: sig.blockSize, fileSize, weak: sig.weak.slice(start, end), strong: sig.strong.slice(start * STRONG_BYTES, end * STRONG_BYTES) };
}

/** The signature of an in-memory buffer (tests, small files). */
export function signatureOf(data: Uint8Array, blockSize = blockSizeFor(data.length)): Signature {
  const b = new SignatureBuilder(data.length, blockSize);
  b.push(data);
  return b.finish();
}

/**
 * Throws SignatureError unless `sig` is self-consistent: block size within
 * bounds, a safe file size, exactly one weak and one strong hash per block,
 * and (when known) the file size the index announced. Matching trusts these.
 */
export function checkSignature(sig: Signature, expectedFileSize?: number): void {
  const { blockSize, fileSize } = sig;
  if (!Number.isSafeInteger(blockSize) || blockSize < MIN_BLOCK_BYTES || blockSize > MAX_BLOCK_BYTES) {
    throw new SignatureError(`block size ${blockSize} is outside ${MIN_BLOCK_BYTES}..${MAX_BLOCK_BYTES}`);
  }
  if (!Number.isSafeInteger(fileSize) || fileSize < 0) throw new SignatureError(`file size ${fileSize} is not a non-negative integer`);
  if (expectedFileSize !== undefined && fileSize !== expectedFileSize) {
    throw new SignatureError(`file size ${fileSize} differs from the indexed ${expectedFileSize}`);
  }
  const count = blockCount(fileSize, blockSize);
  if (count > MAX_BLOCKS) throw new SignatureError(`${count} blocks, more than ${MAX_BLOCKS}`);
  if (sig.weak.length !== count) throw new SignatureError(`${sig.weak.length} weak sums for ${count} blocks`);
  if (sig.strong.length !== count * STRONG_BYTES) throw new SignatureError(`${sig.strong.length} strong hash bytes for ${count} blocks`);
}
