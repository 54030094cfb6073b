import { describe, it, expect, vi } from 'vitest';
import { ProtocolError } from '../../src/core/errors.js';
import { CODEC_IDS, compressBody } from '../../src/protocol/compression.js';
import { encodeCompressedFrame, encodeFrame, FrameDecoder } from '../../src/protocol/framing.js';
import { LIMITS } from '../../src/protocol/messages.js';

/** Deterministic bytes, so a failure reproduces. */
function bytes(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function header(length: number): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(length >>> 0, 0);
  return h;
}

/** Pushes `stream` in chunks of `chunkBytes` and collects every frame. */
function feed(decoder: FrameDecoder, stream: Buffer, chunkBytes: number): Buffer[] {
  const frames: Buffer[] = [];
  for (let i = 0; i < stream.length; i += chunkBytes) frames.push(...decoder.push(stream.subarray(i, i + chunkBytes)));
  return frames;
}

describe('encodeFrame', () => {
  it('prefixes the big-endian length', () => {
    expect(encodeFrame(Buffer.from([7, 8, 9]))).toEqual(Buffer.from([0, 0, 0, 3, 7, 8, 9]));
  });

  const rejected: { description: string; body: Uint8Array; message: string }[] = [
    { description: 'an empty body', body: new Uint8Array(0), message: 'empty' },
    { description: 'a body over maxFrameBytes', body: new Uint8Array(LIMITS.maxFrameBytes + 1), message: 'exceeds' },
  ];
  for (const c of rejected) {
    it(`rejects ${c.description}`, () => {
      expect(() => encodeFrame(c.body)).toThrow(ProtocolError);
      expect(() => encodeFrame(c.body)).toThrow(c.message);
    });
  }
});

