/**
 * Messages to and from framed msgpack. Plain msgpack maps only: no msgpackr
 * records and no extension types, so any msgpack implementation can talk to
 * Wizard, and a peer cannot reach the decoder's extension machinery.
 */
import { isUtf8 } from 'node:buffer';
import { Packr, Unpackr } from 'msgpackr';
import { ProtocolError } from '../core/errors.js';
import { encodeFrame } from './framing.js';
import type { Message } from './messages.js';
import { validateMessage } from './validate.js';

/**
 * Deepest nesting a body may have. Messages nest 4 deep (index → entries →
 * entry → version); the rest is slack. Without a bound, 100,000 nested arrays
 * overflow the decoder's stack.
 */
export const MAX_NESTING = 8;

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
 * Decodes and validates one frame body. Anything that is not a well-formed
 * plain msgpack value, and any decoder failure, becomes a ProtocolError
 * (with the decoder's error as its cause). Binary fields are views of `body`.
 */
export function decodeMessage(body: Buffer): Message {
  checkShape(body);
  let value: unknown;
  try {
    value = unpackr.unpack(body);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new ProtocolError(`decoding message: ${detail.slice(0, 200)}`, { cause: err });
  }
  return validateMessage(value);
}

/**
 * Walks the msgpack structure without building anything, iteratively, and
 * refuses what the protocol never uses before the recursive decoder runs:
 * extension types (msgpackr records, dates, structured clones), the reserved
 * byte 0xc1, map keys that are not strings, strings that are not valid UTF-8,
 * nesting beyond MAX_NESTING, and
 * counts or lengths that cannot fit in the bytes left (each element takes at
 * least one byte, so a map claiming 2^32 entries in 10 bytes fails at once).
 */
function checkShape(body: Buffer): void {
  const fail = (why: string, at: number): never => {
    throw new ProtocolError(`decoding message: ${why} at byte ${at}`);
  };
  let pos = 0;
  /** Reads a big-endian length field of 1, 2 or 4 bytes. */
  const length = (bytes: 1 | 2 | 4): number => {
    if (pos + bytes > body.length) fail('unexpected end of data', pos);
    const v = bytes === 1 ? body.readUInt8(pos) : bytes === 2 ? body.readUInt16BE(pos) : body.readUInt32BE(pos);
    pos += bytes;
    return v;
  };
  // Per open container: how many values it still holds, and whether it is a
  // map (whose values alternate key, value, starting with a key).
  const remaining: number[] = [];
  const isMap: boolean[] = [];
  do {
    if (pos >= body.length) fail('unexpected end of data', pos);
    const depth = remaining.length;
    const isKey = depth > 0 && isMap[depth - 1] === true && (remaining[depth - 1] ?? 0) % 2 === 0;
    const start = pos;
    const b = body.readUInt8(pos++);
    const isString = (b >= 0xa0 && b <= 0xbf) || b === 0xd9 || b === 0xda || b === 0xdb;
    if (isKey && !isString) fail('map key is not a string', start);
    let skip = 0;
    let children = 0;
    let map = false;
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) skip = 0; // fixints, nil, booleans
    else if (b >= 0xa0 && b <= 0xbf) skip = b & 0x1f; // fixstr
    else if (b >= 0x80 && b <= 0x8f) [children, map] = [2 * (b & 0x0f), true]; // fixmap
    else if (b >= 0x90 && b <= 0x9f) children = b & 0x0f; // fixarray
    else if (b === 0xd9 || b === 0xc4) skip = length(1); // str8, bin8
    else if (b === 0xda || b === 0xc5) skip = length(2); // str16, bin16
    else if (b === 0xdb || b === 0xc6) skip = length(4); // str32, bin32
    else if (b === 0xcc || b === 0xd0) skip = 1; // uint8, int8
    else if (b === 0xcd || b === 0xd1) skip = 2; // uint16, int16
    else if (b === 0xce || b === 0xd2 || b === 0xca) skip = 4; // uint32, int32, float32
    else if (b === 0xcf || b === 0xd3 || b === 0xcb) skip = 8; // uint64, int64, float64
    else if (b === 0xdc) children = length(2); // array16
    else if (b === 0xdd) children = length(4); // array32
    else if (b === 0xde) [children, map] = [2 * length(2), true]; // map16
    else if (b === 0xdf) [children, map] = [2 * length(4), true]; // map32
    else if (b === 0xc1) fail('reserved byte 0xc1', start);
    else fail(`extension type (0x${b.toString(16)})`, start); // 0xc7-0xc9, 0xd4-0xd8
    if (skip > body.length - pos) fail(`value of ${skip} bytes past the end`, start);
    // The decoder would turn bad bytes into U+FFFD: a name we then write is not the one the peer sent.
    if (isString && !isUtf8(body.subarray(pos, pos + skip))) fail('string that is not valid UTF-8', start);
    pos += skip;
    if (depth > 0) remaining[depth - 1] = (remaining[depth - 1] ?? 0) - 1;
    if (children > 0) {
      if (children > body.length - pos) fail(`container of ${children} values in ${body.length - pos} bytes`, start);
      if (depth >= MAX_NESTING) fail(`nesting deeper than ${MAX_NESTING}`, start);
      remaining.push(children);
      isMap.push(map);
    }
    while (remaining.length > 0 && remaining[remaining.length - 1] === 0) {
      remaining.pop();
      isMap.pop();
    }
  } while (remaining.length > 0);
  if (pos !== body.length) fail(`${body.length - pos} bytes after the message`, pos);
}
