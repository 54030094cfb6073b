import { Packr, unpack } from 'msgpackr';
import { describe, it, expect } from 'vitest';
import { ProtocolError } from '../../src/core/errors.js';
import type { FileEntry } from '../../src/index/entry.js';
import { decodeMessage, encodeMessage, MAX_NESTING } from '../../src/protocol/codec.js';
import { FrameDecoder } from '../../src/protocol/framing.js';
import { LIMITS, type Message } from '../../src/protocol/messages.js';

const nodeA = 'a1'.repeat(32);
const shortA = nodeA.slice(0, 16);
const hashX = '0f'.repeat(32);

const fileA: FileEntry = {
  path: 'notes/caf\u00e9.txt',
  type: 'file',
  size: 12,
  mtimeMs: 1_700_000_000_123.25,
  mode: 0o644,
  hash: hashX,
  target: '',
  version: { [shortA]: 3, b2b2b2b2b2b2b2b2: 1 },
  deleted: false,
  sequence: 2 ** 40 + 1,
};
const linkL: FileEntry = { ...fileA, path: 'l', type: 'symlink', size: 0, hash: '', target: '../x', sequence: 8 };
const goneG: FileEntry = { ...fileA, path: 'g', size: 0, hash: '', deleted: true, mtimeMs: 0, sequence: 9 };

/** One valid message of every type. */
const everyMessage: { description: string; msg: Message }[] = [
  {
    description: 'hello',
    msg: {
      type: 'hello',
      protocol: 1,
      id: nodeA,
      name: 'desk \u{1F5A5}',
      listenPort: 7842,
      intent: 'sync',
      folders: [
        { id: 'docs', indexId: '0123456789abcdef', maxSequence: 42, digest: 'fe'.repeat(16), have: { indexId: 'fedcba9876543210', sequence: 17 } },
        { id: 'new', indexId: 'aaaaaaaaaaaaaaaa', maxSequence: 0, digest: '0'.repeat(32), have: { indexId: '', sequence: 0 } },
      ],
    },
  },
  {
    description: 'hello to pair',
    msg: { type: 'hello', protocol: 1, id: nodeA, name: '', listenPort: 0, intent: 'pair', folders: [] },
  },
  {
    description: 'index',
    msg: { type: 'index', folder: 'docs', indexId: '0123456789abcdef', reset: false, entries: [fileA, linkL, goneG] },
  },
  {
    description: 'empty reset index',
    msg: { type: 'index', folder: 'docs', indexId: '0123456789abcdef', reset: true, entries: [] },
  },
  {
    description: 'request',
    msg: { type: 'request', id: 2 ** 32 + 5, folder: 'docs', path: fileA.path, hash: hashX, offset: 2 ** 33, length: LIMITS.maxBlockBytes },
  },
  { description: 'response', msg: { type: 'response', id: 1, data: Buffer.from([0, 1, 2, 0xff]) } },
  { description: 'full-size response', msg: { type: 'response', id: 1, data: Buffer.alloc(LIMITS.maxBlockBytes, 7) } },
  { description: 'empty response', msg: { type: 'response', id: 1, data: Buffer.alloc(0) } },
  {
    description: 'sums-request',
    msg: { type: 'sums-request', id: 9, folder: 'docs', path: fileA.path, hash: hashX, blockSize: 40 * 1024, first: 3, count: LIMITS.maxSumsPerMessage, group: 1 },
  },
  {
    description: 'sums',
    msg: { type: 'sums', id: 9, fileSize: 2 ** 33, blockSize: 64 * 1024, first: 3, group: 1, weak: Buffer.alloc(8, 1), strong: Buffer.alloc(2 * LIMITS.strongBytes, 2) },
  },
  { description: 'error', msg: { type: 'error', id: 3, code: 'not-found', message: 'no such file' } },
  { description: 'ping', msg: { type: 'ping' } },
  { description: 'pong', msg: { type: 'pong' } },
  { description: 'close', msg: { type: 'close', reason: 'protocol version' } },
];

/**
 * Deep equality, but binary data compared with Buffer.equals: vitest's
 * element-by-element comparison takes seconds on a 1 MiB block.
 */
function expectSameMessage(actual: Message, expected: Message): void {
  if (actual.type === 'response' && expected.type === 'response') {
    expect(Buffer.isBuffer(actual.data)).toBe(true);
    expect(Buffer.from(actual.data).equals(Buffer.from(expected.data))).toBe(true);
    expect({ ...actual, data: null }).toEqual({ ...expected, data: null });
  } else {
    expect(actual).toEqual(expected);
  }
}

