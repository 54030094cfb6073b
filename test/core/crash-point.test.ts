import { expect, it } from 'vitest';
import { crashPointFor, parseCrashAt } from '../../src/core/crash-point.js';

it('K1: without WIZARD_CRASH_AT every crash point is a no-op', () => {
  let kills = 0;
  const point = crashPointFor(undefined, () => kills++);
  for (let i = 0; i < 10; i++) point('after-rename');
  expect(kills).toBe(0);
});

it('K1: kills at the named point only, on the pass its count names, and once', () => {
  let kills = 0;
  const point = crashPointFor('after-rename:3', () => kills++);
  point('mid-block-write');
  point('after-rename');
  point('after-rename');
  expect(kills).toBe(0);
  point('after-rename');
  expect(kills).toBe(1);
  point('after-rename');
  expect(kills).toBe(1);
});

it('K1: a bare name means the first pass', () => {
  expect(parseCrashAt('mid-trash-move')).toEqual({ name: 'mid-trash-move', count: 1 });
});

it('K1: a misspelt point or a bad count is refused, not silently ignored', () => {
  for (const bad of ['after-renam', 'after-rename:0', 'after-rename:x', 'after-rename:1:2', 'after-rename:-1']) {
    expect(() => parseCrashAt(bad), bad).toThrow(/WIZARD_CRASH_AT/);
  }
});
