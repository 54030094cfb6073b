/**
 * Names for conflict copies: when two machines changed a file at the same
 * time, the losing version is kept beside the winner under a name that says
 * what it is, when it happened and whose edit it was.
 */
import path from 'node:path';

/** The marker every conflict copy's name contains. */
export const CONFLICT_MARKER = '.sync-conflict-';

/**
 * `dir/name.sync-conflict-YYYYMMDD-HHMMSS-<node>.ext` (UTC), keeping the
 * extension last so the copy still opens in the same program.
 */
export function conflictName(rel: string, atMs: number, shortNodeId: string): string {
  const dir = path.posix.dirname(rel);
  const base = path.posix.basename(rel);
  const dot = base.lastIndexOf('.');
  // A leading dot is a hidden file's name, not an extension.
  const [stem, ext] = dot > 0 ? [base.slice(0, dot), base.slice(dot)] : [base, ''];
  const d = new Date(atMs);
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp = `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}-${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;
  const name = `${stem}${CONFLICT_MARKER}${stamp}-${shortNodeId.slice(0, 7)}${ext}`;
  return dir === '.' ? name : `${dir}/${name}`;
}

/**
 * The `n`th other name for the conflict copy `copyRel` (n >= 2): `-n` before
 * its extension. Used when the first name is taken (another copy made in the
 * same second, or a name a peer squatted), so the losing version still gets
 * a name of its own and never replaces what holds the first.
 */
export function numberedCopy(copyRel: string, n: number): string {
  const slash = copyRel.lastIndexOf('/');
  const dir = copyRel.slice(0, slash + 1);
  const base = copyRel.slice(slash + 1);
  const dot = base.lastIndexOf('.');
  const [stem, ext] = dot > 0 && !base.slice(dot).startsWith(CONFLICT_MARKER) ? [base.slice(0, dot), base.slice(dot)] : [base, ''];
  return `${dir}${stem}-${n}${ext}`;
}

/** True for a conflict copy's path. */
export function isConflictCopy(rel: string): boolean {
  return path.posix.basename(rel).includes(CONFLICT_MARKER);
}
