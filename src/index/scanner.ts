/**
 * Walks a folder on disk and reports what is there, without deciding
 * anything: the folder compares observations with its index (see
 * `classify`) and records the changes.
 */
import { lstatSync, readlinkSync, type Dirent, type Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { BadPathError } from '../core/errors.js';
import { isTempName, joinNames, plainChildPath, toRelPath } from '../core/paths.js';
import type { IgnoreMatcher } from '../ignore/matcher.js';
import { DirListings, type Listing } from './dir-listings.js';
import { clashReason, locate } from './disk-names.js';
import { realAncestors } from './real-path.js';
import type { EntryType } from './entry.js';
import { StatMode } from './stat-mode.js';

export { classify, type Classification } from './classify.js';
export { StatMode } from './stat-mode.js';

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
  /** Where it is on disk, when that is spelled otherwise than `path` (a name here or above it that is not in NFC). */
  readonly diskPath?: string;
}

/** A path a scan could not sync, and why (for status). */
export interface Skipped {
  readonly path: string;
  readonly reason: string;
  /** Two names on disk whose NFC form is this path: peers must not write either. */
  readonly clash?: boolean;
}

/** The result of walking a subtree. */
export interface WalkResult {
  /** Everything found that is not ignored, keyed by relative path. */
  readonly seen: Map<string, Observation>;
  /** Dirs (relative) that could not be read: nothing below them may be taken as deleted. */
  readonly unreadable: string[];
  /**
   * What cannot be synced, with the reason: names not valid on the wire or not
   * valid UTF-8, two spellings of one NFC name, entries that could not be read.
   */
  readonly skipped: Skipped[];
  /** Dirs (relative) whose listing was read: what was skipped in them before and is not in `skipped` now is gone or fixed. */
  readonly listed: string[];
  /** Wizard temp files met on the way (as spelled on disk): never synced, but ones an interrupted download left must be cleaned up. */
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
  /** Where an index path is on disk as far as the index knows (see DiskNames); the path itself by default. */
  readonly onDisk?: (rel: string) => string;
  /**
   * Asked just before each dir's listing begins to be read; the dir's step carries the answer
   * (DirStep.mark). Listings are read ahead of the caller, so a caller that must know what it
   * recorded before a listing began (the scan: a landing after it may be missing from it) asks here.
   */
  readonly mark?: () => number;
}

function readDirWithTypes(abs: string): Promise<Dirent[]> {
  return readdir(abs, { withFileTypes: true });
}

/**
 * Observation of one path, or undefined when it does not exist (or is a kind we do not sync: sockets, fifos, devices).
 * `disk`: where it is on disk, when its name there is not NFC (see DiskNames).
 */
export async function observe(root: string, rel: string, disk = rel): Promise<Observation | undefined> {
  const st = lstatNow(root, disk);
  return st === undefined ? undefined : toObservation(root, rel, disk, st);
}

/**
 * `observe` without waiting at all: a link's target is read synchronously
 * too. For a last look that must be in one synchronous step with what is
 * done on its answer (temp-place.ts). `realDirs`: dirs (on disk) found real
 * with every dir above them earlier in the same synchronous step, so many
 * paths looked at in one step check each dir above them once.
 */
export function observeNow(root: string, rel: string, disk = rel, realDirs?: Set<string>): Observation | undefined {
  const st = lstatNow(root, disk, realDirs);
  if (st === undefined) return undefined;
  if (st.isFile()) return fileObservation(rel, disk, st);
  const type: EntryType | undefined = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : undefined;
  if (type === undefined) return undefined;
  const target = type === 'symlink' ? readlinkSync(path.join(root, ...disk.split('/'))) : '';
  const obs: Observation = { path: rel, type, size: 0, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777, inode: st.ino, target };
  return disk === rel ? obs : { ...obs, diskPath: disk };
}

/**
 * `observe` of a path expected to hold a regular file, without waiting: undefined when it holds
 * anything else (a link's target would need a read) or nothing.
 */
export function observeFileNow(root: string, rel: string, disk = rel): Observation | undefined {
  const st = lstatNow(root, disk);
  return st?.isFile() === true ? fileObservation(rel, disk, st) : undefined;
}

