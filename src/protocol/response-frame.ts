/**
 * A `response` frame with a big `data`, built in one buffer: the frame
 * header, the msgpack map and the data, copied once. Through msgpackr and
 * encodeFrame the data was copied twice, into the packer's buffer and then
 * into the frame, and each copy was a fresh allocation of the block's size:
 * for BIG's 512 MiB that was 1 GiB of copying and garbage on the sender's main
 * thread. The bytes are exactly what msgpackr writes for `{ type, id, data }`
 * (test/protocol/response-frame.test.ts holds them to it), so the receiver
 * sees no difference.
 */
import { blockBodies } from './block-bodies.js';
import { FRAME_HEADER_BYTES } from './framing.js';
import { LIMITS } from './messages.js';

/** Data at least this long is framed here; shorter data goes through msgpackr, where the copies cost nothing worth saving. */
export const HAND_FRAMED_MIN_BYTES = 64 * 1024;

// fixmap of 3, "type": "response", "id".
const PREFIX = Buffer.from([0x83, 0xa4, ...Buffer.from('type'), 0xa8, ...Buffer.from('response'), 0xa2, ...Buffer.from('id')]);
// "data"; a bin 32 header follows (the data is at least HAND_FRAMED_MIN_BYTES, 64 KiB, past what bin 16 holds).
const DATA_KEY = Buffer.from([0xa4, ...Buffer.from('data')]);

/**
 * The raw (codec 0) frame of `{ type: 'response', id, data }`, or undefined
 * when it is not one this builds (data shorter than HAND_FRAMED_MIN_BYTES,
 * an id past 32 bits, a body over the frame limit): the caller encodes it
 * the usual way. The frame's body is `frame.subarray(FRAME_HEADER_BYTES)`.
 */
export function encodeResponseFrame(id: number, data: Uint8Array): Buffer | undefined {
  if (data.length < HAND_FRAMED_MIN_BYTES || !Number.isInteger(id) || id < 0 || id > 0xffffffff) return undefined;
  const idBytes = id < 0x80 ? 1 : id <= 0xff ? 2 : id <= 0xffff ? 3 : 5;
  const bodyLength = PREFIX.length + idBytes + DATA_KEY.length + 5 + data.length;
  if (bodyLength > LIMITS.maxFrameBytes) return undefined;
  // A whole block's frame comes from the pool, and goes back once the socket has written it (scheduler.ts).
  const frame = blockBodies.take(FRAME_HEADER_BYTES + bodyLength) ?? Buffer.allocUnsafe(FRAME_HEADER_BYTES + bodyLength);
  frame.writeUInt32BE(bodyLength, 0);
  let at = FRAME_HEADER_BYTES + PREFIX.copy(frame, FRAME_HEADER_BYTES);
  if (idBytes === 1) at = frame.writeUInt8(id, at);
  else if (idBytes === 2) at = frame.writeUInt8(id, frame.writeUInt8(0xcc, at));
  else if (idBytes === 3) at = frame.writeUInt16BE(id, frame.writeUInt8(0xcd, at));
  else at = frame.writeUInt32BE(id, frame.writeUInt8(0xce, at));
  at += DATA_KEY.copy(frame, at);
  at = frame.writeUInt32BE(data.length, frame.writeUInt8(0xc6, at));
  frame.set(data, at);
  return frame;
}
