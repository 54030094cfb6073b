import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { Trash, trashName } from '../../src/sync/trash/trash.js';

const at = Date.UTC(2026, 10, 25, 9, 5, 7, 42);

it('names a trashed file by its path and the UTC time', () => {
  expect(trashName('docs/report.pdf', at)).toBe('docs/report.pdf~20261125-090507-042');
});

it('keeps a long name within the 255-byte limit, with room for a collision counter, without splitting a character', () => {
  const long = `dir/${'é'.repeat(127)}`; // 254 bytes
  const name = trashName(long, at).split('/').pop() as string;
  expect(Buffer.byteLength(`${name}-99`)).toBeLessThanOrEqual(255);
  expect(name.endsWith('~20261125-090507-042')).toBe(true);
  expect(name).not.toContain('\uFFFD');
});

describe('S2: a trash whose record cannot be written (disk full, I/O error)', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'wizard-trash-'));
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  /** A trash whose record appends fail with errno `code` (an injected fault). */
  const failingTrash = (code: string) =>
    new Trash(root, systemClock, () => Promise.reject(Object.assign(new Error(`${code}: injected, write`), { code })));
  const trashed = () => readdirSync(path.join(root, '.wizard', 'trash'));

  it.each(['EIO', 'ENOSPC'])('S2: %s: moveIn puts the file back where it was and throws; nothing is left in the trash', async (code) => {
    writeFileSync(path.join(root, 'doc.txt'), 'keep me');
    const err: unknown = await failingTrash(code).moveIn(path.join(root, 'doc.txt'), 'doc.txt').catch((e: unknown) => e);
    expect((err as NodeJS.ErrnoException).code).toBe(code);
    expect(readFileSync(path.join(root, 'doc.txt'), 'utf8')).toBe('keep me');
    expect(trashed()).toEqual([]);
  });

  it.each(['EIO', 'ENOSPC'])('S2: %s: preserve leaves no unrecorded copy in the trash and throws', async (code) => {
    writeFileSync(path.join(root, 'doc.txt'), 'keep me');
    const err: unknown = await failingTrash(code).preserve(path.join(root, 'doc.txt'), 'doc.txt').catch((e: unknown) => e);
    expect((err as NodeJS.ErrnoException).code).toBe(code);
    expect(readFileSync(path.join(root, 'doc.txt'), 'utf8')).toBe('keep me');
    expect(trashed()).toEqual([]);
  });

  it('S2: a file saved at the path while the record failed is never replaced by the undo; the old one stays in the trash', async () => {
    const doc = path.join(root, 'doc.txt');
    writeFileSync(doc, 'old');
    const trash = new Trash(root, systemClock, () => {
      // The user saves a new doc.txt between the move and the failed record.
      writeFileSync(doc, 'new, typed meanwhile');
      return Promise.reject(Object.assign(new Error('ENOSPC: injected, write'), { code: 'ENOSPC' }));
    });
    const err: unknown = await trash.moveIn(doc, 'doc.txt').catch((e: unknown) => e);
    expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
    expect(readFileSync(doc, 'utf8')).toBe('new, typed meanwhile');
    const [kept] = trashed();
    expect(readFileSync(path.join(root, '.wizard', 'trash', kept as string), 'utf8')).toBe('old');
  });

  it('with a working disk the same calls trash and record', async () => {
    writeFileSync(path.join(root, 'doc.txt'), 'old');
    await new Trash(root, systemClock).moveIn(path.join(root, 'doc.txt'), 'doc.txt');
    expect(existsSync(path.join(root, 'doc.txt'))).toBe(false);
    expect(trashed()).toHaveLength(1);
    expect(readFileSync(path.join(root, '.wizard', 'trash.jsonl'), 'utf8')).toContain('"cause":"deleted"');
  });
});
