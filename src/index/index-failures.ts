/**
 * What a failure of the index database means: a write that failed for want
 * of space or on an I/O error (the transaction rolled back; retry later), or
 * a file SQLite finds damaged (moved aside and rebuilt, see
 * IndexStore.openOrRebuild).
 */
import { codeInChain } from '../core/errors.js';

/**
 * True when a write to the index failed for want of space or on an I/O error
 * (SQLITE_FULL, SQLITE_IOERR and its extended codes). The transaction rolled
 * back, so the index is the valid one from before the write: this is neither
 * damage (nothing to rebuild) nor fatal (it may pass once space frees); the
 * writer's component is restarted with backoff instead.
 */
export function isIndexWriteFailure(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (code === 'SQLITE_FULL' || code === 'SQLITE_IOERR' || code.startsWith('SQLITE_IOERR_'))) return true;
  }
  return false;
}

/** SQLite result codes that mean the file is damaged, not merely unreadable (permissions are fatal, not rebuilt). */
const DAMAGED = new Set(['SQLITE_NOTADB', 'SQLITE_CORRUPT', 'SQLITE_CORRUPT_VTAB', 'SQLITE_CORRUPT_SEQUENCE', 'SQLITE_CORRUPT_INDEX']);

/** Whether `err` says the index file is damaged. */
export function isDamaged(err: unknown): boolean {
  return codeInChain(err, DAMAGED) !== undefined;
}