describe('FrameDecoder', () => {
  const bodies = [bytes(1, 1), bytes(100, 2), bytes(70_000, 3), bytes(5, 4), bytes(200_000, 5)];
  const stream = Buffer.concat(bodies.map((b) => encodeFrame(b)));

  /** The same stream cut into chunks of different sizes must give the same frames. */
  const chunkings: { description: string; chunkBytes: number }[] = [
    { description: 'the whole stream in one chunk', chunkBytes: stream.length },
    { description: 'one byte at a time', chunkBytes: 1 },
    { description: 'three bytes at a time (headers split)', chunkBytes: 3 },
    { description: '4 KiB chunks', chunkBytes: 4096 },
    { description: 'chunks of 65,537 bytes', chunkBytes: 65_537 },
  ];
  for (const c of chunkings) {
    it(`round-trips ${c.description}`, () => {
      const decoder = new FrameDecoder();
      const frames = feed(decoder, stream, c.chunkBytes);
      expect(frames).toHaveLength(bodies.length);
      frames.forEach((frame, i) => expect(frame.equals(bodies[i] ?? Buffer.alloc(0))).toBe(true));
      expect(decoder.hasPartialFrame).toBe(false);
    });
  }

  it('F2: returns many frames from one chunk', () => {
    const many = Array.from({ length: 1000 }, (_, i) => bytes(1 + (i % 17), i + 1));
    const frames = new FrameDecoder().push(Buffer.concat(many.map((b) => encodeFrame(b))));
    expect(frames).toHaveLength(1000);
    frames.forEach((frame, i) => expect(frame.equals(many[i] ?? Buffer.alloc(0))).toBe(true));
  });

  it('F2: holds a partial frame until it completes', () => {
    const decoder = new FrameDecoder();
    const frame = encodeFrame(bytes(10, 9));
    expect(decoder.push(frame.subarray(0, 2))).toEqual([]);
    expect(decoder.hasPartialFrame).toBe(true);
    expect(decoder.push(frame.subarray(2, 9))).toEqual([]);
    expect(decoder.push(frame.subarray(9))).toHaveLength(1);
    expect(decoder.hasPartialFrame).toBe(false);
  });

  it('ignores empty chunks', () => {
    const decoder = new FrameDecoder();
    expect(decoder.push(Buffer.alloc(0))).toEqual([]);
    expect(decoder.hasPartialFrame).toBe(false);
  });

  it('issue 17: a body arriving in TLS-record pieces is held in at most two buffers, the second of its own length, and a short send holds 64 KiB', () => {
    const body = bytes(1024 * 1024, 12);
    const stream = Buffer.concat([encodeFrame(body), encodeFrame(bytes(10, 13))]);
    const big = encodeFrame(bytes(LIMITS.maxFrameBytes, 14));
    const alloc = vi.spyOn(Buffer, 'allocUnsafe');
    try {
      const frames = feed(new FrameDecoder(), stream, 16 * 1024);
      expect(frames).toHaveLength(2);
      expect(frames[0]?.equals(body)).toBe(true);
      // Doubling from 64 KiB made 64 KiB, 128, 256, 512 KiB and 1 MiB, copying each into the next.
      expect(alloc.mock.calls.map(([size]) => size)).toEqual([64 * 1024, 1024 * 1024]);
      alloc.mockClear();
      // A peer that announces 4 MiB and sends 10 bytes holds 64 KiB, not 4 MiB.
      const decoder = new FrameDecoder();
      expect(decoder.push(big.subarray(0, 14))).toEqual([]);
      expect(alloc.mock.calls.map(([size]) => size)).toEqual([64 * 1024]);
    } finally {
      alloc.mockRestore();
    }
  });

  it('accepts a body of exactly maxFrameBytes', () => {
    const body = bytes(LIMITS.maxFrameBytes, 11);
    const frames = feed(new FrameDecoder(), encodeFrame(body), 64 * 1024);
    expect(frames).toHaveLength(1);
    expect(frames[0]?.equals(body)).toBe(true);
  });

  /** Headers that must be refused as soon as their 4 bytes are in, with nothing of a body sent. */
  const badHeaders: { description: string; length: number; maxFrameBytes?: number; message: string }[] = [
    { description: 'length 0', length: 0, message: 'too short' },
    { description: 'length 0xFFFFFFFF', length: 0xffffffff, message: 'unknown codec 255' },
    { description: 'raw length 0x00FFFFFF', length: 0x00ffffff, message: 'exceeds' },
    { description: 'codec 3', length: 0x03000010, message: 'unknown codec 3' },
    { description: 'a compressed frame too short for its raw length', length: 0x01000004, message: 'too short' },
    { description: 'one byte over maxFrameBytes', length: LIMITS.maxFrameBytes + 1, message: 'exceeds' },
    { description: 'over a custom limit', length: 101, maxFrameBytes: 100, message: 'exceeds the limit of 100' },
  ];
  for (const c of badHeaders) {
    it(`F1: rejects ${c.description} on the header alone`, () => {
      const decoder = new FrameDecoder(c.maxFrameBytes === undefined ? {} : { maxFrameBytes: c.maxFrameBytes });
      expect(() => decoder.push(header(c.length))).toThrow(ProtocolError);
    });
    it(`names the problem for ${c.description}`, () => {
      const decoder = new FrameDecoder(c.maxFrameBytes === undefined ? {} : { maxFrameBytes: c.maxFrameBytes });
      expect(() => decoder.push(header(c.length))).toThrow(c.message);
    });
  }

  it('rejects a bad header split over single bytes on its fourth byte', () => {
    const decoder = new FrameDecoder();
    const h = header(0xffffffff);
    for (let i = 0; i < 3; i++) expect(decoder.push(h.subarray(i, i + 1))).toEqual([]);
    expect(() => decoder.push(h.subarray(3))).toThrow(ProtocolError);
  });

  it('returns the good frames before a bad header, then stays dead', () => {
    const decoder = new FrameDecoder();
    const good = encodeFrame(bytes(3, 12));
    expect(decoder.push(good)).toHaveLength(1);
    expect(() => decoder.push(header(0))).toThrow(ProtocolError);
    expect(() => decoder.push(good)).toThrow(ProtocolError);
    expect(() => decoder.push(good)).toThrow('failed earlier');
  });
});

