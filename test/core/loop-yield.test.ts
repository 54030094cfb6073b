import { describe, expect, it } from 'vitest';
import { LoopYielder } from '../../src/core/loop-yield.js';

describe('LoopYielder', () => {
  it('lets the event loop run (a setImmediate queued before) once its slice is used up', async () => {
    const yielder = new LoopYielder(0);
    let ran = false;
    setImmediate(() => (ran = true));
    expect(yielder.due()).toBe(true);
    await yielder.turn();
    expect(ran).toBe(true);
  });

  it('is not due while its slice lasts', () => {
    expect(new LoopYielder(60_000).due()).toBe(false);
  });
});
