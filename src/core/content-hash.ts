/**
 * A file's content hash (identity v2, wire protocol 6): SHA-256 over fixed
 * 64 KiB leaves, then SHA-256 over a domain tag, the size and the leaf
 * digests. Unlike one SHA-256 of the whole file, the leaves hash in any order
 * on any thread (src/workers/hash-file.ts splits a big file over the pool),
 * and a file patched in place is checked by hashing the leaves it wrote and
 * reading the others' digests. docs/PROTOCOL.md has the exact definition and
 * test vectors; the hex text form is the one the index and the wire used for
 * SHA-256 before, so only its meaning changed.
 */
import { createHash } from 'node:crypto';

import { WizardError } from './errors.js';

/** Bytes per leaf: fixed, whatever a delta's block size, so both sides always agree. */
export const LEAF_BYTES = 64 * 1024;
/** Bytes of one leaf digest (SHA-256). */
export const LEAF_DIGEST_BYTES = 32;
/** Prefix of the identity's input: a leaf's input can never be mistaken for it by its meaning. */
const DOMAIN_TAG = Buffer.from('wizard-content-v2\0', 'latin1');

/** How many leaves a file of `size` bytes has: an empty file has one, the digest of no bytes. */
export function leafCount(size: number): number {
  return Math.max(1, Math.ceil(size / LEAF_BYTES));
}

/** The content hash (64 lowercase hex) of a file of `size` bytes whose leaf digests are `leaves`, in order. */
export function hashOfLeaves(size: number, leaves: Uint8Array): string {
  if (leaves.length !== leafCount(size) * LEAF_DIGEST_BYTES) throw new WizardError('INTERNAL', `${leaves.length / LEAF_DIGEST_BYTES} leaf digests for ${size} bytes`);
  const head = Buffer.alloc(DOMAIN_TAG.length + 8);
  DOMAIN_TAG.copy(head);
  head.writeBigUInt64BE(BigInt(size), DOMAIN_TAG.length);
  return createHash('sha256').update(head).update(leaves).digest('hex');
}

/**
 * Leaf digests of bytes pushed in order from a leaf boundary, in chunks of
 * any size. `finish` closes the last, short leaf (or the only, empty one).
 */
export class LeafHasher {
  private readonly done: Buffer[] = [];
  private open = createHash('sha256');
  private inLeaf = 0;
  private total = 0;
  /** A short leaf was given by pushLeaf: it must be the last. */
  private isShortDone = false;

  /** Adds the next bytes. */
  push(chunk: Uint8Array): void {
    if (this.isShortDone && chunk.length > 0) throw new WizardError('INTERNAL', 'bytes pushed after the last, short leaf');
    this.total += chunk.length;
    let at = 0;
    while (at < chunk.length) {
      const take = Math.min(LEAF_BYTES - this.inLeaf, chunk.length - at);
      this.open.update(chunk.subarray(at, at + take));
      this.inLeaf += take;
      at += take;
      if (this.inLeaf === LEAF_BYTES) this.closeLeaf();
    }
  }

  /**
   * Adds the digest of the next leaf, of `length` bytes, which the caller
   * hashed itself (to check it, delta-fetch.ts): at a leaf boundary only, and
   * a short leaf only as the last.
   */
  pushLeaf(digest: Buffer, length: number): void {
    if (this.inLeaf !== 0 || this.isShortDone || length > LEAF_BYTES || length <= 0 || digest.length !== LEAF_DIGEST_BYTES) {
      throw new WizardError('INTERNAL', `a leaf digest of ${length} bytes after ${this.total} bytes does not fall on a leaf`);
    }
    this.done.push(digest);
    this.total += length;
    this.isShortDone = length < LEAF_BYTES;
  }

  /** Whether the next byte starts a leaf (so `pushLeaf` may be called). */
  get atLeaf(): boolean {
    return this.inLeaf === 0 && !this.isShortDone;
  }

  /** Bytes pushed so far. */
  get size(): number {
    return this.total;
  }

  /** The leaf digests, 32 bytes each, in order. Call once. */
  finish(): Uint8Array {
    if (this.inLeaf > 0 || this.done.length === 0) this.closeLeaf();
    return Buffer.concat(this.done);
  }

  private closeLeaf(): void {
    this.done.push(this.open.digest());
    this.open = createHash('sha256');
    this.inLeaf = 0;
  }
}

/** The content hash of bytes pushed in order: what a download or a patch computes as it writes. */
export class ContentHasher {
  private readonly leaves = new LeafHasher();

  /** Adds the next bytes. */
  update(chunk: Uint8Array): this {
    this.leaves.push(chunk);
    return this;
  }

  /** Adds the next leaf by its digest (LeafHasher.pushLeaf). */
  updateLeaf(digest: Buffer, length: number): this {
    this.leaves.pushLeaf(digest, length);
    return this;
  }

  /** Whether the next byte starts a leaf. */
  get atLeaf(): boolean {
    return this.leaves.atLeaf;
  }

  /** The content hash of everything pushed. Call once (or `finish`). */
  digest(): string {
    return this.finish().hash;
  }

  /** The content hash of everything pushed and its leaf digests. Call once (or `digest`). */
  finish(): { hash: string; leaves: Uint8Array } {
    const leaves = this.leaves.finish();
    return { hash: hashOfLeaves(this.leaves.size, leaves), leaves };
  }
}

/** The content hash of `bytes`. */
export function contentHash(bytes: Uint8Array | string): string {
  return new ContentHasher().update(typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes).digest();
}
