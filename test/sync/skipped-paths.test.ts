/**
 * SkippedPaths (issue 15, item 12): what scans could not sync stays listed
 * until a walk of its dir finds it fixed or gone; clashes hold pulls.
 */
import { describe, expect, it } from 'vitest';
import { SkippedPaths } from '../../src/sync/scan/skipped-paths.js';

const clash = { path: 'd/caf\u00e9', reason: 'two spellings', clash: true };
const badName = { path: 'd/b\uFFFD', reason: 'not UTF-8' };

describe('SkippedPaths', () => {
  it('logs a record once, keeps it through walks that do not list its dir, and drops it when one does not find it again', () => {
    const skipped = new SkippedPaths();
    expect(skipped.update({ listed: ['', 'd'], seen: ['d'], skipped: [clash, badName] }).fresh).toEqual([clash, badName]);
    expect(skipped.update({ listed: ['', 'd'], seen: ['d'], skipped: [clash, badName] }).fresh).toEqual([]);
    // A single file's walk lists nothing.
    skipped.update({ listed: [], seen: ['d/other'], skipped: [] });
    expect(skipped.summary()).toEqual({ count: 2, examples: [{ path: badName.path, reason: badName.reason }, { path: clash.path, reason: clash.reason }] });
    const ended = skipped.update({ listed: ['d'], seen: ['d/caf\u00e9'], skipped: [] });
    expect(ended).toEqual({ fresh: [], clashesEnded: ['d/caf\u00e9'] });
    expect(skipped.summary()).toBeUndefined();
  });

  it('holds pulls at and below a clash, and gives the reason for paths below a skipped dir', () => {
    const skipped = new SkippedPaths();
    skipped.update({ listed: ['d'], seen: [], skipped: [clash, { path: 'locked', reason: 'cannot list this dir (EACCES)' }] });
    expect(skipped.clashAt('d/caf\u00e9')).toBe('d/caf\u00e9');
    expect(skipped.clashAt('d/caf\u00e9/x')).toBe('d/caf\u00e9');
    expect(skipped.clashAt('d/cafe')).toBeUndefined();
    expect(skipped.clashAt('locked/x')).toBeUndefined();
    expect(skipped.reasonFor('d/caf\u00e9')).toBe('two spellings');
    expect(skipped.reasonFor('locked/a/b')).toBe('locked: cannot list this dir (EACCES)');
    expect(skipped.reasonFor('elsewhere')).toBeUndefined();
  });
});