/** lstat of one path below real dirs; undefined when it is gone or below a link. */
function lstatNow(root: string, rel: string, realDirs?: Set<string>): Stats | undefined {
  // Below a symlinked or vanished dir nothing is ours: lstat alone would follow the link in the dirs above.
  // Any other failure (EACCES, EIO on a dir above) is thrown: "not there" would make a scan take the path as deleted.
  const parent = rel.slice(0, Math.max(0, rel.lastIndexOf('/')));
  if (rel !== '' && realDirs?.has(parent) !== true) {
    if (!ancestorsAreReal(root, rel)) return undefined;
    realDirs?.add(parent);
  }
  // One path just named by a watcher event, a commit's second look or a pull: its inode is in the
  // kernel's cache, and a synchronous lstat costs the event loop a fifth of one through libuv's
  // pool (see realAncestors). A walk stats synchronously only while the cache is warm (StatMode).
  try {
    return lstatSync(rel === '' ? root : joinNames(root, rel), { throwIfNoEntry: false });
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
/** A child of a listed dir: its path, its name on disk, and that name's absolute path (what path.join(root, ...disk) gives). */
interface Child {
  readonly key: string;
  readonly disk: string;
  readonly abs: string;
}

/** `observe` for a path whose parent the caller knows to be a real directory (the walk just read it as one). */
async function observeBelowRealDir(root: string, { key: rel, disk, abs }: Child): Promise<Observation | undefined> {
  let st: Stats;
  try {
    st = await lstat(abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') {
      return undefined;
    }
    throw err;
  }
  return toObservation(root, rel, disk, st);
}

/** observeBelowRealDir with a synchronous lstat; a link's target is still read asynchronously. */
function observeBelowRealDirNow(root: string, { key: rel, disk, abs }: Child): Observation | undefined | Promise<Observation | undefined> {
  let st: Stats | undefined;
  try {
    st = lstatSync(abs, { throwIfNoEntry: false });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
  if (st === undefined) return undefined;
  return st.isFile() ? fileObservation(rel, disk, st) : toObservation(root, rel, disk, st);
}

/** Observations of `batch` (children of a dir just read as a real one), each or the error it met; `mode` picks sync or pool lstats. */
async function observeBatch(root: string, batch: Child[], mode: StatMode): Promise<Array<Observation | undefined | { failed: unknown }>> {
  const failed = (err: unknown) => ({ failed: err });
  if (!mode.warm) {
    const observed = await Promise.all(batch.map((child) => observeBelowRealDir(root, child).catch(failed)));
    mode.tookAsync();
    return observed;
  }
  const startedAt = performance.now();
  let links = false;
  const observed = batch.map((child) => {
    try {
      const obs = observeBelowRealDirNow(root, child);
      links ||= obs instanceof Promise;
      return obs;
    } catch (err) {
      return failed(err);
    }
  });
  mode.tookSync((performance.now() - startedAt) * 1000);
  // Links: their targets are read through the pool. Without one, no promise per path.
  if (!links) return observed as Array<Observation | undefined | { failed: unknown }>;
  return Promise.all(observed.map((o) => (o instanceof Promise ? o.catch(failed) : Promise.resolve(o))));
}

async function toObservation(root: string, rel: string, disk: string, st: Stats): Promise<Observation | undefined> {
  if (st.isFile()) return fileObservation(rel, disk, st);
  const type: EntryType | undefined = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : undefined;
  if (type === undefined) return undefined;
  const target = type === 'symlink' ? await readlink(path.join(root, ...disk.split('/'))) : '';
  const obs: Observation = { path: rel, type, size: 0, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777, inode: st.ino, target };
  return disk === rel ? obs : { ...obs, diskPath: disk };
}

function fileObservation(rel: string, disk: string, st: Stats): Observation {
  const obs: Observation = { path: rel, type: 'file', size: st.size, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777, inode: st.ino, target: '' };
  return disk === rel ? obs : { ...obs, diskPath: disk };
}

/**
 * What a walk found in one step: the walked path itself (the first step,
 * `dir` undefined), or the children of one dir. A scan compares each step
 * with the index as it comes, so it holds one dir's observations at a time.
 */
export interface DirStep {
  /** The dir whose listing this is; undefined for the first step, which holds the walked path itself. */
  readonly dir: string | undefined;
  /** Whether `dir`'s listing was read (false: unreadable, or gone since its parent listed it). */
  readonly listed: boolean;
  /** What was found and is not ignored: the children of `dir`, or the walked path itself. */
  readonly seen: Map<string, Observation>;
  /** Paths (the dir itself or children) that could not be read: nothing at or below them may be taken as deleted. */
  readonly unreadable: string[];
  readonly skipped: Skipped[];
  /** Wizard temp files among the children (as spelled on disk). */
  readonly temps: string[];
  /** What WalkOptions.mark answered just before this dir's listing began to be read; undefined without `mark`. */
  readonly mark?: number;
}

/**
 * Walks `rel` (a dir, a file, or a path that is gone) below `root`. Never
 * follows symlinks. Errors on a subdir are recorded in `unreadable`, not
 * thrown, so one unreadable dir does not stop the rest of the scan.
 *
 * Paths are keyed by their NFC form and looked at under their names on disk:
 * a name in NFD (from a Mac) syncs like any other. Two names in one dir with
 * the same NFC form are two files on Linux but one path to peers: both are
 * skipped, and counted as unreadable so that neither is taken as deleted.
 *
 * Gives what it finds one dir at a time, each dir after the one that listed
 * it (depth first): the walk holds only the dirs still to list.
 */
export async function* walkDirs(root: string, rel: string, opts: WalkOptions): AsyncGenerator<DirStep> {
  const first: DirStep = { dir: undefined, listed: false, seen: new Map(), unreadable: [], skipped: [], temps: [] };
  // A watcher event can name an ignored path directly; it must not slip past the rules applied during the walk.
  const ignored = rel !== '' && (opts.isInternal(rel) || opts.matcher.isIgnored(rel, false));
  const located = ignored ? undefined : rel === '' ? { disk: '' } : await locate(root, rel, opts.onDisk?.(rel) ?? rel);
  if (located !== undefined && 'clash' in located) {
    first.skipped.push({ path: rel, reason: clashReason(located.clash), clash: true });
    first.unreadable.push(rel);
    yield first;
    return;
  }
  const top = located === undefined ? undefined : await observe(root, rel, located.disk);
  const ignoredDir = top !== undefined && top.type === 'dir' && rel !== '' && opts.matcher.isIgnored(rel, true);
  if (top !== undefined && rel !== '' && !ignoredDir) first.seen.set(rel, top);
  yield first;
  if (top === undefined || located === undefined || top.type !== 'dir' || ignoredDir) return;

  const stack = [{ key: rel, disk: located.disk }];
  const statMode = new StatMode();
  const listings = new DirListings<{ key: string; disk: string }>(opts.readDir ?? readDirWithTypes, ({ disk }) => joinNames(root, disk), opts.mark);
  while (stack.length > 0) {
    opts.signal?.throwIfAborted();
    const next = stack.pop() as { key: string; disk: string };
    const { listing, mark } = listings.take(next);
    const listed = await listDir(root, next.key, next.disk, await listing, opts, statMode, (child) => stack.push(child));
    const step = mark === undefined ? listed : { ...listed, mark };
    // The dirs listed next are read while the caller compares this one with the index.
    listings.ahead(stack);
    yield step;
  }
}

/** One dir's step of walkDirs from its listing; `descend` hears of each child dir to list later. */
async function listDir(root: string, dir: string, dirDisk: string, listing: Listing, opts: WalkOptions, statMode: StatMode, descend: (child: { key: string; disk: string }) => void): Promise<DirStep> {
  const step: DirStep = { dir, listed: false, seen: new Map(), unreadable: [], skipped: [], temps: [] };
  if ('failed' in listing) {
    step.unreadable.push(dir);
    if (dir !== '') step.skipped.push({ path: dir, reason: `cannot list this dir (${errorCode(listing.failed)}); nothing in it syncs, and nothing in it is deleted on peers` });
    // Vanished or unreadable: either way nothing below it may be taken as deleted until a later scan reads it.
    return step;
  }
  const { names } = listing;
  const listed: DirStep = { ...step, listed: true };
  // Each NFC name with its spelling here, or its spellings when it has more than one: a clash.
  const spellings = new Map<string, string | string[]>();
  // How each child was asked about (as a dir or not): the answer for a dir is passed down to its children.
  const askedAs = new Map<string, boolean>();
  const dirBytes = Buffer.byteLength(dir);
  for (const dirent of names) {
    const raw = dirDisk === '' ? dirent.name : `${dirDisk}/${dirent.name}`;
    let child: string;
    try {
      child = plainChildPath(dir, dirBytes, dirent.name) ?? toRelPath(raw);
    } catch (err) {
      if (opts.isInternal(raw)) continue;
      listed.skipped.push({ path: raw, reason: err instanceof BadPathError ? err.message : String(err) });
      continue;
    }
    if (isTempName(dirent.name)) {
      listed.temps.push(raw);
      continue;
    }
    if (opts.isInternal(child)) continue;
    // This dir was found not ignored (as a dir) before it was listed: only the child's own name and path are left to ask about.
    // A listing without types (DT_UNKNOWN) leaves it to the lstat below: a rule may hold for files only, or dirs only.
    if (dirent.isFile() || dirent.isDirectory() || dirent.isSymbolicLink()) {
      if (opts.matcher.isChildIgnored(child, dirent.isDirectory())) continue;
      askedAs.set(child, dirent.isDirectory());
    }
    const known = spellings.get(child);
    spellings.set(child, known === undefined ? raw : typeof known === 'string' ? [known, raw] : [...known, raw]);
  }
  const children: Child[] = [];
  // What path.join(root, ...disk.split('/')) gives each child, without splitting and normalizing each: a name from a listing is one plain component.
  const dirAbs = joinNames(root, dirDisk);
  const prefix = dirAbs.endsWith('/') ? dirAbs : `${dirAbs}/`;
  for (const [key, disk] of spellings) {
    if (typeof disk === 'string') children.push({ key, disk, abs: prefix + disk.slice(disk.lastIndexOf('/') + 1) });
    else {
      listed.skipped.push({ path: key, reason: clashReason(disk), clash: true });
      listed.unreadable.push(key);
    }
  }
  // Stat in batches, synchronously while the cache is warm and in parallel through the pool when
  // not (StatMode). This dir was just read as a real dir, so its children need no check of their ancestors.
  for (let i = 0; i < children.length; i += STAT_BATCH) {
    const batch = children.slice(i, i + STAT_BATCH);
    const observed = await observeBatch(root, batch, statMode);
    for (const [j, obs] of observed.entries()) {
      const { key, disk } = batch[j] as Child;
      if (obs !== undefined && 'failed' in obs) {
        listed.unreadable.push(key);
        listed.skipped.push({ path: key, reason: `cannot look at it (${errorCode(obs.failed)}); not synced, and not deleted on peers` });
      } else if (obs !== undefined) {
        // Not typed by its listing, or a dir now though listed as something else (replaced since): asked as what it is.
        const asked = askedAs.get(key);
        if ((asked === undefined || (obs.type === 'dir' && !asked)) && opts.matcher.isChildIgnored(key, obs.type === 'dir')) continue;
        listed.seen.set(key, obs);
        if (obs.type === 'dir') descend({ key, disk });
      } else if (disk.includes('\uFFFD')) {
        // Listed, yet gone under the name it was listed as: node decoded bytes that are not UTF-8 as U+FFFD.
        listed.skipped.push({ path: key, reason: 'its name is not valid UTF-8, so it cannot be named to peers; rename it' });
      }
    }
  }
  return listed;
}

/** walkDirs, all of it at once: for callers that want the whole subtree (and tests). */
export async function walk(root: string, rel: string, opts: WalkOptions): Promise<WalkResult> {
  const result: WalkResult = { seen: new Map(), unreadable: [], skipped: [], listed: [], temps: [] };
  for await (const step of walkDirs(root, rel, opts)) {
    for (const [key, obs] of step.seen) result.seen.set(key, obs);
    result.unreadable.push(...step.unreadable);
    result.skipped.push(...step.skipped);
    result.temps.push(...step.temps);
    if (step.listed && step.dir !== undefined) result.listed.push(step.dir);
  }
  return result;
}

function errorCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : String(err);
}
