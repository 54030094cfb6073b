/**
 * Length-prefixed frames: a 4-byte unsigned big-endian header, then the body.
 * The header's top byte names the body's codec (0 raw, 1 LZ4, 2 zstd; see
 * compression.ts), its low 24 bits the body's length on the wire. A
 * compressed body starts with its 4-byte raw length. Both lengths are checked
 * before any byte is held or allocated, so a peer cannot make us reserve
 * memory by announcing a large frame, nor expand a small one past the limit.
 */
import type { BlockBuffers } from '../core/block-buffers.js';
import { ProtocolError } from '../core/errors.js';
import { CODEC_IDS, decompressBody } from './compression.js';
import { LIMITS } from './messages.js';

/** Bytes of the frame header. */
export const FRAME_HEADER_BYTES = 4;
/** Bytes of the raw-length prefix of a compressed body. */
const RAW_LENGTH_BYTES = 4;
/** Bits of the header that hold the body length. */
const LENGTH_BITS = 24;
const LENGTH_MASK = (1 << LENGTH_BITS) - 1;

/**
 * First allocation for a body that arrives in pieces. Once the peer has sent
 * more than this, the buffer grows at once to the announced length (already
 * checked against what may come now), so a body is copied about once: a peer
 * that announces 4 MiB but sends 10 bytes holds 64 KiB, not 4 MiB, and one
 * that sends 64 KiB holds at most one frame's limit. Growing by doubling
 * instead copied a 1 MiB block (16 TLS records of 64 KiB) almost twice over.
 */
const MIN_BODY_CAPACITY = 64 * 1024;

