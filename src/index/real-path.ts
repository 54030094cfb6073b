/**
 * The guard that keeps every file operation inside the folder: a path is
 * only touched when each dir above it, from the root down, is a real
 * directory and not a symlink. Text checks on link targets are not enough,
 * because links compose (`a/b -> ..` and `c -> a/b/..` each look harmless and
 * together lead out of the root); refusing to walk through any link is.
 */
import { lstatSync } from 'node:fs';
import path from 'node:path';
import { BadPathError } from '../core/errors.js';
import { hasOnlyNames, namesUnder } from '../core/paths.js';

/**
 * True when every ancestor dir of `rel` below `root` is a real directory;
 * false when one is missing (then `rel` cannot exist). Throws BadPathError
 * naming the first ancestor that is a symlink or a file: never followed.
 *
 * The lstats are synchronous. The dirs above a path being served, landed or
 * looked at were just walked through and sit in the kernel's dentry cache, so
 * each is a few microseconds; through libuv's pool the same call costs the
 * event loop about five times that (a request, a promise, a thread woken), and
 * every file a burst moves pays it once per ancestor, on both sides.
 */
export function realAncestors(root: string, rel: string): boolean {
  if (!hasOnlyNames(rel)) return realAncestorsJoined(root, rel);
  // Each dir above is a prefix of `rel` (only names: no component to normalise) under the root.
  for (let slash = rel.indexOf('/'); slash >= 0; slash = rel.indexOf('/', slash + 1)) {
    const dir = rel.slice(0, slash);
    if (!isRealDir(namesUnder(root, dir), dir)) return false;
  }
  return true;
}

/** realAncestors of a path with empty, '.' or '..' components, each dir above joined as path.join does. */
function realAncestorsJoined(root: string, rel: string): boolean {
  const parts = rel.split('/');
  let current = root;
  for (let i = 0; i < parts.length - 1; i++) {
    current = path.join(current, parts[i] as string);
    if (!isRealDir(current, parts.slice(0, i + 1).join('/'))) return false;
  }
  return true;
}

/** True for a real dir at `abs`, false for nothing there; throws BadPathError for a link or a file (`rel` names it). */
function isRealDir(abs: string, rel: string): boolean {
  let isDir: boolean;
  try {
    isDir = lstatSync(abs).isDirectory();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return false;
    throw err;
  }
  if (!isDir) throw new BadPathError(`${rel} is not a real directory (a symlink or a file); not following it`);
  return true;
}

/** realAncestors, with any failure (a symlinked ancestor, EACCES, EIO) as false: for callers that only skip the path then. */
export function hasRealAncestors(root: string, rel: string): boolean {
  try {
    return realAncestors(root, rel);
  } catch {
    return false;
  }
}
