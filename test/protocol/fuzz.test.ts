/**
 * Property-based fuzzing of the wire decoder (THREATS.md §1.6, §7.1 F1-F4,
 * D1): random valid messages of every type decode to exactly what was sent
 * (after the one normalisation the protocol defines: paths in NFC); valid
 * frames mutated at random (bit flips, overwrites, insertions, deletions,
 * truncations, spliced msgpack bombs), streamed in random chunk sizes, either
 * decode to a message that is itself stable or fail with a ProtocolError, and
 * nothing else ever escapes; random bytes are refused. Runs are short (a few
 * hundred cases each) so CI stays fast; FUZZ_RUNS raises them (npm run
 * test:long). Coverage-guided fuzzing of the same decoders is in test/fuzz/.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/core/errors.js';
import type { FileEntry } from '../../src/index/entry.js';
import { decodeMessage, encodeBody } from '../../src/protocol/codec.js';
import { CODEC_IDS, compressBody } from '../../src/protocol/compression.js';
import { encodeCompressedFrame, encodeFrame, FrameDecoder } from '../../src/protocol/framing.js';
import { LIMITS, type HelloFolder, type Message, type MessageType } from '../../src/protocol/messages.js';
import { SEED_MESSAGES } from '../fuzz/seeds.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
/** A property's time limit: a stream case takes up to 15 ms on a loaded 2-core machine. */
const TIMEOUT_MS = Math.max(60_000, RUNS * 30);

const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
// Some components come decomposed (NFD, as macOS writes names): the decoder hands them on in NFC.
const component = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[a-zA-Z0-9][a-zA-Z0-9 _.-]{0,11}$/).filter((c) => !c.endsWith('.') && !c.endsWith(' ')) },
  { weight: 1, arbitrary: fc.constantFrom('cafe\u0301', 'e\u0301te\u0301.txt', 'A\u030angstro\u0308m', '\u00c5ngstr\u00f6m', '日本語', '🎉 party') },
);
const relPath = fc.array(component, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('/')).filter((p) => !p.toLowerCase().startsWith('.wizard'));
// Plain objects, as the decoder builds them (fast-check's dictionaries have no prototype).
const version = fc.dictionary(hex(16), fc.integer({ min: 1, max: 2 ** 40 }), { minKeys: 1, maxKeys: 3 }).map((v) => ({ ...v }));
const counter = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const folderId = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/);
const sequence = fc.integer({ min: 1, max: 2 ** 50 });
// No -0: msgpack writes it as the integer 0, so it would come back as +0 (the same instant).
const mtimeMs = fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => (Object.is(x, -0) ? 0 : x));

const entry: fc.Arbitrary<FileEntry> = fc.oneof(
  fc.record({ path: relPath, type: fc.constant('file' as const), size: counter, mtimeMs, mode: fc.integer({ min: 0, max: 0o7777 }), hash: hex(64), target: fc.constant(''), version, deleted: fc.constant(false), sequence }),
  fc.record({ path: relPath, type: fc.constant('dir' as const), size: fc.constant(0), mtimeMs: fc.integer(), mode: fc.integer({ min: 0, max: 0o7777 }), hash: fc.constant(''), target: fc.constant(''), version, deleted: fc.boolean(), sequence }),
  fc.record({ path: relPath, type: fc.constant('symlink' as const), size: fc.constant(0), mtimeMs: fc.integer(), mode: fc.constant(0o777), hash: fc.constant(''), target: relPath, version, deleted: fc.constant(false), sequence }),
  fc.record({ path: relPath, type: fc.constantFrom('file' as const, 'symlink' as const), size: fc.constant(0), mtimeMs, mode: fc.integer({ min: 0, max: 0o7777 }), hash: fc.constant(''), target: fc.constant(''), version, deleted: fc.constant(true), sequence }),
);

const helloFolder: fc.Arbitrary<HelloFolder> = fc.record({
  id: folderId,
  indexId: hex(16),
  maxSequence: counter,
  digest: hex(32),
  have: fc.record({ indexId: fc.oneof(fc.constant(''), hex(16)), sequence: counter }),
});

