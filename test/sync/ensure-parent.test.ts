/**
 * The dirs a pull makes above the path it lands: each missing one is made,
 * with the mode a pull of a peer's entry for it would give (DiskView.parentMode),
 * and a dir already there keeps its mode.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ensureParent } from '../../src/sync/pull/disk-checks.js';
import { readUmask } from '../../src/sync/disk/permissions.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'ensure-parent-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const modeOf = (rel: string) => statSync(path.join(root, rel)).mode & 0o7777;

it("makes a missing parent with the peer's mode through our umask, and one no peer has with the umask's default", () => {
  // The peer's dir 'a' comes to `asked` here (what pulledDirMode gives), a mode this process's umask does not make; nothing is known of 'a/b'.
  const asked = (0o777 & ~readUmask()) === 0o750 ? 0o710 : 0o750;
  ensureParent({ root, getLocal: () => undefined, parentMode: (dir) => (dir === 'a' ? asked : undefined) }, 'a/b/f.txt');
  expect(modeOf('a').toString(8)).toBe(asked.toString(8));
  expect(modeOf('a/b').toString(8)).toBe((0o777 & ~readUmask()).toString(8));
});

it('leaves a dir already there as it is', () => {
  mkdirSync(path.join(root, 'kept'), { mode: 0o755 });
  ensureParent({ root, getLocal: () => undefined, parentMode: () => 0o700 }, 'kept/f.txt');
  expect(modeOf('kept').toString(8)).toBe('755');
});
