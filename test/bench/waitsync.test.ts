/**
 * The bench's convergence waiter (bench/lib/waitsync.mjs) with a digest cache primed before a
 * live change: only the files the change touched are hashed again inside the timed window.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { treeDigest } from '../../bench/lib/treehash.mjs';
import { primeDigest, waitSync } from '../../bench/lib/waitsync.mjs';

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'wizard-waitsync-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

it('hashes again only what changed after primeDigest, and reports the first matching scan', async () => {
  writeFileSync(path.join(root, 'big.bin'), Buffer.alloc(1 << 20, 1));
  writeFileSync(path.join(root, 'edited.bin'), 'old');
  const cache = primeDigest(root);
  const kept = cache.get('big.bin');
  const before = cache.get('edited.bin');
  expect(kept).toBeDefined();
  writeFileSync(path.join(root, 'edited.bin'), 'new bytes');
  const expected = treeDigest(root).digest;
  const t0 = Date.now();
  const r = await waitSync(root, expected, t0, { timeoutMs: 5000, cache });
  expect(r.ok).toBe(true);
  // The unchanged file's hash came from the primed cache (the same record); the edited one was hashed again into it.
  expect(cache.get('big.bin')).toBe(kept);
  expect(cache.get('edited.bin')).not.toEqual(before);
});
