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
});
