/**
 * The upgrade to identity v2 (index schema 5) on a real schema 4 index: the
 * fixture was written by main's code before the change (a daemon that indexed
 * docs/kept.txt, edited.txt, big.bin with its block sums, a dir and a link;
 * see fixtures/README.md). Only its stat columns are pointed at this test's
 * copies of those files (inodes and mtimes cannot travel with a file).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { contentHash } from '../../src/core/content-hash.js';
import { Mutex } from '../../src/core/mutex.js';
import { SCHEMA_VERSION } from '../../src/index/schema.js';
import { IndexStore } from '../../src/index/store.js';
import { rehashStale } from '../../src/sync/scan/rehash.js';
import { inlineRunner } from '../../src/workers/pool.js';
import { BIG, EDITED_OLD_HASH as OLD_EDITED, KEPT, OLD, placeOldIndex } from '../support/old-index.js';
let dir: string;
let root: string;
let dbFile: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'wizard-idmig-'));
  root = path.join(dir, 'folder');
  dbFile = path.join(dir, 'index.db');
  placeOldIndex(root, dbFile);
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('identity v2 migration of a schema 4 index', () => {
  it('lists every live file to rehash, keeps the entries, and forgets the peers’ entries, how far they were read and the old-keyed sums', () => {
    const before = new Database(dbFile, { readonly: true });
    expect(before.pragma('user_version', { simple: true })).toBe(4);
    before.close();
    const store = IndexStore.open(dbFile);
    try {
      expect(SCHEMA_VERSION).toBe(6);
      expect(store.staleHashes.some('shared', 10)).toEqual(['big.bin', 'docs/kept.txt', 'edited.txt']);
      expect(store.getLocal('shared', 'docs/kept.txt')?.hash).toBe(OLD.kept);
      expect(store.remotesFor('shared', 'docs/kept.txt')).toEqual([]);
      expect(store.peerState('shared', 'peer')).toEqual({ indexId: '', sequence: 0 });
      expect(store.sums.get('shared', 'big.bin', OLD.big)).toBeUndefined();
    } finally {
      store.close();
    }
  });

  it('rehashes files the disk still holds as recorded, with their versions unchanged and new sequences; an edited one is left to the scan, still listed', async () => {
    writeFileSync(path.join(root, 'edited.txt'), 'edited again, and longer than before\n');
    const store = IndexStore.open(dbFile);
    try {
      const was = new Map(['docs/kept.txt', 'edited.txt', 'big.bin'].map((p) => [p, store.getLocal('shared', p)]));
      const result = await rehashStale({
        id: 'shared',
        root,
        store,
        runner: inlineRunner,
        lock: new Mutex(),
        onDisk: (rel) => rel,
        commit: (e) => void store.commitLocal('shared', e),
        stopped: () => false,
        log: pino({ level: 'silent' }),
      });
      expect(result).toEqual({ rehashed: 2, leftToScan: 1 });
      for (const [rel, content] of [['docs/kept.txt', KEPT], ['big.bin', BIG]] as const) {
        const now = store.getLocal('shared', rel);
        expect(now?.hash).toBe(contentHash(content));
        expect(now?.version).toEqual(was.get(rel)?.version);
        expect(now?.sequence).toBeGreaterThan(was.get(rel)?.sequence ?? Infinity);
        expect(store.staleHashes.has('shared', rel)).toBe(false);
      }
      // The big file's block sums come back, keyed by the new hash.
      expect(store.sums.get('shared', 'big.bin', contentHash(BIG))?.fileSize).toBe(BIG.length);
      // The edited file keeps its old entry, withheld from peers, until the scan records the edit as a change.
      expect(store.getLocal('shared', 'edited.txt')?.hash).toBe(OLD_EDITED);
      expect(store.staleHashes.has('shared', 'edited.txt')).toBe(true);
    } finally {
      store.close();
    }
  });
});
