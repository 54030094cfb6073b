import { describe, expect, it } from 'vitest';
import { BlockBuffers, IDLE_MS } from '../../src/core/block-buffers.js';
import { FakeClock } from '../support/clock.js';

const SIZE = 1024;

describe('BlockBuffers', () => {
  it('lends a buffer of exactly the length asked, for lengths of more than half its size and at most its size', () => {
    const pool = new BlockBuffers(SIZE, 4, new FakeClock(0));
    expect(pool.take(SIZE)?.length).toBe(SIZE);
    expect(pool.take(SIZE / 2 + 1)?.length).toBe(SIZE / 2 + 1);
    expect(pool.take(SIZE / 2)).toBeUndefined();
    expect(pool.take(SIZE + 1)).toBeUndefined();
  });

  it('never lends a buffer while it is lent: only one given back is lent again', () => {
    const pool = new BlockBuffers(SIZE, 4, new FakeClock(0));
    const a = pool.take(SIZE)!;
    const b = pool.take(SIZE)!;
    expect(b.buffer).not.toBe(a.buffer);
    pool.give(a);
    const c = pool.take(SIZE - 10)!;
    expect(c.buffer).toBe(a.buffer);
    expect(pool.take(SIZE)!.buffer).not.toBe(b.buffer);
  });

  it('ignores what it did not lend, and a buffer given back twice', () => {
    const pool = new BlockBuffers(SIZE, 4, new FakeClock(0));
    // A view of a socket's chunk, or any other buffer, is not the pool's to lend.
    pool.give(Buffer.alloc(SIZE));
    pool.give(Buffer.allocUnsafeSlow(2 * SIZE).subarray(0, SIZE));
    expect(pool.freeCount).toBe(0);
    const a = pool.take(SIZE)!;
    pool.give(a);
    pool.give(a);
    expect(pool.freeCount).toBe(1);
    // Given back twice, it is still lent once at a time.
    const first = pool.take(SIZE)!;
    const second = pool.take(SIZE)!;
    expect(first.buffer).toBe(a.buffer);
    expect(second.buffer).not.toBe(a.buffer);
  });

  it('takes back a buffer through any view of it', () => {
    const pool = new BlockBuffers(SIZE, 4, new FakeClock(0));
    const a = pool.take(SIZE)!;
    pool.give(a.subarray(40, 900));
    expect(pool.take(SIZE)!.buffer).toBe(a.buffer);
  });

  it('keeps at most maxFree free, and none once IDLE_MS pass without one coming back', () => {
    const clock = new FakeClock(0);
    const pool = new BlockBuffers(SIZE, 2, clock);
    const lent = [pool.take(SIZE)!, pool.take(SIZE)!, pool.take(SIZE)!];
    pool.give(lent[0]!);
    clock.advance(IDLE_MS - 1);
    pool.give(lent[1]!);
    pool.give(lent[2]!);
    expect(pool.freeCount).toBe(2);
    // The wait starts again at each buffer given back.
    clock.advance(IDLE_MS - 1);
    expect(pool.freeCount).toBe(2);
    clock.advance(1);
    expect(pool.freeCount).toBe(0);
  });
});
