/**
 * Conflict copy names: parsed back to the original path, time and node, and
 * the name a copy kept with `--both` gets.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bothName, type Conflict, listConflicts, parseConflictName, resolveConflict } from '../../src/sync/conflicts/conflicts.js';
import { Trash } from '../../src/sync/trash/trash.js';

const AT = Date.UTC(2026, 10, 25, 9, 30, 5);

describe('parseConflictName', () => {
  const cases: Array<{ what: string; rel: string; want: ReturnType<typeof parseConflictName> }> = [
    { what: 'a file with an extension', rel: 'notes.sync-conflict-20261125-093005-abcd1234.txt', want: { original: 'notes.txt', atMs: AT, node: 'abcd1234', label: '' } },
    { what: 'a nested file without extension', rel: 'a/b/Makefile.sync-conflict-20261125-093005-ABCDEF0', want: { original: 'a/b/Makefile', atMs: AT, node: 'ABCDEF0', label: '' } },
    { what: 'a double extension keeps the part after the node', rel: 'x.tar.sync-conflict-20261125-093005-ff.gz', want: { original: 'x.tar.gz', atMs: AT, node: 'ff', label: '' } },
    { what: 'a name this version makes: the node name, then 7 hex of its ID', rel: 'notes.sync-conflict-20261125-093005-my-laptop-a1b2c3d.txt', want: { original: 'notes.txt', atMs: AT, node: 'a1b2c3d', label: 'my-laptop' } },
    { what: 'its numbered variant', rel: 'd/notes.sync-conflict-20261125-093005-laptop-a1b2c3d-2.txt', want: { original: 'd/notes.txt', atMs: AT, node: 'a1b2c3d', label: 'laptop' } },
    { what: 'a name ending in 7 hex digits', rel: 'n.sync-conflict-20261125-093005-box-deadbee-a1b2c3d', want: { original: 'n', atMs: AT, node: 'a1b2c3d', label: 'box-deadbee' } },
    { what: "an older version's numbered variant (the ID alone)", rel: 'notes.sync-conflict-20261125-093005-abcdef0-3.txt', want: { original: 'notes.txt', atMs: AT, node: 'abcdef0', label: '' } },
    { what: 'a dir named like a conflict only in a parent', rel: 'd.sync-conflict-20261125-093005-ff/plain.txt', want: undefined },
    { what: 'a plain file', rel: 'notes.txt', want: undefined },
    { what: 'a stamp with letters', rel: 'n.sync-conflict-2026112X-093005-ff.txt', want: undefined },
  ];
  it.each(cases)('$what', ({ rel, want }) => {
    expect(parseConflictName(rel)).toEqual(want);
  });
});

describe('bothName', () => {
  it('renames the copy so it keeps the node and time but is no longer a conflict', () => {
    const rel = 'd/notes.sync-conflict-20261125-093005-abcd1234.txt';
    const parsed = parseConflictName(rel);
    if (parsed === undefined) throw new Error('fixture does not parse');
    const side = { exists: true, size: 1, mtimeMs: 0 };
    const c: Conflict = { ...parsed, file: { path: parsed.original, ...side }, copy: { path: rel, ...side } };
    expect(bothName(c)).toBe('d/notes.from-abcd1234-20261125-093005.txt');
    expect(parseConflictName(bothName(c))).toBeUndefined();
  });

  it("uses the node's name when the copy's name has one", () => {
    const rel = 'notes.sync-conflict-20261125-093005-laptop-a1b2c3d.txt';
    const parsed = parseConflictName(rel);
    if (parsed === undefined) throw new Error('fixture does not parse');
    const side = { exists: true, size: 1, mtimeMs: 0 };
    expect(bothName({ ...parsed, file: { path: parsed.original, ...side }, copy: { path: rel, ...side } })).toBe('notes.from-laptop-20261125-093005.txt');
  });
});

describe('conflicts of a file whose name is NFD on disk (issue 15, item 12)', () => {
  it('pairs the NFC-named copy with the NFD original, and keeping theirs replaces that file instead of adding a second spelling', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'wizard-conflicts-nfd-'));
    try {
      const nfd = 'cafe\u0301.txt';
      const copy = 'caf\u00e9.sync-conflict-20261125-093005-abcd1234.txt';
      writeFileSync(path.join(root, nfd), 'mine');
      writeFileSync(path.join(root, copy), 'theirs');
      const [c] = await listConflicts(root);
      expect(c).toMatchObject({ original: nfd, file: { path: nfd, exists: true }, copy: { path: copy, exists: true } });
      if (c === undefined) throw new Error('no conflict listed');
      await resolveConflict(root, new Trash(root, { now: () => AT }), c, 'copy');
      expect(readdirSync(root).filter((n) => n !== '.wizard')).toEqual([nfd]);
      expect(readFileSync(path.join(root, nfd), 'utf8')).toBe('theirs');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