const sumsBlockSize = fc.integer({ min: LIMITS.minSumsBlockBytes, max: LIMITS.maxSumsBlockBytes });
/** Sums with per-block weak and strong hashes (group 1), or group digests only. */
const sums = fc.oneof(
  fc.nat(8).chain((blocks) =>
    fc.record({
      type: fc.constant('sums' as const), id: counter, fileSize: counter, blockSize: sumsBlockSize, first: counter, group: fc.constant(1),
      weak: fc.uint8Array({ minLength: 4 * blocks, maxLength: 4 * blocks }).map((a) => Buffer.from(a)),
      strong: fc.uint8Array({ minLength: LIMITS.strongBytes * blocks, maxLength: LIMITS.strongBytes * blocks }).map((a) => Buffer.from(a)),
    }),
  ),
  fc.nat(8).chain((groups) =>
    fc.record({
      type: fc.constant('sums' as const), id: counter, fileSize: counter, blockSize: sumsBlockSize, first: counter, group: fc.integer({ min: 2, max: LIMITS.maxSumsGroup }),
      weak: fc.constant(Buffer.alloc(0)),
      strong: fc.uint8Array({ minLength: LIMITS.strongBytes * groups, maxLength: LIMITS.strongBytes * groups }).map((a) => Buffer.from(a)),
    }),
  ),
);

// eslint-disable-next-line no-control-regex -- a node name with a control character is refused, so none is generated
const nodeName = fc.string({ maxLength: 64 }).filter((n) => !/[\u0000-\u001f\u007f]/.test(n));
const pem = fc.base64String({ minLength: 4, maxLength: 200 }).map((b) => `-----BEGIN CERTIFICATE-----\n${b}\n-----END CERTIFICATE-----\n`);
const introduced = fc.record({ id: hex(64), name: nodeName, address: fc.stringMatching(/^[a-z0-9.:]{0,40}$/), folders: fc.uniqueArray(folderId, { maxLength: 4 }) });

/** One generator per message type; the test below checks that none is missing. */
const messages: { [T in MessageType]: fc.Arbitrary<Extract<Message, { type: T }>> } = {
  hello: fc.record({
    type: fc.constant('hello' as const), protocol: fc.integer({ min: 1, max: 2 ** 31 }), id: hex(64),
    // eslint-disable-next-line no-control-regex -- a node name with a control character is refused, so none is generated
    name: fc.string({ maxLength: 64 }).filter((n) => !/[\u0000-\u001f\u007f]/.test(n)),
    listenPort: fc.integer({ min: 0, max: 65535 }), intent: fc.constantFrom('sync' as const, 'pair' as const),
    folders: fc.uniqueArray(helloFolder, { maxLength: 4, selector: (f) => f.id }),
  }),
  // Paths are unique after NFC: two spellings of one name would be one path listed twice.
  index: fc.record({ type: fc.constant('index' as const), folder: folderId, indexId: hex(16), reset: fc.boolean(), entries: fc.uniqueArray(entry, { maxLength: 5, selector: (e) => e.path.normalize('NFC') }) }),
  request: fc.record({ type: fc.constant('request' as const), id: counter, folder: folderId, path: relPath, hash: hex(64), offset: counter, length: fc.integer({ min: 1, max: LIMITS.maxBlockBytes }) }),
  response: fc.record({ type: fc.constant('response' as const), id: counter, data: fc.uint8Array({ maxLength: 256 }).map((a) => Buffer.from(a)) }),
  'files-request': fc.record({
    type: fc.constant('files-request' as const), id: counter, folder: folderId,
    // Paths are unique after NFC, and 64 small files stay within the byte limit of a batch.
    files: fc.uniqueArray(fc.record({ path: relPath, hash: hex(64), length: fc.integer({ min: 1, max: LIMITS.maxBatchBytes / LIMITS.maxFilesPerRequest }) }), { minLength: 1, maxLength: 4, selector: (f) => f.path.normalize('NFC') }),
  }),
  files: fc.record({
    type: fc.constant('files' as const), id: counter,
    files: fc.array(
      fc.oneof(
        fc.record({ path: relPath, data: fc.uint8Array({ maxLength: 256 }).map((a) => Buffer.from(a)) }),
        fc.record({ path: relPath, code: fc.constantFrom('not-found' as const, 'changed' as const, 'io' as const), message: fc.string({ maxLength: LIMITS.maxMessageChars }) }),
      ),
      { maxLength: 4 },
    ),
  }),
  'sums-request': fc.record({
    type: fc.constant('sums-request' as const), id: counter, folder: folderId, path: relPath, hash: hex(64), blockSize: sumsBlockSize,
    first: counter, count: fc.integer({ min: 1, max: LIMITS.maxSumsPerMessage }), group: fc.integer({ min: 1, max: LIMITS.maxSumsGroup }),
  }),
  sums,
  error: fc.record({ type: fc.constant('error' as const), id: counter, code: fc.constantFrom('not-found' as const, 'changed' as const, 'io' as const), message: fc.string({ maxLength: LIMITS.maxMessageChars }) }),
  ping: fc.constant({ type: 'ping' as const }),
  pong: fc.constant({ type: 'pong' as const }),
  close: fc.record({ type: fc.constant('close' as const), reason: fc.string({ maxLength: LIMITS.maxMessageChars }) }),
  'enrol-offer': fc.record({ type: fc.constant('enrol-offer' as const), ca: pem }),
  'enrol-request': fc.record({
    type: fc.constant('enrol-request' as const), invite: hex(32), key: fc.uint8Array({ maxLength: LIMITS.maxSpkiBytes }).map((a) => Buffer.from(a)),
    name: nodeName, listenPort: fc.integer({ min: 0, max: 65535 }), proof: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((a) => Buffer.from(a)),
  }),
  'enrol-grant': fc.record({
    type: fc.constant('enrol-grant' as const), cert: pem, id: hex(64), name: nodeName,
    folders: fc.uniqueArray(folderId, { maxLength: 4 }), peers: fc.array(introduced, { maxLength: 3 }),
  }),
  revocations: fc.record({
    type: fc.constant('revocations' as const), list: fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a)),
    signature: fc.uint8Array({ maxLength: 128 }).map((a) => Buffer.from(a)),
  }),
  introduce: fc.record({ type: fc.constant('introduce' as const), peer: introduced }),
};
const message: fc.Arbitrary<Message> = fc.oneof(...Object.values(messages));

