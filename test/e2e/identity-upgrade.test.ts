/**
 * A daemon upgraded to identity v2 starts on a schema 4 index written by the
 * code before it (test/index/fixtures): it rehashes the files still as
 * recorded without new versions, records the file edited while it was down
 * as a change, and a fresh peer receives every file, each checked against the new hashes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentHash } from '../../src/core/content-hash.js';
import { SCHEMA_VERSION } from '../../src/index/schema.js';
import { cleanup, initNode, setPeer, startDaemon, tempDir, waitSameTree, type TestNode } from '../support/daemon.js';
import { BIG, KEPT, OLD_VERSION, placeOldIndex } from '../support/old-index.js';

let base: string;
let a: TestNode;
let b: TestNode;

beforeAll(async () => {
  base = tempDir('idup');
  a = await initNode(base, 'alpha');
  b = await initNode(base, 'beta', a);
  setPeer(a, b, `127.0.0.1:${b.port}`);
  setPeer(b, a, `127.0.0.1:${a.port}`);
  placeOldIndex(a.folder, path.join(a.home, 'index.db'));
  writeFileSync(path.join(a.folder, 'edited.txt'), 'edited while wizard was down, and saved again\n');
  await startDaemon(a);
  await startDaemon(b);
});

afterAll(async () => {
  await cleanup(base, [a, b]);
});

/** The live file rows of a node's index. */
function files(n: TestNode): Map<string, { hash: string; version: string }> {
  const db = new Database(path.join(n.home, 'index.db'), { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare("SELECT path, hash, version FROM local WHERE folder = 'shared' AND type = 'file' AND deleted = 0").all() as Array<{ path: string; hash: string; version: string }>;
    return new Map(rows.map((r) => [r.path, { hash: r.hash, version: r.version }]));
  } finally {
    db.close();
  }
}

describe('upgrade from an index of content hashes v1', () => {
  it('rehashes in place with versions unchanged, records the offline edit as a change, and a peer gets every file intact', async () => {
    // Beta checks every download against alpha's hash: a tree equal to alpha's means alpha sent hashes in the new meaning.
    await waitSameTree(a, b);
    const got = files(a);
    const old = Object.entries(OLD_VERSION).map(([k, v]) => `${k}:${v}`).join(',');
    expect(got.get('docs/kept.txt')).toEqual({ hash: contentHash(KEPT), version: old });
    expect(got.get('big.bin')).toEqual({ hash: contentHash(BIG), version: old });
    const edited = got.get('edited.txt');
    expect(edited?.hash).toBe(contentHash(readFileSync(path.join(a.folder, 'edited.txt'))));
    expect(edited?.version).not.toBe(old);
    expect(files(b).get('big.bin')?.hash).toBe(contentHash(BIG));
    const db = new Database(path.join(a.home, 'index.db'), { readonly: true });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(db.prepare('SELECT count(*) AS n FROM stale_hashes').get()).toEqual({ n: 0 });
    } finally {
      db.close();
    }
  });
});
