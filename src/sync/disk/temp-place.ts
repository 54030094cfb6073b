/**
 * Where pulled content waits before it is put in place, and the two steps
 * that cross from Wizard's own space into the user's tree.
 *
 * A download waits on the network, and meanwhile our own landings change the
 * tree: a peer can have a dir replaced by a symlink while it holds its answer
 * to a request for a file in that dir. A path checked before the wait and
 * used after it can lead anywhere. So temp files are made in the folder's own
 * `.wizard/tmp`, which no peer can name (every path under `.wizard` is
 * refused on the wire) and which Wizard never replaces, and they cross into
 * the tree only by a rename made in the same synchronous step as the check
 * of every dir above the target: no other of our operations can run between
 * the two. Reads of our own files that follow a wait (the basis of a delta,
 * the source of a local copy) are opened the same way, then checked by their
 * inode to be the file the index recorded.
 *
 * A dir on another filesystem than the folder root (a mount point inside the
 * folder) cannot take a rename from `.wizard/tmp`; its temp files are made
 * in the dir itself, created in one synchronous step with the check of the
 * dirs above it, as the renames are.
 *
 * What no portable call closes is a race with another process on this
 * machine: a local user who swaps a dir for a link between our check and
 * our call, microseconds apart (README, "Limits").
 *
 * A `rel` here is a path as spelled on disk: the index path, or its name on
 * disk where that is not NFC (see index/disk-names.ts).
 */
