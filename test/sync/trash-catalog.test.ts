/**
 * The trash on a real temp dir: names parse back, causes are recorded, a
 * restore is lossless, a purge frees only what it should, links are never followed.
 */
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listTrash, olderThan, parseTrashName, purgeEntries, restoreEntry, type TrashEntry } from '../../src/sync/trash/trash-catalog.js';
import { Trash, trashName } from '../../src/sync/trash/trash.js';
import { FakeClock } from '../support/clock.js';

const T0 = Date.UTC(2026, 10, 25, 9, 30, 0, 123);
const DAY = 86_400_000;

let root: string;
let outside: string;
let clock: FakeClock;
let trash: Trash;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'wizard-trash-'));
  outside = mkdtempSync(path.join(os.tmpdir(), 'wizard-outside-'));
  mkdirSync(path.join(root, '.wizard'));
  clock = new FakeClock(T0);
  trash = new Trash(root, clock);
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

function put(rel: string, content: string): string {
  const abs = path.join(root, ...rel.split('/'));
  mkdirSync(path.dirname(abs), { recursive: true });
  writeFileSync(abs, content);
  return abs;
}

describe('parseTrashName', () => {
  const cases: Array<{ what: string; name: string; want: ReturnType<typeof parseTrashName> }> = [
    { what: 'a top-level file', name: 'a.txt~20261125-093000-123', want: { path: 'a.txt', trashedAtMs: T0 } },
    { what: 'a nested file with a same-millisecond counter', name: 'd/e/a.txt~20261125-093000-123-2', want: { path: 'd/e/a.txt', trashedAtMs: T0 } },
    { what: 'a name with a tilde of its own', name: 'x~y~20261125-093000-123', want: { path: 'x~y', trashedAtMs: T0 } },
    { what: 'an intermediate dir', name: 'd', want: undefined },
    { what: 'a stamp that is too short', name: 'a~2026-1', want: undefined },
  ];
  it.each(cases)('$what', ({ name, want }) => {
    expect(parseTrashName(name)).toEqual(want);
  });

  it('reads back what trashName writes', () => {
    expect(parseTrashName(trashName('q/r.bin', T0))).toEqual({ path: 'q/r.bin', trashedAtMs: T0 });
  });
});

describe('olderThan', () => {
  const entry = (ageDays: number): TrashEntry => ({ entry: `e${ageDays}`, path: 'p', trashedAtMs: T0 - ageDays * DAY, cause: 'deleted', type: 'file', size: 1, form: 'whole' });
  it('takes entries strictly older than the limit, and never one stamped in the future', () => {
    const got = olderThan([entry(31), entry(30), entry(1), entry(-5)], T0, 30).map((e) => e.entry);
    expect(got).toEqual(['e31']);
  });
});

describe('Trash and listTrash', () => {
  it('lists entries oldest first with original path, time and cause', async () => {
    await trash.moveIn(put('a.txt', 'one'), 'a.txt');
    clock.advance(1000);
    await trash.preserve(put('d/b.txt', 'two!'), 'd/b.txt');
    const list = await listTrash(root);
    expect(list).toEqual([
      { entry: 'a.txt~20261125-093000-123', path: 'a.txt', trashedAtMs: T0, cause: 'deleted', type: 'file', size: 3, form: 'whole' },
      { entry: 'd/b.txt~20261125-093001-123', path: 'd/b.txt', trashedAtMs: T0 + 1000, cause: 'replaced', type: 'file', size: 4, form: 'whole' },
    ]);
  });

  it('gives an entry without a recorded cause the cause unknown', async () => {
    put('.wizard/trash/old.txt~20200101-000000-000', 'x');
    expect((await listTrash(root))[0]).toMatchObject({ path: 'old.txt', cause: 'unknown' });
  });

  it('P6: refuses to put trash through a symlinked trash dir', async () => {
    symlinkSync(outside, path.join(root, '.wizard', 'trash'));
    await expect(trash.moveIn(put('a.txt', 'x'), 'a.txt')).rejects.toThrow(/symlink/);
    expect(existsSync(path.join(root, 'a.txt'))).toBe(true);
  });

  it('does not append causes through a symlink planted at the index name', async () => {
    const elsewhere = path.join(outside, 'log');
    writeFileSync(elsewhere, 'untouched');
    symlinkSync(elsewhere, path.join(root, '.wizard', 'trash.jsonl'));
    await expect(trash.moveIn(put('a.txt', 'x'), 'a.txt')).rejects.toThrow(/ELOOP|symbolic/);
    expect(readFileSync(elsewhere, 'utf8')).toBe('untouched');
  });

  it('refuses to list (and so to purge) through a symlinked trash dir', async () => {
    writeFileSync(path.join(outside, 'victim~20200101-000000-000'), 'not trash');
    symlinkSync(outside, path.join(root, '.wizard', 'trash'));
    await expect(listTrash(root)).rejects.toThrow(/symlink/);
    expect(readFileSync(path.join(outside, 'victim~20200101-000000-000'), 'utf8')).toBe('not trash');
  });

  it('lists a symlink in the trash as an entry without following it, and purges only the link', async () => {
    writeFileSync(path.join(outside, 'precious'), 'keep me');
    mkdirSync(path.join(root, '.wizard', 'trash', 'dir'), { recursive: true });
    symlinkSync(outside, path.join(root, '.wizard', 'trash', 'link~20200101-000000-000'));
    symlinkSync(outside, path.join(root, '.wizard', 'trash', 'dir', 'sneaky'));
    const list = await listTrash(root);
    expect(list.map((e) => [e.entry, e.type])).toEqual([['link~20200101-000000-000', 'symlink']]);
    await purgeEntries(root, list);
    expect(readFileSync(path.join(outside, 'precious'), 'utf8')).toBe('keep me');
    expect(existsSync(path.join(root, '.wizard', 'trash', 'link~20200101-000000-000'))).toBe(false);
  });
});

