/**
 * Downloads a file's content from peers into a temp file next to its target,
 * verifying the SHA-256 as the bytes arrive. Never touches the target itself.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { WizardError } from '../core/errors.js';
import { tempNameFor } from '../core/paths.js';
import type { FileEntry } from '../index/entry.js';

/** Reads one block of a file from one peer. */
export type BlockSource = (peer: string, req: { path: string; hash: string; offset: number; length: number }) => Promise<Buffer>;

/** Bytes asked for in one request: small enough to interleave with other traffic, large enough to amortise a round trip. */
export const BLOCK_BYTES = 256 * 1024;
/** Requests kept in flight per file: hides the round trip on a fast link without buffering much (2 MiB). */
const WINDOW = 8;

/**
 * Fetches `entry` into a new temp file in `dirAbs` and returns its path. The
 * temp file is fsynced and has the entry's mode; the caller renames it into
 * place. On any failure the temp file is removed and the error is thrown.
 */
export async function fetchToTemp(
  dirAbs: string,
  entry: FileEntry,
  sources: readonly string[],
  readBlock: BlockSource,
  signal?: AbortSignal,
): Promise<string> {
  if (sources.length === 0) throw new WizardError('UNREACHABLE', `no connected peer has ${entry.path}`);
  await mkdir(dirAbs, { recursive: true });
  const temp = path.join(dirAbs, tempNameFor(path.posix.basename(entry.path), randomBytes(4).toString('hex')));
  const fh = await open(temp, 'wx', 0o600);
  try {
    const hash = createHash('sha256');
    let next = 0;
    let sourceIndex = 0;
    const inflight: Array<{ offset: number; promise: Promise<Buffer> }> = [];
    const ask = () => {
      const offset = next;
      const length = Math.min(BLOCK_BYTES, entry.size - offset);
      next += length;
      // Spread blocks over every peer that has the file.
      const peer = sources[sourceIndex++ % sources.length] as string;
      const promise = readBlock(peer, { path: entry.path, hash: entry.hash, offset, length });
      // Blocks behind a failed one are abandoned; keep their rejections from going unhandled.
      promise.catch(() => undefined);
      inflight.push({ offset, promise });
    };
    while (next < entry.size && inflight.length < WINDOW) ask();
    while (inflight.length > 0) {
      signal?.throwIfAborted();
      const { offset, promise } = inflight.shift() as { offset: number; promise: Promise<Buffer> };
      const data = await promise;
      const expected = Math.min(BLOCK_BYTES, entry.size - offset);
      if (data.length !== expected) {
        throw new WizardError('HASH_MISMATCH', `${entry.path}: peer sent ${data.length} bytes at ${offset}, expected ${expected}`);
      }
      await fh.write(data, 0, data.length, offset);
      hash.update(data);
      if (next < entry.size) ask();
    }
    if (hash.digest('hex') !== entry.hash) {
      throw new WizardError('HASH_MISMATCH', `${entry.path}: received content does not match its hash; will retry`);
    }
    await fh.chmod(fileMode(entry.mode));
    await fh.sync();
    await fh.close();
    return temp;
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw err;
  }
}

/**
 * Permission bits for a pulled file: the peer's rwx bits, never setuid,
 * setgid or sticky from the network, and always readable and writable by us
 * so the file can be served and replaced later.
 */
export function fileMode(mode: number): number {
  return (mode & 0o777) | 0o600;
}
