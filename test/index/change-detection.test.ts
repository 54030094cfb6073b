/**
 * What a scan takes as a change, on real files: the rows of THREATS 7.2 about
 * edits that try to hide behind an mtime set back. Only what the README
 * claims is tested (its Limits say what a scan cannot see).
 */
import { appendFileSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { contentHash } from '../../src/core/content-hash.js';
import type { LocalEntry } from '../../src/index/entry.js';
import { classify, observe, type Observation } from '../../src/index/scanner.js';
import { entryFor } from '../../src/sync/scan/local-changes.js';

let root: string;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'wizard-change-'));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const OLD = new Date('2026-01-02T03:04:05.678Z');

/** Writes `content` at `rel` with mtime OLD and returns the index entry a scan records for it. */
async function scanned(rel: string, content: string): Promise<LocalEntry> {
  const abs = path.join(root, rel);
  writeFileSync(abs, content);
  utimesSync(abs, OLD, OLD);
  const obs = await observe(root, rel);
  const hash = contentHash(readFileSync(abs));
  const entry = entryFor({ path: rel, obs, prev: undefined }, hash, 'me', Date.now());
  return { ...(entry as Omit<LocalEntry, 'sequence'>), sequence: 1 };
}

async function look(rel: string): Promise<Observation> {
  const obs = await observe(root, rel);
  if (obs === undefined) throw new Error(`${rel} is gone`);
  return obs;
}

describe('M3: an edit with its mtime set back', () => {
  it('M3: an append followed by `touch -d` back to the old mtime is caught because the size changed', async () => {
    const entry = await scanned('log.txt', 'line 1\n');
    appendFileSync(path.join(root, 'log.txt'), 'line 2\n');
    utimesSync(path.join(root, 'log.txt'), OLD, OLD);
    const now = await look('log.txt');
    expect(now.mtimeMs).toBe(entry.mtimeMs);
    expect(now.inode).toBe(entry.inode);
    expect(classify(now, entry)).toBe('changed');
  });

  it('M3: a truncation with the mtime set back is caught because the size changed', async () => {
    const entry = await scanned('data.bin', 'a fairly long first version');
    writeFileSync(path.join(root, 'data.bin'), 'short');
    utimesSync(path.join(root, 'data.bin'), OLD, OLD);
    expect(classify(await look('data.bin'), entry)).toBe('changed');
  });

  it('M3: a same-size save through a new file (an editor renaming over it) with the mtime set back is caught by its inode', async () => {
    const entry = await scanned('doc.txt', 'version A');
    writeFileSync(path.join(root, '.doc.txt.new'), 'version B');
    utimesSync(path.join(root, '.doc.txt.new'), OLD, OLD);
    renameSync(path.join(root, '.doc.txt.new'), path.join(root, 'doc.txt'));
    const now = await look('doc.txt');
    expect([now.size, now.mtimeMs]).toEqual([entry.size, entry.mtimeMs]);
    expect(classify(now, entry)).toBe('changed');
  });

  it('M3: the recorded entry of the caught change is a new version with the new content', async () => {
    const entry = await scanned('log.txt', 'line 1\n');
    appendFileSync(path.join(root, 'log.txt'), 'line 2\n');
    utimesSync(path.join(root, 'log.txt'), OLD, OLD);
    const obs = await look('log.txt');
    const hash = contentHash('line 1\nline 2\n');
    const next = entryFor({ path: 'log.txt', obs, prev: entry }, hash, 'me', Date.now());
    expect(next).toMatchObject({ hash, size: statSync(path.join(root, 'log.txt')).size });
    expect(next?.version.me).toBeGreaterThan(entry.version.me as number);
  });
});
