/**
 * Stored block sums: kept per path and content hash, and added to an index
 * written by the previous schema without losing its entries.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signatureOf } from '../../src/delta/signature.js';
import { SCHEMA_VERSION } from '../../src/index/schema.js';
import { IndexStore } from '../../src/index/store.js';
import { seededBytes } from '../support/random.js';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'wizard-sums-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const hashA = 'aa'.repeat(32);
const hashB = 'bb'.repeat(32);

describe('BlockSumStore', () => {
  it('returns stored sums only for the content hash they describe', () => {
    const store = IndexStore.open(':memory:');
    const sig = signatureOf(seededBytes(100_000, 1));
    store.sums.put('f', 'big.bin', hashA, sig);
    const got = store.sums.get('f', 'big.bin', hashA);
    expect(got?.blockSize).toBe(sig.blockSize);
    expect(got?.weak).toEqual(sig.weak);
    expect(Buffer.from(got?.strong ?? []).equals(Buffer.from(sig.strong))).toBe(true);
    expect(store.sums.get('f', 'big.bin', hashB)).toBeUndefined();
    store.sums.delete('f', 'big.bin');
    expect(store.sums.get('f', 'big.bin', hashA)).toBeUndefined();
    store.close();
  });

  it('migrates an index of schema 1 and keeps its entries', () => {
    const file = path.join(dir, 'index.db');
    const first = IndexStore.open(file);
    first.commitLocal('f', [{ path: 'a.txt', type: 'file', size: 1, mtimeMs: 1, mode: 0o644, hash: hashA, target: '', version: { me: 1 }, deleted: false, inode: 7 }]);
    first.close();
    // Turn it back into what the previous release wrote.
    const db = new Database(file);
    db.exec('DROP TABLE block_sums');
    db.exec('DROP TABLE stale_hashes');
    db.exec('DROP INDEX local_by_hash_prefix');
    db.exec('DROP INDEX local_disk_names');
    db.exec('ALTER TABLE local DROP COLUMN disk_name');
    db.pragma('user_version = 1');
    db.close();

    const store = IndexStore.open(file);
    expect(store.getLocal('f', 'a.txt')?.hash).toBe(hashA);
    store.sums.put('f', 'a.txt', hashA, signatureOf(seededBytes(20_000, 2)));
    expect(store.sums.get('f', 'a.txt', hashA)).toBeDefined();
    store.close();
    const check = new Database(file);
    expect(check.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    check.close();
  });
});
