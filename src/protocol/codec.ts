/**
 * Messages to and from framed msgpack. Plain msgpack maps only: no msgpackr
 * records and no extension types, so any msgpack implementation can talk to
 * Wizard, and a peer cannot reach the decoder's extension machinery.
 */
import { Packr, Unpackr } from 'msgpackr';
import { ProtocolError } from '../core/errors.js';
import { ANY_MESSAGE_RULES, type MessageRules } from './budgets.js';
import { encodeFrame } from './framing.js';
import type { Message } from './messages.js';
import { checkShape } from './shape.js';
import { validateMessage } from './validate.js';

export { MAX_NESTING } from './shape.js';

// Both are stateless between calls with these options (no records, no shared
// structures), so one of each serves every connection.
const packr = new Packr({ useRecords: false, variableMapSize: true });

const unpackr = new Unpackr({
  useRecords: false,
  // `__proto__` keys come out renamed (`__proto_`), so no prototype is replaced.
  mapsAsObjects: true,
  // Refuses the reference extensions; `checkShape` already refuses every extension.
  structuredClone: false,
  // Numbers, not bigints, so a peer that writes small values as uint64 still
  // validates; anything past 2^53 rounds to an unsafe integer, which validation refuses.
  int64AsType: 'number',
});

/** Encodes `msg` as one frame (length prefix + msgpack map), ready to write. */
export function encodeMessage(msg: Message): Buffer {
  return encodeFrame(encodeBody(msg));
}

/** Encodes `msg` as a frame body (the msgpack map), for a sender that frames and compresses it itself. */
export function encodeBody(msg: Message): Buffer {
  return packr.pack(msg);
}

/**
 * Decodes and validates one frame body, accepting only what `rules` allows
 * (by default any type within its budget; see budgets.ts). Anything that is
 * not a well-formed plain msgpack value, and any decoder failure, becomes a
 * ProtocolError (with the decoder's error as its cause). Binary fields are
 * views of `body`.
 */
export function decodeMessage(body: Buffer, rules: MessageRules = ANY_MESSAGE_RULES): Message {
  checkShape(body, rules);
  let value: unknown;
  try {
    value = unpackr.unpack(body);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new ProtocolError(`decoding message: ${detail.slice(0, 200)}`, { cause: err });
  }
  return validateMessage(value);
}