/** Frames `body`. Throws ProtocolError for an empty body or one over `LIMITS.maxFrameBytes`. */
export function encodeFrame(body: Uint8Array): Buffer {
  if (body.length === 0) throw new ProtocolError('encoding frame: empty body');
  if (body.length > LIMITS.maxFrameBytes) {
    throw new ProtocolError(`encoding frame: body of ${body.length} bytes exceeds ${LIMITS.maxFrameBytes}`);
  }
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  frame.writeUInt32BE(body.length, 0);
  frame.set(body, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * Frames `payload`, the compression with codec `codecId` of a body of
 * `rawLength` bytes. The caller sends the raw body instead when compression
 * does not make it smaller, so the wire length stays under the frame limit.
 */
export function encodeCompressedFrame(codecId: number, rawLength: number, payload: Uint8Array): Buffer {
  if (codecId !== CODEC_IDS.lz4 && codecId !== CODEC_IDS.zstd) throw new ProtocolError(`encoding frame: unknown codec ${codecId}`);
  if (rawLength === 0 || rawLength > LIMITS.maxFrameBytes || payload.length >= rawLength) {
    throw new ProtocolError(`encoding frame: compressed body of ${payload.length} bytes for ${rawLength} raw bytes`);
  }
  const wireLength = RAW_LENGTH_BYTES + payload.length;
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + wireLength);
  frame.writeUInt32BE(((codecId << LENGTH_BITS) | wireLength) >>> 0, 0);
  frame.writeUInt32BE(rawLength, FRAME_HEADER_BYTES);
  frame.set(payload, FRAME_HEADER_BYTES + RAW_LENGTH_BYTES);
  return frame;
}

/** Options of a FrameDecoder. */
export interface FrameDecoderOptions {
  /** Largest body accepted; defaults to `LIMITS.maxFrameBytes`. */
  readonly maxFrameBytes?: number;
  /** Where a body that arrives in pieces gets its whole buffer when the pool has one of its size (block answers): see block-bodies.ts. */
  readonly buffers?: Pick<BlockBuffers, 'take'>;
}

/** What the next frame may be, decided by the reader at the moment its header is read. */
export interface FrameRules {
  /** Largest body on the wire; never above the decoder's own limit. */
  readonly maxBytes?: number;
  /** Whether a compressed body is accepted (default true). */
  readonly compressed?: boolean;
}

/** One frame as it came off the wire: its codec and its body, not yet decompressed. */
export interface WireFrame {
  readonly codec: number;
  readonly body: Buffer;
}

/**
 * Splits a byte stream into frames. `append` each chunk in order, then take
 * frames with `next` one at a time: a frame's header is read and checked only
 * when `next` reaches it, under the rules of that moment, and its body is
 * decompressed only by `openFrame`. So a chunk full of frames costs nothing
 * until the reader gets to each, and a frame that follows a Hello is judged by
 * what the Hello allowed. A body that arrives whole inside one chunk is a view
 * of that chunk (no copy), so chunks must not be modified after they are appended.
 *
 * A bad length throws ProtocolError, and the decoder stays failed: every
 * later call throws too, because the stream can no longer be resynchronised.
 */
export class FrameDecoder {
  readonly #maxFrameBytes: number;
  /** Appended bytes not yet read, oldest first; the first is read from #offset. */
  readonly #chunks: Buffer[] = [];
  #offset = 0;
  readonly #header = Buffer.alloc(FRAME_HEADER_BYTES);
  #headerFilled = 0;
  /** Body length of the frame being read; -1 while reading a header. */
  #bodyLength = -1;
  /** Codec of the frame being read. */
  #codec = 0;
  #body: Buffer | null = null;
  #bodyFilled = 0;
  #failure: ProtocolError | null = null;

  readonly #buffers: Pick<BlockBuffers, 'take'> | undefined;

  constructor(opts: FrameDecoderOptions = {}) {
    this.#maxFrameBytes = opts.maxFrameBytes ?? LIMITS.maxFrameBytes;
    this.#buffers = opts.buffers;
  }

  /** True when bytes of an unfinished frame are held: the stream must not end here. */
  get hasPartialFrame(): boolean {
    return this.#headerFilled > 0 || this.#bodyLength >= 0 || this.#chunks.length > 0;
  }

  /** Appends `chunk`; `next` reads frames from it. */
  append(chunk: Buffer): void {
    this.#checkAlive();
    if (chunk.length > 0) this.#chunks.push(chunk);
  }

  /**
   * The next complete frame, or undefined when the bytes appended so far do
   * not complete one. Checks the frame's header against `rules` and the
   * decoder's limit when it reads it.
   */
  next(rules: FrameRules = {}): WireFrame | undefined {
    this.#checkAlive();
    for (;;) {
      const chunk = this.#chunks[0];
      if (chunk === undefined) return undefined;
      let pos = this.#offset;
      let frame: WireFrame | undefined;
      if (this.#bodyLength < 0) {
        const n = Math.min(FRAME_HEADER_BYTES - this.#headerFilled, chunk.length - pos);
        chunk.copy(this.#header, this.#headerFilled, pos, pos + n);
        this.#headerFilled += n;
        pos += n;
        if (this.#headerFilled === FRAME_HEADER_BYTES) {
          this.#headerFilled = 0;
          this.#bodyLength = this.#checkHeader(this.#header.readUInt32BE(0), rules);
        }
      } else if (this.#bodyFilled === 0 && chunk.length - pos >= this.#bodyLength) {
        frame = { codec: this.#codec, body: chunk.subarray(pos, pos + this.#bodyLength) };
        pos += this.#bodyLength;
        this.#bodyLength = -1;
      } else {
        const n = Math.min(this.#bodyLength - this.#bodyFilled, chunk.length - pos);
        const body = this.#reserve(this.#bodyFilled + n);
        chunk.copy(body, this.#bodyFilled, pos, pos + n);
        this.#bodyFilled += n;
        pos += n;
        if (this.#bodyFilled === this.#bodyLength) {
          // #reserve never grows past the body length, so the buffer is exactly the body.
          frame = { codec: this.#codec, body };
          this.#body = null;
          this.#bodyFilled = 0;
          this.#bodyLength = -1;
        }
      }
      if (pos >= chunk.length) {
        this.#chunks.shift();
        this.#offset = 0;
      } else this.#offset = pos;
      if (frame !== undefined) return frame;
    }
  }

  /** Appends `chunk` and returns every frame body now complete, decompressed: for tools and tests that want them all at once. */
  push(chunk: Buffer): Buffer[] {
    this.append(chunk);
    const bodies: Buffer[] = [];
    for (let frame = this.next(); frame !== undefined; frame = this.next()) bodies.push(this.open(frame));
    return bodies;
  }

  /** The body of `frame`, decompressed when its codec says so, to at most `maxRawBytes` (default: the decoder's limit). */
  open(frame: WireFrame, maxRawBytes = this.#maxFrameBytes): Buffer {
    try {
      return openFrame(frame, Math.min(maxRawBytes, this.#maxFrameBytes));
    } catch (err) {
      if (err instanceof ProtocolError) this.#failure = err;
      throw err;
    }
  }

  #checkAlive(): void {
    if (this.#failure) {
      throw new ProtocolError('frame decoder failed earlier and cannot continue', { cause: this.#failure });
    }
  }

  #checkHeader(header: number, rules: FrameRules): number {
    const codec = header >>> LENGTH_BITS;
    const length = header & LENGTH_MASK;
    const minLength = codec === CODEC_IDS.none ? 1 : RAW_LENGTH_BYTES + 1;
    const maxLength = Math.min(this.#maxFrameBytes, rules.maxBytes ?? Infinity);
    if (codec !== CODEC_IDS.none && codec !== CODEC_IDS.lz4 && codec !== CODEC_IDS.zstd) {
      this.#fail(`reading frame header: unknown codec ${codec}`);
    }
    if (codec !== CODEC_IDS.none && rules.compressed === false) this.#fail(`reading frame header: a compressed frame (codec ${codec}) is not accepted yet`);
    if (length < minLength) this.#fail(`reading frame header: frame of ${length} bytes is too short`);
    if (length > maxLength) this.#fail(`reading frame header: frame of ${length} bytes exceeds the limit of ${maxLength}`);
    this.#codec = codec;
    return length;
  }

  #fail(message: string): never {
    this.#failure = new ProtocolError(message);
    throw this.#failure;
  }

  /** The partial body buffer, able to hold `needed` bytes: MIN_BODY_CAPACITY first, then the whole body. */
  #reserve(needed: number): Buffer {
    const current = this.#body;
    if (current && current.length >= needed) return current;
    const capacity = current === null ? Math.min(this.#bodyLength, Math.max(needed, MIN_BODY_CAPACITY)) : this.#bodyLength;
    const grown = (capacity === this.#bodyLength ? this.#buffers?.take(capacity) : undefined) ?? Buffer.allocUnsafe(capacity);
    if (current) current.copy(grown, 0, 0, this.#bodyFilled);
    this.#body = grown;
    return grown;
  }
}

/**
 * The body of `frame`, decompressed when its codec says so. A compressed body
 * announcing more than `maxRawBytes` is refused before anything is allocated;
 * one that does not decompress to exactly its announced length is a ProtocolError.
 */
export function openFrame(frame: WireFrame, maxRawBytes: number): Buffer {
  const { codec, body } = frame;
  if (codec === CODEC_IDS.none) return body;
  const rawLength = body.readUInt32BE(0);
  if (rawLength === 0 || rawLength > maxRawBytes) {
    throw new ProtocolError(`reading frame: compressed body claims ${rawLength} raw bytes, the limit is ${maxRawBytes}`);
  }
  return decompressBody(codec, body.subarray(RAW_LENGTH_BYTES), rawLength);
}
