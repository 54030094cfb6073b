/**
 * The mode of a file already here is set through a descriptor that never
 * follows a symlink put at its name, and only on the inode that was checked
 * (issue 15 item 6: chmod by path would follow a link out of the folder).
 */
import { lstatSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { readUmask, restampFileNow } from '../../src/sync/disk/permissions.js';

let base: string;
let outside: string;

beforeEach(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'wizard-perms-'));
  outside = path.join(base, 'outside');
  mkdirSync(outside, { mode: 0o700 });
  writeFileSync(path.join(outside, 'secret'), 'x', { mode: 0o600 });
});

afterEach(() => {
  rmSync(base, { recursive: true, force: true });
});

it('restampFileNow changes the checked file, and refuses a symlink or another file put at its name', () => {
  const file = path.join(base, 'f');
  writeFileSync(file, 'mine', { mode: 0o600 });
  const inode = lstatSync(file).ino;
  expect(restampFileNow(file, inode, 0o755, 1_000_000)?.mode).toBe(statSync(file).mode);
  expect(statSync(file).mode & 0o7777).toBe(0o755);
  expect(statSync(file).mtimeMs).toBe(1_000_000);

  // The checked file kept under another name, so its inode cannot be reused by what takes its place.
  renameSync(file, path.join(base, 'kept'));
  symlinkSync(path.join(outside, 'secret'), file);
  expect(restampFileNow(file, inode, 0o777, 0)).toBeUndefined();
  expect(statSync(path.join(outside, 'secret')).mode & 0o7777).toBe(0o600);

  rmSync(file);
  writeFileSync(file, 'another file', { mode: 0o600 });
  expect(restampFileNow(file, inode, 0o777, 0)).toBeUndefined();
  expect(statSync(file).mode & 0o7777).toBe(0o600);
});

it('readUmask reads the umask and leaves it as it was', () => {
  const before = process.umask(0o027);
  try {
    expect(readUmask()).toBe(0o027);
    expect(readUmask()).toBe(0o027);
  } finally {
    process.umask(before);
  }
});