/** A plain msgpack encoder for building hostile bodies. */
const rawPackr = new Packr({ useRecords: false });

function decodeFramed(frame: Buffer): Message {
  const frames = new FrameDecoder().push(frame);
  expect(frames).toHaveLength(1);
  return decodeMessage(frames[0] ?? Buffer.alloc(0));
}

describe('codec round trip', () => {
  for (const c of everyMessage) {
    it(c.description, () => {
      expectSameMessage(decodeFramed(encodeMessage(c.msg)), c.msg);
    });
  }

  it('sends a Uint8Array as binary and returns a Buffer', () => {
    const out = decodeFramed(encodeMessage({ type: 'response', id: 9, data: new Uint8Array([5, 6, 7]) }));
    expect(out).toEqual({ type: 'response', id: 9, data: Buffer.from([5, 6, 7]) });
  });

  it('writes a plain msgpack map that a default decoder reads', () => {
    const frame = encodeMessage(everyMessage[2]?.msg ?? { type: 'ping' });
    const body = frame.subarray(4);
    // fixmap: a plain map, not a msgpackr record (which starts with an extension byte).
    expect(body[0]).toBe(0x85);
    expect(unpack(body)).toMatchObject({ type: 'index', folder: 'docs' });
  });

  it('reads small integers written as uint64 by another encoder', () => {
    // { type: 'error', id: uint64 7, code: 'io', message: '' }
    const body = Buffer.concat([
      Buffer.from([0x84, 0xa4]), Buffer.from('type'), Buffer.from([0xa5]), Buffer.from('error'),
      Buffer.from([0xa2]), Buffer.from('id'), Buffer.from([0xcf, 0, 0, 0, 0, 0, 0, 0, 7]),
      Buffer.from([0xa4]), Buffer.from('code'), Buffer.from([0xa2]), Buffer.from('io'),
      Buffer.from([0xa7]), Buffer.from('message'), Buffer.from([0xa0]),
    ]);
    expect(decodeMessage(body)).toEqual({ type: 'error', id: 7, code: 'io', message: '' });
  });
});

/** `{ type: 'request', ..., id: <raw msgpack bytes> }`, for integer encodings msgpackr would not produce. */
function requestWithRawId(idBytes: number[]): Buffer {
  const rest = rawPackr.pack({ type: 'request', folder: 'docs', path: 'a', hash: hashX, offset: 0, length: 1 });
  // rest is a map16 of 6 entries (0xde 0x00 0x06); add one entry.
  return Buffer.concat([Buffer.from([0xde, 0x00, 0x07, 0xa2]), Buffer.from('id'), Buffer.from(idBytes), rest.subarray(3)]);
}

