/**
 * Downloads a file's content from peers into a temp file in the folder's
 * `.wizard/tmp` (temp-place.ts says where and why), as a delta against what we already have when that pays, whole otherwise,
 * verifying the SHA-256 either way. Never touches the target itself.
 *
 * An interrupted download leaves its temp file behind as a partial, named
 * after the path and the content's hash; the next download to that path
 * reuses its blocks (they are found by their sums, so holes, stale bytes or an
 * older version do no harm) and removes it once it succeeds.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fstatSync, fsync, futimesSync, writeSync, type Stats } from 'node:fs';
import { readdir, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { crashPoint } from '../../core/crash-point.js';
import { describeError, hasCode, isNoSpace, WizardError } from '../../core/errors.js';
import { tempNameFor } from '../../core/paths.js';
import { isDeltaSized, type Signature } from '../../delta/signature.js';
import type { FileEntry } from '../../index/entry.js';
import { INLINE_MAX_BYTES } from '../../workers/hash-file.js';
import { fetchDelta, type DeltaDeps } from './delta-fetch.js';
import type { DeltaPlan, SearchingPlan } from './delta-plan.js';
import { createTemp, createTempFd, openTempToRead, removeTemp, type TempPlace } from '../disk/temp-place.js';
import { EarlyWriteback } from './writeback.js';
import { contentHash } from '../../core/content-hash.js';
import { wholeFileHasher, type WholeFileHasher } from './whole-hasher.js';
import { isHashedWhenWritten, WrittenHasher } from './written-hasher.js';
import { blockBodies } from '../../protocol/block-bodies.js';

/** What a download needs: a delta's needs, and where a whole download's written blocks go back (blockBodies by default; tests watch it). */
export interface DownloadDeps extends DeltaDeps {
  readonly blockDone?: (data: Buffer) => void;
}

/** Reads one block of a file from one peer. */
export type BlockSource = (peer: string, req: { path: string; hash: string; offset: number; length: number }) => Promise<Buffer>;

/**
 * Bytes asked for in one request: the most a request may ask for (protocol
 * LIMITS.maxBlockBytes). Each request costs both sides the same whatever its
 * size (the sender's open, stat, read and close, a message each way, a write
 * here), and at 256 KiB those were a third of BIG's CPU on two cores; a 1 MiB
 * frame still takes about 2 ms on the loopback, so small files' answers do not wait long behind it.
 */
export const BLOCK_BYTES = 1024 * 1024;
/** Requests kept in flight per file: hides the round trip on a fast link, and leaves half of the sender's 8 MiB answer budget to other files (4 MiB). */
export const WINDOW = 4;
/** Characters of random suffix in a temp name. */
const RANDOM_CHARS = 8;

/** Our current file as a delta basis: open for reading and checked against the index, with its stored sums and, when one was made already (patch/apply.ts), a plan against it alone. */
export interface Basis {
  readonly fd: number;
  readonly sums: Signature | undefined;
  readonly plan?: DeltaPlan | SearchingPlan;
}

/** A finished download. */
export interface Downloaded {
  /** The temp file with the entry's content, mode and mtime, fsynced: the caller only renames it into place. */
  readonly temp: string;
  /** Block sums of the content, for the index (undefined when it keeps none at this size: storesSums). */
  readonly sums: Signature | undefined;
  /** The temp file as finished, through its handle: what the index records once it is renamed (a rename keeps all of it). */
  readonly stat: Stats;
}

/**
 * Fetches `entry` into a new temp file in `place` (temp-place.ts). `basis` is
 * our own current file at that path, open for reading (already checked
 * against our index), with its stored sums, if any; the caller keeps and
 * closes its descriptor. Partial downloads of the same path in `place` are
 * reused and removed on success. On failure the temp file stays as a partial
 * if it holds anything new.
 * `onFetched` hears when every byte is here and verified, before the local
 * finish (mode, mtime, fsync), which is no longer a transfer.
 */
