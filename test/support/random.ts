/**
 * Seeded pseudo-random bytes for tests (mulberry32): the same seed gives the
 * same data on every run, so a failure reproduces.
 */

/** A generator of uint32s from `seed`. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** `length` seeded random bytes. */
export function seededBytes(length: number, seed: number): Buffer {
  const next = seededRandom(seed);
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i += 4) {
    const v = next();
    for (let j = 0; j < 4 && i + j < length; j++) out[i + j] = (v >>> (8 * j)) & 0xff;
  }
  return out;
}
