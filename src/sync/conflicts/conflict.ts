/**
 * Names for conflict copies: when two machines changed a file at the same
 * time, the losing version is kept beside the winner under a name that says
 * what it is, when it happened and whose edit it was.
 */
import path from 'node:path';

/** The marker every conflict copy's name contains. */
export const CONFLICT_MARKER = '.sync-conflict-';

/** Hex digits of the node ID in a copy's name: the node's name alone could be anyone's (each config names its peers). */
export const COPY_ID_HEX = 7;

/** The longest node name a copy's name carries, so that a long name still leaves room for the file's own. */
const MAX_NAME_IN_COPY = 24;

/** Whose edit a conflict copy holds: the node's short ID and its name ('' when unknown). */
export interface CopyAuthor {
  readonly shortId: string;
  readonly name: string;
}

/**
 * A node's name as it may appear in a file name: ASCII letters, digits, `_`
 * and `-` (every other run of characters becomes one `-`), at most 24
 * characters; '' when nothing is left (then the copy carries the ID only).
 */
export function nameForCopy(name: string): string {
  return name
    .replace(/[^A-Za-z0-9_]+/g, '-')
    .slice(0, MAX_NAME_IN_COPY)
    .replace(/^-+|-+$/g, '');
}

/**
 * `dir/name.sync-conflict-YYYYMMDD-HHMMSS-<node name>-<7 hex of its ID>.ext`
 * (UTC), keeping the extension last so the copy still opens in the same
 * program; without a usable name, `-<7 hex>` alone (the form older versions made).
 */
export function conflictName(rel: string, atMs: number, author: CopyAuthor): string {
  const dir = path.posix.dirname(rel);
  const base = path.posix.basename(rel);
  const dot = base.lastIndexOf('.');
  // A leading dot is a hidden file's name, not an extension.
  const [stem, ext] = dot > 0 ? [base.slice(0, dot), base.slice(dot)] : [base, ''];
  const d = new Date(atMs);
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp = `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}-${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;
  const label = nameForCopy(author.name);
  const who = `${label === '' ? '' : `${label}-`}${author.shortId.slice(0, COPY_ID_HEX)}`;
  const name = `${stem}${CONFLICT_MARKER}${stamp}-${who}${ext}`;
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
