/**
 * The structural check a message body passes before the msgpack decoder
 * builds anything: one iterative walk over the bytes that allocates nothing
 * per value. It refuses what the protocol never uses, and it bounds the work
 * the decoder would do: a body may hold only so many values (docs/PROTOCOL.md
 * section 2.1), and once its top-level `type` is read, only as many bytes and
 * values as that type allows, and only a type the session accepts now.
 */
import { isUtf8 } from 'node:buffer';
import { ProtocolError } from '../core/errors.js';
import { MESSAGE_BUDGETS, type MessageRules } from './budgets.js';
import type { MessageType } from './messages.js';

/**
 * Deepest nesting a body may have. Messages nest 4 deep (index → entries →
 * entry → version); the rest is slack. Without a bound, 100,000 nested arrays
 * overflow the decoder's stack.
 */
export const MAX_NESTING = 8;

/** The top-level key that names a message's type, as its UTF-8 bytes. */
const TYPE_KEY = Buffer.from('type');
/** Longer than any type name: a longer `type` string is unknown without reading it. */
const MAX_TYPE_BYTES = 32;

/** What the walk learned: the message type its `type` field names, when that is a string. */
export interface Shape {
  readonly type: MessageType | undefined;
  /** msgpack values in the body, map keys included. */
  readonly values: number;
}

/**
 * Walks `body` and throws a ProtocolError for: extension types (msgpackr
 * records, dates, structured clones), the reserved byte 0xc1, map keys that
 * are not strings, strings that are not valid UTF-8, nesting beyond
 * MAX_NESTING, counts or lengths that cannot fit in the bytes left (each
 * value takes at least one byte, so a map claiming 2^32 entries in 10 bytes
 * fails at once), bytes after the value, more values than `rules.maxValues`,
 * and a top-level `type` that is unknown, not in `rules.types`, given twice, or
 * whose type's budget the body exceeds (bytes at once, values as they are counted).
 */
export function checkShape(body: Buffer, rules: MessageRules): Shape {
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
  let maxValues = rules.maxValues;
  let values = 0;
  let type: MessageType | undefined;
  /** The top-level key just read was `type`: the next value names the message. */
  let typeValueNext = false;
  let typeKeySeen = false;
  // Per open container: how many values it still holds, and whether it is a
  // map (whose values alternate key, value, starting with a key).
  const remaining: number[] = [];
  const isMap: boolean[] = [];
  do {
    if (pos >= body.length) fail('unexpected end of data', pos);
    const depth = remaining.length;
    const isKey = depth > 0 && isMap[depth - 1] === true && (remaining[depth - 1] ?? 0) % 2 === 0;
    const start = pos;
    if (++values > maxValues) fail(`more than ${maxValues} values${type === undefined ? '' : ` in a ${type} message`}`, start);
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
    const isTopLevel = depth === 1 && isMap[0] === true;
    if (isTopLevel && typeValueNext) {
      typeValueNext = false;
      // A type that is not a string is left to validation, which refuses it.
      if (isString) {
        type = typeNamed(body, pos, skip, rules, start, fail);
        const budget = MESSAGE_BUDGETS[type];
        if (body.length > budget.maxBytes) fail(`a ${type} message of ${body.length} bytes, more than ${budget.maxBytes}`, start);
        maxValues = Math.min(maxValues, budget.maxValues);
        if (values > maxValues) fail(`more than ${maxValues} values in a ${type} message`, start);
      }
    } else if (isTopLevel && isKey && skip === TYPE_KEY.length && body.compare(TYPE_KEY, 0, TYPE_KEY.length, pos, pos + skip) === 0) {
      // The decoder keeps the last of two equal keys; a budget chosen by the first would not hold for it.
      if (typeKeySeen) fail('type given twice', start);
      typeKeySeen = true;
      typeValueNext = true;
    }
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
  return { type, values };
}

/** The message type named by the string at `pos`, which must be one `rules` accepts. */
function typeNamed(body: Buffer, pos: number, bytes: number, rules: MessageRules, at: number, fail: (why: string, at: number) => never): MessageType {
  const name = bytes <= MAX_TYPE_BYTES ? body.toString('utf8', pos, pos + bytes) : '';
  if (!Object.hasOwn(MESSAGE_BUDGETS, name)) {
    return fail(`unknown type ${JSON.stringify(name === '' ? body.toString('utf8', pos, pos + MAX_TYPE_BYTES) : name)}`, at);
  }
  const type = name as MessageType;
  if (!rules.types.has(type)) fail(`${rules.refusal} (a ${type} message)`, at);
  return type;
}