export async function download(
  place: TempPlace,
  entry: FileEntry,
  sources: readonly string[],
  basis: Basis | undefined,
  deps: DownloadDeps,
  onFetched?: () => void,
): Promise<Downloaded> {
  if (sources.length === 0) throw new WizardError('UNREACHABLE', `no connected peer has ${entry.path}`);
  const hasDeltas = isDeltaSized(entry.size);
  // A file of one request with nothing of ours to build on is fetched whole: a partial of it would
  // save at most that one request, and listing the temp dir (where every pulled file's temp meets)
  // cost a pool round trip per file, 1.2 s of the receiver's main thread in a SMALL pull. A partial
  // left there is removed with the stale temps (stale-temps.ts).
  const isOneRequest = entry.size <= WRITE_NOW_MAX_BYTES;
  const partials = hasDeltas && !(isOneRequest && basis === undefined) ? await findPartials(place, entry.hash) : [];
  try {
    const name = tempNameFor(place.stem, `${entry.hash.slice(0, 16)}-${randomBytes(RANDOM_CHARS / 2).toString('hex')}`);
    if (isOneRequest && (!hasDeltas || (basis === undefined && partials.length === 0))) return await downloadSmall(place, name, entry, sources, deps, onFetched);
    return await downloadToFile(place, name, entry, sources, basis, partials, deps, onFetched);
  } finally {
    for (const p of partials) closeSync(p.fd);
  }
}

/** download, for a file that may be built from `basis` and `partials` or is too big for one request. */
async function downloadToFile(
  place: TempPlace,
  name: string,
  entry: FileEntry,
  sources: readonly string[],
  basis: Basis | undefined,
  partials: readonly Partial[],
  deps: DownloadDeps,
  onFetched?: () => void,
): Promise<Downloaded> {
  const hasDeltas = isDeltaSized(entry.size);
  const { file: temp, fh } = await createTemp(place, name, deps.openTemp);
  const progress = { written: 0 };
  const writeback = new EarlyWriteback(fh);
  try {
    const bases = [...(basis === undefined ? [] : [basis.fd]), ...partials.map((p) => p.fd)];
    let sums: Signature | undefined;
    if (hasDeltas && bases.length > 0) {
      try {
        // A plan made against our file alone leaves out partial downloads: with any, plan again over all of them.
        const planned = partials.length === 0 ? basis?.plan : undefined;
        sums = (await fetchDelta(fh, entry, sources, bases, basis?.sums, deps, progress, writeback, planned)).sums;
      } catch (err) {
        // A delta that rebuilt the wrong bytes, or sums we could not use or get (the peer's read or
        // worker failed: INTERNAL), never lands: start over whole, which needs only plain blocks.
        if (!hasCode(err, 'HASH_MISMATCH') && !hasCode(err, 'PROTOCOL') && !hasCode(err, 'INTERNAL')) throw err;
        deps.onDeltaFallback?.(entry.path, err);
        await fh.truncate(0);
        progress.written = 0;
        sums = await fetchWhole(fh, entry, sources, deps, progress, writeback);
      }
    } else {
      sums = await fetchWhole(fh, entry, sources, deps, progress, writeback);
    }
    onFetched?.();
    await fh.chmod(fileMode(entry.mode));
    // Background flushes must have ended (and their errors surfaced) before the mtime (a write would
    // move it) and the fsync. Through the open handle: a path would cost an open and close of its own.
    await writeback.settle();
    await fh.utimes(new Date(), new Date(entry.mtimeMs));
    await fh.sync();
    const finished = await fh.stat();
    await fh.close();
    for (const p of partials) await removeTemp(place, p.file);
    return { temp, sums, stat: finished };
  } catch (err) {
    // No flush may still be running on the handle being closed.
    await writeback.settle().catch(() => undefined);
    await fh.close().catch(() => undefined);
    // Keep what this attempt wrote unless it is worthless (a bad hash, a small file that is never resumed) or an older partial already has as much.
    // On a full disk it is removed whatever it holds: it is the space the user needs back, and the retry needs it too.
    const noSpace = isNoSpace(err);
    const isUseful = hasDeltas && !noSpace && !hasCode(err, 'HASH_MISMATCH') && progress.written > 0 && partials.every((p) => p.size < progress.written);
    if (isUseful) for (const p of partials) await removeTemp(place, p.file);
    else await removeTemp(place, temp);
    // The puller turns a full disk into its one line (see noSpaceError), wherever in the pull it happened.
    throw err;
  }
}

