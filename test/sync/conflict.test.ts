import { describe, expect, it } from 'vitest';
import { conflictName, isConflictCopy, nameForCopy, numberedCopy } from '../../src/sync/conflicts/conflict.js';
import { parseConflictName } from '../../src/sync/conflicts/conflicts.js';

const at = Date.UTC(2026, 10, 25, 9, 5, 7);

it.each([
  ['report.docx', 'laptop', 'report.sync-conflict-20261125-090507-laptop-abcdef1.docx'],
  ['dir/sub/notes.tar.gz', "Tom's Mac.local", 'dir/sub/notes.tar.sync-conflict-20261125-090507-Tom-s-Mac-local-abcdef1.gz'],
  ['Makefile', '', 'Makefile.sync-conflict-20261125-090507-abcdef1'],
  ['.bashrc', 'Ноутбук', '.bashrc.sync-conflict-20261125-090507-abcdef1'],
])('%s by %s -> %s', (rel, name, expected) => {
  expect(conflictName(rel, at, { shortId: 'abcdef1234567890', name })).toBe(expected);
  expect(isConflictCopy(expected)).toBe(true);
  expect(isConflictCopy(rel)).toBe(false);
  // Read back to the file it belongs to and the node that made it.
  expect(parseConflictName(expected)).toMatchObject({ original: rel, atMs: at, node: 'abcdef1' });
});

describe('nameForCopy: a node name fit for a file name', () => {
  it.each([
    ['server', 'server'],
    ['my laptop', 'my-laptop'],
    ['../../etc/x', 'etc-x'],
    ['a.b', 'a-b'],
    ['\u001b[2J', '2J'],
    ['x'.repeat(40), 'x'.repeat(24)],
    ['日本', ''],
  ])('%j -> %j', (name, want) => {
    expect(nameForCopy(name)).toBe(want);
  });
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

it('a numbered copy is still read as a copy of the same file by the same node', () => {
  const first = conflictName('notes.txt', at, { shortId: 'abcdef1234567890', name: 'laptop' });
  expect(parseConflictName(numberedCopy(first, 2))).toMatchObject({ original: 'notes.txt', node: 'abcdef1', label: 'laptop' });
  // A copy an older version named with the ID alone, and its numbered variant.
  expect(parseConflictName(numberedCopy('notes.sync-conflict-20261125-090507-abcdef1.txt', 2))).toMatchObject({ original: 'notes.txt', node: 'abcdef1', label: '' });
});
