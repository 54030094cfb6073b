/**
 * A whole download gives each block's buffer back to the pool it came from
 * (core/block-buffers.ts) only once nothing reads it any more: its write to
 * the temp file has completed and its bytes are hashed; and it keeps its
 * window of requests at the peer meanwhile. Real temp files; the peer hands
 * out blocks in pooled buffers, as a session's frame decoder does.
 */
import { readFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { BlockBuffers } from '../../src/core/block-buffers.js';
import { contentHash } from '../../src/core/content-hash.js';
import type { FileEntry } from '../../src/index/entry.js';
import { BLOCK_BYTES, download, WINDOW, type BlockSource } from '../../src/sync/pull/fetch.js';
import { inlineRunner } from '../../src/workers/pool.js';
import { FakeClock } from '../support/clock.js';
import { eachDownloadFolder } from '../support/download-folder.js';
import { fakePeer } from '../support/peer.js';
import { seededBytes } from '../support/random.js';

const folder = eachDownloadFolder('wizard-download-buffers-');

/** Eight whole blocks, twice the download's window, and a short last one, which the pool does not lend (less than half its size). */
const content = seededBytes(8 * BLOCK_BYTES + BLOCK_BYTES / 4, 21);
const entry: FileEntry = { path: 'f', type: 'file', size: content.length, mtimeMs: 0, mode: 0o644, hash: contentHash(content), target: '', version: { p: 1 }, deleted: false, sequence: 1 };

/**
 * The download's world, watched: the memory of every buffer a temp-file write
 * is reading now, every buffer the pool lent (each checked not to be in a
 * write), the buffers the download gave back (each checked the same way),
 * and how many blocks had been asked for when each write began. `failAt`:
 * the offset whose write fails with EIO.
 */
function watched(failAt?: number) {
  const pool = new BlockBuffers(BLOCK_BYTES, 2, new FakeClock(0));
  const writing = new Set<ArrayBufferLike>();
  const lentMemory = new Set<ArrayBufferLike>();
  const given: Array<{ offset: number; length: number }> = [];
  const inWriteWhenLent: number[] = [];
  const inWriteWhenGiven: number[] = [];
  const offsetOf = new Map<Buffer, number>();
  const askedAtWrite: number[] = [];
  let asked = 0;
  const peer = fakePeer({ f: content });
  const readBlock: BlockSource = async (p, req) => {
    asked++;
    const bytes = await peer.readBlock(p, req);
    const lent = pool.take(bytes.length);
    if (lent === undefined) {
      offsetOf.set(bytes, req.offset);
      return bytes;
    }
    if (writing.has(lent.buffer)) inWriteWhenLent.push(req.offset);
    lentMemory.add(lent.buffer);
    bytes.copy(lent);
    offsetOf.set(lent, req.offset);
    return lent;
  };
  const blockDone = (data: Buffer) => {
    if (writing.has(data.buffer)) inWriteWhenGiven.push(offsetOf.get(data) ?? -1);
    given.push({ offset: offsetOf.get(data) ?? -1, length: data.length });
    pool.give(data);
  };
  const openTemp = async (file: string): Promise<FileHandle> => {
    const fh = await open(file, 'wx+', 0o600);
    return new Proxy(fh, {
      get(target, prop) {
        if (prop === 'write') {
          return async (buf: Buffer, offset: number, length: number, position: number) => {
            writing.add(buf.buffer);
            askedAtWrite.push(asked);
            try {
              // A write that takes a while, as one through a busy pool does: long enough for later blocks to arrive meanwhile.
              await new Promise((resolve) => setTimeout(resolve, 5));
              if (position === failAt) throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO', errno: -5, syscall: 'write' });
              return await target.write(buf, offset, length, position);
            } finally {
              writing.delete(buf.buffer);
            }
          };
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  };
  return { deps: { readBlock, readSums: peer.readSums, runner: inlineRunner, openTemp, blockDone }, given, lentMemory, inWriteWhenLent, inWriteWhenGiven, askedAtWrite };
}

describe('a whole download and the block buffers', () => {
  it('gives each block back after its write completed, so no buffer is lent again while a write reads it', async () => {
    const w = watched();
    const { temp } = await download(folder.place, entry, ['peer'], undefined, w.deps);
    expect(readFileSync(temp).equals(content)).toBe(true);
    expect(w.given.map((g) => g.offset)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8].map((i) => i * BLOCK_BYTES));
    expect(w.inWriteWhenGiven).toEqual([]);
    expect(w.inWriteWhenLent).toEqual([]);
    // Eight pooled blocks in fewer buffers: the first blocks' buffers carried the later ones.
    expect(w.lentMemory.size).toBeLessThan(8);
  });

  it('keeps a full window of requests at the peer while a block is written and hashed', async () => {
    const w = watched();
    await download(folder.place, entry, ['peer'], undefined, w.deps);
    // Requests besides the block being written, at each block's write: the whole window until the
    // file's end is asked for (one fewer, had the next block waited for this one's write).
    const besides = w.askedAtWrite.map((asked, k) => asked - (k + 1));
    const blocks = w.askedAtWrite.length;
    expect(besides).toEqual(w.askedAtWrite.map((_, k) => Math.min(WINDOW, blocks - (k + 1))));
  });

  it('gives back the block whose write failed, once the write has ended', async () => {
    const w = watched(2 * BLOCK_BYTES);
    const err = (await download(folder.place, entry, ['peer'], undefined, w.deps).catch((e: unknown) => e)) as NodeJS.ErrnoException;
    expect(err.code).toBe('EIO');
    expect(w.given.map((g) => g.offset)).toEqual([0, BLOCK_BYTES, 2 * BLOCK_BYTES]);
    expect(w.inWriteWhenGiven).toEqual([]);
  });
});
