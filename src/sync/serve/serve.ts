/**
 * Answers a peer's requests for blocks and block sums of our files.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { lstat, open, type FileHandle } from 'node:fs/promises';
import { describeError, hasCode, WizardError } from '../../core/errors.js';
import { resolveOnDisk } from '../../core/paths.js';
import type { LocalEntry } from '../../index/entry.js';
import { blockCount, groupDigests, STRONG_BYTES, type Signature } from '../../delta/signature.js';
import { sameStat, statKey } from '../../index/hash.js';
import { hasRealAncestors, realAncestors } from '../../index/real-path.js';
import { INLINE_MAX_BYTES } from '../../workers/hash-file.js';
import type { JobRunner } from '../../workers/pool.js';
import type { SumsMessage } from '../../protocol/messages.js';
import { blockBodies } from '../../protocol/block-bodies.js';
import type { HeldFiles } from './held-files.js';

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
 * `disk`: where the file is on disk, when its name there is not NFC (see DiskNames).
 * `held`: big files kept open across requests (held-files.ts), through which every big file's block is read.
 */
export async function readBlock(
  root: string,
  entry: LocalEntry | undefined,
  req: { path: string; hash: string; offset: number; length: number },
  disk: string,
  held: HeldFiles,
): Promise<Buffer> {
  if (entry === undefined || entry.deleted || entry.type !== 'file') throw new ServeError('not-found', `${req.path}: no such file`);
  if (entry.hash !== req.hash) throw new ServeError('changed', `${req.path}: we no longer have that version`);
  // Past the end is an empty answer (docs/PROTOCOL.md), not an error.
  if (req.offset >= entry.size) return Buffer.alloc(0);
  const length = Math.min(req.length, entry.size - req.offset);
  let abs: string;
  try {
    if (!realAncestors(root, disk)) throw Object.assign(new Error('parent missing'), { code: 'ENOENT' });
    abs = resolveOnDisk(root, disk);
  } catch (err) {
    throw cannotOpen(req.path, err);
  }
  // A small file is read on this thread, for the reason it is hashed on it (see INLINE_MAX_BYTES):
  // four calls through libuv's pool cost the event loop more than the read, and a burst of small
  // files is served one request each.
  if (entry.size <= INLINE_MAX_BYTES) return readNow(abs, entry, req, length);
  return readHeld(held, abs, entry, req, length);
}

/** Why a file cannot be opened, as the peer hears it: gone or swapped for a link is a change; anything else is our I/O problem. */
function cannotOpen(rel: string, err: unknown): ServeError {
  const code = (err as NodeJS.ErrnoException).code;
  const wire = code === 'ENOENT' || code === 'ELOOP' || code === 'BAD_PATH' ? 'changed' : 'io';
  return new ServeError(wire, `${rel}: ${code ?? 'open failed'}`);
}

// O_NOFOLLOW: a file swapped for a link since it was indexed is not read through.
const READ_NO_FOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW;

/** Opens a file to serve its blocks, never through a link: how HeldFiles opens what it holds. */
export function openToServe(abs: string): Promise<FileHandle> {
  return open(abs, READ_NO_FOLLOW);
}

/** readBlock's read with synchronous calls: the file as indexed, or CHANGED. */
function readNow(abs: string, entry: LocalEntry, req: { path: string; offset: number }, length: number): Buffer {
  let fd: number;
  try {
    fd = openSync(abs, READ_NO_FOLLOW);
  } catch (err) {
    throw cannotOpen(req.path, err);
  }
  try {
    if (!sameStat(statKey(fstatSync(fd)), entry)) throw new ServeError('changed', `${req.path}: changed on disk`);
    const buf = Buffer.allocUnsafe(length);
    for (let done = 0; done < length; ) {
      const n = readSync(fd, buf, done, length - done, req.offset + done);
      if (n === 0) throw new ServeError('changed', `${req.path}: shorter than indexed`);
      done += n;
    }
    if (!sameStat(statKey(fstatSync(fd)), entry)) throw new ServeError('changed', `${req.path}: changed while it was read`);
    return buf;
  } finally {
    closeSync(fd);
  }
}

/** readBlock's read through a file held open across requests (held-files.ts): the file as indexed, or CHANGED. */
async function readHeld(held: HeldFiles, abs: string, entry: LocalEntry, req: { path: string; offset: number }, length: number): Promise<Buffer> {
  let lease;
  try {
    lease = await held.lease(abs, entry);
  } catch (err) {
    throw cannotOpen(req.path, err);
  }
  if (lease === undefined) throw new ServeError('changed', `${req.path}: changed on disk`);
  // Any failure (shorter than indexed, changed while read, an I/O error) lets go of the file: the next request opens it anew.
  let served = false;
  // A whole block's buffer comes from the pool and goes back once the answer is framed (served-requests.ts), or here when the read fails.
  const buf = blockBodies.take(length) ?? Buffer.allocUnsafe(length);
  try {
    await readFully(lease.fh, buf, req);
    // Written to while we read: these bytes may mix two versions. The peer's hash check would catch
    // it, but only after the whole transfer; saying so now makes it ask again once we rescanned.
    if (!sameStat(statKey(await lease.fh.stat()), entry)) throw new ServeError('changed', `${req.path}: changed while it was read`);
    served = true;
    return buf;
  } finally {
    // A failed read has ended (each read is awaited), so nothing writes into the buffer any more.
    if (!served) blockBodies.give(buf);
    lease.release(!served);
  }
}

