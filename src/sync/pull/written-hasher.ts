/**
 * The content hash and block sums of a big file downloaded whole, computed
 * on the worker threads from the temp file as its blocks are written, instead
 * of on the main thread from each block as it arrives. The main thread is the
 * receiving end of the link: while it hashed a 1 MiB block (SHA-256 and the
 * weak sums, about 1.5 ms here) it read nothing from the socket, and the
 * sender, waiting for its socket to drain, did nothing either. The workers
 * read the bytes back through the temp file's descriptor, from the page cache
 * the writes just filled, so what is verified is what the file holds.
 */
import { hashOfLeaves, LEAF_BYTES, LEAF_DIGEST_BYTES } from '../../core/content-hash.js';
import { WizardError } from '../../core/errors.js';
import { blockSizeFor, STRONG_BYTES, storesSums, type Signature } from '../../delta/signature.js';
import type { JobRunner } from '../../workers/pool.js';

/** Bytes hashed in one job: large enough that a job's hop to a thread is noise, small enough that both threads get work early and the last job is short. */
export const SLICE_BYTES = 8 * 1024 * 1024;

/** Whether a whole download of `size` bytes is hashed this way: blocks of one leaf, whose sums the index keeps (as wholeFileHasher's one-hash path). */
export function isHashedWhenWritten(size: number): boolean {
  return storesSums(size) && blockSizeFor(size) === LEAF_BYTES;
}

/** Hashes the bytes of a temp file of `size` bytes as they are written in order, SLICE_BYTES a job. */
export class WrittenHasher {
  private readonly slices: Array<Promise<{ leaves: Uint8Array; weak: Uint32Array }>> = [];
  /** Bytes written from the start, in order; everything below `asked` is in a job already. */
  private written = 0;
  private asked = 0;

  /** `fd` must stay open until `settle` or `finish` has returned. */
  constructor(
    private readonly runner: JobRunner,
    private readonly fd: number,
    private readonly size: number,
  ) {}

  /** Notes that the bytes up to `end` have been written, in order; starts a job for each whole slice now written. */
  wroteTo(end: number): void {
    if (end < this.written || end > this.size) throw new WizardError('INTERNAL', `written to ${end} after ${this.written} of ${this.size} bytes`);
    this.written = end;
    while (this.written - this.asked >= SLICE_BYTES || (this.written === this.size && this.asked < this.size)) {
      const length = Math.min(SLICE_BYTES, this.size - this.asked);
      const job = this.runner.run('written', { fd: this.fd, start: this.asked, length });
      // A failed job is seen by finish; one started before a failure elsewhere is only awaited (settle).
      job.catch(() => undefined);
      this.slices.push(job);
      this.asked += length;
    }
  }

  /** The content hash and block sums of every byte, once all are written; throws what a job failed with. */
  async finish(): Promise<{ hash: string; sums: Signature }> {
    if (this.written !== this.size) throw new WizardError('INTERNAL', `hash asked after ${this.written} of ${this.size} bytes written`);
    // Every job ends before this returns or throws, so the caller may close the descriptor either way.
    await this.settle();
    const done = await Promise.all(this.slices);
    const leaves = Buffer.concat(done.map((s) => s.leaves));
    const count = leaves.length / LEAF_DIGEST_BYTES;
    const weak = new Uint32Array(count);
    const strong = new Uint8Array(count * STRONG_BYTES);
    let at = 0;
    for (const s of done) {
      weak.set(s.weak, at);
      at += s.weak.length;
    }
    // With blocks of one leaf a block's strong sum is its leaf digest cut short (signature.ts).
    for (let i = 0; i < count; i++) strong.set(leaves.subarray(i * LEAF_DIGEST_BYTES, i * LEAF_DIGEST_BYTES + STRONG_BYTES), i * STRONG_BYTES);
    return { hash: hashOfLeaves(this.size, leaves), sums: { blockSize: LEAF_BYTES, fileSize: this.size, weak, strong, leaves } };
  }

  /** Waits for every job started, whatever it ends with: after this the descriptor may be closed. */
  async settle(): Promise<void> {
    await Promise.allSettled(this.slices);
  }
}
