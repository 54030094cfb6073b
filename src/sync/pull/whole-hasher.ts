/**
 * What a whole download computes over the bytes as they arrive: the content
 * hash it is checked against and the block sums the index keeps for it.
 */
import { ContentHasher, hashOfLeaves, LEAF_BYTES } from '../../core/content-hash.js';
import { blockSizeFor, SignatureBuilder, storesSums, type Signature } from '../../delta/signature.js';

/** The content hash and, when the index keeps them, the block sums of bytes pushed in order. */
export interface WholeFileHasher {
  /** Adds the next bytes. */
  push(data: Uint8Array): void;
  /** The content hash of everything pushed, and its block sums with leaf digests when storesSums says the index keeps them. */
  finish(): { hash: string; sums: Signature | undefined };
}

/**
 * A WholeFileHasher for a file of `size` bytes. With blocks of one leaf (files
 * of 16 MiB and more: blockSizeFor), one SHA-256 per block gives both
 * its leaf digest and its strong sum, as the scan's hasher does
 * (workers/hash-file.ts): hashing BIG's 512 MiB twice had cost the receiver's
 * main thread 0.6-0.7 s more.
 */
export function wholeFileHasher(size: number): WholeFileHasher {
  if (storesSums(size) && blockSizeFor(size) === LEAF_BYTES) {
    const leaves: Buffer[] = [];
    const sums = new SignatureBuilder(size, LEAF_BYTES, undefined, undefined, leaves);
    return {
      push: (data) => sums.push(data),
      finish: () => {
        const sig = sums.finish();
        const all = Buffer.concat(leaves);
        return { hash: hashOfLeaves(size, all), sums: { ...sig, leaves: all } };
      },
    };
  }
  const hash = new ContentHasher();
  const sums = storesSums(size) ? new SignatureBuilder(size) : undefined;
  return {
    push: (data) => {
      hash.update(data);
      sums?.push(data);
    },
    finish: () => {
      const got = hash.finish();
      const sig = sums?.finish();
      return { hash: got.hash, sums: sig === undefined ? undefined : { ...sig, leaves: got.leaves } };
    },
  };
}
