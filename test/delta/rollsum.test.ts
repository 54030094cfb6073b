import { describe, expect, it } from 'vitest';
import { Rollsum, weakSum } from '../../src/delta/rollsum.js';
import { seededBytes } from '../support/random.js';

describe('Rollsum (librsync rrs0 golden vectors, tests/rollsum_test.c)', () => {
  it('rolls in 0, 1, 2, 3 to 0x01400082', () => {
    const r = new Rollsum();
    for (const c of [0, 1, 2, 3]) r.rollIn(c);
    expect(r.digest()).toBe(0x01400082);
  });

  it('rotates 0 out and 4 in to 0x014a0086', () => {
    const r = new Rollsum();
    for (const c of [0, 1, 2, 3]) r.rollIn(c);
    r.rotate(0, 4);
    expect(r.digest()).toBe(0x014a0086);
  });

  it('updates over bytes 0..255 to 0x3a009e80', () => {
    const buf = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(weakSum(buf)).toBe(0x3a009e80);
  });

  it('gives the same sum rolled byte by byte, rotated along, or updated in one call', () => {
    const data = seededBytes(5000, 7);
    const window = 1024;
    const rolled = new Rollsum();
    for (let i = 0; i < window; i++) rolled.rollIn(data[i] as number);
    for (let i = window; i < data.length; i++) {
      rolled.rotate(data[i - window] as number, data[i] as number);
      if (i % 997 === 0) expect(rolled.digest()).toBe(weakSum(data, i - window + 1, i + 1));
    }
    const shrunk = new Rollsum();
    shrunk.update(data, 0, 100);
    shrunk.rollOut(data[0] as number);
    expect(shrunk.digest()).toBe(weakSum(data, 1, 100));
  });

  it('sums words at any alignment and length exactly as rolling in byte by byte', () => {
    const rolledIn = (buf: Uint8Array, start: number, end: number): number => {
      const r = new Rollsum();
      for (let i = start; i < end; i++) r.rollIn(buf[i] as number);
      return r.digest();
    };
    // All-0xff blocks of the largest size push the unmasked word runs to their bound.
    const cases: Array<{ name: string; data: Uint8Array }> = [
      { name: 'random', data: seededBytes(70_000, 11) },
      { name: 'all 0xff', data: new Uint8Array(70_000).fill(0xff) },
    ];
    for (const { name, data } of cases) {
      for (const start of [0, 1, 2, 3, 5]) {
        for (const length of [0, 1, 3, 4, 7, 1024, 1027, 4096 + 2, 65_536]) {
          expect(weakSum(data, start, start + length), `${name} at ${start}, ${length} bytes`).toBe(rolledIn(data, start, start + length));
        }
      }
      // A view whose own byteOffset is odd.
      const view = data.subarray(3, 3 + 65_536);
      expect(weakSum(view), `${name} through an odd view`).toBe(rolledIn(data, 3, 3 + 65_536));
    }
  });
});
