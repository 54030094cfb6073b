/** Which delta plans are carried out in place (src/sync/patch/plan.ts): pure decisions. */
import { describe, expect, it } from 'vitest';
import type { FillOp } from '../../src/delta/locate.js';
import { IN_PLACE_MAX_CHANGED_BYTES, inPlaceWrites } from '../../src/sync/patch/plan.js';
import { rangesToSave } from '../../src/sync/patch/journal.js';

const MiB = 1024 * 1024;
const file = (size: number, mode = 0o644, nlink = 1) => ({ size, mode, nlink });
const local = (at: number, length: number, from = at, basis = 0): FillOp => ({ kind: 'local', at, from, length, basis });
const remote = (at: number, length: number): FillOp => ({ kind: 'remote', at, length });

describe('inPlaceWrites', () => {
  it('an edit in place, an append and a truncation are written in place: the fetched ranges are the writes', () => {
    expect(inPlaceWrites([local(0, MiB), remote(MiB, 4096), local(MiB + 4096, MiB)], file(2 * MiB + 4096), 2 * MiB + 4096, 0o644)).toEqual([[MiB, 4096]]);
    expect(inPlaceWrites([local(0, 2 * MiB), remote(2 * MiB, 1000)], file(2 * MiB), 2 * MiB + 1000, 0o644)).toEqual([[2 * MiB, 1000]]);
    expect(inPlaceWrites([local(0, 2 * MiB)], file(3 * MiB), 2 * MiB, 0o644)).toEqual([]);
  });

  it('shifted bytes, bytes from a partial download, a small file, a big change, hard links or an execute bit mean a temp file', () => {
    expect(inPlaceWrites([remote(0, 100), local(100, 2 * MiB, 0)], file(2 * MiB), 2 * MiB + 100, 0o644), 'shifted').toBeUndefined();
    expect(inPlaceWrites([local(0, 2 * MiB, 0, 1)], file(2 * MiB), 2 * MiB, 0o644), 'from a partial').toBeUndefined();
    expect(inPlaceWrites([local(0, MiB - 10), remote(MiB - 10, 10)], file(MiB - 1), MiB, 0o644), 'small').toBeUndefined();
    expect(inPlaceWrites([local(0, 6 * MiB), remote(6 * MiB, 2 * MiB)], file(8 * MiB), 8 * MiB, 0o644), 'over 1/8').toBeUndefined();
    expect(inPlaceWrites([local(0, 900 * MiB), remote(900 * MiB, IN_PLACE_MAX_CHANGED_BYTES + 1)], file(1024 * MiB), 900 * MiB + IN_PLACE_MAX_CHANGED_BYTES + 1, 0o644), 'over the cap').toBeUndefined();
    expect(inPlaceWrites([local(0, 2 * MiB)], file(2 * MiB, 0o644, 2), 2 * MiB, 0o644), 'two links').toBeUndefined();
    expect(inPlaceWrites([local(0, 2 * MiB)], file(2 * MiB, 0o755), 2 * MiB, 0o644), 'executable now').toBeUndefined();
    expect(inPlaceWrites([local(0, 2 * MiB)], file(2 * MiB), 2 * MiB, 0o744), 'executable after').toBeUndefined();
  });
});

describe('rangesToSave', () => {
  it('saves what the writes overwrite of the old file, and the old tail a truncation drops, merged where they touch', () => {
    expect(rangesToSave([[10, 10], [20, 5], [100, 50]], 120, 200)).toEqual([[10, 15], [100, 20]]);
    expect(rangesToSave([[0, 4]], 100, 60)).toEqual([[0, 4], [60, 40]]);
    expect(rangesToSave([[150, 10]], 100, 160)).toEqual([]);
  });
});
