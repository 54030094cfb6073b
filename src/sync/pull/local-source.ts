/**
 * Content a peer announces is often already here under another name: the
 * peer renamed or moved a file, or copied one. Then it is copied locally
 * (a reflink where the filesystem can) instead of crossing the wire.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, read } from 'node:fs';
import { copyFile, open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { tempNameFor } from '../../core/paths.js';
import type { FileEntry, LocalEntry } from '../../index/entry.js';
import { statKey } from '../../index/hash.js';
import type { JobRunner } from '../../workers/pool.js';
import { hashFile } from '../../workers/hash-file.js';
import { fileMode, type Downloaded } from './fetch.js';
import { createTemp, openToRead, removeTemp, sharedTempDir, type TempPlace } from '../disk/temp-place.js';

/** Bytes copied per read. */
const COPY_BYTES = 1024 * 1024;

const readAt = promisify(read);

/**
 * Copies our live file `source` (which has `entry`'s hash) into a new temp
 * file in `place` and returns it as a download does; undefined when the
 * source changed since it was indexed or the copy does not hash right, so the
 * caller fetches from a peer instead. The source is opened by descriptor,
 * checked to be the indexed file (temp-place.ts: a path used after a wait can
 * lead anywhere). The temp file is verified, has the entry's mode and mtime,
 * and is fsynced, exactly like a fetched one; its block sums come with it
 * (hashed in a worker thread).
 */
export async function copyFromLocal(place: TempPlace, entry: FileEntry, source: LocalEntry, runner: JobRunner): Promise<Downloaded | undefined> {
  if (source.hash !== entry.hash || source.deleted || source.type !== 'file') return undefined;
  const from = openToRead(place.root, source.path, source);
  if (from === undefined) return undefined;
  let temp: string | undefined;
  try {
    const name = tempNameFor(place.stem, randomBytes(4).toString('hex'));
    const fh = await (canCloneByDescriptor(place) ? cloneInto(place, name, from) : copyInto(place, name, from, source.size));
    temp = fh.file;
    try {
      // The source may have changed while it was copied: only the hash of what landed counts.
      const { hash, sums } = await hashFile(runner, temp, statKey(await fh.fh.stat()));
      if (hash !== entry.hash) throw new Error('copied bytes do not hash right');
      await fh.fh.chmod(fileMode(entry.mode));
      await fh.fh.utimes(new Date(), new Date(entry.mtimeMs));
      await fh.fh.sync();
      return { temp, sums, stat: await fh.fh.stat() };
    } finally {
      await fh.fh.close();
    }
  } catch {
    if (temp !== undefined) await removeTemp(place, temp);
    return undefined;
  } finally {
    closeSync(from);
  }
}

/**
 * Linux names an open descriptor as /proc/self/fd/N, which opens that very
 * file whatever happened to its path since: copyFile can then clone it
 * (a reflink on btrfs or XFS costs no space and no time) into the shared
 * temp dir, which no peer can reach.
 */
function canCloneByDescriptor(place: TempPlace): boolean {
  return place.isShared && process.platform === 'linux';
}

async function cloneInto(place: TempPlace, name: string, from: number): Promise<{ file: string; fh: FileHandle }> {
  const file = path.join(sharedTempDir(place.root), name);
  await copyFile(`/proc/self/fd/${from}`, file, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
  return { file, fh: await open(file, 'r+') };
}

/** A plain copy from the descriptor `from` into a new temp file. */
async function copyInto(place: TempPlace, name: string, from: number, size: number): Promise<{ file: string; fh: FileHandle }> {
  const made = await createTemp(place, name);
  try {
    const buf = Buffer.allocUnsafe(Math.min(COPY_BYTES, Math.max(1, size)));
    for (let at = 0; ; ) {
      const { bytesRead } = await readAt(from, buf, 0, buf.length, at);
      if (bytesRead === 0) break;
      await made.fh.write(buf, 0, bytesRead, at);
      at += bytesRead;
    }
    return made;
  } catch (err) {
    await made.fh.close();
    await removeTemp(place, made.file);
    throw err;
  }
}
