/**
 * The index digest: one 128-bit value that two peers compare in `Hello` to
 * learn, without exchanging a single entry, whether their indexes hold the
 * same (path, version, deleted) set.
 *
 * It is the XOR of a per-entry digest over all entries. XOR makes it
 * independent of order and cheap to maintain: changing one entry XORs out its
 * old digest and XORs in the new one.
 */
import { hash } from 'node:crypto';

import { WizardError } from '../core/errors.js';
import { canonical, type VersionVector } from '../versions/vector.js';

/**
 * Bytes of an entry digest. 128 bits keeps an accidental collision (two
 * different indexes that look equal, so a sync is skipped) out of reach while
 * halving what every `Hello` carries compared with a full SHA-256.
 */
export const DIGEST_BYTES = 16;

/** The digest of an empty index, as stored and sent (hex). */
export const EMPTY_DIGEST_HEX = '0'.repeat(DIGEST_BYTES * 2);

/** The digest of one entry: the first 16 bytes of SHA-256 over its path, canonical version and tombstone flag. */
export function entryDigest(path: string, version: VersionVector, deleted: boolean): Buffer {
  return entryDigestOf(path, canonical(version), deleted).subarray(0, DIGEST_BYTES);
}

/**
 * The whole SHA-256 that `entryDigest` takes its first 16 bytes of, from the
 * version in canonical form: for a caller that has that string already (the
 * index writes it too) and XORs the digest in at once (xorInto reads only
 * the first 16 bytes), so no second string and no view are made per entry.
 */
export function entryDigestOf(path: string, canonicalVersion: string, deleted: boolean): Buffer {
  // NUL separates the fields because no valid path contains one, so no two
  // different entries can produce the same hashed string.
  return hash('sha256', `${path}\0${canonicalVersion}\0${deleted ? '1' : '0'}`, 'buffer');
}

/** XORs the first `DIGEST_BYTES` of `d` into `acc` in place; `acc` must be `DIGEST_BYTES` long, `d` at least that. */
export function xorInto(acc: Buffer, d: Buffer): void {
  if (acc.length !== DIGEST_BYTES || d.length < DIGEST_BYTES) {
    throw new WizardError('INTERNAL', `digest length mismatch: ${acc.length} and ${d.length} bytes`);
  }
  for (let i = 0; i < DIGEST_BYTES; i++) acc[i] = (acc[i] ?? 0) ^ (d[i] ?? 0);
}

/** The index digest (hex) of a whole set of entries, computed from scratch. */
export function digestOf(
  entries: Iterable<{ readonly path: string; readonly version: VersionVector; readonly deleted: boolean }>,
): string {
  const acc = Buffer.alloc(DIGEST_BYTES);
  for (const e of entries) xorInto(acc, entryDigest(e.path, e.version, e.deleted));
  return acc.toString('hex');
}
