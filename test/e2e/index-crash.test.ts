/**
 * A first index killed with SIGKILL inside one of its transactions (the
 * crash point mid-index-write): what was committed before is in the index,
 * whole and true to the disk (each file's own hash, the folder's digest
 * the XOR of its entries), the open transaction left nothing, and a restart
 * indexes the rest without recording the committed files again. A scan's
 * transactions are large (a batch of 1,000 changes, change-recorder.ts), so
 * a kill inside one must cost only that one.
 */
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { indexPath } from '../../src/cli/home.js';
import { contentHash } from '../../src/core/content-hash.js';
import { digestOf } from '../../src/index/digest.js';
import { parseCanonical } from '../../src/versions/vector.js';
import { cleanup, initNode, spawnDaemon, startDaemon, tempDir, type TestNode } from '../support/daemon.js';
import { seededBytes } from '../support/random.js';
import { waitFor } from '../support/wait.js';

const FILES = 1_300;
/** The row written when the kill comes: inside the second transaction, after a batch of 1,000 changes committed. */
const KILL_AT_ROW = 1_200;

let base: string;
let node: TestNode;
const contents = new Map<string, Buffer>();

beforeAll(async () => {
  base = tempDir('index-crash');
  node = await initNode(base, 'solo');
  const old = (Date.now() - 3_600_000) / 1000;
  for (let i = 0; i < FILES; i++) {
    const rel = `d${i % 25}/f${i}`;
    const bytes = Buffer.from(seededBytes(1 + ((i * 53) % 4096), i));
    mkdirSync(path.join(node.folder, path.dirname(rel)), { recursive: true });
    writeFileSync(path.join(node.folder, rel), bytes);
    utimesSync(path.join(node.folder, rel), old, old);
    contents.set(rel, bytes);
  }
}, 30_000);

afterAll(async () => {
  await cleanup(base, [node]);
});

type Row = { path: string; type: string; hash: string; version: string; deleted: number; sequence: number };

/** The folder's rows and its stored digest, read as the daemon left them. */
function readIndex(): { rows: Row[]; digest: string } {
  const db = new Database(indexPath(node.home), { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare("SELECT path, type, hash, version, deleted, sequence FROM local WHERE folder = 'shared'").all() as Row[];
    const folder = db.prepare("SELECT digest FROM folders WHERE folder = 'shared'").get() as { digest: string } | undefined;
    return { rows, digest: folder?.digest ?? '' };
  } finally {
    db.close();
  }
}

/** Rows that are not what the disk holds, and whether the stored digest is that of the rows. */
function problems(index: { rows: Row[]; digest: string }): string[] {
  const out = index.rows.filter((r) => r.type === 'file' && r.hash !== contentHash(contents.get(r.path) ?? '')).map((r) => `${r.path}: wrong hash`);
  const digest = digestOf(index.rows.map((r) => ({ path: r.path, version: parseCanonical(r.version), deleted: r.deleted !== 0 })));
  if (digest !== index.digest) out.push(`stored digest ${index.digest}, rows give ${digest}`);
  return out;
}

it('K1: a first index killed inside a transaction keeps every committed entry, whole and true, and a restart records only the rest', async () => {
  const { signal } = await spawnDaemon(node, { WIZARD_CRASH_AT: `mid-index-write:${KILL_AT_ROW}` }).exit();
  expect(signal).toBe('SIGKILL');
  const killed = readIndex();
  const files = killed.rows.filter((r) => r.type === 'file');
  // At least one whole batch committed; nothing of the one open at the kill.
  expect(files.length).toBeGreaterThanOrEqual(900);
  expect(killed.rows.length).toBeLessThan(KILL_AT_ROW);
  expect(problems(killed)).toEqual([]);

  const daemon = await startDaemon(node);
  await waitFor('the rest indexed', async () => {
    const f = (await daemon.status()).folders[0];
    return f !== undefined && f.fullScans.count >= 1 && f.files === FILES;
  }, 30_000, 100);
  await daemon.stop();
  const after = readIndex();
  expect(after.rows.filter((r) => r.type === 'file').length).toBe(FILES);
  expect(problems(after)).toEqual([]);
  // What was committed before the kill is kept as it was: not lost, not recorded again.
  const now = new Map(after.rows.map((r) => [r.path, r]));
  for (const r of killed.rows) expect(now.get(r.path)?.sequence, r.path).toBe(r.sequence);
}, 60_000);
