/**
 * The guard that keeps every file operation inside the folder: a path is
 * only touched when each dir above it, from the root down, is a real
 * directory and not a symlink. Text checks on link targets are not enough,
 * because links compose (`a/b -> ..` and `c -> a/b/..` each look harmless and
 * together lead out of the root); refusing to walk through any link is.
 */
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { BadPathError } from '../core/errors.js';

/**
 * True when every ancestor dir of `rel` below `root` is a real directory;
 * false when one is missing (then `rel` cannot exist). Throws BadPathError
 * naming the first ancestor that is a symlink or a file: never followed.
 */
export async function realAncestors(root: string, rel: string): Promise<boolean> {
  const parts = rel.split('/');
  let current = root;
  for (let i = 0; i < parts.length - 1; i++) {
    current = path.join(current, parts[i] as string);
    let isDir: boolean;
    try {
      const st = await lstat(current);
      isDir = st.isDirectory();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return false;
      throw err;
    }
    if (!isDir) throw new BadPathError(`${parts.slice(0, i + 1).join('/')} is not a real directory (a symlink or a file); not following it`);
  }
  return true;
}
