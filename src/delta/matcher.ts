/**
 * The rsync match loop, shared by delta encoding (deltify.ts) and block
 * location (locate.ts): slide a window of one block over a stream one byte at
 * a time, and report where the window equals a block of a signature.
 *
 * One reusable buffer of `maxLiteral + blockSize` bytes holds the unreported
 * bytes; the strong hash is computed only on a weak hit, once per position;
 * after a match the window jumps a whole block. Lookups go weak sum -> strong
 * hash -> block, so thousands of blocks sharing a weak sum cost one map probe
 * each, not a scan of a list.
 */
import { CHAR_OFFSET, weakSum } from './rollsum.js';
import { blockCount, blockLength, checkSignature, STRONG_BYTES, strongHashInto, type Signature } from './signature.js';

/** Largest run of unmatched bytes reported at once (librsync flushes misses at 64 KiB too). */
export const MAX_LITERAL_BYTES = 64 * 1024;

/** Receives what the scan found, in stream order. Exceptions propagate to the caller of push/finish. */
export interface MatchSink {
  /** Bytes at stream offset `at` equal block `block` of the signature (the first of its equals). */
  copy(block: number, at: number): void;
  /** `buf[start..end)`, at stream offset `at`, matched nothing. The view is only valid during the call. */
  literal(buf: Uint8Array, start: number, end: number, at: number): void;
}

/** Signature blocks indexed for lookup by content. */
export class BlockTable {
  private readonly byWeak = new Map<number, Map<string, number>>();
  /** For a block whose content an earlier block already has: the later equal blocks, by first block. */
  readonly duplicates = new Map<number, number[]>();
  /** Index of a short last block (matched only at the end of the stream), or -1. */
  readonly shortLast: number;
  /**
   * One bit per `filterKey` of the weak sums present: the loop tests it
   * before the map, so a byte that matches nothing costs a bit test, not a map probe.
   */
  readonly filter = new Uint8Array(FILTER_BITS / 8);

  constructor(readonly sig: Signature) {
    const count = blockCount(sig.fileSize, sig.blockSize);
    this.shortLast = count > 0 && blockLength(sig, count - 1) < sig.blockSize ? count - 1 : -1;
    const full = this.shortLast === -1 ? count : count - 1;
    for (let i = 0; i < full; i++) {
      const weak = sig.weak[i] as number;
      const key = filterKey(weak & 0xffff, weak >>> 16);
      this.filter[key >>> 3] = (this.filter[key >>> 3] as number) | (1 << (key & 7));
      let inner = this.byWeak.get(weak);
      if (inner === undefined) this.byWeak.set(weak, (inner = new Map<string, number>()));
      const strong = strongKey(sig.strong, i * STRONG_BYTES);
      const first = inner.get(strong);
      if (first === undefined) inner.set(strong, i);
      else {
        const dups = this.duplicates.get(first);
        if (dups === undefined) this.duplicates.set(first, [i]);
        else dups.push(i);
      }
    }
  }

  /** True when no full-size block exists, so nothing can match while rolling. */
  get isEmpty(): boolean {
    return this.byWeak.size === 0;
  }

  /** Candidates with this weak sum, keyed by strong hash. */
  withWeak(weak: number): Map<string, number> | undefined {
    return this.byWeak.get(weak);
  }
}

/** Bits in the weak-sum filter: 128 KiB, so a few thousand blocks leave it nearly empty. */
const FILTER_BITS = 1 << 20;

/** The filter bit of a weak sum, from its halves: s1 in the low 16 bits, s2 shifted over the top. */
export function filterKey(s1: number, s2: number): number {
  return (s1 ^ (s2 << 4)) & (FILTER_BITS - 1);
}

/** A strong hash as a map key (latin1 maps each byte to one UTF-16 unit, so no information is lost). */
export function strongKey(strong: Uint8Array, offset: number): string {
  return Buffer.from(strong.buffer, strong.byteOffset + offset, STRONG_BYTES).toString('latin1');
}

/** Whether `a[0..STRONG_BYTES)` equals `b[at..at+STRONG_BYTES)`. */
function sameStrong(a: Uint8Array, b: Uint8Array, at: number): boolean {
  for (let k = 0; k < STRONG_BYTES; k++) if (a[k] !== b[at + k]) return false;
  return true;
}

/** Streams bytes through the match loop against one signature. */
export class BlockMatcher {
  private readonly table: BlockTable;
  private readonly blockSize: number;
  private readonly buf: Uint8Array;
  private readonly scratch = new Uint8Array(STRONG_BYTES);
  /** Stream offset of buf[0]. */
  private base = 0;
  private end = 0;
  /** Start of the window. */
  private pos = 0;
  /** Start of the bytes not yet reported (always <= pos). */
  private lit = 0;
  private hasSum = false;
  /**
   * The block expected at the window after a match (the one after the matched
   * block), or -1. Runs of unchanged or shifted blocks follow each other, so
   * the window's weak sum is compared with that block's first, then its
   * strong hash: a hit costs no map probe, and every block reported has both
   * of its sums checked against the bytes (the receiver stores them as the
   * new file's, delta-plan.ts).
   */
  private expected = -1;
  private s1 = 0;
  private s2 = 0;
  private finished = false;

