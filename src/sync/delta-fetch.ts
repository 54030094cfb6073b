/**
 * Downloads a file as a delta against files we already have (zsync's
 * direction; see docs/DELTA.md for why): fetch the target's block sums from
 * the peer, find its blocks in our own bases (the current file, partial
 * downloads) in a worker thread, then write the target in order into a temp
 * file, copying found blocks locally and fetching only the rest. The whole
 * file's SHA-256 is checked before the caller may rename it into place.
 */
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { WizardError } from '../core/errors.js';
import { planFill, type FillOp } from '../delta/locate.js';
import { blockSizeFor, checkSignature, SignatureBuilder, STRONG_BYTES, type Signature } from '../delta/signature.js';
import type { FileEntry } from '../index/entry.js';
import { LIMITS } from '../protocol/messages.js';
import type { JobRunner } from '../workers/pool.js';
import type { BlockSource } from './fetch.js';
import type { WireSums } from './serve.js';

/** Reads block sums of a file from one peer. */
export type SumsSource = (peer: string, req: { path: string; hash: string; blockSize: number; first: number; count: number; group: number }) => Promise<WireSums>;

/** What a delta download needs besides the file. */
export interface DeltaDeps {
  readonly readBlock: BlockSource;
  readonly readSums: SumsSource;
  readonly runner: JobRunner;
  readonly signal?: AbortSignal;
}

/** Bytes asked for in one block request (as in fetch.ts). */
const PIECE_BYTES = 256 * 1024;
/** Block requests kept in flight. */
const WINDOW = 8;
/** Local bytes copied per read. */
const COPY_BYTES = 1024 * 1024;

/** The target's signature, fetched page by page from `peer` and checked against the entry. */
export async function fetchSignature(peer: string, entry: FileEntry, readSums: SumsSource, signal?: AbortSignal): Promise<Signature> {
  const blockSize = blockSizeFor(entry.size);
  const count = Math.ceil(entry.size / blockSize);
  const weak = new Uint32Array(count);
  const strong = new Uint8Array(count * STRONG_BYTES);
  let first = 0;
  while (first < count) {
    signal?.throwIfAborted();
    const page = await readSums(peer, { path: entry.path, hash: entry.hash, blockSize, first, count: Math.min(LIMITS.maxSumsPerMessage, count - first), group: 1 });
    const n = page.weak.length / 4;
    if (page.blockSize !== blockSize || page.first !== first || page.group !== 1 || page.fileSize !== entry.size || n < 1 || first + n > count) {
      throw new WizardError('PROTOCOL', `${entry.path}: peer sent sums for blocks ${page.first}+${n} of ${page.blockSize} bytes, asked ${first} of ${blockSize}`);
    }
    const view = Buffer.from(page.weak.buffer, page.weak.byteOffset, page.weak.byteLength);
    for (let i = 0; i < n; i++) weak[first + i] = view.readUInt32BE(i * 4);
    strong.set(page.strong, first * STRONG_BYTES);
    first += n;
  }
  const sig = { blockSize, fileSize: entry.size, weak, strong };
  checkSignature(sig, entry.size);
  return sig;
}

/** One step of writing the target, small enough to interleave. */
type Piece = { readonly kind: 'local'; readonly basis: number; readonly at: number; readonly from: number; readonly length: number } | { readonly kind: 'remote'; readonly at: number; readonly length: number };

/** The fill plan cut into pieces of at most COPY_BYTES (local) and PIECE_BYTES (remote). */
export function pieces(ops: readonly FillOp[]): Piece[] {
  const out: Piece[] = [];
  for (const op of ops) {
    const step = op.kind === 'local' ? COPY_BYTES : PIECE_BYTES;
    for (let done = 0; done < op.length; done += step) {
      const length = Math.min(step, op.length - done);
      if (op.kind === 'local') out.push({ kind: 'local', basis: op.basis, at: op.at + done, from: op.from + done, length });
      else out.push({ kind: 'remote', at: op.at + done, length });
    }
  }
  return out;
}

/** What a delta download did. */
export interface DeltaResult {
  /** Signature of the content written (for the index). */
  readonly sums: Signature;
  /** Bytes taken from our own files. */
  readonly localBytes: number;
  /** Bytes fetched from the peer. */
  readonly remoteBytes: number;
}

/**
 * Writes `entry`'s content into the open, empty temp file `out`, reusing
 * blocks of `bases` (absolute paths of our own files), and keeps
 * `progress.written` at the end of what is written so far. Throws
 * HASH_MISMATCH when the result is not the announced content: the caller then
 * falls back to a whole download.
 */
export async function fetchDelta(
  out: FileHandle,
  entry: FileEntry,
  sources: readonly string[],
  bases: readonly string[],
  deps: DeltaDeps,
  progress: { written: number },
): Promise<DeltaResult> {
  const peer = sources[0] as string;
  const target = await fetchSignature(peer, entry, deps.readSums, deps.signal);
  const found = await deps.runner.run('locate', { bases: [...bases], target });
  const plan = planFill(target, found.offset, PIECE_BYTES, found.basis);
  const steps = pieces(plan);
  const fds = await Promise.all(bases.map((b) => open(b, 'r').catch(() => undefined)));
  try {
    const hash = createHash('sha256');
    const sums = new SignatureBuilder(entry.size, target.blockSize);
    const buf = Buffer.allocUnsafe(COPY_BYTES);
    const remote = steps.filter((s) => s.kind === 'remote');
    const inflight = new Map<number, Promise<Buffer>>();
    let next = 0;
    let sourceIndex = 0;
    const fill = () => {
      while (inflight.size < WINDOW && next < remote.length) {
        const s = remote[next++] as Piece;
        const p = deps.readBlock(sources[sourceIndex++ % sources.length] as string, { path: entry.path, hash: entry.hash, offset: s.at, length: s.length });
        // Pieces behind a failed one are abandoned; keep their rejections from going unhandled.
        p.catch(() => undefined);
        inflight.set(s.at, p);
      }
    };
    let localBytes = 0;
    let remoteBytes = 0;
    for (const s of steps) {
      deps.signal?.throwIfAborted();
      let data: Buffer;
      if (s.kind === 'local') {
        const fd = fds[s.basis];
        if (fd === undefined) throw new WizardError('HASH_MISMATCH', `${entry.path}: a local basis vanished`);
        const { bytesRead } = await fd.read(buf, 0, s.length, s.from);
        if (bytesRead !== s.length) throw new WizardError('HASH_MISMATCH', `${entry.path}: a local basis shrank while it was reused`);
        data = buf.subarray(0, s.length);
        localBytes += s.length;
      } else {
        fill();
        data = await (inflight.get(s.at) as Promise<Buffer>);
        inflight.delete(s.at);
        if (data.length !== s.length) throw new WizardError('HASH_MISMATCH', `${entry.path}: peer sent ${data.length} bytes at ${s.at}, expected ${s.length}`);
        remoteBytes += s.length;
        fill();
      }
      await out.write(data, 0, data.length, s.at);
      progress.written = s.at + s.length;
      hash.update(data);
      sums.push(data);
    }
    if (hash.digest('hex') !== entry.hash) throw new WizardError('HASH_MISMATCH', `${entry.path}: content rebuilt from the delta does not match its hash`);
    return { sums: sums.finish(), localBytes, remoteBytes };
  } finally {
    await Promise.all(fds.map((fd) => (fd === undefined ? Promise.resolve() : fd.close())));
  }
}
