/**
 * Field readers for message validation: each reads one field of a decoded
 * map, checks its type and basic shape, and throws a ProtocolError naming the
 * message and the field otherwise.
 */
import { BadPathError, ProtocolError } from '../core/errors.js';
import { isTempName, toRelPath } from '../core/paths.js';
import { LIMITS } from './messages.js';

/** A decoded msgpack map. */
export type Fields = Readonly<Record<string, unknown>>;

const FOLDER_ID = /^[A-Za-z0-9._-]{1,64}$/;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHAR = /[\u0000-\u001f\u007f]/;

/** An own property only: an inherited `constructor` or `toString` is not a field the peer sent. */
export function field(o: Fields, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

/** Reads and checks one field (see the file comment). */
export function plainObject(value: unknown, ctx: string): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProtocolError(`${ctx}: expected a map, got ${describe(value)}`);
  }
  const proto: unknown = Object.getPrototypeOf(value);
  // Decoder extensions can produce Dates, Sets, Buffers...: none of them is a map.
  if (proto !== Object.prototype && proto !== null) {
    throw new ProtocolError(`${ctx}: expected a map, got ${describe(value)}`);
  }
  return value as Fields;
}

/** Reads and checks one field (see the file comment). */
export function array(o: Fields, key: string, ctx: string, max: number): readonly unknown[] {
  const value = field(o, key);
  if (!Array.isArray(value)) throw new ProtocolError(`${ctx}: ${key} is ${describe(value)}, not an array`);
  if (value.length > max) throw new ProtocolError(`${ctx}: ${key} has ${value.length} items, more than ${max}`);
  return value as readonly unknown[];
}

/** Reads and checks one field (see the file comment). */
export function string(o: Fields, key: string, ctx: string): string {
  const value = field(o, key);
  if (typeof value !== 'string') throw new ProtocolError(`${ctx}: ${key} is ${describe(value)}, not a string`);
  return value;
}

/** Reads and checks one field (see the file comment). */
export function bool(o: Fields, key: string, ctx: string): boolean {
  const value = field(o, key);
  if (typeof value !== 'boolean') throw new ProtocolError(`${ctx}: ${key} is ${describe(value)}, not a boolean`);
  return value;
}

/** Reads and checks one field (see the file comment). */
export function safeUint(o: Fields, key: string, ctx: string): number {
  const value = field(o, key);
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ProtocolError(`${ctx}: ${key} is ${describe(value)}, not a non-negative integer`);
  }
  return value;
}

/** Reads and checks one field (see the file comment). */
export function hex(o: Fields, key: string, ctx: string, pattern: RegExp, what: string): string {
  const value = field(o, key);
  if (typeof value !== 'string' || !pattern.test(value)) throw new ProtocolError(`${ctx}: ${key} is not ${what}`);
  return value;
}

/** Reads and checks one field (see the file comment). */
export function folderId(o: Fields, key: string, ctx: string): string {
  const value = field(o, key);
  if (typeof value !== 'string' || !FOLDER_ID.test(value) || value === '.' || value === '..') {
    throw new ProtocolError(`${ctx}: ${key} is not a folder ID (1-64 of A-Z a-z 0-9 . _ -, not "." or "..")`);
  }
  return value;
}

/** Reads and checks one field (see the file comment). */
export function nodeName(o: Fields, ctx: string): string {
  const name = string(o, 'name', ctx);
  // Code points, so an emoji counts once; only counted when the quick UTF-16 bound is exceeded.
  if (name.length > LIMITS.maxNodeNameChars && [...name].length > LIMITS.maxNodeNameChars) {
    throw new ProtocolError(`${ctx}: name longer than ${LIMITS.maxNodeNameChars} characters`);
  }
  if (CONTROL_CHAR.test(name)) throw new ProtocolError(`${ctx}: name contains a control character`);
  return name;
}

/**
 * The `path` field through `toRelPath`. Temp names are refused too: no
 * compliant peer indexes or serves them, and accepting one would let a peer
 * write over a download in progress.
 */
export function relPath(o: Fields, ctx: string): string {
  let path: string;
  try {
    path = toRelPath(field(o, 'path'));
  } catch (err) {
    if (err instanceof BadPathError) throw new ProtocolError(`${ctx}: path: ${err.message}`, { cause: err });
    throw err;
  }
  if (path.split('/').some(isTempName)) throw new ProtocolError(`${ctx}: path names a Wizard temp file`);
  return path;
}

/** What a bad value is, without echoing peer data at length. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'binary';
  if (typeof value === 'string') return JSON.stringify(value.length > 32 ? `${value.slice(0, 32)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'object') {
    const tag = Object.prototype.toString.call(value).slice(8, -1);
    return tag === 'Object' ? 'a map' : `a ${tag}`;
  }
  return typeof value;
}

/** A `bin` field of at most `max` bytes, as a Buffer view (no copy). */
export function binary(m: Fields, key: string, ctx: string, max: number): Buffer {
  const data = field(m, key);
  if (!(data instanceof Uint8Array)) throw new ProtocolError(`${ctx}: ${key} is ${describe(data)}, not binary`);
  if (data.byteLength > max) throw new ProtocolError(`${ctx}: ${key} of ${data.byteLength} bytes exceeds ${max}`);
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** `s` cut to at most `max` UTF-16 units, never splitting a surrogate pair. */
export function truncateChars(s: string, max: number): string {
  if (s.length <= max) return s;
  const code = s.charCodeAt(max - 1);
  const end = code >= 0xd800 && code <= 0xdbff ? max - 1 : max;
  return s.slice(0, end);
}