describe('purgeEntries', () => {
  it('never takes a synced dir whose name looks stamped for an old entry: only what was trashed below it ages', async () => {
    await trash.moveIn(put('x~20000101-000000-000/thesis.txt', 'years of work'), 'x~20000101-000000-000/thesis.txt');
    const entries = await listTrash(root);
    expect(entries.map((e) => e.path)).toEqual(['x~20000101-000000-000/thesis.txt']);
    expect(olderThan(entries, T0 + DAY, 30)).toEqual([]);
  });

  it('removes the entries, their empty dirs and their causes, and keeps the rest', async () => {
    await trash.moveIn(put('deep/er/a.txt', 'aaaa'), 'deep/er/a.txt');
    clock.advance(1);
    await trash.moveIn(put('b.txt', 'b'), 'b.txt');
    const [a, b] = await listTrash(root);
    expect(await purgeEntries(root, [a as TrashEntry])).toBe(4);
    expect(existsSync(path.join(root, '.wizard', 'trash', 'deep'))).toBe(false);
    expect(await listTrash(root)).toEqual([b]);
    expect(readFileSync(path.join(root, '.wizard', 'trash.jsonl'), 'utf8')).not.toContain('a.txt');
  });
});

describe('restoreEntry', () => {
  it('moves the entry back with a fresh mtime, and trashes what was in its place', async () => {
    await trash.preserve(put('n.txt', 'old'), 'n.txt');
    // New content arrives by rename, as the puller does it, so the trash's hard link keeps the old bytes.
    rmSync(path.join(root, 'n.txt'));
    writeFileSync(path.join(root, 'n.txt'), 'new');
    clock.advance(5);
    const [entry] = await listTrash(root);
    const now = T0 + 10 * DAY;
    const r = await restoreEntry(root, trash, entry as TrashEntry, undefined, now);
    expect(r).toEqual({ entry: 'n.txt~20261125-093000-123', path: 'n.txt', replacedInto: 'n.txt~20261125-093000-128' });
    expect(readFileSync(path.join(root, 'n.txt'), 'utf8')).toBe('old');
    expect(Math.round(statSync(path.join(root, 'n.txt')).mtimeMs)).toBe(now);
    const left = await listTrash(root);
    expect(left).toMatchObject([{ path: 'n.txt', cause: 'restored-over', size: 3 }]);
    expect(readFileSync(path.join(root, '.wizard', 'trash.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('restores an entry that is a hard link of the current file', async () => {
    await trash.preserve(put('same.txt', 'same'), 'same.txt');
    clock.advance(1);
    const [entry] = await listTrash(root);
    await restoreEntry(root, trash, entry as TrashEntry);
    expect(readFileSync(path.join(root, 'same.txt'), 'utf8')).toBe('same');
    expect((await listTrash(root)).map((e) => e.cause)).toEqual(['restored-over']);
  });

  it('restores to another path, creating its parents', async () => {
    await trash.moveIn(put('x.txt', 'x'), 'x.txt');
    const [entry] = await listTrash(root);
    await restoreEntry(root, trash, entry as TrashEntry, 'sub/dir/y.txt');
    expect(readFileSync(path.join(root, 'sub', 'dir', 'y.txt'), 'utf8')).toBe('x');
  });

  it('refuses a target below a symlink, which would write outside the folder', async () => {
    await trash.moveIn(put('x.txt', 'x'), 'x.txt');
    symlinkSync(outside, path.join(root, 'escape'));
    const [entry] = await listTrash(root);
    await expect(restoreEntry(root, trash, entry as TrashEntry, 'escape/x.txt')).rejects.toThrow(/symlink/);
    expect(existsSync(path.join(outside, 'x.txt'))).toBe(false);
    expect(lstatSync(path.join(root, '.wizard', 'trash', 'x.txt~20261125-093000-123')).isFile()).toBe(true);
  });
});
