/**
 * Answers a peer's request for a block of one of our files.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { WizardError } from '../core/errors.js';
import { resolveInside } from '../core/paths.js';
import type { LocalEntry } from '../index/entry.js';
import { sameStat, statKey } from '../index/hash.js';
import { realAncestors } from '../index/real-path.js';

/** Why a block cannot be served; `wireCode` goes back to the peer in an `error` message. */
export class ServeError extends WizardError {
  constructor(
    readonly wireCode: 'not-found' | 'changed' | 'io',
    message: string,
  ) {
    super(wireCode === 'io' ? 'INTERNAL' : 'CHANGED', message);
    this.name = 'ServeError';
  }
}

/**
 * Reads `length` bytes at `offset` of the file at `rel`, but only while the
 * file is the exact version the peer asked for: our index has that hash for
 * it and the disk still matches the index. Otherwise the peer would get bytes
 * of another version and fail its hash check after the whole transfer.
 */
export async function readBlock(
  root: string,
  entry: LocalEntry | undefined,
  req: { path: string; hash: string; offset: number; length: number },
): Promise<Buffer> {
  if (entry === undefined || entry.deleted || entry.type !== 'file') throw new ServeError('not-found', `${req.path}: no such file`);
  if (entry.hash !== req.hash) throw new ServeError('changed', `${req.path}: we no longer have that version`);
  // Past the end is an empty answer (docs/PROTOCOL.md), not an error.
  if (req.offset >= entry.size) return Buffer.alloc(0);
  let fh;
  try {
    if (!(await realAncestors(root, req.path))) throw Object.assign(new Error('parent missing'), { code: 'ENOENT' });
    // O_NOFOLLOW: a file swapped for a link since it was indexed is not read through.
    fh = await open(resolveInside(root, req.path), constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const wire = code === 'ENOENT' || code === 'ELOOP' || code === 'BAD_PATH' ? 'changed' : 'io';
    throw new ServeError(wire, `${req.path}: ${code ?? 'open failed'}`);
  }
  try {
    if (!sameStat(statKey(await fh.stat()), entry)) throw new ServeError('changed', `${req.path}: changed on disk`);
    const length = Math.min(req.length, entry.size - req.offset);
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await fh.read(buf, done, length - done, req.offset + done);
      if (bytesRead === 0) throw new ServeError('changed', `${req.path}: shorter than indexed`);
      done += bytesRead;
    }
    return buf;
  } finally {
    await fh.close();
  }
}
