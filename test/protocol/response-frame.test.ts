/**
 * A block's answer framed by hand (response-frame.ts) is byte for byte the
 * frame msgpackr and encodeFrame make of the same message, and decodes back
 * to it; what it does not build is left to the usual path.
 */
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../src/protocol/codec.js';
import { FrameDecoder } from '../../src/protocol/framing.js';
import { LIMITS } from '../../src/protocol/messages.js';
import { encodeResponseFrame, HAND_FRAMED_MIN_BYTES } from '../../src/protocol/response-frame.js';
import { seededBytes } from '../support/random.js';

describe('encodeResponseFrame', () => {
  const ids = [0, 1, 127, 128, 255, 256, 65_535, 65_536, 0xffff_ffff];
  const sizes = [HAND_FRAMED_MIN_BYTES, 300_001, LIMITS.maxBlockBytes];
  for (const size of sizes) {
    it(`is the frame msgpackr makes, for ids of every width (${size} bytes of data)`, () => {
      const data = seededBytes(size, size);
      for (const id of ids) {
        const frame = encodeResponseFrame(id, data);
        expect(frame?.equals(encodeMessage({ type: 'response', id, data })), `id ${id}`).toBe(true);
        const [body] = new FrameDecoder().push(frame as Buffer);
        const msg = decodeMessage(body as Buffer);
        expect(msg.type === 'response' && msg.id === id && Buffer.from(msg.data).equals(data)).toBe(true);
      }
    });
  }

  it('leaves short data, an id past 32 bits and a body past the frame limit to msgpackr', () => {
    expect(encodeResponseFrame(1, Buffer.alloc(HAND_FRAMED_MIN_BYTES - 1))).toBeUndefined();
    expect(encodeResponseFrame(2 ** 32, Buffer.alloc(HAND_FRAMED_MIN_BYTES))).toBeUndefined();
    expect(encodeResponseFrame(1, Buffer.alloc(LIMITS.maxFrameBytes))).toBeUndefined();
  });
});
