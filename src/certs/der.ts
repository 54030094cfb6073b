/**
 * The few pieces of DER (X.690) that building an X.509 certificate takes,
 * and a reader just deep enough to take a CA certificate apart. Pure: bytes
 * in, bytes out. Only ever fed certificates Wizard made or reads from its own
 * home, never bytes from a peer (those go to OpenSSL through node:tls).
 */

/** Tags used here (universal class unless noted). */
export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/** One TLV: `tag`, then the length, then `content`. */
export function tlv(tag: number, content: Uint8Array): Buffer {
  const n = content.length;
  let length: Buffer;
  if (n < 0x80) length = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    length = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), length, content]);
}

/** A SEQUENCE of already encoded values. */
export function sequence(...items: Uint8Array[]): Buffer {
  return tlv(TAG.sequence, Buffer.concat(items));
}

/** A SET of already encoded values (callers pass one value, so no sorting is due). */
export function set(...items: Uint8Array[]): Buffer {
  return tlv(TAG.set, Buffer.concat(items));
}

/** A context-specific tag `[n]`: constructed (EXPLICIT, or IMPLICIT over a constructed type) or primitive (IMPLICIT over a primitive). */
export function context(n: number, content: Uint8Array, constructed: boolean): Buffer {
  return tlv(0x80 | (constructed ? 0x20 : 0) | n, content);
}

/** A non-negative INTEGER from its big-endian magnitude (a 0 byte is prefixed when the top bit is set). */
export function unsignedInteger(magnitude: Uint8Array): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const bytes = magnitude.subarray(start);
  return tlv(TAG.integer, (bytes[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

/** A small non-negative INTEGER. */
export function smallInteger(n: number): Buffer {
  return unsignedInteger(Buffer.from([n >> 24, n >> 16, n >> 8, n].map((b) => b & 0xff)));
}

/** A BOOLEAN. */
export function boolean(value: boolean): Buffer {
  return tlv(TAG.boolean, Buffer.from([value ? 0xff : 0]));
}

/** NULL. */
export function nullValue(): Buffer {
  return tlv(TAG.null, Buffer.alloc(0));
}

/** An OBJECT IDENTIFIER from its dotted form. */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const [first = 0, second = 0, ...rest] = arcs;
  const bytes: number[] = [];
  for (const arc of [first * 40 + second, ...rest]) {
    const groups: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) groups.unshift(0x80 | (v & 0x7f));
    bytes.push(...groups);
  }
  return tlv(TAG.oid, Buffer.from(bytes));
}

/** A BIT STRING of whole bytes. */
export function bitString(bytes: Uint8Array): Buffer {
  return tlv(TAG.bitString, Buffer.concat([Buffer.from([0]), bytes]));
}

/**
 * A BIT STRING of named bits (bit 0 is the first, most significant), in the
 * DER form: trailing zero bits dropped and counted in the first byte.
 */
export function namedBits(bits: readonly number[]): Buffer {
  const last = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(last / 8) + 1);
  for (const bit of bits) bytes[bit >> 3] = (bytes[bit >> 3] ?? 0) | (0x80 >> (bit & 7));
  return tlv(TAG.bitString, Buffer.concat([Buffer.from([7 - (last & 7)]), bytes]));
}

/** An OCTET STRING. */
export function octetString(bytes: Uint8Array): Buffer {
  return tlv(TAG.octetString, bytes);
}

/** A UTF8String. */
export function utf8String(text: string): Buffer {
  return tlv(TAG.utf8String, Buffer.from(text, 'utf8'));
}

/** An X.509 Time: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5), to the second, in UTC. */
export function time(date: Date): Buffer {
  const iso = date.toISOString(); // 2030-06-01T12:00:00.000Z
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  const year = date.getUTCFullYear();
  return year < 2050 && year >= 1950 ? tlv(TAG.utcTime, Buffer.from(digits.slice(2), 'ascii')) : tlv(TAG.generalizedTime, Buffer.from(digits, 'ascii'));
}

/** One value read back: its tag, its whole encoding, and its content. */
export interface DerValue {
  readonly tag: number;
  readonly whole: Buffer;
  readonly content: Buffer;
}

/** Reads the value that starts at `offset` of `bytes`; throws on a truncated or indefinite-length one. */
export function readValue(bytes: Buffer, offset = 0): DerValue {
  const tag = bytes[offset];
  const first = bytes[offset + 1];
  if (tag === undefined || first === undefined) throw new Error('DER: truncated value');
  let length = first;
  let header = 2;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 4) throw new Error('DER: unsupported length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (bytes[offset + 2 + i] ?? 0);
    header += count;
  }
  const end = offset + header + length;
  if (end > bytes.length) throw new Error('DER: value runs past the end');
  return { tag, whole: bytes.subarray(offset, end), content: bytes.subarray(offset + header, end) };
}

/** The values inside a constructed value's content, in order. */
export function children(content: Buffer): DerValue[] {
  const out: DerValue[] = [];
  for (let at = 0; at < content.length; ) {
    const value = readValue(content, at);
    out.push(value);
    at += value.whole.length;
  }
  return out;
}
