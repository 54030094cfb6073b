/**
 * Applying a delta: copy ops read blocks of the basis, literals are written
 * as they are. Ops are checked against the basis before any byte is read,
 * since they may come from a peer.
 */
import { WizardError } from '../core/errors.js';
import type { DeltaOp } from './deltify.js';
import { blockCount } from './signature.js';

/** The basis a delta refers to: its block size, its length, and a reader. */
export interface PatchBasis<R> {
  readonly blockSize: number;
  readonly size: number;
  /** Reads `length` bytes at `offset` (always within the basis). */
  read(offset: number, length: number): R;
}

/** Byte range of the basis that a copy op stands for; throws when the op points outside the basis. */
export function copyRange(op: { block: number; count: number }, basis: { blockSize: number; size: number }): { offset: number; length: number } {
  const blocks = blockCount(basis.size, basis.blockSize);
  if (!Number.isSafeInteger(op.block) || !Number.isSafeInteger(op.count) || op.block < 0 || op.count < 1 || op.block + op.count > blocks) {
    throw new WizardError('PROTOCOL', `delta copies blocks ${op.block}+${op.count} of a basis with ${blocks}`);
  }
  const offset = op.block * basis.blockSize;
  return { offset, length: Math.min(op.count * basis.blockSize, basis.size - offset) };
}

/** Streams the target rebuilt from `ops` into `write`, awaiting each read and write in order. */
export async function patch(
  ops: Iterable<DeltaOp> | AsyncIterable<DeltaOp>,
  basis: PatchBasis<Promise<Uint8Array>>,
  write: (chunk: Uint8Array) => Promise<void>,
): Promise<void> {
  for await (const op of ops) {
    if (op.kind === 'literal') await write(op.data);
    else {
      const { offset, length } = copyRange(op, basis);
      await write(await basis.read(offset, length));
    }
  }
}

/** In-memory patch (tests, small data). */
export function patchBytes(basis: Uint8Array, blockSize: number, ops: Iterable<DeltaOp>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const op of ops) {
    if (op.kind === 'literal') parts.push(op.data);
    else {
      const { offset, length } = copyRange(op, { blockSize, size: basis.length });
      parts.push(basis.subarray(offset, offset + length));
    }
  }
  return Buffer.concat(parts);
}
