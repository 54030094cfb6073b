/**
 * Property-based fuzzing of the wire decoder (THREATS.md §1.6, §7.1 F1-F4,
 * D1): random valid messages survive decode → encode → decode unchanged;
 * valid frames mutated at random (bit flips, overwrites, insertions,
 * deletions, truncations, spliced msgpack bombs), streamed in random chunk
 * sizes, either decode to a message that is itself stable or fail with a
 * ProtocolError, and nothing else ever escapes. Runs are short (a few hundred
 * cases each) so CI stays fast; FUZZ_RUNS raises them for a longer hunt.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/core/errors.js';
import type { FileEntry } from '../../src/index/entry.js';
import { decodeMessage, encodeBody } from '../../src/protocol/codec.js';
import { CODEC_IDS, compressBody } from '../../src/protocol/compression.js';
import { encodeCompressedFrame, encodeFrame, FrameDecoder } from '../../src/protocol/framing.js';
import type { Message } from '../../src/protocol/messages.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
const component = fc.stringMatching(/^[a-zA-Z0-9][a-zA-Z0-9 _.-]{0,11}$/).filter((c) => !c.endsWith('.') && !c.endsWith(' '));
const relPath = fc.array(component, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('/')).filter((p) => !p.startsWith('.wizard'));
const version = fc.dictionary(hex(16), fc.integer({ min: 1, max: 2 ** 40 }), { minKeys: 1, maxKeys: 3 });
const counter = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });

const entry: fc.Arbitrary<FileEntry> = fc.oneof(
  fc.record({ path: relPath, type: fc.constant('file' as const), size: counter, mtimeMs: fc.double({ noNaN: true, noDefaultInfinity: true }), mode: fc.integer({ min: 0, max: 0o7777 }), hash: hex(64), target: fc.constant(''), version, deleted: fc.constant(false), sequence: fc.integer({ min: 1, max: 2 ** 50 }) }),
  fc.record({ path: relPath, type: fc.constant('dir' as const), size: fc.constant(0), mtimeMs: fc.integer(), mode: fc.integer({ min: 0, max: 0o7777 }), hash: fc.constant(''), target: fc.constant(''), version, deleted: fc.boolean(), sequence: fc.integer({ min: 1, max: 2 ** 50 }) }),
  fc.record({ path: relPath, type: fc.constant('symlink' as const), size: fc.constant(0), mtimeMs: fc.integer(), mode: fc.constant(0o777), hash: fc.constant(''), target: relPath, version, deleted: fc.constant(false), sequence: fc.integer({ min: 1, max: 2 ** 50 }) }),
);

const message: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ type: fc.constant('index' as const), folder: fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/), indexId: hex(16), reset: fc.boolean(), entries: fc.array(entry, { maxLength: 5 }) }),
  fc.record({ type: fc.constant('request' as const), id: counter, folder: fc.constant('docs'), path: relPath, hash: hex(64), offset: counter, length: fc.integer({ min: 1, max: 1024 * 1024 }) }),
  fc.record({ type: fc.constant('response' as const), id: counter, data: fc.uint8Array({ maxLength: 256 }).map((a) => Buffer.from(a)) }),
  fc.record({ type: fc.constant('error' as const), id: counter, code: fc.constantFrom('not-found', 'changed', 'io'), message: fc.string({ maxLength: 40 }) }),
  fc.constant<Message>({ type: 'ping' }),
  fc.constant<Message>({ type: 'pong' }),
  fc.record({ type: fc.constant('close' as const), reason: fc.string({ maxLength: 40 }) }),
);

/** Valid frames (raw and compressed) to mutate, one per message kind. */
const seedBodies: Buffer[] = [
  encodeBody({ type: 'hello', protocol: 3, id: 'a1'.repeat(32), name: 'desk', listenPort: 7842, intent: 'sync', folders: [{ id: 'docs', indexId: '0123456789abcdef', maxSequence: 42, digest: 'fe'.repeat(16), have: { indexId: 'fedcba9876543210', sequence: 17 } }] }),
  encodeBody({ type: 'index', folder: 'docs', indexId: '0123456789abcdef', reset: false, entries: [{ path: 'a/b.txt', type: 'file', size: 12, mtimeMs: 1.5, mode: 0o644, hash: '0f'.repeat(32), target: '', version: { b2b2b2b2b2b2b2b2: 3 }, deleted: false, sequence: 7 }] }),
  encodeBody({ type: 'request', id: 5, folder: 'docs', path: 'a/b.txt', hash: '0f'.repeat(32), offset: 0, length: 4096 }),
  encodeBody({ type: 'response', id: 5, data: Buffer.alloc(64, 7) }),
  encodeBody({ type: 'sums', id: 9, fileSize: 2 ** 20, blockSize: 64 * 1024, first: 0, group: 1, weak: Buffer.alloc(8, 1), strong: Buffer.alloc(32, 2) }),
  encodeBody({ type: 'error', id: 3, code: 'not-found', message: 'no such file' }),
];
const compressible = encodeBody({ type: 'response', id: 1, data: Buffer.alloc(8192, 9) });
const seedFrames: Buffer[] = [
  ...seedBodies.map((b) => encodeFrame(b)),
  ...(['lz4', 'zstd'] as const).map((codec) => {
    const packed = compressBody({ codec, level: 3 }, compressible);
    if (packed === undefined) throw new Error(`${codec} did not shrink the seed`);
    return encodeCompressedFrame(CODEC_IDS[codec], compressible.length, packed);
  }),
];