describe('compressed frames', () => {
  const text = Buffer.from('the quick brown fox jumps over the lazy dog. '.repeat(2000));
  const choices = [
    { codec: 'lz4', level: 0 },
    { codec: 'zstd', level: 1 },
    { codec: 'zstd', level: 9 },
  ] as const;

  for (const choice of choices) {
    it(`round-trips a body compressed with ${choice.codec}-${choice.level}, in any chunking`, () => {
      const payload = compressBody(choice, text);
      expect(payload).toBeDefined();
      const frame = encodeCompressedFrame(CODEC_IDS[choice.codec], text.length, payload!);
      expect(frame.length).toBeLessThan(text.length / 10);
      for (const chunk of [1, 7, frame.length]) {
        const frames = feed(new FrameDecoder(), Buffer.concat([frame, encodeFrame(bytes(5, 1))]), chunk);
        expect(frames).toHaveLength(2);
        expect(frames[0]?.equals(text)).toBe(true);
      }
    });
  }

  it('gives up compressing data that does not shrink', () => {
    expect(compressBody({ codec: 'lz4', level: 0 }, bytes(64 * 1024, 3))).toBeUndefined();
    expect(compressBody({ codec: 'zstd', level: 3 }, bytes(64 * 1024, 3))).toBeUndefined();
  });

  /** A compressed frame with a raw-length prefix of `rawLength` in front of `payload`. */
  function forged(codec: number, rawLength: number, payload: Buffer): Buffer {
    const frame = Buffer.alloc(8 + payload.length);
    frame.writeUInt32BE(((codec << 24) | (payload.length + 4)) >>> 0, 0);
    frame.writeUInt32BE(rawLength >>> 0, 4);
    payload.copy(frame, 8);
    return frame;
  }

  it('D1: refuses a raw length over the frame limit before decompressing anything', () => {
    const payload = compressBody({ codec: 'zstd', level: 1 }, text)!;
    expect(() => new FrameDecoder({ maxFrameBytes: 1000 }).push(forged(CODEC_IDS.zstd, text.length, payload))).toThrow('limit is 1000');
    expect(() => new FrameDecoder().push(forged(CODEC_IDS.lz4, 0xffffffff, payload))).toThrow('limit');
  });

  for (const codec of ['lz4', 'zstd'] as const) {
    it(`D1: refuses a ${codec} body that expands past its announced raw length (a bomb)`, () => {
      const bomb = compressBody({ codec, level: 1 }, Buffer.alloc(1024 * 1024))!;
      const decoder = new FrameDecoder();
      expect(() => decoder.push(forged(CODEC_IDS[codec], 1000, bomb))).toThrow(ProtocolError);
      expect(() => decoder.push(encodeFrame(bytes(5, 1)))).toThrow('failed earlier');
    });

    it(`refuses a ${codec} body that decodes short of its announced raw length`, () => {
      const payload = compressBody({ codec, level: 1 }, text)!;
      expect(() => new FrameDecoder().push(forged(CODEC_IDS[codec], text.length + 10, payload))).toThrow(ProtocolError);
    });

    it(`D1: refuses a corrupt ${codec} body`, () => {
      expect(() => new FrameDecoder().push(forged(CODEC_IDS[codec], 5000, bytes(300, 9)))).toThrow(ProtocolError);
    });
  }

  it('will not frame a payload that did not shrink', () => {
    expect(() => encodeCompressedFrame(CODEC_IDS.lz4, 10, Buffer.alloc(10))).toThrow(ProtocolError);
  });
});

describe('FrameDecoder.next: one frame at a time, judged when it is reached (item 4)', () => {
  const compressible = Buffer.alloc(20_000, 0x61);
  const zstdFrame = (): Buffer => {
    const packed = compressBody({ codec: 'zstd', level: 3 }, compressible);
    if (packed === undefined) throw new Error('did not compress');
    return encodeCompressedFrame(CODEC_IDS.zstd, compressible.length, packed);
  };

  it('reads nothing of a chunk until asked, then one frame per call', () => {
    const decoder = new FrameDecoder();
    decoder.append(Buffer.concat([encodeFrame(bytes(10, 1)), encodeFrame(bytes(20, 2)), header(5)]));
    expect(decoder.hasPartialFrame).toBe(true);
    expect(decoder.next()?.body.length).toBe(10);
    expect(decoder.next()?.body.length).toBe(20);
    expect(decoder.next()).toBeUndefined();
    decoder.append(bytes(5, 3));
    expect(decoder.next()?.body.equals(bytes(5, 3))).toBe(true);
    expect(decoder.hasPartialFrame).toBe(false);
  });

  it('applies the rules of the moment it reaches a frame: a compressed frame after a raw one is refused only under raw-only rules', () => {
    const stream = Buffer.concat([encodeFrame(bytes(10, 1)), zstdFrame()]);
    const lenient = new FrameDecoder();
    lenient.append(stream);
    expect(lenient.next({ compressed: false })?.codec).toBe(CODEC_IDS.none);
    const frame = lenient.next({ compressed: true });
    expect(frame?.codec).toBe(CODEC_IDS.zstd);
    expect(lenient.open(frame!).equals(compressible)).toBe(true);

    const strict = new FrameDecoder();
    strict.append(stream);
    expect(strict.next({ compressed: false })?.codec).toBe(CODEC_IDS.none);
    expect(() => strict.next({ compressed: false })).toThrow('a compressed frame (codec 2) is not accepted yet');
  });

  it('refuses a frame over the size the rules allow on its header alone', () => {
    const decoder = new FrameDecoder();
    decoder.append(header(1001));
    expect(() => decoder.next({ maxBytes: 1000 })).toThrow('exceeds the limit of 1000');
  });

  it('does not decompress a frame until it is opened, and then to at most the raw size asked', () => {
    const decoder = new FrameDecoder();
    decoder.append(zstdFrame());
    const frame = decoder.next();
    expect(frame?.body.length).toBeLessThan(compressible.length);
    expect(() => decoder.open(frame!, compressible.length - 1)).toThrow(`claims ${compressible.length} raw bytes, the limit is ${compressible.length - 1}`);
  });
});
