/**
 * The bench keeps its own deletions out of what it measures (bench/lib/deleted-inodes.mjs):
 * a group's run dir is set aside with its big files deleted, and a run waits out the last
 * run's deletions.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { noteDeletions, retireRunDir, waitOutDeletions } from '../../bench/lib/deleted-inodes.mjs';

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'wizard-deleted-inodes-'));
});
afterEach(() => {
  vi.useRealTimers();
  rmSync(root, { recursive: true, force: true });
});

describe('retireRunDir', () => {
  it('deletes the big files now and moves the rest aside, small files untouched', () => {
    const base = path.join(root, 'burst-1');
    mkdirSync(path.join(base, 'A', 'out0'), { recursive: true });
    writeFileSync(path.join(base, 'A', 'out0', 'small.bin'), Buffer.alloc(4096));
    writeFileSync(path.join(base, 'A', 'big.bin'), Buffer.alloc(1024 * 1024));
    retireRunDir(base);
    expect(existsSync(base)).toBe(false);
    const retired = `${base}.retired`;
    expect(readdirSync(path.join(retired, 'A')).sort()).toEqual(['out0']);
    expect(readdirSync(path.join(retired, 'A', 'out0'))).toEqual(['small.bin']);
  });

  it('does nothing when the run dir was never made', () => {
    expect(() => retireRunDir(path.join(root, 'missing'))).not.toThrow();
    expect(readdirSync(root)).toEqual([]);
  });
});

describe('waitOutDeletions', () => {
  it('returns at once when no run has noted deletions', async () => {
    const log = vi.fn();
    await waitOutDeletions(root, log);
    expect(log).not.toHaveBeenCalled();
  });

  it('waits until 65 s after the last noted deletion, and says so', async () => {
    noteDeletions(root);
    vi.useFakeTimers({ toFake: ['setTimeout', 'Date'] });
    const log = vi.fn();
    let done = false;
    const waiting = waitOutDeletions(root, log).then(() => (done = true));
    expect(log).toHaveBeenCalledWith(expect.stringMatching(/^waiting 6[45] s for the last run's deleted inodes/));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(5_000);
    await waiting;
    expect(done).toBe(true);
  });

  it('does not wait for deletions older than the window', async () => {
    writeFileSync(path.join(root, '.last-deletion'), String(Date.now() - 66_000));
    const log = vi.fn();
    await waitOutDeletions(root, log);
    expect(log).not.toHaveBeenCalled();
  });
});