/** Byte strings that have broken msgpack decoders elsewhere (THREATS.md §5, F3, F4). */
const bombs = [
  [0xdd, 0xff, 0xff, 0xff, 0xff], // array32 of 2^32-1
  [0xdc, 0xff, 0xff, 0xdc, 0xff, 0xff, 0xdc, 0xff, 0xff], // nested array16s (msgpackr#200)
  [0xdf, 0xff, 0xff, 0xff, 0xff], // map32 of 2^32-1
  [0xc6, 0xff, 0xff, 0xff, 0xff], // bin32 past the end
  [0xdb, 0x7f, 0xff, 0xff, 0xff], // str32 past the end
  [0xc1], // reserved
  [0xd4, 0x01, 0x00], // fixext1
  [0xc7, 0x10, 0x72], // ext8 (msgpackr records)
  [0x81, 0xa9, ...Buffer.from('__proto__'), 0x80], // { __proto__: {} }
  [0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // uint64 max
  [0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0], // int64 min
  [0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0], // NaN
].map((b) => Buffer.from(b));

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'bomb'; at: number; bomb: Buffer };

const at = fc.nat({ max: 1 << 16 });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at, bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('set' as const), at, value: fc.constantFrom(0x00, 0x7f, 0x80, 0xc0, 0xc1, 0xdc, 0xdd, 0xde, 0xdf, 0xff) }),
  fc.record({ kind: fc.constant('insert' as const), at, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('delete' as const), at, count: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at }),
  fc.record({ kind: fc.constant('bomb' as const), at, bomb: fc.constantFrom(...bombs) }),
);

/** Applies `m` to `buf` (positions wrap to the buffer's length). */
function mutate(buf: Buffer, m: Mutation, from = 0): Buffer {
  const span = Math.max(1, buf.length - from);
  const i = from + (m.at % span);
  switch (m.kind) {
    case 'flip': {
      const out = Buffer.from(buf);
      if (i < out.length) out[i] = (out[i] ?? 0) ^ (1 << m.bit);
      return out;
    }
    case 'set': {
      const out = Buffer.from(buf);
      if (i < out.length) out[i] = m.value;
      return out;
    }
    case 'insert':
      return Buffer.concat([buf.subarray(0, i), m.bytes, buf.subarray(i)]);
    case 'delete':
      return Buffer.concat([buf.subarray(0, i), buf.subarray(i + m.count)]);
    case 'truncate':
      return buf.subarray(0, i);
    case 'bomb':
      return Buffer.concat([buf.subarray(0, i), m.bomb, buf.subarray(i)]);
  }
}