import { hash } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, open as openCallback, openSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { open, rm, symlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { WizardError } from '../../core/errors.js';
import { joinNames, resolveOnDisk, WIZARD_DIR } from '../../core/paths.js';
import { sameStat, statKey, type StatKey } from '../../index/hash.js';
import { realAncestors } from '../../index/real-path.js';

/** Wizard's temp dir inside a folder root. */
export const TEMP_DIR = `${WIZARD_DIR}/tmp`;

const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
/** O_NONBLOCK: a fifo swapped in for one of our files must not hang the open. */
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Where the temp files of one target path go. */
export interface TempPlace {
  /** Absolute dir the temp files are made in. */
  readonly dir: string;
  /**
   * What temp names are made from (tempNameFor's basename): the target's
   * name, behind a tag of its whole path in the shared dir, where targets of
   * every dir meet and a partial download must only be found by its own path.
   */
  readonly stem: string;
  /** True for the folder's `.wizard/tmp`; false for the target's own dir (another filesystem). */
  readonly isShared: boolean;
  /** The folder root and the target's folder-relative path. */
  readonly root: string;
  readonly rel: string;
}

/**
 * Where temp files for `rel` go: the folder's `.wizard/tmp` (made if
 * missing), or the target's own dir when that is on another filesystem.
 * The dirs above `rel` must exist (the puller makes them first); throws
 * CHANGED when they do not, BAD_PATH when one is a link. `ancestorsChecked`:
 * the caller has just checked them in this same synchronous step
 * (the puller's ensureParent), so they are not looked at twice; a small
 * file's pull paid each lstat of it once per file.
 */
export function tempPlaceFor(root: string, rel: string, ancestorsChecked = false): TempPlace {
  const parentAbs = path.dirname(resolveOnDisk(root, rel));
  if (!ancestorsChecked && !realAncestors(root, rel)) throw changed(rel);
  const shared = sharedTempDirStat(root);
  const name = path.posix.basename(rel);
  if (lstatSync(parentAbs).dev !== shared.dev) return { dir: parentAbs, stem: name, isShared: false, root, rel };
  const tag = hash('sha256', rel, 'hex').slice(0, 12);
  return { dir: shared.dir, stem: `${tag}-${name}`, isShared: true, root, rel };
}

/**
 * The folder's `.wizard/tmp`, made if missing. Looked at on every use: the
 * `.wizard` marker must be a real dir (a missing one halts the folder, it is
 * never made here), and so must `tmp`.
 */
export function sharedTempDir(root: string): string {
  return sharedTempDirStat(root).dir;
}

/** sharedTempDir, with the device its lstat found (tempPlaceFor compares it with the target dir's). */
function sharedTempDirStat(root: string): { dir: string; dev: number } {
  const marker = joinNames(root, WIZARD_DIR);
  const dir = joinNames(root, TEMP_DIR);
  if (lstatSync(marker, { throwIfNoEntry: false })?.isDirectory() !== true) {
    throw new WizardError('CHANGED', `${marker} is missing or not a directory; not making temp files`);
  }
  let st = lstatSync(dir, { throwIfNoEntry: false });
  if (st === undefined) {
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    st = lstatSync(dir);
  }
  if (!st.isDirectory()) throw new WizardError('BAD_PATH', `${dir} is not a real directory; not making temp files through it`);
  return { dir, dev: st.dev };
}

/**
 * Creates the temp file `name` in `place` and opens it for writing and
 * reading (a big download's hashing reads its bytes back: written-hasher.ts). In the
 * shared dir the create goes through libuv's pool (`openTemp`, a test seam,
 * defaults to node's open); in a target's own dir it is made in one step with
 * the check of the dirs above, then opened again and checked to be the same
 * file (a FileHandle cannot be made from a descriptor).
 */
export async function createTemp(place: TempPlace, name: string, openTemp: (file: string) => Promise<FileHandle> = (f) => open(f, 'wx+', 0o600)): Promise<{ file: string; fh: FileHandle }> {
  const file = path.join(place.dir, name);
  if (place.isShared) {
    sharedTempDir(place.root);
    return { file, fh: await openTemp(file) };
  }
  const made = createHereNow(place, file);
  try {
    const fh = await open(file, constants.O_RDWR | constants.O_NOFOLLOW);
    const st = await fh.stat();
    if (st.ino !== made.ino || st.dev !== made.dev) {
      await fh.close();
      throw changed(place.rel);
    }
    return { file, fh };
  } finally {
    closeSync(made.fd);
  }
}

/** createTemp, as a raw descriptor (for a small file written with synchronous calls). */
export async function createTempFd(place: TempPlace, name: string): Promise<{ file: string; fd: number }> {
  const file = path.join(place.dir, name);
  if (!place.isShared) return { file, fd: createHereNow(place, file).fd };
  sharedTempDir(place.root);
  const fd = await new Promise<number>((resolve, reject) =>
    // Through the pool: creating a file can wait on the disk while other files' fsyncs write its dir's blocks.
    openCallback(file, CREATE_FLAGS, 0o600, (err, opened) => (err === null ? resolve(opened) : reject(err))),
  );
  return { file, fd };
}

/** Makes a symlink to `target` as the temp `name` in `place`. */
export async function createTempLink(place: TempPlace, name: string, target: string): Promise<string> {
  const file = path.join(place.dir, name);
  if (place.isShared) {
    sharedTempDir(place.root);
    await symlink(target, file);
  } else {
    if (!realAncestors(place.root, place.rel)) throw changed(place.rel);
    symlinkSync(target, file);
  }
  return file;
}

/**
 * Renames the finished temp file `temp` over `rel`'s path, in one synchronous
 * step with the check that every dir above `rel` is still a real dir (and,
 * when given, `also`: a last look that must hold in the same step).
 * Throws CHANGED (or BAD_PATH for a link on the way) without renaming.
 */
export function placeTemp(root: string, rel: string, temp: string, also?: () => void): void {
  const abs = resolveOnDisk(root, rel);
  if (!realAncestors(root, rel)) throw changed(rel);
  also?.();
  renameSync(temp, abs);
}

/**
 * Opens our file at `rel` for reading, only if it is still the version
 * `expected` describes (size, mtime, inode), with the dirs above it checked
 * in the same synchronous step. Undefined when it is not (gone, changed,
 * swapped for something else, or below a link); the caller owns the descriptor.
 */
export function openToRead(root: string, rel: string, expected: StatKey): number | undefined {
  let fd: number;
  try {
    const abs = resolveOnDisk(root, rel);
    if (!realAncestors(root, rel)) return undefined;
    fd = openSync(abs, READ_FLAGS);
  } catch {
    return undefined;
  }
  const st = fstatSync(fd);
  if (!st.isFile() || !sameStat(statKey(st), expected)) {
    closeSync(fd);
    return undefined;
  }
  return fd;
}

/** Opens a temp file of `place` (a partial download) for reading, the dirs above it checked in the same step; undefined when it is gone. */
export function openTempToRead(place: TempPlace, file: string): number | undefined {
  try {
    if (place.isShared) sharedTempDir(place.root);
    else if (!realAncestors(place.root, place.rel)) return undefined;
    const fd = openSync(file, READ_FLAGS);
    if (!fstatSync(fd).isFile()) {
      closeSync(fd);
      return undefined;
    }
    return fd;
  } catch {
    return undefined;
  }
}

/**
 * Removes a temp file of `place`. One in a target's own dir is removed in one
 * step with the check of the dirs above it, and left alone when they changed
 * (it is then out of our reach, and so is whatever the path now leads to).
 */
export async function removeTemp(place: TempPlace, file: string): Promise<void> {
  if (place.isShared) {
    await rm(file, { force: true });
    return;
  }
  try {
    if (realAncestors(place.root, place.rel)) rmSync(file, { force: true });
  } catch {
    // A link on the way: not following it.
  }
}

/** Creates `file` in a target's own dir in one step with the check of the dirs above it. */
function createHereNow(place: TempPlace, file: string): { fd: number; ino: number; dev: number } {
  if (!realAncestors(place.root, place.rel)) throw changed(place.rel);
  const fd = openSync(file, CREATE_FLAGS, 0o600);
  const st = fstatSync(fd);
  return { fd, ino: st.ino, dev: st.dev };
}

function changed(rel: string): WizardError {
  return new WizardError('CHANGED', `${rel}: a dir above it changed while it was being fetched; rescanning before deciding again`);
}
