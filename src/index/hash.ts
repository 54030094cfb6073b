/**
 * Content hashing of files on disk.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { WizardError } from '../core/errors.js';

/** The identity of a file's bytes for change detection: if any of these moved, the content may have. */
export interface StatKey {
  readonly size: number;
  readonly mtimeMs: number;
  readonly inode: number;
}

/** StatKey of an lstat result. */
export function statKey(st: { size: number | bigint; mtimeMs: number | bigint; ino: number | bigint }): StatKey {
  return { size: Number(st.size), mtimeMs: Number(st.mtimeMs), inode: Number(st.ino) };
}

/** True when both describe the same bytes as far as stat can tell. */
export function sameStat(a: StatKey, b: StatKey): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.inode === b.inode;
}

/**
 * SHA-256 of a file, streamed. Throws CHANGED when the file moved under us
 * while it was read, so a half-written file is never announced with a hash
 * that matches neither its old nor its new content.
 */
export async function hashFile(absPath: string, before: StatKey, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  // O_NOFOLLOW: a file swapped for a symlink after it was stat'ed is not read through.
  const fh = await open(absPath, constants.O_RDONLY | constants.O_NOFOLLOW);
  const stream = fh.createReadStream({ highWaterMark: 1024 * 1024, signal });
  let read = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    read += (chunk as Buffer).length;
  }
  const after = statKey(await lstat(absPath));
  if (read !== before.size || !sameStat(before, after)) {
    throw new WizardError('CHANGED', `${absPath} changed while it was hashed`);
  }
  return hash.digest('hex');
}
