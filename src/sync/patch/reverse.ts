/**
 * Applying a journal's old bytes to a file: the rollback of an interrupted
 * patch, and a step of rebuilding an old version from a reverse-delta trash
 * entry. Works on a descriptor the caller opened and checked.
 */
import { createHash } from 'node:crypto';
import { fsync, ftruncate, futimes, read, write } from 'node:fs';
import { promisify } from 'node:util';
import { ContentHasher } from '../../core/content-hash.js';
import type { LocalEntry } from '../../index/entry.js';
import type { Journal, JournalHeader } from './journal.js';

const writeAt = promisify(write);
const readAt = promisify(read);
const truncateFd = promisify(ftruncate);
const syncFd = promisify(fsync);
const stampFd = promisify(futimes);

/**
 * Gives `fd` the mtime (and atime) `mtimeMs` as exactly as Node can: times
 * go to the kernel as a double of seconds, so a whole millisecond (every
 * pulled file's mtime) is set through the same Date a pull sets it with,
 * which the kernel stores the same way again. An mtime with more digits may
 * come back a few nanoseconds off: the caller records what the disk has.
 */
export async function restoreMtime(fd: number, mtimeMs: number): Promise<void> {
  const ms = Math.round(mtimeMs);
  const t = Math.abs(mtimeMs - ms) < 0.001 ? new Date(ms) : mtimeMs / 1000;
  await stampFd(fd, t, t);
}

/** Bytes read at a time when hashing a file. */
const HASH_CHUNK = 2 * 1024 * 1024;

/** Writes the journal's old bytes back into `fd` and cuts it to the old size: the file is then the old version, if it was the new one (or any mix of the two). */
export async function putOldBytesBack(fd: number, journal: Journal): Promise<void> {
  for (const [i, [at]] of journal.header.ranges.entries()) {
    const data = journal.old[i] as Buffer;
    for (let done = 0; done < data.length; ) done += (await writeAt(fd, data, done, data.length - done, at + done)).bytesWritten;
  }
  await truncateFd(fd, journal.header.oldSize);
  await syncFd(fd);
}

/** An index entry as a change to commit (a rolled-back file's mtime). */
export function withoutSequence(e: LocalEntry): Omit<LocalEntry, 'sequence'> {
  const { sequence: _sequence, ...rest } = e;
  return rest;
}

/**
 * The hash, in the meaning of `header` (see JournalHeader.hashMeaning), of the
 * first `size` bytes of `fd`, read from the start; undefined when it holds fewer.
 */
export async function hashOf(fd: number, size: number, header: Pick<JournalHeader, 'hashMeaning'>): Promise<string | undefined> {
  const hash = hasherFor(header);
  return (await feed(fd, size, hash)) ? hash.digest() : undefined;
}

/** Feeds the first `size` bytes of `fd`, read from the start, to `hash`; false when it holds fewer. */
async function feed(fd: number, size: number, hash: { update(chunk: Uint8Array): unknown }): Promise<boolean> {
  const buf = Buffer.allocUnsafe(HASH_CHUNK);
  for (let at = 0; at < size; ) {
    const { bytesRead } = await readAt(fd, buf, 0, Math.min(HASH_CHUNK, size - at), at);
    if (bytesRead === 0) return false;
    hash.update(buf.subarray(0, bytesRead));
    at += bytesRead;
  }
  return true;
}

/** A streaming hasher giving hex in the meaning of a journal's hashes: the content hash, or a pre-v2 journal's SHA-256. */
export function hasherFor(header: Pick<JournalHeader, 'hashMeaning'>): { update(chunk: Uint8Array): unknown; digest(): string } {
  if (header.hashMeaning === 2) return new ContentHasher();
  const sha = createHash('sha256');
  return { update: (chunk) => sha.update(chunk), digest: () => sha.digest('hex') };
}

/** A file's hash in both meanings a journal may use (JournalHeader.hashMeaning): the content hash, and SHA-256 for journals from before it. */
export interface BothHashes {
  readonly content: string;
  readonly legacy: string;
}

/** Feeds both hashers of BothHashes in one pass. */
export class BothHasher {
  private readonly content = new ContentHasher();
  private readonly legacy = createHash('sha256');

  /** Adds the next bytes. */
  update(chunk: Uint8Array): void {
    this.content.update(chunk);
    this.legacy.update(chunk);
  }

  /** Both hashes of everything pushed. */
  digest(): BothHashes {
    return { content: this.content.digest(), legacy: this.legacy.digest('hex') };
  }
}

/** The hash `header` records in its meaning, out of both. */
export function inMeaningOf(header: Pick<JournalHeader, 'hashMeaning'>, both: BothHashes): string {
  return header.hashMeaning === 2 ? both.content : both.legacy;
}

/** Both hashes of the first `size` bytes of `fd`; undefined when it holds fewer. */
export async function bothHashesOf(fd: number, size: number): Promise<BothHashes | undefined> {
  const hash = new BothHasher();
  return (await feed(fd, size, hash)) ? hash.digest() : undefined;
}
