/**
 * The counts status shows over a folder's own entries (files, dirs, bytes,
 * tombstones, conflict copies), kept up to date by each write instead of
 * counted again: the store counts them once per folder with the SQL below,
 * then every committed or forgotten entry adjusts them with \`count\`, which
 * must count exactly as the SQL does.
 */
import { CONFLICT_MARKER } from '../sync/conflicts/conflict.js';

/** Counts over a folder's local entries. */
export interface LocalStats {
  /** Live regular files and symlinks. */
  readonly files: number;
  /** Live directories. */
  readonly dirs: number;
  /** Bytes of the live entries. */
  readonly bytes: number;
  /** Entries that record a deletion. */
  readonly tombstones: number;
  /** Live conflict copies (files whose name holds the conflict marker, see conflict.ts). */
  readonly conflicts: number;
}

/** The query that counts a folder's LocalStats from scratch (parameter @folder). */
export const LOCAL_STATS_SQL = `SELECT
         COALESCE(SUM(deleted = 0 AND type <> 'dir'), 0) AS files,
         COALESCE(SUM(deleted = 0 AND type = 'dir'), 0) AS dirs,
         COALESCE(SUM(CASE WHEN deleted = 0 THEN size ELSE 0 END), 0) AS bytes,
         COALESCE(SUM(deleted), 0) AS tombstones,
         COALESCE(SUM(deleted = 0 AND type <> 'dir' AND instr(substr(path, instr(path, '${CONFLICT_MARKER}')), '/') = 0 AND instr(path, '${CONFLICT_MARKER}') > 0), 0) AS conflicts
       FROM local WHERE folder = @folder`;

/** LocalStats being kept up to date. */
export type MutableStats = { -readonly [K in keyof LocalStats]: LocalStats[K] };

/** Adds (`sign` 1) or removes (-1) one entry in `stats`, as the localStats query counts it. */
export function count(stats: MutableStats, { path, type, size }: { path: string; type: string; size: number }, deleted: boolean, sign: 1 | -1): void {
  if (deleted) {
    stats.tombstones += sign;
    return;
  }
  if (type === 'dir') stats.dirs += sign;
  else stats.files += sign;
  if (type !== 'dir' && inConflictCopyName(path)) stats.conflicts += sign;
  stats.bytes += sign * size;
}

/** The marker in the last part of `path` (where its first one is), exactly as the localStats query tests it. */
function inConflictCopyName(path: string): boolean {
  const at = path.indexOf(CONFLICT_MARKER);
  return at >= 0 && !path.slice(at).includes('/');
}
