import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/transport/token-bucket.js';

describe('TokenBucket', () => {
  function bucket(rate: number) {
    const t = { ms: 1_000_000, rate };
    return { t, b: new TokenBucket(() => t.rate, () => t.ms) };
  }

  it('never makes anyone wait when unlimited', () => {
    const { b } = bucket(0);
    b.take(1e9);
    expect(b.waitMs()).toBe(0);
  });

  it('lets a frame overdraw and makes the next wait until the debt is paid', () => {
    const { t, b } = bucket(1000);
    expect(b.waitMs()).toBe(0);
    b.take(500);
    expect(b.waitMs()).toBe(500);
    t.ms += 200;
    expect(b.waitMs()).toBe(300);
    t.ms += 300;
    expect(b.waitMs()).toBe(0);
  });

  it('holds the long-run rate whatever the frame sizes', () => {
    const { t, b } = bucket(100_000);
    let sent = 0;
    const start = t.ms;
    // Send as fast as the bucket allows for 10 simulated seconds, in frames of varied size.
    for (let i = 0; t.ms - start < 10_000; i++) {
      const wait = b.waitMs();
      if (wait > 0) {
        t.ms += wait;
        continue;
      }
      const size = [1, 4096, 65_536, 262_144][i % 4]!;
      b.take(size);
      sent += size;
    }
    const rate = sent / ((t.ms - start) / 1000);
    expect(rate).toBeGreaterThan(90_000);
    expect(rate).toBeLessThan(110_000 + 262_144 / 10);
  });

  it('saves up at most a tenth of a second of rate while idle', () => {
    const { t, b } = bucket(1000);
    expect(b.waitMs()).toBe(0);
    t.ms += 60_000;
    b.take(100);
    expect(b.waitMs()).toBe(0);
    b.take(100);
    expect(b.waitMs()).toBe(100);
  });

  it('applies a new rate at once, without the old debt', () => {
    const { t, b } = bucket(1000);
    b.take(10_000);
    expect(b.waitMs()).toBe(10_000);
    t.rate = 0;
    expect(b.waitMs()).toBe(0);
    t.rate = 5000;
    b.take(5000);
    expect(b.waitMs()).toBe(1000);
  });

  it('does not pay out for a clock that steps back', () => {
    const { t, b } = bucket(1000);
    b.take(1000);
    t.ms -= 3_600_000;
    expect(b.waitMs()).toBe(1000);
  });
});
