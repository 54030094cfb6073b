/**
 * What the puller checks on disk before it changes anything there: that the
 * disk at a path is still what the index recorded (a local edit not yet
 * scanned would otherwise be overwritten), that the index has not moved since
 * the decision, and that the dirs above a path are real dirs (created one
 * level at a time when missing). Each check is synchronous, so the puller can
 * make it in one step with the change it guards (see puller.ts).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { WizardError } from '../../core/errors.js';
import { parentOf, resolveOnDisk } from '../../core/paths.js';
import { otherSpelling } from '../../index/disk-names.js';
import type { LocalEntry } from '../../index/entry.js';
import { realAncestors } from '../../index/real-path.js';
import { sameStat, type StatKey } from '../../index/hash.js';
import { observeNow, type Observation } from '../../index/scanner.js';
import { sameObservation } from '../scan/local-changes.js';
import { caseVariant, listNow } from '../disk/case-variant.js';
import { chmodDirNow } from '../disk/permissions.js';

/** What the checks read: the folder's root, its index and where its paths are on disk. */
export interface DiskView {
  readonly root: string;
  /** Our current entry for a path. */
  readonly getLocal: (rel: string) => LocalEntry | undefined;
  /** Where a path is on disk: under its recorded name when that is not NFC (see disk-names.ts); the path itself by default. */
  readonly onDisk?: (rel: string) => string;
  /**
   * The mode to give a missing dir made above a pulled path: a peer's mode
   * for that dir through our umask, as a pull of its entry would make it.
   * Undefined: the umask's default. A scan then finds the dir as a pull would
   * have left it, and records it at the peer's version, not a new one of ours.
   */
  readonly parentMode?: (dir: string) => number | undefined;
}

/**
 * Looks once more, right before the rename, after the slow steps that follow
 * `expectUnchanged` (a trash link, a conflict copy): every dir above `rel`
 * must still be a real directory (a dir swapped for a symlink would send the
 * rename out of the folder), and `rel` must still be exactly `expected` (an
 * edit saved meanwhile must not be buried under the pulled version).
 * Synchronous: the caller acts on its answer in the same step.
 *
 * What remains is the window between this check and the rename itself, which
 * no portable call closes (Node has no renameat2 with RENAME_EXCHANGE and no
 * dir-relative rename): another process can still land there. An edit
 * written in place in that window is kept, as the trash entry is a hard link
 * to the same file; a file renamed over the target, or a parent swapped for a
 * link, in that window of microseconds is not caught.
 */
export function expectStill(ctx: DiskView, rel: string, expected: Observation | undefined): void {
  const disk = diskOf(ctx, rel);
  if (!realAncestors(ctx.root, disk)) throw changed(rel);
  if (!sameObservation(observeNow(ctx.root, rel, disk), expected)) throw changed(rel);
}

/**
 * The disk at `rel` must be what the index last recorded: the same file
 * (size, mtime, inode), or nothing if the index has nothing live there.
 * Anything else is a local change not yet scanned; overwriting it would lose it.
 * `accept`: a file known to differ exactly so (see TakeOptions.acceptDisk) passes too.
 */
export function expectUnchanged(ctx: DiskView, rel: string, accept?: StatKey): Observation | undefined {
  const local = ctx.getLocal(rel);
  const disk = diskOf(ctx, rel);
  const current = observeNow(ctx.root, rel, disk);
  if (accept !== undefined && current?.type === 'file' && local !== undefined && !local.deleted && sameStat(current, accept)) return current;
  if (local === undefined || local.deleted) {
    if (current !== undefined) {
      // On a case-insensitive filesystem `Notes.txt` finds our `notes.txt`: that is a clash to report, not a change to rescan.
      const other = caseVariant(listNow(path.dirname(resolveOnDisk(ctx.root, disk))), path.posix.basename(disk));
      if (other !== undefined) {
        throw new WizardError('CASE_CONFLICT', `${rel} differs only in letter case from ${other}, which is here already; this filesystem cannot hold both, so neither is overwritten (rename one of them)`);
      }
      throw changed(rel);
    }
    // The same name spelled otherwise (NFD, from a Mac) and not yet scanned: ours beside it would be a second file of one name.
    if (otherSpelling(ctx.root, disk) !== undefined) throw changed(rel);
    return undefined;
  }
  if (current === undefined || current.type !== local.type) throw changed(rel);
  if (current.type === 'file' && (current.size !== local.size || current.mtimeMs !== local.mtimeMs || current.inode !== local.inode)) {
    throw changed(rel);
  }
  if (current.type === 'symlink' && current.target !== local.target) throw changed(rel);
  return current;
}

/** Throws CHANGED when the index entry moved since the decision was made on `basedOn` (see TakeOptions.basedOn). */
export function expectDecidedOn(ctx: DiskView, rel: string, basedOn: number | undefined): void {
  if (basedOn !== undefined && (ctx.getLocal(rel)?.sequence ?? 0) !== basedOn) throw changed(rel);
}

/**
 * Parent dirs of a pulled path normally arrive as entries first; create any
 * that are missing, one level at a time (never `recursive`, which would
 * follow a link), each in one synchronous step with the check of the dirs
 * above it. Throws BAD_PATH on a symlinked ancestor: a peer must never get
 * us to write through a link.
 */
export function ensureParent(ctx: DiskView, rel: string): void {
  if (realAncestors(ctx.root, diskOf(ctx, rel))) return;
  const parts = parentOf(rel).split('/');
  for (let i = 1; i <= parts.length; i++) {
    const dir = parts.slice(0, i).join('/');
    const disk = diskOf(ctx, dir);
    const obs = observeNow(ctx.root, dir, disk);
    if (obs?.type === 'dir') continue;
    if (obs !== undefined) throw changed(rel);
    if (!realAncestors(ctx.root, disk)) throw changed(rel);
    // The dir here under another spelling of its name, not yet scanned: a second dir of one name would clash with it.
    if (otherSpelling(ctx.root, disk) !== undefined) throw changed(rel);
    try {
      const abs = resolveOnDisk(ctx.root, disk);
      mkdirSync(abs);
      const mode = ctx.parentMode?.(dir);
      if (mode !== undefined) chmodDirNow(abs, mode);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  if (!realAncestors(ctx.root, diskOf(ctx, rel))) throw changed(rel);
}

/** Where `rel` is on disk (see PullContext.onDisk). */
export function diskOf(ctx: Pick<DiskView, 'onDisk'>, rel: string): string {
  return ctx.onDisk?.(rel) ?? rel;
}

/** The absolute path of `rel` on disk, validated like every path that reaches the filesystem. */
export function absOf(ctx: Pick<DiskView, 'root' | 'onDisk'>, rel: string): string {
  return resolveOnDisk(ctx.root, diskOf(ctx, rel));
}

/** The error that sends a path back to the scan: the disk is not what the decision was made on. */
export function changed(rel: string): WizardError {
  return new WizardError('CHANGED', `${rel} changed on disk since it was last scanned; rescanning before deciding again`);
}
