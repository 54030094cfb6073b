/**
 * Whether a delta plan may be carried out in place (docs/DELTA.md, "Patching
 * in place"): pure decisions, no I/O.
 */
import type { FillOp } from '../../delta/locate.js';

/** Files below this size are replaced through a temp file as before, and their trash entry stays a whole copy. */
export const IN_PLACE_MIN_BYTES = 1024 * 1024;
/**
 * Most bytes a patch in place writes: they are held in memory until the lock
 * (with `limits.transfers` files at once, 4 by default: 64 MiB), and their
 * old bytes go to the journal.
 */
export const IN_PLACE_MAX_CHANGED_BYTES = 16 * 1024 * 1024;
/** Most of the new file a patch in place may change: past it, a temp file costs little more and keeps the old file whole. */
export const IN_PLACE_MAX_FRACTION = 1 / 8;

/** What the file at the path is now, as the patch decision needs it. */
export interface PatchTarget {
  readonly size: number;
  readonly mode: number;
  /** Hard links to it: a patch in place would change every one of them. */
  readonly nlink: number;
}

/**
 * The ranges to write in place, [offset, length] in order, when the plan
 * keeps every byte it reuses at the same offset of our current file (edits
 * in place, appends, truncation) and changes little of it; undefined when
 * the file must be built in a temp file (shifted content, most of it new,
 * a small file, an executable or a file with other links).
 */
export function inPlaceWrites(ops: readonly FillOp[], current: PatchTarget, newSize: number, newMode: number): Array<[number, number]> | undefined {
  if (current.size < IN_PLACE_MIN_BYTES || newSize < IN_PLACE_MIN_BYTES || current.nlink !== 1) return undefined;
  // A running program or script mapped from the file would see its bytes change under it.
  if ((current.mode & 0o111) !== 0 || (newMode & 0o111) !== 0) return undefined;
  const writes: Array<[number, number]> = [];
  let changed = 0;
  for (const op of ops) {
    if (op.kind === 'local') {
      // Bytes from elsewhere in the file (a shift), or from a partial download, would be read from what the patch overwrites.
      if (op.basis !== 0 || op.from !== op.at) return undefined;
      continue;
    }
    writes.push([op.at, op.length]);
    changed += op.length;
  }
  if (changed > IN_PLACE_MAX_CHANGED_BYTES || changed > newSize * IN_PLACE_MAX_FRACTION) return undefined;
  return writes;
}
