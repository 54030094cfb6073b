/**
 * One valid message of every type, and the inputs built from them that start
 * each fuzz target's corpus: the fuzzer mutates from well-formed messages,
 * so it reaches validation instead of stopping at the first byte.
 */
import { encodeBody } from '../../src/protocol/codec.js';
import { CODEC_IDS, compressBody } from '../../src/protocol/compression.js';
import { encodeCompressedFrame, encodeFrame } from '../../src/protocol/framing.js';
import type { Message } from '../../src/protocol/messages.js';
import type { FuzzTargetName } from './targets.js';

const entry = { path: 'a/b.txt', type: 'file', size: 12, mtimeMs: 1.5, mode: 0o644, hash: '0f'.repeat(32), target: '', version: { b2b2b2b2b2b2b2b2: 3 }, deleted: false, sequence: 7 } as const;

/** A valid message of every type the protocol has. */
export const SEED_MESSAGES: readonly Message[] = [
  { type: 'hello', protocol: 3, id: 'a1'.repeat(32), name: 'desk', listenPort: 7842, intent: 'sync', folders: [{ id: 'docs', indexId: '0123456789abcdef', maxSequence: 42, digest: 'fe'.repeat(16), have: { indexId: 'fedcba9876543210', sequence: 17 } }] },
  {
    type: 'index',
    folder: 'docs',
    indexId: '0123456789abcdef',
    reset: false,
    entries: [entry, { ...entry, path: 'a', type: 'dir', size: 0, hash: '', mode: 0o755, sequence: 8 }, { ...entry, path: 'l', type: 'symlink', size: 0, hash: '', target: 'a/b.txt', mode: 0o777, sequence: 9 }, { ...entry, path: 'gone', size: 0, hash: '', deleted: true, sequence: 10 }],
  },
  { type: 'request', id: 5, folder: 'docs', path: 'a/b.txt', hash: '0f'.repeat(32), offset: 0, length: 4096 },
  { type: 'response', id: 5, data: Buffer.alloc(64, 7) },
  { type: 'files-request', id: 11, folder: 'docs', files: [{ path: 'a/b.txt', hash: '0f'.repeat(32), length: 4096 }, { path: 'a/c.txt', hash: '1e'.repeat(32), length: 10 }] },
  { type: 'files', id: 11, files: [{ path: 'a/b.txt', data: Buffer.alloc(4096, 5) }, { path: 'a/c.txt', code: 'changed', message: 'we no longer have that version' }] },
  { type: 'sums-request', id: 8, folder: 'docs', path: 'a/b.txt', hash: '0f'.repeat(32), blockSize: 1024, first: 0, count: 4, group: 1 },
  { type: 'sums', id: 9, fileSize: 2 ** 20, blockSize: 64 * 1024, first: 0, group: 1, weak: Buffer.alloc(8, 1), strong: Buffer.alloc(32, 2) },
  { type: 'sums', id: 10, fileSize: 2 ** 24, blockSize: 64 * 1024, first: 0, group: 16, weak: Buffer.alloc(0), strong: Buffer.alloc(32, 3) },
  { type: 'error', id: 3, code: 'not-found', message: 'no such file' },
  { type: 'ping' },
  { type: 'pong' },
  { type: 'close', reason: 'bye' },
  { type: 'enrol-offer', ca: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' },
  { type: 'enrol-request', invite: 'ab'.repeat(16), key: Buffer.alloc(91, 4), name: 'laptop', listenPort: 7842, proof: Buffer.alloc(32, 7) },
  { type: 'enrol-grant', cert: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', id: 'c3'.repeat(32), name: 'desk', folders: ['docs'], peers: [{ id: 'd4'.repeat(32), name: 'nas', address: '10.0.0.2:7842', folders: ['docs'] }] },
  { type: 'revocations', list: Buffer.from('{"network":"00","version":1}'), signature: Buffer.alloc(70, 1) },
  { type: 'introduce', peer: { id: 'e5'.repeat(32), name: 'phone', address: '', folders: ['docs'] } },
];

/** Frames of every seed message: raw, and a compressible response under LZ4 and zstd. */
function seedFrames(): Buffer[] {
  const compressible = encodeBody({ type: 'response', id: 1, data: Buffer.alloc(4096, 9) });
  const compressed = (['lz4', 'zstd'] as const).map((codec) => {
    const packed = compressBody({ codec, level: 3 }, compressible);
    if (packed === undefined) throw new Error(`${codec} did not shrink the seed`);
    return encodeCompressedFrame(CODEC_IDS[codec], compressible.length, packed);
  });
  return [...SEED_MESSAGES.map((m) => encodeFrame(encodeBody(m))), ...compressed];
}

/** The starting inputs of each target, by name. */
export function seedInputs(): Record<FuzzTargetName, Buffer[]> {
  const frames = seedFrames();
  return {
    message: SEED_MESSAGES.map((m) => encodeBody(m)),
    // The first byte picks the chunk size; the rest is the stream.
    'frame-stream': [...frames.map((f, i) => Buffer.concat([Buffer.from([i]), f])), Buffer.concat([Buffer.from([0]), ...frames.slice(0, 4)])],
  };
}