/**
 * Files up to this size with nothing to build on are fetched in one request
 * and then written with synchronous calls, as they are hashed (see
 * INLINE_MAX_BYTES): write, chmod, utimes, fstat and close of a few KiB
 * through libuv's pool cost the event loop more than the calls, and on a
 * pool of many threads sharing two cores a queued call can wait for a thread
 * that holds the queue's lock. The open and the fsync go through the pool:
 * the fsync waits on the disk, and so can creating a file, while other
 * files' fsyncs write the metadata blocks it changes (on this VM's ext4, a
 * burst's synchronous creates held the event loop for 1.4 s of a 4 s pull).
 * Nothing is created until the bytes are here and verified.
 */
export const WRITE_NOW_MAX_BYTES = INLINE_MAX_BYTES;

/** download, for a file of at most WRITE_NOW_MAX_BYTES (one request) with no basis and no partial. */
async function downloadSmall(place: TempPlace, name: string, entry: FileEntry, sources: readonly string[], deps: DeltaDeps, onFetched?: () => void): Promise<Downloaded> {
  const data = entry.size === 0 ? Buffer.alloc(0) : await deps.readBlock(sources[0] as string, { path: entry.path, hash: entry.hash, offset: 0, length: entry.size });
  if (data.length !== entry.size) throw new WizardError('HASH_MISMATCH', `${entry.path}: peer sent ${data.length} bytes, expected ${entry.size}`);
  if (contentHash(data) !== entry.hash) {
    throw new WizardError('HASH_MISMATCH', `${entry.path}: received content does not match its hash; will retry`);
  }
  onFetched?.();
  deps.signal?.throwIfAborted();
  // Made only now, after the wait for the peer's bytes, and where that wait cannot have moved it (temp-place.ts).
  const { file: temp, fd } = await createTempFd(place, name);
  try {
    for (let done = 0; done < data.length; ) done += writeSync(fd, data, done, data.length - done, done);
    fchmodSync(fd, fileMode(entry.mode));
    futimesSync(fd, new Date(), new Date(entry.mtimeMs));
    await new Promise<void>((resolve, reject) => fsync(fd, (err) => (err === null ? resolve() : reject(err))));
    return { temp, sums: undefined, stat: fstatSync(fd) };
  } catch (err) {
    await removeTemp(place, temp);
    throw err;
  } finally {
    closeSync(fd);
  }
}

/**
 * The one line a full disk gives the user (status and log), with the errno
 * error as its cause. It says only what holds wherever the pull ran out of
 * space (writing the temp file, the fsync, the trash's record, the dir fsync
 * after the rename): no partial file is kept and none is renamed into place.
 * Already one: returned as it is.
 */
export function noSpaceError(entry: FileEntry, err: unknown): WizardError {
  if (hasCode(err, 'NO_SPACE')) return err as WizardError;
  return new WizardError(
    'NO_SPACE',
    `no space left on this folder's disk for ${entry.size} bytes (${describeError(err)}); no partial file is kept or put in place; free some space, the download is retried automatically`,
    { cause: err },
  );
}

/** A partial download found for reuse, open for reading. */
interface Partial {
  readonly file: string;
  readonly size: number;
  readonly fd: number;
}

/**
 * Temp files in `place` left by earlier downloads to its path: of any version
 * (an older version shares most blocks with a newer one, and this way a
 * superseded partial is cleaned up by the next success), or only of content
 * `hash` when the name had to be cut, since then another file's could match.
 * Each is opened for reading at once (the caller closes them).
 */
async function findPartials(place: TempPlace, hash: string): Promise<Partial[]> {
  const tag = hash.slice(0, 16);
  const sample = tempNameFor(place.stem, `${tag}-${'0'.repeat(RANDOM_CHARS)}`);
  const isCut = !sample.includes(`-${place.stem}-${tag}-`);
  const prefix = sample.slice(0, sample.length - `${tag}-${'0'.repeat(RANDOM_CHARS)}.tmp`.length);
  const rest = isCut ? new RegExp(`^${tag}-[0-9a-f]{${RANDOM_CHARS}}\\.tmp$`) : new RegExp(`^[0-9a-f]{16}-[0-9a-f]{${RANDOM_CHARS}}\\.tmp$`);
  const names = (await readdir(place.dir)).filter((n) => n.startsWith(prefix) && rest.test(n.slice(prefix.length)));
  const found: Partial[] = [];
  for (const n of names) {
    const file = path.join(place.dir, n);
    const fd = openTempToRead(place, file);
    if (fd !== undefined) found.push({ file, size: fstatSync(fd).size, fd });
  }
  return found;
}