  /**
   * `sig` is checked first: the loop trusts its block size and counts. With
   * `runsByWeak`, the block expected after a match is taken on its weak sum
   * alone (no SHA-256): for a caller that checks every block it copies by its
   * strong hash anyway (delta-fetch.ts, blocks of one leaf). A run's first
   * block is always checked by both.
   */
  constructor(
    sig: Signature,
    private readonly sink: MatchSink,
    private readonly maxLiteral = MAX_LITERAL_BYTES,
    private readonly runsByWeak = false,
  ) {
    checkSignature(sig);
    this.table = new BlockTable(sig);
    this.blockSize = sig.blockSize;
    this.buf = new Uint8Array(maxLiteral + sig.blockSize);
  }

  /** Table the matcher looks blocks up in. */
  get blocks(): BlockTable {
    return this.table;
  }

  /** Scans the next bytes of the stream. */
  push(chunk: Uint8Array): void {
    if (this.finished) throw new Error('BlockMatcher: push after finish');
    let at = 0;
    while (at < chunk.length) {
      if (this.end === this.buf.length) this.compact();
      const n = Math.min(this.buf.length - this.end, chunk.length - at);
      this.buf.set(chunk.subarray(at, at + n), this.end);
      this.end += n;
      at += n;
      this.scan();
    }
  }

  /** Ends the stream: matches the signature's short last block against the stream's tail, reports the rest. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.scan();
    const { table, buf } = this;
    const last = table.shortLast;
    if (last >= 0) {
      const len = blockLength(table.sig, last);
      const start = this.end - len;
      if (start >= this.lit && weakSum(buf, start, this.end) === table.sig.weak[last]) {
        strongHashInto(buf, start, this.end, this.scratch, 0);
        if (strongKey(this.scratch, 0) === strongKey(table.sig.strong, last * STRONG_BYTES)) {
          this.reportLiteral(this.lit, start);
          this.sink.copy(last, this.base + start);
          this.lit = this.end;
        }
      }
    }
    this.reportLiteral(this.lit, this.end);
    this.lit = this.pos = this.end;
  }

  private reportLiteral(from: number, to: number): void {
    for (let s = from; s < to; s += this.maxLiteral) {
      const e = Math.min(to, s + this.maxLiteral);
      this.sink.literal(this.buf, s, e, this.base + s);
    }
  }

  /** Frees the buffer: everything before the window is reported, the window moves to the front. */
  private compact(): void {
    if (this.pos > this.lit) this.sink.literal(this.buf, this.lit, this.pos, this.base + this.lit);
    this.buf.copyWithin(0, this.pos, this.end);
    this.base += this.pos;
    this.end -= this.pos;
    this.pos = this.lit = 0;
  }

  private scan(): void {
    const { buf, table, blockSize: bs, end, maxLiteral, sink, scratch } = this;
    const filter = table.filter;
    if (table.isEmpty) {
      // Nothing can match: report whole chunks and skip the rolling.
      const whole = Math.floor((end - this.lit) / maxLiteral) * maxLiteral;
      if (whole > 0) this.reportLiteral(this.lit, this.lit + whole);
      this.pos = this.lit += whole;
      return;
    }
    let { pos, lit, s1, s2, hasSum, expected } = this;
    const { sig, shortLast } = table;
    const fullBlocks = shortLast === -1 ? sig.weak.length : shortLast;
    for (;;) {
      if (!hasSum) {
        if (end - pos < bs) break;
        // After a match the window starts afresh: in a shifted file that is every block, so this is
        // most of the loop's bytes, and weakSum adds them a word at a time.
        const weak = weakSum(buf, pos, pos + bs);
        if (expected >= 0 && expected < fullBlocks && weak === sig.weak[expected]) {
          if (!this.runsByWeak) strongHashInto(buf, pos, pos + bs, scratch, 0);
          if (this.runsByWeak || sameStrong(scratch, sig.strong, expected * STRONG_BYTES)) {
            // Reported as the first block with these bytes, as a match found by rolling would be.
            const block = this.runsByWeak ? expected : (table.withWeak(sig.weak[expected] as number)?.get(strongKey(scratch, 0)) ?? expected);
            if (pos > lit) sink.literal(buf, lit, pos, this.base + lit);
            sink.copy(block, this.base + pos);
            pos += bs;
            lit = pos;
            expected++;
            continue;
          }
        }
        expected = -1;
        s1 = weak & 0xffff;
        s2 = weak >>> 16;
        hasSum = true;
      }
      const key = (s1 ^ (s2 << 4)) & 0xfffff;
      const candidates = ((filter[key >>> 3] as number) & (1 << (key & 7))) === 0 ? undefined : table.withWeak(((s2 << 16) | s1) >>> 0);
      if (candidates !== undefined) {
        strongHashInto(buf, pos, pos + bs, scratch, 0);
        const block = candidates.get(strongKey(scratch, 0));
        if (block !== undefined) {
          if (pos > lit) sink.literal(buf, lit, pos, this.base + lit);
          sink.copy(block, this.base + pos);
          pos += bs;
          lit = pos;
          hasSum = false;
          expected = block + 1;
          continue;
        }
      }
      if (pos + bs >= end) break;
      // librsync's RollsumRotate, with the window length fixed at the block size.
      const out = buf[pos] as number;
      s1 = (s1 + (buf[pos + bs] as number) - out) & 0xffff;
      s2 = (s2 + s1 - bs * (out + CHAR_OFFSET)) & 0xffff;
      pos++;
      if (pos - lit >= maxLiteral) {
        sink.literal(buf, lit, lit + maxLiteral, this.base + lit);
        lit += maxLiteral;
      }
    }
    this.pos = pos;
    this.lit = lit;
    this.s1 = s1;
    this.s2 = s2;
    this.hasSum = hasSum;
    this.expected = expected;
  }
}
