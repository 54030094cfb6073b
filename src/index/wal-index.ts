/**
 * How far the index's WAL has grown and been checkpointed, read from the
 * header of its wal-index (the `-shm` file) without asking SQLite: a read of
 * 136 bytes, where a query would need a connection and its locks.
 *
 * The layout is SQLite's "WAL-mode File Format" (sqlite.org/walformat.html,
 * section 2): two copies of a 48-byte header, the first at offset 0, with
 * `iVersion` at 0 (always 3007000), `isInit` at 12 and `mxFrame` (frames in
 * the WAL) at 16, then the checkpoint info with `nBackfill` (frames already
 * copied into the database) at 96; all in the host's byte order. Processes of
 * any SQLite version share this file, so the layout cannot change under us;
 * a header that does not look like it is answered with `undefined`.
 */
import { endianness } from 'node:os';
import { readSync } from 'node:fs';

/** Frames in the WAL now and how many of them a checkpoint has copied into the database. */
export interface WalFrames {
  /** Frames written since the WAL last restarted (`mxFrame`). */
  readonly frames: number;
  /** Of those, frames copied into the database file (`nBackfill`). */
  readonly backfilled: number;
}

/** SQLite's answer to `PRAGMA wal_checkpoint`: busy (1 if another checkpoint held the lock), frames in the WAL, frames now in the database. */
export interface CheckpointResult {
  readonly busy: number;
  readonly log: number;
  readonly checkpointed: number;
}

/** The wal-index header's `iVersion`: the one layout SQLite has ever written. */
const WAL_INDEX_VERSION = 3007000;
/** Two header copies of 48 bytes, then the checkpoint info's nBackfill (u32). */
const HEADER_BYTES = 100;
const HEADER_COPY = 48;

/** Decodes a wal-index header (the first 100 bytes of the `-shm` file); undefined when it is not a whole, settled one. */
export function decodeWalIndex(bytes: Buffer, littleEndian = endianness() === 'LE'): WalFrames | undefined {
  if (bytes.length < HEADER_BYTES) return undefined;
  const u32 = (at: number) => (littleEndian ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at));
  if (u32(0) !== WAL_INDEX_VERSION || bytes[12] !== 1) return undefined;
  // SQLite writes the second copy, then the first, and its own readers retry while they differ:
  // here they differ only if a writer in another process is mid-update, and the next commit reads again.
  if (bytes.compare(bytes, 0, HEADER_COPY, HEADER_COPY, 2 * HEADER_COPY) !== 0) return undefined;
  return { frames: u32(16), backfilled: u32(96) };
}

/** Reads the header of the wal-index open at `fd` (see decodeWalIndex), into `scratch` (at least 100 bytes). */
export function readWalIndex(fd: number, scratch: Buffer): WalFrames | undefined {
  const got = readSync(fd, scratch, 0, HEADER_BYTES, 0);
  return got < HEADER_BYTES ? undefined : decodeWalIndex(scratch.subarray(0, HEADER_BYTES));
}
