/**
 * The undo journal of a patch in place (docs/DELTA.md, "Patching in place"):
 * the old bytes of every range a patch overwrites, with what it needs to put
 * them back and to check it may. Written and fsynced before the file is
 * touched; after the patch is committed it becomes the file's trash entry, a
 * reverse delta from the new version to the old one.
 *
 * Layout: `WZJ1`, a 4-byte big-endian header length, the header as JSON, the
 * old bytes of each range in order, and the SHA-256 of everything before it.
 * A journal cut short by a crash fails the checksum: it was never complete,
 * so the file was never touched, and it is dropped.
 */
import { createHash } from 'node:crypto';

/** The first bytes of every journal (and of every reverse-delta trash entry). */
export const JOURNAL_MAGIC = Buffer.from('WZJ1');
const DIGEST_BYTES = 32;
/** A header longer than this is not one of ours. */
const MAX_HEADER_BYTES = 1024 * 1024;

/** What a journal says about its patch. */
export interface JournalHeader {
  /** The file's folder-relative path in the index. */
  readonly path: string;
  /** Its path as spelled on disk (the index path unless the name is not NFC). */
  readonly disk: string;
  /** The patched file's identity: a journal never applies to another inode. */
  readonly dev: number;
  readonly ino: number;
  /** The version the ranges restore (the old one). */
  readonly oldSize: number;
  readonly oldHash: string;
  readonly oldMtimeMs: number;
  /** The version the patch produces: the one the reverse delta applies to. */
  readonly newSize: number;
  readonly newHash: string;
  /**
   * What oldHash and newHash mean: 2, the content hash of core/content-hash.ts; absent in a
   * journal written before it (wire protocol 5), whose hashes are one SHA-256 of the whole file.
   * Such journals outlive the upgrade in the trash, as reverse deltas a restore still applies.
   */
  readonly hashMeaning?: 2;
  /** The saved ranges of the old file, [offset, length], in order, not overlapping. */
  readonly ranges: ReadonlyArray<readonly [number, number]>;
}

/** A journal as read back: header and the old bytes of each range. */
export interface Journal {
  readonly header: JournalHeader;
  /** The old bytes, one buffer per range of the header. */
  readonly old: readonly Buffer[];
}

/** The journal's bytes for `header` and the old bytes of its ranges. */
export function encodeJournal(header: JournalHeader, old: readonly Buffer[]): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(json.length);
  const body = Buffer.concat([JOURNAL_MAGIC, len, json, ...old]);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

/** Whether `head` (the first bytes of a file) starts like a journal. */
export function looksLikeJournal(head: Buffer): boolean {
  return head.length >= JOURNAL_MAGIC.length && head.subarray(0, JOURNAL_MAGIC.length).equals(JOURNAL_MAGIC);
}

/** Reads a journal back; undefined when it is torn, altered or not a journal at all. */
export function decodeJournal(bytes: Buffer): Journal | undefined {
  if (bytes.length < JOURNAL_MAGIC.length + 4 + DIGEST_BYTES || !looksLikeJournal(bytes)) return undefined;
  const body = bytes.subarray(0, bytes.length - DIGEST_BYTES);
  if (!createHash('sha256').update(body).digest().equals(bytes.subarray(bytes.length - DIGEST_BYTES))) return undefined;
  const headerBytes = body.readUInt32BE(JOURNAL_MAGIC.length);
  const start = JOURNAL_MAGIC.length + 4;
  if (headerBytes > MAX_HEADER_BYTES || start + headerBytes > body.length) return undefined;
  let header: JournalHeader;
  try {
    header = JSON.parse(body.subarray(start, start + headerBytes).toString('utf8')) as JournalHeader;
  } catch {
    return undefined;
  }
  if (!isHeader(header)) return undefined;
  const old: Buffer[] = [];
  let at = start + headerBytes;
  let end = 0;
  for (const [offset, length] of header.ranges) {
    if (offset < end || offset + length > header.oldSize || at + length > body.length) return undefined;
    old.push(body.subarray(at, at + length));
    at += length;
    end = offset + length;
  }
  return at === body.length ? { header, old } : undefined;
}

function isHeader(h: JournalHeader): boolean {
  const whole = (n: unknown) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
  return (
    typeof h === 'object' &&
    h !== null &&
    typeof h.path === 'string' &&
    typeof h.disk === 'string' &&
    whole(h.dev) &&
    whole(h.ino) &&
    whole(h.oldSize) &&
    whole(h.newSize) &&
    typeof h.oldHash === 'string' &&
    typeof h.newHash === 'string' &&
    typeof h.oldMtimeMs === 'number' &&
    (h.hashMeaning === undefined || h.hashMeaning === 2) &&
    Array.isArray(h.ranges) &&
    h.ranges.every((r) => Array.isArray(r) && r.length === 2 && whole(r[0]) && whole(r[1]) && (r[1] as number) > 0)
  );
}

/**
 * The ranges of the old file a patch overwrites, to save before it does:
 * every range it writes, cut at the old size, and the old tail when the new
 * version is shorter. Merged where they touch. Pure.
 */
export function rangesToSave(writes: ReadonlyArray<readonly [number, number]>, oldSize: number, newSize: number): Array<[number, number]> {
  const cut: Array<[number, number]> = [];
  for (const [at, length] of writes) {
    const end = Math.min(at + length, oldSize);
    if (end > at) cut.push([at, end - at]);
  }
  if (newSize < oldSize) cut.push([newSize, oldSize - newSize]);
  cut.sort((x, y) => x[0] - y[0]);
  const out: Array<[number, number]> = [];
  for (const [at, length] of cut) {
    const last = out.at(-1);
    if (last !== undefined && at <= last[0] + last[1]) last[1] = Math.max(last[1], at + length - last[0]);
    else out.push([at, length]);
  }
  return out;
}
