/**
 * A big file downloaded whole is hashed on the worker threads, from what its
 * temp file holds, slice by slice as the blocks are written
 * (sync/pull/written-hasher.ts). Real worker threads (the built worker), real
 * temp files; the peer is in memory.
 */
import { readFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { contentHash, LeafHasher } from '../../src/core/content-hash.js';
import { hasCode } from '../../src/core/errors.js';
import { signatureOf } from '../../src/delta/signature.js';
import type { FileEntry } from '../../src/index/entry.js';
import { BLOCK_BYTES, download } from '../../src/sync/pull/fetch.js';
import { isHashedWhenWritten, SLICE_BYTES } from '../../src/sync/pull/written-hasher.js';
import type { JobRunner } from '../../src/workers/pool.js';
import { eachDownloadFolder, fileWorkerPool } from '../support/download-folder.js';
import { fakePeer } from '../support/peer.js';
import { seededBytes } from '../support/random.js';

const MiB = 1024 * 1024;
const workers = fileWorkerPool(2);
const folder = eachDownloadFolder('wizard-written-hasher-');

/** Two whole slices and a short third whose last leaf is short too. */
const content = seededBytes(2 * SLICE_BYTES + MiB + 100, 31);
const entry: FileEntry = { path: 'f', type: 'file', size: content.length, mtimeMs: 0, mode: 0o644, hash: contentHash(content), target: '', version: { p: 1 }, deleted: false, sequence: 1 };

/** The pool, with each job's kind noted and how many are running; `delayMs` holds each job back before it starts. */
function watchedRunner(delayMs = 0) {
  const kinds: string[] = [];
  const state = { running: 0 };
  const runner: JobRunner = {
    run: async (kind, args) => {
      kinds.push(kind);
      state.running++;
      try {
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        return await workers.pool.run(kind, args);
      } finally {
        state.running--;
      }
    },
    close: () => Promise.resolve(),
  };
  return { runner, kinds, state };
}

/** A temp file handle whose write of the block at `at` does `what`, and which notes how many jobs ran when it was closed. */
function tempWith(what: { at: number; does: 'flip-a-byte' | 'fail' }, state: { running: number }, runningAtClose: number[]) {
  return async (file: string): Promise<FileHandle> => {
    const fh = await open(file, 'wx+', 0o600);
    return new Proxy(fh, {
      get(target, prop) {
        if (prop === 'write') {
          return async (buf: Buffer, offset: number, length: number, position: number) => {
            if (position !== what.at) return await target.write(buf, offset, length, position);
            if (what.does === 'fail') throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO', errno: -5, syscall: 'write' });
            // What the disk keeps differs from what came from the peer in one byte.
            const stored = Buffer.from(buf.subarray(offset, offset + length));
            stored[1000] = (stored[1000] as number) ^ 0xff;
            return await target.write(stored, 0, length, position);
          };
        }
        if (prop === 'close') {
          return async () => {
            runningAtClose.push(state.running);
            await target.close();
          };
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  };
}

describe('a big whole download, hashed on the worker threads', () => {
  it('gives the content hash and sums of one pass over the bytes, from one job per slice', async () => {
    expect(isHashedWhenWritten(content.length)).toBe(true);
    const w = watchedRunner();
    const peer = fakePeer({ f: content });
    const { temp, sums } = await download(folder.place, entry, ['peer'], undefined, { ...peer, runner: w.runner });
    expect(readFileSync(temp).equals(content)).toBe(true);
    const expected = signatureOf(content);
    expect(sums?.blockSize).toBe(expected.blockSize);
    expect(Buffer.from(sums?.weak.buffer ?? new ArrayBuffer(0)).equals(Buffer.from(expected.weak.buffer))).toBe(true);
    expect(Buffer.from(sums?.strong ?? []).equals(Buffer.from(expected.strong))).toBe(true);
    const leaves = new LeafHasher();
    leaves.push(content);
    expect(Buffer.from(sums?.leaves ?? []).equals(leaves.finish())).toBe(true);
    expect(w.kinds).toEqual(['written', 'written', 'written']);
  });

  it('checks what the temp file holds: a block stored with one byte changed fails the hash', async () => {
    const w = watchedRunner();
    const runningAtClose: number[] = [];
    const peer = fakePeer({ f: content });
    const openTemp = tempWith({ at: 9 * BLOCK_BYTES, does: 'flip-a-byte' }, w.state, runningAtClose);
    const err = await download(folder.place, entry, ['peer'], undefined, { ...peer, runner: w.runner, openTemp }).catch((e: unknown) => e);
    expect(hasCode(err, 'HASH_MISMATCH')).toBe(true);
    expect(runningAtClose).toEqual([0]);
  });

  it('lets every job started end before the temp file is closed when a write fails', async () => {
    // Each job waits 50 ms before it runs; the write of block 9 fails just after the first slice's job started.
    const w = watchedRunner(50);
    const runningAtClose: number[] = [];
    const peer = fakePeer({ f: content });
    const openTemp = tempWith({ at: 9 * BLOCK_BYTES, does: 'fail' }, w.state, runningAtClose);
    const err = (await download(folder.place, entry, ['peer'], undefined, { ...peer, runner: w.runner, openTemp }).catch((e: unknown) => e)) as NodeJS.ErrnoException;
    expect(err.code).toBe('EIO');
    expect(w.kinds).toEqual(['written']);
    expect(runningAtClose).toEqual([0]);
  });
});
