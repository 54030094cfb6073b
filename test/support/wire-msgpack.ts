/**
 * A small msgpack encoder and decoder written from the msgpack spec for the
 * test peer (wire-peer.ts), so hostile-input tests never go through the
 * project's own codec and cannot share its bugs. The encoder also embeds raw
 * bytes verbatim (`rawBytes`), which is how a test plants a bomb inside an
 * otherwise well-formed message.
 */

/** Bytes written into an encoding as they are, unchecked. */
export class RawBytes {
  constructor(readonly bytes: Buffer) {}
}

/** Marks `bytes` to be embedded verbatim where a value would go. */
export function rawBytes(bytes: Buffer | number[]): RawBytes {
  return new RawBytes(Buffer.from(bytes));
}

/** An integer to be written as a uint64 whatever its size (the spec allows any width). */
export class Uint64 {
  constructor(readonly value: bigint) {}
}

/** Encodes `value`: null, booleans, numbers, strings, Buffers (bin), arrays, plain objects, RawBytes, Uint64. */
export function pack(value: unknown): Buffer {
  const parts: Buffer[] = [];
  write(value, parts);
  return Buffer.concat(parts);
}

function header(tag: number, length: number, bytes: 1 | 2 | 4): Buffer {
  const b = Buffer.alloc(1 + bytes);
  b[0] = tag;
  if (bytes === 1) b.writeUInt8(length, 1);
  else if (bytes === 2) b.writeUInt16BE(length, 1);
  else b.writeUInt32BE(length, 1);
  return b;
}

function write(value: unknown, out: Buffer[]): void {
  if (value === null || value === undefined) out.push(Buffer.from([0xc0]));
  else if (value === false) out.push(Buffer.from([0xc2]));
  else if (value === true) out.push(Buffer.from([0xc3]));
  else if (value instanceof RawBytes) out.push(value.bytes);
  else if (value instanceof Uint64) {
    const b = Buffer.alloc(9);
    b[0] = 0xcf;
    b.writeBigUInt64BE(value.value, 1);
    out.push(b);
  } else if (typeof value === 'number') writeNumber(value, out);
  else if (typeof value === 'string') {
    const s = Buffer.from(value, 'utf8');
    if (s.length < 32) out.push(Buffer.from([0xa0 | s.length]));
    else if (s.length < 0x100) out.push(header(0xd9, s.length, 1));
    else if (s.length < 0x10000) out.push(header(0xda, s.length, 2));
    else out.push(header(0xdb, s.length, 4));
    out.push(s);
  } else if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
    const b = Buffer.from(value);
    if (b.length < 0x100) out.push(header(0xc4, b.length, 1));
    else if (b.length < 0x10000) out.push(header(0xc5, b.length, 2));
    else out.push(header(0xc6, b.length, 4));
    out.push(b);
  } else if (Array.isArray(value)) {
    if (value.length < 16) out.push(Buffer.from([0x90 | value.length]));
    else if (value.length < 0x10000) out.push(header(0xdc, value.length, 2));
    else out.push(header(0xdd, value.length, 4));
    for (const v of value) write(v, out);
  } else if (typeof value === 'object') {
    // Own keys, `__proto__` included when a test set it with defineProperty.
    const keys = Object.getOwnPropertyNames(value);
    if (keys.length < 16) out.push(Buffer.from([0x80 | keys.length]));
    else if (keys.length < 0x10000) out.push(header(0xde, keys.length, 2));
    else out.push(header(0xdf, keys.length, 4));
    for (const k of keys) {
      write(k, out);
      write((value as Record<string, unknown>)[k], out);
    }
  } else throw new Error(`wire-msgpack: cannot encode ${typeof value}`);
}

function writeNumber(n: number, out: Buffer[]): void {
  if (!Number.isInteger(n)) {
    const b = Buffer.alloc(9);
    b[0] = 0xcb;
    b.writeDoubleBE(n, 1);
    out.push(b);
  } else if (n >= 0 && n < 0x80) out.push(Buffer.from([n]));
  else if (n < 0 && n >= -32) out.push(Buffer.from([n & 0xff]));
  else if (n >= 0 && n < 0x100) out.push(Buffer.from([0xcc, n]));
  else if (n >= 0 && n < 0x10000) out.push(header(0xcd, n, 2));
  else if (n >= 0 && n < 0x100000000) out.push(header(0xce, n, 4));
  else if (n >= 0) {
    const b = Buffer.alloc(9);
    b[0] = 0xcf;
    b.writeBigUInt64BE(BigInt(n), 1);
    out.push(b);
  } else {
    const b = Buffer.alloc(9);
    b[0] = 0xd3;
    b.writeBigInt64BE(BigInt(n), 1);
    out.push(b);
  }
}

/** Decodes one msgpack value that fills `buf`: maps become plain objects, bin becomes Buffer. Throws on anything else. */
export function unpack(buf: Buffer): unknown {
  let pos = 0;
  const need = (n: number) => {
    if (pos + n > buf.length) throw new Error(`wire-msgpack: truncated at ${pos}`);
  };
  const bytes = (n: number) => {
    need(n);
    const b = buf.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const u = (n: 1 | 2 | 4) => {
    need(n);
    const v = n === 1 ? buf.readUInt8(pos) : n === 2 ? buf.readUInt16BE(pos) : buf.readUInt32BE(pos);
    pos += n;
    return v;
  };
  const map = (n: number) => {
    const o: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (let i = 0; i < n; i++) {
      const k = value();
      o[String(k)] = value();
    }
    return o;
  };
  const array = (n: number) => Array.from({ length: n }, () => value());
  const value = (): unknown => {
    const b = u(1);
    if (b <= 0x7f) return b;
    if (b >= 0xe0) return b - 0x100;
    if (b >= 0x80 && b <= 0x8f) return map(b & 0x0f);
    if (b >= 0x90 && b <= 0x9f) return array(b & 0x0f);
    if (b >= 0xa0 && b <= 0xbf) return bytes(b & 0x1f).toString('utf8');
    switch (b) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return Buffer.from(bytes(u(1)));
      case 0xc5:
        return Buffer.from(bytes(u(2)));
      case 0xc6:
        return Buffer.from(bytes(u(4)));
      case 0xca:
        return bytes(4).readFloatBE(0);
      case 0xcb:
        return bytes(8).readDoubleBE(0);
      case 0xcc:
        return u(1);
      case 0xcd:
        return u(2);
      case 0xce:
        return u(4);
      case 0xcf:
        return Number(bytes(8).readBigUInt64BE(0));
      case 0xd0:
        return bytes(1).readInt8(0);
      case 0xd1:
        return bytes(2).readInt16BE(0);
      case 0xd2:
        return bytes(4).readInt32BE(0);
      case 0xd3:
        return Number(bytes(8).readBigInt64BE(0));
      case 0xd9:
        return bytes(u(1)).toString('utf8');
      case 0xda:
        return bytes(u(2)).toString('utf8');
      case 0xdb:
        return bytes(u(4)).toString('utf8');
      case 0xdc:
        return array(u(2));
      case 0xdd:
        return array(u(4));
      case 0xde:
        return map(u(2));
      case 0xdf:
        return map(u(4));
      default:
        throw new Error(`wire-msgpack: type 0x${b.toString(16)} is not used by the protocol`);
    }
  };
  const v = value();
  if (pos !== buf.length) throw new Error(`wire-msgpack: ${buf.length - pos} bytes after the value`);
  return v;
}