/** Decodes `body`; undefined when it is refused with a ProtocolError. Any other throw fails the property. */
function decodeOrRefuse(body: Buffer): Message | undefined {
  try {
    return decodeMessage(body);
  } catch (err) {
    if (err instanceof ProtocolError) return undefined;
    throw new Error(`not a ProtocolError: ${String(err)}`, { cause: err });
  }
}

/** A decoded message encodes and decodes back to itself: nothing the decoder accepts is lost or reinterpreted. */
function expectStable(msg: Message): void {
  const again = decodeMessage(encodeBody(msg));
  expect(again).toEqual(msg);
  expect(encodeBody(again).equals(encodeBody(msg))).toBe(true);
}

/** `stream` cut into chunks of the given sizes (the last one takes the rest). */
function chunked(stream: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  for (const n of sizes) {
    if (pos >= stream.length) break;
    out.push(stream.subarray(pos, pos + n));
    pos += n;
  }
  if (pos < stream.length) out.push(stream.subarray(pos));
  return out;
}

describe('protocol fuzzing', () => {
  it('decode → encode → decode is stable for random valid messages', () => {
    fc.assert(
      fc.property(message, (msg) => {
        const decoded = decodeMessage(encodeBody(msg));
        expectStable(decoded);
      }),
      { numRuns: RUNS },
    );
  });

  it('a mutated body decodes to a stable message or fails with a ProtocolError, never anything else', () => {
    let refused = 0;
    fc.assert(
      fc.property(fc.constantFrom(...seedBodies), fc.array(mutation, { minLength: 1, maxLength: 4 }), (seed, muts) => {
        const body = muts.reduce<Buffer>((b, m) => mutate(b, m), seed);
        const msg = decodeOrRefuse(body);
        if (msg === undefined) refused++;
        else expectStable(msg);
      }),
      { numRuns: RUNS },
    );
    // Most mutations must be caught: a decoder that accepted everything would pass the property above.
    expect(refused).toBeGreaterThan(RUNS / 2);
  });

  it('random bytes are refused with a ProtocolError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const msg = decodeOrRefuse(Buffer.from(bytes));
        if (msg !== undefined) expectStable(msg);
      }),
      { numRuns: RUNS },
    );
  });

  it('a stream of frames, mutated or not and cut into random chunks, yields the frames or a ProtocolError', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...seedFrames), { minLength: 1, maxLength: 4 }),
        fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 40 }),
        fc.option(fc.array(mutation, { minLength: 1, maxLength: 3 }), { nil: undefined }),
        (frames, sizes, muts) => {
          const clean = Buffer.concat(frames);
          const stream = muts === undefined ? clean : muts.reduce<Buffer>((b, m) => mutate(b, m), clean);
          const decoder = new FrameDecoder();
          const bodies: Buffer[] = [];
          try {
            for (const chunk of chunked(stream, sizes)) bodies.push(...decoder.push(Buffer.from(chunk)));
          } catch (err) {
            if (!(err instanceof ProtocolError)) throw new Error(`frame decoder threw ${String(err)}`, { cause: err });
            expect(muts, 'an unmutated stream must decode').toBeDefined();
          }
          for (const body of bodies) {
            const msg = decodeOrRefuse(body);
            if (msg !== undefined) expectStable(msg);
          }
          if (muts === undefined) {
            expect(bodies).toHaveLength(frames.length);
            expect(decoder.hasPartialFrame).toBe(false);
            for (const body of bodies) expect(decodeOrRefuse(body)).toBeDefined();
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('F1/F3: holds memory for frames that are announced large but never sent, bounded, not what the header claims', () => {
    // 100 peers each announce a 4 MiB frame and send 10 bytes: the decoders must not reserve 400 MiB.
    const before = process.memoryUsage().arrayBuffers;
    const header = Buffer.alloc(4);
    header.writeUInt32BE(4 * 1024 * 1024, 0);
    const held = Array.from({ length: 100 }, () => {
      const d = new FrameDecoder();
      d.push(Buffer.concat([header, Buffer.alloc(10, 1)]));
      return d;
    });
    const grownMiB = (process.memoryUsage().arrayBuffers - before) / 2 ** 20;
    expect(held.every((d) => d.hasPartialFrame)).toBe(true);
    expect(grownMiB).toBeLessThan(50);
  });
});
