/**
 * Walks a folder on disk and reports what is there, without deciding
 * anything: the folder compares observations with its index (see
 * `classify`) and records the changes.
 */
import { lstatSync, readlinkSync, type Dirent, type Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { BadPathError } from '../core/errors.js';
import { isTempName, toRelPath } from '../core/paths.js';
import type { IgnoreMatcher } from '../ignore/matcher.js';
import { realAncestors } from './real-path.js';
import type { EntryType, LocalEntry } from './entry.js';

/** What the disk holds at one path. */
export interface Observation {
  readonly path: string;
  readonly type: EntryType;
  readonly size: number;
  readonly mtimeMs: number;
  readonly mode: number;
  readonly inode: number;
  /** Symlink target; '' otherwise. */
  readonly target: string;
}

/** The result of walking a subtree. */
export interface WalkResult {
  /** Everything found that is not ignored, keyed by relative path. */
  readonly seen: Map<string, Observation>;
  /** Dirs (relative) that could not be read: nothing below them may be taken as deleted. */
  readonly unreadable: string[];
  /** Names that cannot be synced (not valid on the wire), with the reason. */
  readonly skipped: Array<{ path: string; reason: string }>;
  /** Wizard temp files met on the way (relative): never synced, but ones an interrupted download left must be cleaned up. */
  readonly temps: string[];
}

/** What the walk needs. */
export interface WalkOptions {
  readonly matcher: IgnoreMatcher;
  /** Paths that are never synced whatever the ignore list says (Wizard's own files). */
  readonly isInternal: (rel: string) => boolean;
  readonly signal?: AbortSignal;
  /**
   * Lists a directory (absolute path) with file types; node's readdir by
   * default. Tests inject EIO or EACCES here: root, which runs the tests,
   * reads any dir whatever its permission bits, and EIO has no cheap real cause.
   */
  readonly readDir?: (abs: string) => Promise<Dirent[]>;
}

function readDirWithTypes(abs: string): Promise<Dirent[]> {
  return readdir(abs, { withFileTypes: true });
}

/** Observation of one path, or undefined when it does not exist (or is a kind we do not sync: sockets, fifos, devices). */
export async function observe(root: string, rel: string): Promise<Observation | undefined> {
  const st = lstatNow(root, rel);
  return st === undefined ? undefined : toObservation(root, rel, st);
}

/**
 * `observe` without waiting at all: a link's target is read synchronously
 * too. For a last look that must be in one synchronous step with what is
 * done on its answer (temp-place.ts).
 */
export function observeNow(root: string, rel: string): Observation | undefined {
  const st = lstatNow(root, rel);
  if (st === undefined) return undefined;
  if (st.isFile()) return fileObservation(rel, st);
  const type: EntryType | undefined = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : undefined;
  if (type === undefined) return undefined;
  const target = type === 'symlink' ? readlinkSync(path.join(root, ...rel.split('/'))) : '';
  return { path: rel, type, size: 0, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777, inode: st.ino, target };
}

/**
 * `observe` of a path expected to hold a regular file, without waiting: undefined when it holds
 * anything else (a link's target would need a read) or nothing.
 */
export function observeFileNow(root: string, rel: string): Observation | undefined {
  const st = lstatNow(root, rel);
  return st?.isFile() === true ? fileObservation(rel, st) : undefined;
}

/** lstat of one path below real dirs; undefined when it is gone or below a link. */
function lstatNow(root: string, rel: string): Stats | undefined {
  // Below a symlinked or vanished dir nothing is ours: lstat alone would follow the link in the dirs above.
  // Any other failure (EACCES, EIO on a dir above) is thrown: "not there" would make a scan take the path as deleted.
  if (rel !== '' && !ancestorsAreReal(root, rel)) return undefined;
  // One path just named by a watcher event, a commit's second look or a pull: its inode is in the
  // kernel's cache, and a synchronous lstat costs the event loop a fifth of one through libuv's
  // pool (see realAncestors). A walk's lstats stay asynchronous: a cold tree needs the disk.
  try {
    return lstatSync(rel === '' ? root : path.join(root, ...rel.split('/')), { throwIfNoEntry: false });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** realAncestors, with a symlinked ancestor as false; other errors are thrown. */
function ancestorsAreReal(root: string, rel: string): boolean {
  try {
    return realAncestors(root, rel);
  } catch (err) {
    if (err instanceof BadPathError) return false;
    throw err;
  }
}

/** Stats in flight at once during a walk. */
const STAT_BATCH = 64;

/** `observe` for a path whose parent the caller knows to be a real directory (the walk just read it as one). */
async function observeBelowRealDir(root: string, rel: string): Promise<Observation | undefined> {
  let st: Stats;
  try {
    st = await lstat(rel === '' ? root : path.join(root, ...rel.split('/')));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') {
      return undefined;
    }
    throw err;
  }
  return toObservation(root, rel, st);
}

async function toObservation(root: string, rel: string, st: Stats): Promise<Observation | undefined> {
  if (st.isFile()) return fileObservation(rel, st);
  const type: EntryType | undefined = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : undefined;
  if (type === undefined) return undefined;
  const target = type === 'symlink' ? await readlink(path.join(root, ...rel.split('/'))) : '';
  return { path: rel, type, size: 0, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777, inode: st.ino, target };
}

function fileObservation(rel: string, st: Stats): Observation {
  return { path: rel, type: 'file', size: st.size, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777, inode: st.ino, target: '' };
}

/**
 * Walks `rel` (a dir, a file, or a path that is gone) below `root`. Never
 * follows symlinks. Errors on a subdir are recorded in `unreadable`, not
 * thrown, so one unreadable dir does not stop the rest of the scan.
 */
export async function walk(root: string, rel: string, opts: WalkOptions): Promise<WalkResult> {
  const result: WalkResult = { seen: new Map(), unreadable: [], skipped: [], temps: [] };
  // A watcher event can name an ignored path directly; it must not slip past the rules applied during the walk.
  if (rel !== '' && (opts.isInternal(rel) || opts.matcher.isIgnored(rel, false))) return result;
  const top = await observe(root, rel);
  if (top !== undefined && top.type === 'dir' && rel !== '' && opts.matcher.isIgnored(rel, true)) return result;
  if (top === undefined) return result;
  if (rel !== '') result.seen.set(rel, top);
  if (top.type !== 'dir') return result;

  const stack = [rel];
  while (stack.length > 0) {
    opts.signal?.throwIfAborted();
    const dir = stack.pop() as string;
    let names: Dirent[];
    try {
      names = await (opts.readDir ?? readDirWithTypes)(dir === '' ? root : path.join(root, ...dir.split('/')));
    } catch {
      result.unreadable.push(dir);
      // Vanished or unreadable: either way nothing below it may be taken as deleted until a later scan reads it.
      continue;
    }
    const children: string[] = [];
    for (const dirent of names) {
      const raw = dir === '' ? dirent.name : `${dir}/${dirent.name}`;
      let child: string;
      try {
        child = toRelPath(raw);
      } catch (err) {
        if (opts.isInternal(raw)) continue;
        result.skipped.push({ path: raw, reason: err instanceof BadPathError ? err.message : String(err) });
        continue;
      }
      if (child !== raw) {
        // A name that is not NFC on disk would be written back under another name by peers; report it rather than sync it.
        result.skipped.push({ path: raw, reason: 'name is not in Unicode NFC form' });
        continue;
      }
      if (isTempName(dirent.name)) {
        result.temps.push(child);
        continue;
      }
      if (opts.isInternal(child)) continue;
      if (opts.matcher.isIgnored(child, dirent.isDirectory())) continue;
      children.push(child);
    }
    // Stat in parallel batches: one lstat after another leaves the disk idle between calls, and
    // this dir was just read as a real dir, so its children need no check of their ancestors.
    for (let i = 0; i < children.length; i += STAT_BATCH) {
      const batch = children.slice(i, i + STAT_BATCH);
      const observed = await Promise.all(batch.map((child) => observeBelowRealDir(root, child).catch(() => null)));
      for (const [j, obs] of observed.entries()) {
        const child = batch[j] as string;
        if (obs === null) result.unreadable.push(child);
        else if (obs !== undefined) {
          result.seen.set(child, obs);
          if (obs.type === 'dir') stack.push(child);
        }
      }
    }
  }
  return result;
}

/** How an observation relates to the index entry for the same path. */
export type Classification =
  /** Nothing changed. */
  | 'same'
  /** Content may have changed: hash it (files) or record it (dirs, links). */
  | 'changed'
  /** Only the permission bits changed. */
  | 'mode';

/** Compares what the disk holds with what the index says. Pure. */
export function classify(obs: Observation, entry: Omit<LocalEntry, 'sequence'> | undefined): Classification {
  if (entry === undefined || entry.deleted || entry.type !== obs.type) return 'changed';
  switch (obs.type) {
    case 'file':
      if (obs.size !== entry.size || obs.mtimeMs !== entry.mtimeMs || obs.inode !== entry.inode) return 'changed';
      break;
    case 'symlink':
      if (obs.target !== entry.target) return 'changed';
      return 'same';
    case 'dir':
      break;
  }
  return (obs.mode & 0o777) !== (entry.mode & 0o777) ? 'mode' : 'same';
}
