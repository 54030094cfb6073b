/**
 * Delta encoding, rsync's direction: the target is streamed against the
 * basis's signature and comes out as copy-block and literal ops. Adjacent
 * copies are merged; literals are at most MAX_LITERAL_BYTES each.
 */
import { BlockMatcher, MAX_LITERAL_BYTES } from './matcher.js';
import type { Signature } from './signature.js';

/** One step of rebuilding the target from the basis. */
export type DeltaOp =
  /** Blocks `block .. block + count - 1` of the basis, in order. */
  | { readonly kind: 'copy'; readonly block: number; readonly count: number }
  /** New bytes. */
  | { readonly kind: 'literal'; readonly data: Uint8Array };

/**
 * Streaming encoder. `emit` is called synchronously with each op in order;
 * if it throws, the exception propagates out of `push` or `finish` (an
 * emitter failure is never dropped).
 */
export class Deltifier {
  private readonly matcher: BlockMatcher;
  private pending: { block: number; count: number } | undefined;

  constructor(
    basis: Signature,
    private readonly emit: (op: DeltaOp) => void,
    maxLiteral = MAX_LITERAL_BYTES,
  ) {
    this.matcher = new BlockMatcher(
      basis,
      {
        copy: (block) => {
          const p = this.pending;
          if (p !== undefined && p.block + p.count === block) p.count++;
          else {
            this.flush();
            this.pending = { block, count: 1 };
          }
        },
        literal: (buf, start, end) => {
          this.flush();
          this.emit({ kind: 'literal', data: buf.slice(start, end) });
        },
      },
      maxLiteral,
    );
  }

  /** Encodes the next bytes of the target. */
  push(chunk: Uint8Array): void {
    this.matcher.push(chunk);
  }

  /** Ends the target and emits what is left. */
  finish(): void {
    this.matcher.finish();
    this.flush();
  }

  private flush(): void {
    const p = this.pending;
    if (p === undefined) return;
    this.pending = undefined;
    this.emit({ kind: 'copy', block: p.block, count: p.count });
  }
}

/** In-memory delta of `target` against a basis signature (tests, small data). */
export function deltifyBytes(target: Uint8Array, basis: Signature, maxLiteral = MAX_LITERAL_BYTES): DeltaOp[] {
  const ops: DeltaOp[] = [];
  const d = new Deltifier(basis, (op) => ops.push(op), maxLiteral);
  d.push(target);
  d.finish();
  return ops;
}