/** Fetches the whole content in order into `fh`, verifying its hash; returns its sums when the index keeps them (storesSums). */
async function fetchWhole(
  fh: FileHandle,
  entry: FileEntry,
  sources: readonly string[],
  deps: DownloadDeps,
  progress: { written: number },
  writeback: EarlyWriteback,
): Promise<Signature | undefined> {
  // A big file's bytes are hashed on the worker threads from the temp file (written-hasher.ts), a smaller one's here as they arrive.
  const inWorkers = isHashedWhenWritten(entry.size) ? new WrittenHasher(deps.runner, fh.fd, entry.size) : undefined;
  const hash = inWorkers === undefined ? wholeFileHasher(entry.size) : undefined;
  // A thread's start (34-115 ms here) overlaps the first blocks' round trip instead of the first slice's hashing.
  if (inWorkers !== undefined) deps.runner.warm?.();
  const blockDone = deps.blockDone ?? ((data: Buffer) => blockBodies.give(data));
  let next = 0;
  let sourceIndex = 0;
  const inflight: Array<{ offset: number; promise: Promise<Buffer> }> = [];
  const ask = () => {
    const offset = next;
    const length = Math.min(BLOCK_BYTES, entry.size - offset);
    next += length;
    // Spread blocks over every peer that has the file.
    const peer = sources[sourceIndex++ % sources.length] as string;
    const promise = deps.readBlock(peer, { path: entry.path, hash: entry.hash, offset, length });
    // Blocks behind a failed one are abandoned; keep their rejections from going unhandled.
    promise.catch(() => undefined);
    inflight.push({ offset, promise });
  };
  while (next < entry.size && inflight.length < WINDOW) ask();
  try {
    while (inflight.length > 0) {
      deps.signal?.throwIfAborted();
      const { offset, promise } = inflight.shift() as { offset: number; promise: Promise<Buffer> };
      const data = await promise;
      try {
        const expected = Math.min(BLOCK_BYTES, entry.size - offset);
        if (data.length !== expected) {
          throw new WizardError('HASH_MISMATCH', `${entry.path}: peer sent ${data.length} bytes at ${offset}, expected ${expected}`);
        }
        // The next block is asked for now, not once this one is written and hashed: the sender keeps
        // WINDOW requests to answer while this thread works, instead of one fewer for each block's turn here.
        if (next < entry.size) ask();
        if (hash !== undefined) await writeAndHash(fh, data, offset, hash);
        else {
          await fh.write(data, 0, data.length, offset);
          inWorkers?.wroteTo(offset + data.length);
        }
        writeback.wrote(data.length);
        progress.written = offset + data.length;
      } finally {
        // Written (or failed), and hashed here or left for the workers to read back from the file: nothing reads
        // these bytes any more, so their buffer may carry the next block.
        blockDone(data);
      }
      // Crash point: a partial temp file, the target untouched.
      if (progress.written < entry.size) crashPoint('mid-block-write');
    }
  } catch (err) {
    // No job may still read the descriptor when the caller closes it.
    await inWorkers?.settle();
    throw err;
  }
  const got = inWorkers !== undefined ? await inWorkers.finish() : (hash as WholeFileHasher).finish();
  if (got.hash !== entry.hash) {
    throw new WizardError('HASH_MISMATCH', `${entry.path}: received content does not match its hash; will retry`);
  }
  return got.sums;
}

/**
 * Writes `data` at `offset` of `fh` and hashes it into `hash`, side by side: a pool thread copies
 * the block into the page cache while this thread hashes the same bytes (both only read them).
 * Settles only once the write has ended, also when the hashing throws, so the caller may then
 * give the buffer back; the write's error comes first.
 */
async function writeAndHash(fh: FileHandle, data: Buffer, offset: number, hash: WholeFileHasher): Promise<void> {
  const written = fh.write(data, 0, data.length, offset);
  try {
    hash.push(data);
  } catch (err) {
    await written;
    throw err;
  }
  await written;
}

/**
 * Permission bits for a pulled file's temp file: the rwx bits of `mode`
 * (the puller has already put the peer's through our umask, see
 * permissions.ts), never setuid, setgid or sticky from the network, and
 * always readable and writable by us so the file can be served and replaced later.
 */
export function fileMode(mode: number): number {
  return (mode & 0o777) | 0o600;
}
