/**
 * The walk on a real temp dir, with faults injected at its directory read
 * (S5): root, which runs the tests, reads any dir whatever its permission
 * bits, and EIO has no cheap real cause. As a normal user a real chmod 000
 * is tried too.
 */
import type { Dirent } from 'node:fs';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileIgnore } from '../../src/ignore/matcher.js';
import { walk, type WalkOptions } from '../../src/index/scanner.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'wizard-scanner-'));
  mkdirSync(path.join(root, 'ok'));
  mkdirSync(path.join(root, 'bad', 'deeper'), { recursive: true });
  writeFileSync(path.join(root, 'ok', 'a.txt'), 'a');
  writeFileSync(path.join(root, 'bad', 'b.txt'), 'b');
  writeFileSync(path.join(root, 'bad', 'deeper', 'c.txt'), 'c');
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const options = (readDir?: WalkOptions['readDir']): WalkOptions => ({
  matcher: compileIgnore([]),
  isInternal: () => false,
  ...(readDir === undefined ? {} : { readDir }),
});

/** Real listings, but `failing` (relative) fails with errno `code`. */
function failingAt(failing: string, code: string): (abs: string) => Promise<Dirent[]> {
  return (abs) =>
    abs === path.join(root, failing)
      ? Promise.reject(Object.assign(new Error(`${code}: injected, scandir '${abs}'`), { code, syscall: 'scandir' }))
      : readdir(abs, { withFileTypes: true });
}

describe('walk', () => {
  it.each(['EIO', 'EACCES'])('S5: %s listing a subdirectory reports it unreadable and goes on with the rest', async (code) => {
    const result = await walk(root, '', options(failingAt('bad', code)));
    expect(result.unreadable).toEqual(['bad']);
    expect([...result.seen.keys()].sort()).toEqual(['bad', 'ok', 'ok/a.txt']);
  });

  it('S5: EIO listing the dir a watcher event names reports it unreadable, not empty', async () => {
    const result = await walk(root, 'bad', options(failingAt('bad', 'EIO')));
    expect(result.unreadable).toEqual(['bad']);
  });

  it.skipIf(process.getuid?.() === 0)('S5: a path below a real chmod 000 dir (as a normal user) fails the walk instead of looking deleted', async () => {
    chmodSync(path.join(root, 'bad'), 0o000);
    try {
      await expect(walk(root, 'bad/deeper/c.txt', options())).rejects.toMatchObject({ code: 'EACCES' });
      const whole = await walk(root, '', options());
      expect(whole.unreadable).toEqual(['bad']);
    } finally {
      chmodSync(path.join(root, 'bad'), 0o755);
    }
  });
});