/** What the receiver must get for `msg`: the same message with its paths in NFC, the protocol's one normalisation. */
function normalised(msg: Message): Message {
  switch (msg.type) {
    case 'index':
      return { ...msg, entries: msg.entries.map((e) => ({ ...e, path: e.path.normalize('NFC') })) };
    case 'request':
    case 'sums-request':
      return { ...msg, path: msg.path.normalize('NFC') };
    case 'files-request':
    case 'files':
      return { ...msg, files: msg.files.map((f) => ({ ...f, path: f.path.normalize('NFC') })) } as Message;
    default:
      return msg;
  }
}

/** Valid frames (raw and compressed) to mutate, one per message type. */
const seedBodies: Buffer[] = SEED_MESSAGES.map((m) => encodeBody(m));
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
  it('every message type has a generator, and a seed for the mutation tests', () => {
    const types: MessageType[] = ['hello', 'index', 'request', 'response', 'files-request', 'files', 'sums-request', 'sums', 'error', 'ping', 'pong', 'close', 'enrol-offer', 'enrol-request', 'enrol-grant', 'revocations', 'introduce'];
    expect(Object.keys(messages).sort()).toEqual([...types].sort());
    expect(new Set(SEED_MESSAGES.map((m) => m.type))).toEqual(new Set(types));
  });

  it('a random valid message of any type decodes to exactly the message sent, paths in NFC', () => {
    const seen = new Set<MessageType>();
    fc.assert(
      fc.property(message, (msg) => {
        seen.add(msg.type);
        const decoded = decodeMessage(encodeBody(msg));
        // toEqual, not toStrictEqual: fast-check builds some records without a prototype; the decoder's are plain.
        expect(decoded).toEqual(normalised(msg));
        expectStable(decoded);
      }),
      { numRuns: RUNS },
    );
    expect(seen.size, 'every type drawn at least once').toBe(Object.keys(messages).length);
  }, TIMEOUT_MS);

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
  }, TIMEOUT_MS);

  it('random bytes are refused with a ProtocolError, or, where they happen to form a valid message, decode to one that re-encodes equal', () => {
    let refused = 0;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const msg = decodeOrRefuse(Buffer.from(bytes));
        if (msg === undefined) refused++;
        else expectStable(msg);
      }),
      { numRuns: RUNS },
    );
    // A map with a valid type and every field right is vanishingly rare in random bytes:
    // a decoder that let garbage through would fail here, not only above.
    expect(refused).toBeGreaterThanOrEqual(RUNS * 0.99);
  }, TIMEOUT_MS);

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
  }, TIMEOUT_MS);

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