describe('F3/F4: decodeMessage rejects hostile bodies', () => {
  /** Each body must give a ProtocolError whose message contains `mentions`. */
  const cases: { description: string; body: Buffer; mentions: string }[] = [
    { description: 'an empty body', body: Buffer.alloc(0), mentions: 'end of data' },
    { description: '100,000 nested arrays (0x91 ...)', body: Buffer.alloc(100_000, 0x91), mentions: 'nesting' },
    {
      description: `nesting of ${MAX_NESTING + 1} maps`,
      body: Buffer.concat([...Array.from({ length: MAX_NESTING + 1 }, () => Buffer.from([0x81, 0xa1, 0x6b])), Buffer.from([0xc0])]),
      mentions: 'nesting',
    },
    {
      description: 'a map claiming 2^32-1 entries',
      body: Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 0x61, 0x01]),
      mentions: 'container',
    },
    {
      description: 'an array claiming 2^32-1 items',
      body: Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff, 0x01]),
      mentions: 'container',
    },
    {
      description: '24,000 nested array16 headers (dc ff ff)',
      body: Buffer.concat(Array.from({ length: 24_000 }, () => Buffer.from([0xdc, 0xff, 0xff]))),
      mentions: 'nesting',
    },
    {
      description: 'a str32 longer than the body',
      body: Buffer.from([0xdb, 0xff, 0xff, 0xff, 0xff, 0x61]),
      mentions: 'past the end',
    },
    {
      description: 'a bin32 longer than the body',
      body: Buffer.from([0xc6, 0x00, 0x01, 0x00, 0x00, 0x00]),
      mentions: 'past the end',
    },
    { description: 'P2: a string that is not valid UTF-8', body: Buffer.from([0xa3, 0x61, 0xff, 0xfe]), mentions: 'UTF-8' },
    { description: 'P2: a lone surrogate encoded as CESU bytes', body: Buffer.from([0xa3, 0xed, 0xa0, 0x80]), mentions: 'UTF-8' },
    { description: 'a truncated length field', body: Buffer.from([0xdb, 0xff]), mentions: 'end of data' },
    { description: 'a truncated float64', body: Buffer.from([0xcb, 0x00]), mentions: 'past the end' },
    { description: 'a map missing its last value', body: Buffer.from([0x81, 0xa1, 0x61]), mentions: 'end of data' },
    {
      description: 'bytes after the message',
      body: Buffer.concat([rawPackr.pack({ type: 'ping' }), Buffer.from([0x00])]),
      mentions: 'after the message',
    },
    { description: 'the reserved byte 0xc1', body: Buffer.from([0xc1]), mentions: '0xc1' },
    { description: 'a timestamp extension', body: Buffer.from([0xd6, 0xff, 0, 0, 0, 1]), mentions: 'extension' },
    {
      description: 'a structured-clone reference extension',
      body: Buffer.from([0xd4, 0x69, 0x00]),
      mentions: 'extension',
    },
    { description: 'an unknown extension', body: Buffer.from([0xc7, 0x01, 0x05, 0x00]), mentions: 'extension' },
    {
      description: 'a msgpackr record',
      body: new Packr({ useRecords: true }).pack({ type: 'ping' }),
      mentions: 'extension',
    },
    {
      description: 'a Date inside a message',
      body: new Packr({ useRecords: false }).pack({ type: 'close', reason: new Date(0) }),
      mentions: 'extension',
    },
    { description: 'a map with an integer key', body: Buffer.from([0x81, 0x01, 0x02]), mentions: 'key' },
    { description: 'a map with a map key', body: Buffer.from([0x81, 0x80, 0x02]), mentions: 'key' },
    { description: 'a top-level array', body: rawPackr.pack([{ type: 'ping' }]), mentions: 'map' },
    { description: 'a top-level string', body: rawPackr.pack('ping'), mentions: 'map' },
    { description: 'an unknown message type', body: rawPackr.pack({ type: 'gossip' }), mentions: 'unknown type' },
    {
      description: 'a valid map breaking a rule',
      body: rawPackr.pack({ type: 'request', id: 1, folder: 'docs', path: '../x', hash: hashX, offset: 0, length: 1 }),
      mentions: 'path',
    },
    {
      description: 'an id past 2^53 as uint64',
      body: requestWithRawId([0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0]),
      mentions: 'id',
    },
    {
      description: 'a negative id as int64',
      body: requestWithRawId([0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      mentions: 'id',
    },
    { description: 'a float id', body: requestWithRawId([0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]), mentions: 'id' },
  ];
  for (const c of cases) {
    it(c.description, () => {
      expect(() => decodeMessage(c.body)).toThrow(ProtocolError);
      expect(() => decodeMessage(c.body)).toThrow(c.mentions);
    });
  }

  it('F3: refuses a huge map claim without trying to fill it', () => {
    const body = Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 0x61, 0x01]);
    const started = performance.now();
    expect(() => decodeMessage(body)).toThrow(ProtocolError);
    // Generous: the check is a comparison; a decoder looping 2^32 times would take minutes.
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('still decodes after a hostile body (no decoder state left behind)', () => {
    expect(() => decodeMessage(Buffer.alloc(100_000, 0x91))).toThrow(ProtocolError);
    expect(decodeMessage(rawPackr.pack({ type: 'pong' }))).toEqual({ type: 'pong' });
  });
});

describe('F4: __proto__ from the wire', () => {
  it('drops a __proto__ key on a message and pollutes nothing', () => {
    const body = rawPackr.pack(JSON.parse('{"type":"ping","__proto__":{"polluted":1,"type":"hello"}}'));
    expect(body.includes(Buffer.from('__proto__'))).toBe(true);
    const out = decodeMessage(body);
    expect(out).toEqual({ type: 'ping' });
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects a __proto__ key in a version vector and pollutes nothing', () => {
    const entry: unknown = JSON.parse(JSON.stringify(fileA).replace('"version":{', '"version":{"__proto__":{"polluted":1},'));
    const body = rawPackr.pack({ type: 'index', folder: 'docs', indexId: '0123456789abcdef', reset: false, entries: [entry] });
    expect(body.includes(Buffer.from('__proto__'))).toBe(true);
    expect(() => decodeMessage(body)).toThrow(ProtocolError);
    expect(() => decodeMessage(body)).toThrow('version');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
