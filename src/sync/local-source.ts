/**
 * Content a peer announces is often already here under another name: the
 * peer renamed or moved a file, or copied one. Then it is copied locally
 * (a reflink where the filesystem can) instead of crossing the wire.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, lstat, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { resolveInside, tempNameFor } from '../core/paths.js';
import type { FileEntry, LocalEntry } from '../index/entry.js';
import { sameStat, statKey } from '../index/hash.js';
import { hasRealAncestors } from '../index/real-path.js';
import type { JobRunner } from '../workers/pool.js';
import { hashFile } from '../workers/hash-file.js';
import { fileMode, type Downloaded } from './fetch.js';

/**
 * Copies our live file `source` (which has `entry`'s hash) into a new temp
 * file in `dirAbs` and returns it as a download does; undefined when the source changed
 * since it was indexed or the copy does not hash right, so the caller
 * fetches from a peer instead. The temp file is verified, has the entry's
 * mode and mtime, and is fsynced, exactly like a fetched one; its block sums
 * come with it (hashed in a worker thread).
 */
export async function copyFromLocal(
  root: string,
  dirAbs: string,
  entry: FileEntry,
  source: LocalEntry,
  runner: JobRunner,
): Promise<Downloaded | undefined> {
  if (source.hash !== entry.hash || source.deleted || source.type !== 'file') return undefined;
  if (!hasRealAncestors(root, source.path)) return undefined;
  const sourceAbs = resolveInside(root, source.path);
  const before = await lstat(sourceAbs).catch(() => undefined);
  if (before === undefined || !before.isFile() || !sameStat(statKey(before), source)) return undefined;
  const temp = path.join(dirAbs, tempNameFor(path.posix.basename(entry.path), randomBytes(4).toString('hex')));
  try {
    await copyFile(sourceAbs, temp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
    // The source may have changed between the stat and the copy: only the hash of what landed counts.
    const { hash, sums } = await hashFile(runner, temp, statKey(await lstat(temp)));
    if (hash !== entry.hash) {
      await rm(temp, { force: true });
      return undefined;
    }
    const fh = await open(temp, 'r+');
    try {
      await fh.chmod(fileMode(entry.mode));
      await fh.utimes(new Date(), new Date(entry.mtimeMs));
      await fh.sync();
      return { temp, sums, stat: await fh.stat() };
    } finally {
      await fh.close();
    }
  } catch {
    await rm(temp, { force: true });
    return undefined;
  }
}
