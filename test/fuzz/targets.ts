/**
 * Coverage-guided fuzz targets for the two parsers a peer's bytes meet first:
 * the frame decoder and the message decoder with its validation. Each takes
 * one input and throws only when it finds a bug; a refusal (ProtocolError)
 * is the right answer to garbage and passes.
 *
 * `npm run fuzz` runs them under Jazzer.js (scripts/fuzz.mjs), which grows
 * test/fuzz/corpus/<target>/; test/fuzz/replay.test.ts feeds every committed
 * corpus file through the same functions in CI, without the fuzzer's native
 * addon.
 */
import { isDeepStrictEqual } from 'node:util';
import { ProtocolError } from '../../src/core/errors.js';
import { toRelPath } from '../../src/core/paths.js';
import { decodeMessage, encodeBody } from '../../src/protocol/codec.js';
import { FrameDecoder } from '../../src/protocol/framing.js';
import { LIMITS, type Message } from '../../src/protocol/messages.js';

/** A bug a target found: anything a parser did that is neither a valid result nor a ProtocolError. */
export class FuzzFinding extends Error {
  override readonly name = 'FuzzFinding';
}

/** Decodes `body`; undefined when it is refused with a ProtocolError. Any other throw is a finding. */
export function decodeOrRefuse(body: Buffer): Message | undefined {
  try {
    return decodeMessage(body);
  } catch (err) {
    if (err instanceof ProtocolError) return undefined;
    throw new FuzzFinding(`decodeMessage threw something other than a ProtocolError: ${String(err)}`, { cause: err });
  }
}

/**
 * What the decoder accepted is what it will act on, so it must be exactly
 * what it says: it encodes and decodes back to itself byte for byte, and
 * every path in it is already in the form `toRelPath` gives (NFC, checked).
 */
export function checkAccepted(msg: Message): void {
  const bytes = encodeBody(msg);
  let again: Message;
  try {
    again = decodeMessage(bytes);
  } catch (err) {
    throw new FuzzFinding(`an accepted ${msg.type} does not decode after encoding: ${String(err)}`, { cause: err });
  }
  if (!isDeepStrictEqual(again, msg)) throw new FuzzFinding(`an accepted ${msg.type} changes when encoded and decoded again`);
  if (!encodeBody(again).equals(bytes)) throw new FuzzFinding(`an accepted ${msg.type} encodes to other bytes the second time`);
  for (const p of pathsOf(msg)) {
    if (toRelPath(p) !== p) throw new FuzzFinding(`an accepted ${msg.type} carries a path that is not in its checked form`);
  }
}

function pathsOf(msg: Message): string[] {
  if (msg.type === 'index') return msg.entries.map((e) => e.path);
  if (msg.type === 'request' || msg.type === 'sums-request') return [msg.path];
  return [];
}

/** Target: one frame body through decodeMessage (msgpack shape check, decoder, validation). */
export function messageTarget(data: Buffer): void {
  const msg = decodeOrRefuse(Buffer.from(data));
  if (msg !== undefined) checkAccepted(msg);
}

/** What a FrameDecoder made of a whole stream. */
interface Drained {
  readonly bodies: Buffer[];
  readonly failed: boolean;
  readonly partial: boolean;
}

function drain(stream: Buffer, chunkBytes: number): Drained {
  const decoder = new FrameDecoder();
  const bodies: Buffer[] = [];
  for (let pos = 0; pos < stream.length; pos += chunkBytes) {
    // A copy per chunk: the decoder may return views of it, and the caller keeps them.
    const chunk = Buffer.from(stream.subarray(pos, pos + chunkBytes));
    try {
      bodies.push(...decoder.push(chunk).map((b) => Buffer.from(b)));
    } catch (err) {
      if (err instanceof ProtocolError) return { bodies, failed: true, partial: false };
      throw new FuzzFinding(`FrameDecoder.push threw something other than a ProtocolError: ${String(err)}`, { cause: err });
    }
  }
  return { bodies, failed: false, partial: decoder.hasPartialFrame };
}

/**
 * Target: the first byte picks a chunk size (1..64), the rest is a stream of
 * frames. Fed whole and fed in chunks, the decoder must agree (same bodies,
 * same refusal, same partial frame held), never hand out a body over the
 * frame limit, and every body must decode to an accepted message or a
 * refusal.
 */
export function frameStreamTarget(data: Buffer): void {
  if (data.length === 0) return;
  const chunkBytes = ((data[0] ?? 0) % 64) + 1;
  const stream = Buffer.from(data.subarray(1));
  const whole = drain(stream, Math.max(1, stream.length));
  const pieces = drain(stream, chunkBytes);
  if (whole.failed !== pieces.failed) throw new FuzzFinding(`the stream is refused ${whole.failed ? 'whole but not' : 'in chunks but not whole'} in ${chunkBytes}-byte chunks`);
  if (!whole.failed) {
    if (whole.partial !== pieces.partial) throw new FuzzFinding('whole and chunked decoders disagree about a partial frame');
    if (!isDeepStrictEqual(whole.bodies, pieces.bodies)) throw new FuzzFinding(`whole and ${chunkBytes}-byte chunks give different frames`);
  }
  for (const body of pieces.bodies) {
    if (body.length > LIMITS.maxFrameBytes) throw new FuzzFinding(`a body of ${body.length} bytes passed the frame limit`);
    messageTarget(body);
  }
}

/** The targets by name, as `npm run fuzz` and the replay test address them. */
export const FUZZ_TARGETS = { message: messageTarget, 'frame-stream': frameStreamTarget } as const;

/** A target's name: also its corpus dir under test/fuzz/corpus/. */
export type FuzzTargetName = keyof typeof FUZZ_TARGETS;
