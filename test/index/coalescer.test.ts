import { describe, expect, it } from 'vitest';
import { ChangeCoalescer } from '../../src/index/coalescer.js';
import { FakeClock } from '../support/clock.js';

function setup(debounceMs = 50, maxDelayMs = 2000) {
  const clock = new FakeClock(1_700_000_000_000);
  const calls: Array<{ at: number; paths: string[]; settled: boolean }> = [];
  let debounce = debounceMs;
  const c = new ChangeCoalescer({
    clock,
    monotonicMs: () => clock.monotonic(),
    debounceMs: () => debounce,
    maxDelayMs,
    onChanges: (paths, settled) => calls.push({ at: clock.monotonic(), paths: [...paths].sort(), settled }),
  });
  return { clock, calls, c, setDebounce: (ms: number) => (debounce = ms) };
}

/** Advances `total` ms in `step` ms ticks, calling `each` before every tick. */
function run(clock: FakeClock, total: number, step: number, each: () => void): void {
  for (let t = 0; t < total; t += step) {
    each();
    clock.advance(step);
  }
}

describe('ChangeCoalescer', () => {
  it('hands a single change over once, settled, after the quiet window', () => {
    const { clock, calls, c } = setup();
    c.add(['a.txt']);
    clock.advance(49);
    expect(calls).toEqual([]);
    clock.advance(1);
    expect(calls).toEqual([{ at: 50, paths: ['a.txt'], settled: true }]);
    clock.advance(5000);
    expect(calls).toHaveLength(1);
  });

  it('hands a quiet path over early while another keeps changing, and both again once settled', () => {
    const { clock, calls, c } = setup();
    c.add(['small.txt', 'big.bin']);
    // big.bin is written every 10 ms for 600 ms; small.txt never changes again.
    run(clock, 600, 10, () => c.add(['big.bin']));
    expect(calls).toEqual([{ at: 50, paths: ['small.txt'], settled: false }]);
    clock.advance(50);
    expect(calls.at(-1)).toEqual({ at: 650, paths: ['big.bin', 'small.txt'], settled: true });
    expect(calls).toHaveLength(2);
  });

  it('hands a path that never goes quiet over at the latest maxDelayMs after its first event', () => {
    const { clock, calls, c } = setup(50, 2000);
    run(clock, 5000, 10, () => c.add(['log.txt']));
    const settled = calls.filter((k) => k.settled);
    expect(calls.filter((k) => !k.settled)).toEqual([]);
    expect(settled.map((k) => k.at)).toEqual([2000, 4000]);
    expect(settled.every((k) => k.paths.join() === 'log.txt')).toBe(true);
  });

  it('keeps the two halves of a rename in the same hand-over', () => {
    const { clock, calls, c } = setup();
    c.add(['busy.bin']);
    clock.advance(20);
    c.add(['old-name.txt', 'new-name.txt']);
    run(clock, 200, 10, () => c.add(['busy.bin']));
    const early = calls.filter((k) => !k.settled);
    expect(early).toEqual([{ at: 70, paths: ['new-name.txt', 'old-name.txt'], settled: false }]);
  });

  it('hands over each path of a burst early in batches, in the order they went quiet', () => {
    const { clock, calls, c } = setup();
    let n = 0;
    // One new file every 5 ms for 500 ms: each is quiet 50 ms after it was written.
    run(clock, 500, 5, () => c.add([`f${n++}`]));
    const early = calls.filter((k) => !k.settled).flatMap((k) => k.paths);
    expect(early.length).toBeGreaterThan(80);
    expect(new Set(early).size).toBe(early.length);
    expect(calls.every((k) => k.at - 50 <= 500)).toBe(true);
    clock.advance(50);
    expect(calls.at(-1)?.settled).toBe(true);
    expect(calls.at(-1)?.paths).toHaveLength(100);
  });

  it('reads the quiet window on every use (hot reload)', () => {
    const { clock, calls, c, setDebounce } = setup(50);
    setDebounce(300);
    c.add(['a']);
    clock.advance(299);
    expect(calls).toEqual([]);
    clock.advance(1);
    expect(calls).toHaveLength(1);
  });

  it('is not stalled by the wall clock stepping back', () => {
    const { clock, calls, c } = setup();
    c.add(['a']);
    clock.jump(-3_600_000);
    clock.advance(50);
    expect(calls).toEqual([{ at: 50, paths: ['a'], settled: true }]);
  });

  it('drops everything pending on clear', () => {
    const { clock, calls, c } = setup();
    c.add(['a', 'b']);
    expect(c.pending).toBe(2);
    c.clear();
    clock.advance(5000);
    expect(calls).toEqual([]);
    expect(c.pending).toBe(0);
  });
});
