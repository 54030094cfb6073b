/**
 * `wizard trash` through the real CLI on a real home, no daemon: output,
 * JSON shapes, exit codes, and hostile names escaped.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { encodeJournal } from '../../src/sync/patch/journal.js';
import { Trash, trashName } from '../../src/sync/trash/trash.js';
import { cleanup, initNode, runCli, tempDir, type TestNode } from '../support/daemon.js';

const DAY = 86_400_000;
let base: string;
let node: TestNode;

/** Puts `content` in the trash as `rel`, trashed `ageDays` ago, with a recorded cause. */
function trashed(rel: string, ageDays: number, content = rel): string {
  const entry = trashName(rel, Date.now() - ageDays * DAY);
  const abs = path.join(node.folder, '.wizard', 'trash', ...entry.split('/'));
  mkdirSync(path.dirname(abs), { recursive: true });
  writeFileSync(abs, content);
  writeFileSync(path.join(node.folder, '.wizard', 'trash.jsonl'), `${JSON.stringify({ entry, path: rel, cause: 'deleted' })}\n`, { flag: 'a' });
  return entry;
}

beforeAll(async () => {
  base = tempDir('trash-cli');
  node = await initNode(base, 'solo');
  mkdirSync(node.folder, { recursive: true });
});

afterAll(async () => {
  await cleanup(base, [node]);
});

describe('wizard trash', () => {
  it('says the trash is empty, and gives an empty list as JSON', async () => {
    const human = await runCli(node.home, ['trash', 'list']);
    expect(human).toMatchObject({ code: 0, stdout: 'The trash is empty.\n' });
    const json = await runCli(node.home, ['trash', 'list', '--json']);
    expect(JSON.parse(json.stdout)).toEqual({ entries: [] });
  });

  it('lists entries with folder, path, time, cause and size, filtered by a pattern', async () => {
    const old = trashed('docs/old.txt', 40, 'old!');
    trashed('docs/new.md', 1);
    const res = await runCli(node.home, ['trash', 'list', '--json']);
    expect(res.code).toBe(0);
    const { entries } = JSON.parse(res.stdout) as { entries: unknown[] };
    expect(entries[0]).toEqual({ folder: 'shared', entry: old, path: 'docs/old.txt', trashedAtMs: expect.any(Number) as number, cause: 'deleted', type: 'file', size: 4, form: 'whole' });
    const txt = await runCli(node.home, ['trash', 'list', '*.txt']);
    expect(txt.stdout).toMatch(/deleted .* shared\/docs\/old\.txt/);
    expect(txt.stdout).not.toContain('new.md');
    // A pattern that matches nothing says so, not that the trash is empty (issue 20, item 7).
    const none = await runCli(node.home, ['trash', 'list', 'zzz']);
    expect(none).toMatchObject({ code: 0, stdout: "Nothing in the trash matches 'zzz' (it holds 2 entries; 'wizard trash list' shows them all).\n" });
  });

  it('lists a reverse delta by its cost on disk, restores it by rebuilding, and refuses in one line (exit 2) once the file was replaced', async () => {
    const MiB = 1024 * 1024;
    const rel = 'vm/disk.img';
    const abs = path.join(node.folder, ...rel.split('/'));
    mkdirSync(path.dirname(abs), { recursive: true });
    const old = randomBytes(2 * MiB);
    const current = Buffer.from(old);
    randomBytes(4096).copy(current, MiB);
    writeFileSync(abs, current);
    const st = lstatSync(abs);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    // What a patch in place leaves in the trash: the old bytes of the range it overwrote.
    const journal = path.join(node.folder, '.wizard', 'patch.wzj');
    const header = { path: rel, disk: rel, dev: st.dev, ino: st.ino, oldSize: old.length, oldHash: sha(old), oldMtimeMs: st.mtimeMs, newSize: current.length, newHash: sha(current), ranges: [[MiB, 4096] as [number, number]] };
    writeFileSync(journal, encodeJournal(header, [old.subarray(MiB, MiB + 4096)]));
    const entry = path.relative(path.join(node.folder, '.wizard', 'trash'), await new Trash(node.folder, systemClock).keepReverseDelta(journal, rel));

    const listed = await runCli(node.home, ['trash', 'list', 'vm/*']);
    expect(listed.stdout).toMatch(/replaced .* 4\.\d KiB .*shared\/vm\/disk\.img .*changes back from the next version/);
    const restored = await runCli(node.home, ['trash', 'restore', `${node.folder}/.wizard/trash/${entry}`]);
    expect(restored.code).toBe(0);
    expect(readFileSync(abs).equals(old)).toBe(true);

    // Once more, but the file was replaced since: nothing to rebuild from.
    writeFileSync(journal, encodeJournal({ ...header, ino: lstatSync(abs).ino }, [old.subarray(MiB, MiB + 4096)]));
    const again = path.relative(path.join(node.folder, '.wizard', 'trash'), await new Trash(node.folder, systemClock).keepReverseDelta(journal, rel));
    const other = randomBytes(100);
    writeFileSync(abs, other);
    const refused = await runCli(node.home, ['trash', 'restore', `${node.folder}/.wizard/trash/${again}`]);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/cannot restore vm\/disk\.img .*replaced or changed since.*nothing was changed/);
    expect(readFileSync(abs).equals(other)).toBe(true);
  });

  it('escapes control characters in trashed names', async () => {
    trashed('evil\u001b]0;pwned\u0007.txt', 2);
    const res = await runCli(node.home, ['trash', 'list', 'evil*']);
    expect(res.stdout).toContain('evil\\x1b]0;pwned\\x07.txt');
    expect(res.stdout).not.toContain('\u001b');
  });

  it('restores the newest entry of a path, by folder-relative path', async () => {
    const res = await runCli(node.home, ['trash', 'restore', 'docs/old.txt', '--json']);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ folder: 'shared', path: 'docs/old.txt' });
    expect(readFileSync(path.join(node.folder, 'docs', 'old.txt'), 'utf8')).toBe('old!');
  });

  it('restores to another path with --as', async () => {
    const entry = trashed('a.txt', 3, 'from trash');
    const res = await runCli(node.home, ['trash', 'restore', path.join(node.folder, '.wizard', 'trash', entry), '--as', 'b/restored.txt']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^Restored shared\/b\/restored\.txt from a\.txt~/);
    expect(readFileSync(path.join(node.folder, 'b', 'restored.txt'), 'utf8')).toBe('from trash');
  });

  it('fails with exit 2 and one line for a path with nothing in the trash, or a bad option', async () => {
    const missing = await runCli(node.home, ['trash', 'restore', 'never-existed.txt']);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/nothing in folder 'shared' trash/);
    expect((await runCli(node.home, ['trash', 'purge', '--older-than', 'soon'])).code).toBe(2);
    expect((await runCli(node.home, ['trash', 'list', '--folder', 'nope'])).code).toBe(2);
  });

  it('purges only entries older than DAYS, then everything', async () => {
    const old = trashed('ancient.txt', 90);
    const res = await runCli(node.home, ['trash', 'purge', '--older-than', '30', '--json']);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({ entries: 1, bytes: 'ancient.txt'.length });
    expect(existsSync(path.join(node.folder, '.wizard', 'trash', old))).toBe(false);
    const all = await runCli(node.home, ['trash', 'purge']);
    expect(all.stdout).toMatch(/^Purged [1-9]\d* entr(y|ies), /);
    expect(JSON.parse((await runCli(node.home, ['trash', 'list', '--json'])).stdout)).toEqual({ entries: [] });
  });
});
