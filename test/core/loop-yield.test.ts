import { describe, expect, it } from 'vitest';
import { LoopYielder } from '../../src/core/loop-yield.js';

describe('LoopYielder', () => {
  it('lets the event loop run (a setImmediate queued before) once its slice is used up', async () => {
    const yielder = new LoopYielder(0);
    let ran = false;
    setImmediate(() => (ran = true));
    await yielder.maybe();
    expect(ran).toBe(true);
  });

  it('resolves without a turn of the event loop while its slice lasts', async () => {
    const yielder = new LoopYielder(60_000);
    let ran = false;
    setImmediate(() => (ran = true));
    await yielder.maybe();
    expect(ran).toBe(false);
  });
});
