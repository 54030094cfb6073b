/**
 * The permission bits a pulled path gets here. A peer's mode is a wish, not
 * an order: a compromised peer that sends 0777 (or setuid) must not make this
 * node's files writable by everyone (or run as their owner). The rule: the
 * peer's bits filtered by this node's umask, as if the user had created the
 * file here; the owner can always read and write (and enter a dir), so the
 * file can be served and replaced later; never setuid, setgid or sticky.
 *
 * The disk then holds what the index records (the puller records the stat
 * of what it wrote), so a node whose umask differs from the peer's sees no
 * local mode change to send back.
 */
import { closeSync, constants, fchmodSync, fstatSync, futimesSync, openSync, type Stats } from 'node:fs';

/** The only bits a peer may ask for: read, write, execute for owner, group and other. */
const PERMISSION_BITS = 0o777;

/**
 * The process's umask. `process.umask()` without an argument is deprecated
 * (DEP0139) because it sets and restores the mask to read it; this does the
 * same, once, at start, before any other thread creates files.
 */
export function readUmask(): number {
  const umask = process.umask(0o022);
  process.umask(umask);
  return umask;
}

/** Bits for a pulled file: the peer's rwx bits the umask allows, and always rw for the owner. */
export function pulledFileMode(peerMode: number, umask: number): number {
  return (peerMode & PERMISSION_BITS & ~umask) | 0o600;
}

/** Bits for a pulled dir: the peer's rwx bits the umask allows, and always rwx for the owner. */
export function pulledDirMode(peerMode: number, umask: number): number {
  return (peerMode & PERMISSION_BITS & ~umask) | 0o700;
}

/**
 * Sets the mode and mtime of the file at `abs` through a descriptor, only if
 * it is still the file with inode `inode` (not a symlink, fifo or another
 * file put there since it was checked), and returns its stat after; undefined
 * when it is not. Synchronous, so the caller can make it one step with its check.
 */
export function restampFileNow(abs: string, inode: number, mode: number, mtimeMs: number): Stats | undefined {
  let fd: number;
  try {
    // O_NONBLOCK: a fifo put there must not block the open.
    fd = openSync(abs, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP' || (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const before = fstatSync(fd);
    if (!before.isFile() || before.ino !== inode) return undefined;
    fchmodSync(fd, mode);
    futimesSync(fd, new Date(), new Date(mtimeMs));
    return fstatSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Sets a dir's mode through a descriptor opened without following a link, so
 * a dir swapped for a link by another process cannot have us chmod its target.
 */
export function chmodDirNow(abs: string, mode: number): void {
  const fd = openSync(abs, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    fchmodSync(fd, mode);
  } finally {
    closeSync(fd);
  }
}
