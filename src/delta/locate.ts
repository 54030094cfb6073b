/**
 * Block location, zsync's direction: the receiver streams its own old file
 * (the basis) against the signature of the content it wants, and learns which
 * target blocks it already has and where. The rest is fetched from the peer.
 */
import { BlockMatcher } from './matcher.js';
import { blockCount, blockLength, checkSignature, type Signature } from './signature.js';

/** Streams a basis and records, per target block, a basis offset holding its bytes. */
export class BlockLocator {
  /** Basis offset of each target block, or -1 when the basis does not have it. */
  readonly sources: Float64Array;
  private readonly matcher: BlockMatcher;

  /** `target` is checked before anything is sized by it. `runsByWeak`: see BlockMatcher. */
  constructor(target: Signature, runsByWeak = false) {
    checkSignature(target);
    this.sources = new Float64Array(blockCount(target.fileSize, target.blockSize)).fill(-1);
    this.matcher = new BlockMatcher(target, {
      copy: (block, at) => {
        if (this.sources[block] !== -1) return;
        this.sources[block] = at;
        for (const dup of this.matcher.blocks.duplicates.get(block) ?? []) this.sources[dup] = at;
      },
      literal: () => undefined,
    }, undefined, runsByWeak);
  }

  /** Scans the next bytes of the basis. */
  push(chunk: Uint8Array): void {
    this.matcher.push(chunk);
  }

  /** Ends the basis; `sources` is complete afterwards. */
  finish(): Float64Array {
    this.matcher.finish();
    return this.sources;
  }
}

/** One step of filling the target: bytes from the local basis, or bytes to fetch. */
export type FillOp =
  | { readonly kind: 'local'; readonly at: number; readonly from: number; readonly length: number; readonly basis: number }
  | { readonly kind: 'remote'; readonly at: number; readonly length: number };

/**
 * The target as runs of local copies and remote fetches, in target order.
 * `sources[i]` is where target block i is in its basis (`basisOf[i]`, 0 when
 * not given), -1 for nowhere. Adjacent blocks from adjacent offsets of one basis
 * merge into one copy; adjacent missing blocks merge into fetches of at most `maxRemote` bytes.
 */
export function planFill(target: Signature, sources: Float64Array, maxRemote: number, basisOf?: Int8Array): FillOp[] {
  const ops: FillOp[] = [];
  const count = blockCount(target.fileSize, target.blockSize);
  for (let i = 0; i < count; i++) {
    const at = i * target.blockSize;
    const length = blockLength(target, i);
    const from = sources[i] as number;
    const basis = basisOf?.[i] ?? 0;
    appendFill(ops, from >= 0 ? { kind: 'local', at, from, length, basis } : { kind: 'remote', at, length }, maxRemote);
  }
  return ops;
}

/**
 * Appends `op` (which must start where the plan ends) to `ops`, merging it
 * into the last op when both copy adjacent bytes of one basis, or both fetch
 * and stay within `maxRemote` bytes together.
 */
export function appendFill(ops: FillOp[], op: FillOp, maxRemote: number): void {
  const prev = ops.at(-1);
  if (prev?.kind === 'local' && op.kind === 'local' && prev.basis === op.basis && prev.from + prev.length === op.from) {
    ops[ops.length - 1] = { ...prev, length: prev.length + op.length };
  } else if (prev?.kind === 'remote' && op.kind === 'remote' && prev.length + op.length <= maxRemote) {
    ops[ops.length - 1] = { ...prev, length: prev.length + op.length };
  } else ops.push(op);
}

/** Bytes the plan fetches from the peer. */
export function remoteBytes(ops: readonly FillOp[]): number {
  return ops.reduce((n, op) => (op.kind === 'remote' ? n + op.length : n), 0);
}
