/**
 * Version vectors: one counter per node that changed a file. They decide which
 * version of a file is newer; wall clocks never do.
 *
 * Keys are short node IDs (the first 16 hex digits of the node ID, 64 bits):
 * enough to be unique among one person's machines, and a quarter of the bytes
 * of a full ID in every index entry on the wire.
 */
export type VersionVector = Readonly<Record<string, number>>;

/** How two vectors relate. `concurrent`: neither saw the other's change. */
export type Ordering = 'equal' | 'greater' | 'lesser' | 'concurrent';

/**
 * Largest counter on the wire (docs/PROTOCOL.md section 7): 2^52, well below
 * 2^53 so that counting on from it stays a safe integer. Peers refuse a larger
 * one as a protocol error; plausible.ts keeps what a node takes far below it.
 */
export const MAX_COUNTER = 2 ** 52;

/** Length of a short node ID in hex digits. */
export const SHORT_ID_HEX = 16;

/** The vector key for a node ID. */
export function shortId(nodeId: string): string {
  return nodeId.slice(0, SHORT_ID_HEX);
}

/** Compares `a` to `b`: `greater` means `a` has seen everything `b` has, and more. */
export function compare(a: VersionVector, b: VersionVector): Ordering {
  let aAhead = false;
  let bAhead = false;
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[key] ?? 0;
    const y = b[key] ?? 0;
    if (x > y) aAhead = true;
    else if (y > x) bAhead = true;
    if (aAhead && bAhead) return 'concurrent';
  }
  if (aAhead) return 'greater';
  if (bAhead) return 'lesser';
  return 'equal';
}

/** True when `a` has seen every change `b` has (equal or greater). */
export function dominates(a: VersionVector, b: VersionVector): boolean {
  const order = compare(a, b);
  return order === 'greater' || order === 'equal';
}

/** The element-wise maximum: a vector that has seen both. */
export function merge(a: VersionVector, b: VersionVector): VersionVector {
  const out: Record<string, number> = { ...a };
  for (const [key, value] of Object.entries(b)) {
    if (value > (out[key] ?? 0)) out[key] = value;
  }
  return out;
}

/**
 * Records a change made by `id` at `nowMs`. The new counter is one more than
 * the largest counter in the vector (a Lamport clock per file, so a node's
 * edit is ordered after every version it has seen), and at least the current
 * time in seconds. The time floor is Syncthing's answer to a node that lost
 * its index: its fresh counters would otherwise restart at 1 and be
 * dominated by versions it made before, so its new edits would silently lose;
 * with the floor they are concurrent, and surface as conflicts instead.
 *
 * Never past MAX_COUNTER, which every peer would refuse as a protocol error.
 * Nodes refuse counters anywhere near it (plausible.ts), so only an index
 * that took one before they did holds such a vector; then the edit counts on
 * from our own counter alone, which still orders it after the old version.
 */
export function bump(v: VersionVector, id: string, nowMs = 0): VersionVector {
  let max = 0;
  for (const value of Object.values(v)) if (value > max) max = value;
  const next = Math.max(max + 1, Math.floor(nowMs / 1000));
  if (next <= MAX_COUNTER) return { ...v, [id]: next };
  return { ...v, [id]: Math.min(MAX_COUNTER, Math.max((v[id] ?? 0) + 1, Math.floor(nowMs / 1000))) };
}

/** A canonical string form (sorted keys) for hashing and storage. */
export function canonical(v: VersionVector): string {
  const keys = Object.keys(v);
  // Most vectors have one author (a file only ever changed on one machine): no arrays to sort and join.
  if (keys.length === 1) return `${keys[0]}:${v[keys[0] as string]}`;
  return keys
    .sort()
    .map((k) => `${k}:${v[k]}`)
    .join(',');
}

/** Parses `canonical` output back into a vector. */
export function parseCanonical(s: string): VersionVector {
  const out: Record<string, number> = {};
  if (s === '') return out;
  for (const part of s.split(',')) {
    const [key, value] = part.split(':');
    if (key !== undefined && value !== undefined) out[key] = Number(value);
  }
  return out;
}