/** Reads `buf.length` bytes at `req.offset` through `fh`; a file shorter than that has changed. */
async function readFully(fh: FileHandle, buf: Buffer, req: { path: string; offset: number }): Promise<Buffer> {
  for (let done = 0; done < buf.length; ) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, req.offset + done);
    if (bytesRead === 0) throw new ServeError('changed', `${req.path}: shorter than indexed`);
    done += bytesRead;
  }
  return buf;
}

/** Block sums as they go on the wire: a SumsMessage without its envelope. */
export type WireSums = Omit<SumsMessage, 'type' | 'id'>;

/** Most file bytes hashed to answer one sums request when no stored sums fit; the peer asks again for the rest. */
export const MAX_SUMS_SPAN_BYTES = 16 * 1024 * 1024;

/** Runs the hashing of `bytes` of a file for a sums answer when the serving budget allows (serve-budget.ts). */
export type HashGate = (bytes: number, job: () => Promise<Pick<Signature, 'weak' | 'strong'>>) => Promise<Pick<Signature, 'weak' | 'strong'>>;

/**
 * Answers a peer's request for block sums of one of our files, under the same
 * rule as `readBlock`: only for the exact version asked for, while the disk
 * still matches the index. Stored sums of that version and block size are
 * served without reading the file; otherwise the sums of at most
 * MAX_SUMS_SPAN_BYTES are computed by `runner` (a worker thread), when `gate` lets them.
 */
export async function readSums(
  root: string,
  entry: LocalEntry | undefined,
  req: { path: string; hash: string; blockSize: number; first: number; count: number; group: number },
  stored: Signature | undefined,
  runner: JobRunner,
  gate: HashGate = (_bytes, job) => job(),
  disk = req.path,
): Promise<WireSums> {
  if (entry === undefined || entry.deleted || entry.type !== 'file') throw new ServeError('not-found', `${req.path}: no such file`);
  if (entry.hash !== req.hash) throw new ServeError('changed', `${req.path}: we no longer have that version`);
  const total = blockCount(entry.size, req.blockSize);
  if (req.first >= total) throw new ServeError('not-found', `${req.path}: block ${req.first} is past the end`);
  const abs = resolveOnDisk(root, disk);
  if (!hasRealAncestors(root, disk)) throw new ServeError('changed', `${req.path}: its dir is not a real directory any more`);
  let st;
  try {
    st = statKey(await lstat(abs));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ServeError(code === 'ENOENT' ? 'changed' : 'io', `${req.path}: ${code ?? 'stat failed'}`);
  }
  if (!sameStat(st, entry)) throw new ServeError('changed', `${req.path}: changed on disk`);
  if (stored !== undefined && stored.blockSize === req.blockSize && stored.fileSize === entry.size) {
    const end = Math.min(total, req.first + req.count);
    return wire(entry.size, req, stored.weak.subarray(req.first, end), stored.strong.subarray(req.first * STRONG_BYTES, end * STRONG_BYTES));
  }
  // Whole groups only, so a capped answer still ends on a group boundary.
  const capped = Math.max(req.group, Math.floor(MAX_SUMS_SPAN_BYTES / req.blockSize / req.group) * req.group);
  const count = Math.min(req.count, total - req.first, capped);
  try {
    const sums = await gate(Math.min(count * req.blockSize, entry.size - req.first * req.blockSize), () => runner.run('sums', { path: abs, stat: st, blockSize: req.blockSize, first: req.first, count }));
    return wire(entry.size, req, sums.weak, sums.strong);
  } catch (err) {
    if (hasCode(err, 'CHANGED')) throw new ServeError('changed', `${req.path}: changed on disk`);
    throw new ServeError('io', `${req.path}: computing block sums: ${describeError(err)}`);
  }
}

function wire(fileSize: number, req: { blockSize: number; first: number; group: number }, weak: Uint32Array, strong: Uint8Array): WireSums {
  const { blockSize, first, group } = req;
  if (group > 1) return { fileSize, blockSize, first, group, weak: Buffer.alloc(0), strong: Buffer.from(groupDigests(strong, group)) };
  const weakBytes = Buffer.allocUnsafe(weak.length * 4);
  for (let i = 0; i < weak.length; i++) weakBytes.writeUInt32BE(weak[i] as number, i * 4);
  return { fileSize, blockSize, first, group, weak: weakBytes, strong: Buffer.from(strong) };
}
