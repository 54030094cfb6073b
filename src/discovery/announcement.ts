/**
 * The LAN announcement: a fixed binary layout sent by UDP broadcast, in the
 * shape of Syncthing's local discovery with Wizard's own magic and port.
 * It carries no secret: a node ID, a name and a listening port. The address
 * is the packet's source address, so a node never has to know its own.
 *
 *   offset  size  field
 *   0       4     magic 0x57 0x5A 0x4C 0x44 ("WZLD")
 *   4       1     version (1)
 *   5       32    node ID (the SHA-256 certificate fingerprint, raw)
 *   37      2     TCP port the node accepts peers on, big-endian, 1..65535
 *   39      1     name length N in bytes, 1..MAX_NAME_BYTES
 *   40      N     node name, UTF-8, no control characters
 *
 * A packet must be exactly 40 + N bytes long: anything shorter, longer or
 * otherwise off is refused with a reason, never thrown.
 *
 * A query is 5 bytes, magic 0x57 0x5A 0x4C 0x51 ("WZLQ") and version 1: a
 * machine without a node yet (`wizard join` looking for its inviter) asks
 * the nodes that hear it to announce now rather than at their next tick.
 * It carries nothing else; a node answers it by broadcasting its usual
 * announcement, at most once a second however many queries come.
 */

/** UDP port of announcements (the protocol's 7842, the web server's 7843, then this). */
export const DISCOVERY_PORT = 7844;
/** The magic that opens every announcement. */
export const ANNOUNCE_MAGIC = Buffer.from('WZLD', 'latin1');
/** The only layout version so far. */
export const ANNOUNCE_VERSION = 1;
/** Longest name in bytes: 64 characters (config's limit) of up to 4 UTF-8 bytes each fits under the u8 length. */
export const MAX_NAME_BYTES = 255;
const HEADER_BYTES = 40;
/** Refuses bytes that are not UTF-8 instead of replacing them; holds no state between calls (no streaming). */
const UTF8 = new TextDecoder('utf-8', { fatal: true });
/** Largest packet a valid announcement can be; the listener drops bigger datagrams unread. */
export const MAX_ANNOUNCE_BYTES = HEADER_BYTES + MAX_NAME_BYTES;

/** The magic of a query (see the file comment). */
export const QUERY_MAGIC = Buffer.from('WZLQ', 'latin1');
const QUERY = Buffer.concat([QUERY_MAGIC, Buffer.of(ANNOUNCE_VERSION)]);

/** The query packet: "nodes that hear this, announce yourselves now". */
export function encodeQuery(): Buffer {
  return Buffer.from(QUERY);
}

/** Whether `packet` is exactly a query. */
export function isQuery(packet: Uint8Array): boolean {
  return packet.length === QUERY.length && QUERY.equals(packet);
}

/** What a node says about itself. */
export interface Announcement {
  /** 64 lowercase hex digits. */
  readonly id: string;
  readonly port: number;
  readonly name: string;
}

/** Why a packet was refused; each is counted in status. */
export type DropReason = 'short' | 'long' | 'magic' | 'version' | 'id' | 'port' | 'name';

/** Encodes an announcement; throws on values this node should never send (a bug, not input). */
export function encodeAnnouncement(a: Announcement): Buffer {
  if (!/^[0-9a-f]{64}$/.test(a.id)) throw new Error(`announcement: bad node ID ${a.id.slice(0, 16)}`);
  if (!Number.isInteger(a.port) || a.port < 1 || a.port > 65_535) throw new Error(`announcement: bad port ${a.port}`);
  const name = Buffer.from(truncateUtf8(a.name, MAX_NAME_BYTES), 'utf8');
  if (name.length === 0) throw new Error('announcement: empty name');
  const out = Buffer.alloc(HEADER_BYTES + name.length);
  ANNOUNCE_MAGIC.copy(out, 0);
  out.writeUInt8(ANNOUNCE_VERSION, 4);
  Buffer.from(a.id, 'hex').copy(out, 5);
  out.writeUInt16BE(a.port, 37);
  out.writeUInt8(name.length, 39);
  name.copy(out, HEADER_BYTES);
  return out;
}

/** Decodes a packet from the network: the announcement, or why it was refused. Never throws. */
export function decodeAnnouncement(packet: Uint8Array): Announcement | DropReason {
  if (packet.length < HEADER_BYTES) return 'short';
  if (packet.length > MAX_ANNOUNCE_BYTES) return 'long';
  const buf = Buffer.from(packet.buffer, packet.byteOffset, packet.length);
  if (!buf.subarray(0, 4).equals(ANNOUNCE_MAGIC)) return 'magic';
  if (buf.readUInt8(4) !== ANNOUNCE_VERSION) return 'version';
  const idBytes = buf.subarray(5, 37);
  // All zeros is no certificate's fingerprint; it is what a blank or garbled packet holds.
  if (idBytes.every((b) => b === 0)) return 'id';
  const port = buf.readUInt16BE(37);
  if (port === 0) return 'port';
  const nameBytes = buf.readUInt8(39);
  if (nameBytes === 0) return 'name';
  if (packet.length < HEADER_BYTES + nameBytes) return 'short';
  if (packet.length > HEADER_BYTES + nameBytes) return 'long';
  let name: string;
  try {
    name = UTF8.decode(buf.subarray(HEADER_BYTES));
  } catch {
    return 'name';
  }
  // Control characters could drive a terminal or forge log lines; a real node's name has none (config refuses them).
  if (/\p{Cc}/u.test(name) || [...name].length > 64) return 'name';
  return { id: idBytes.toString('hex'), port, name };
}

/** The longest prefix of `s` that fits in `max` UTF-8 bytes without splitting a character. */
function truncateUtf8(s: string, max: number): string {
  let out = '';
  let bytes = 0;
  for (const ch of s) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > max) break;
    out += ch;
    bytes += n;
  }
  return out;
}
