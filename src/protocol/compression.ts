/**
 * The block codecs a frame body may be compressed with: LZ4 (fast, light)
 * and zstd (levels 1-19, denser, slower). Which one a frame uses is the
 * sender's choice (transport/codec-chooser.ts); this file only encodes and
 * decodes, and decoding never produces more than the caller allows: the
 * output buffer is allocated at the announced raw size (already checked
 * against the frame limit) and both decoders refuse to write past it.
 */
import lz4 from 'lz4';
import zstd from 'zstd-napi/binding.js';
import { ProtocolError } from '../core/errors.js';

/** Codec IDs as they appear in a frame header. */
export const CODEC_IDS = { none: 0, lz4: 1, zstd: 2 } as const;

/** A codec that compresses. */
export type Compressor = 'lz4' | 'zstd';

/** One way to compress: a codec and, for zstd, its level. */
export interface CodecChoice {
  readonly codec: Compressor | 'none';
  /** zstd level (1-19); ignored for lz4 and none. */
  readonly level: number;
}

// Contexts are reused across calls: zstd allocates its tables once per context, not per frame.
let cctx: InstanceType<typeof zstd.CCtx> | undefined;
let dctx: InstanceType<typeof zstd.DCtx> | undefined;

/**
 * Compresses `raw` with `choice`. Returns the compressed bytes, or undefined
 * when they would not be smaller than `raw` (the caller then sends it raw).
 */
export function compressBody(choice: CodecChoice, raw: Uint8Array): Buffer | undefined {
  const input = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  if (choice.codec === 'lz4') {
    const out = Buffer.allocUnsafe(lz4.encodeBound(input.length));
    const n = lz4.encodeBlock(input, out);
    return n > 0 && n < input.length ? out.subarray(0, n) : undefined;
  }
  if (choice.codec === 'zstd') {
    cctx ??= new zstd.CCtx();
    const out = Buffer.allocUnsafe(zstd.compressBound(input.length));
    const n = cctx.compress(out, input, choice.level);
    return n < input.length ? out.subarray(0, n) : undefined;
  }
  return undefined;
}

/**
 * Decodes a body compressed with codec `codecId` that must expand to exactly
 * `rawLength` bytes. Any other outcome (unknown codec, corrupt data, a body
 * that would expand past `rawLength` or stops short of it) is a ProtocolError.
 */
export function decompressBody(codecId: number, payload: Buffer, rawLength: number): Buffer {
  const out = Buffer.allocUnsafe(rawLength);
  let n: number;
  try {
    if (codecId === CODEC_IDS.lz4) n = lz4.decodeBlock(payload, out);
    else if (codecId === CODEC_IDS.zstd) {
      dctx ??= new zstd.DCtx();
      n = dctx.decompress(out, payload);
    } else throw new ProtocolError(`reading frame: unknown codec ${codecId}`);
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    throw new ProtocolError(`reading frame: compressed body does not decode within ${rawLength} bytes`, { cause: err });
  }
  if (n !== rawLength) {
    throw new ProtocolError(`reading frame: compressed body decodes to ${n < 0 ? 'garbage' : `${n} bytes`}, announced ${rawLength}`);
  }
  return out;
}

/** "zstd-3", "lz4", "none": how status names a choice. */
export function choiceName(choice: CodecChoice): string {
  return choice.codec === 'zstd' ? `zstd-${choice.level}` : choice.codec;
}
