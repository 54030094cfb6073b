import { describe, expect, it } from 'vitest';
import { conflictName, isConflictCopy, numberedCopy } from '../../src/sync/conflict.js';

const at = Date.UTC(2026, 10, 25, 9, 5, 7);

it.each([
  ['report.docx', 'report.sync-conflict-20261125-090507-abcdef1.docx'],
  ['dir/sub/notes.tar.gz', 'dir/sub/notes.tar.sync-conflict-20261125-090507-abcdef1.gz'],
  ['Makefile', 'Makefile.sync-conflict-20261125-090507-abcdef1'],
  ['.bashrc', '.bashrc.sync-conflict-20261125-090507-abcdef1'],
])('%s -> %s', (rel, expected) => {
  expect(conflictName(rel, at, 'abcdef1234567890')).toBe(expected);
  expect(isConflictCopy(expected)).toBe(true);
  expect(isConflictCopy(rel)).toBe(false);
});

describe('numberedCopy: another name for a conflict copy whose name is taken', () => {
  it.each([
    ['notes.sync-conflict-20261206-101010-alpha.txt', 2, 'notes.sync-conflict-20261206-101010-alpha-2.txt'],
    ['d/notes.sync-conflict-20261206-101010-alpha', 3, 'd/notes.sync-conflict-20261206-101010-alpha-3'],
    ['.bashrc.sync-conflict-20261206-101010-alpha', 2, '.bashrc.sync-conflict-20261206-101010-alpha-2'],
    ['a.tar.sync-conflict-20261206-101010-alpha.gz', 2, 'a.tar.sync-conflict-20261206-101010-alpha-2.gz'],
  ])('%s, %i -> %s', (copy, n, expected) => {
    expect(numberedCopy(copy, n)).toBe(expected);
    expect(isConflictCopy(expected)).toBe(true);
  });
});
