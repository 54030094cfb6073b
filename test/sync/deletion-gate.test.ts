import { expect, it } from 'vitest';
import type { LocalEntry } from '../../src/index/entry.js';
import { DeletionGate, type HeldDeletions } from '../../src/sync/deletion-gate.js';
import type { Candidate } from '../../src/sync/local-changes.js';
import { FakeClock } from '../support/clock.js';

const entry = (path: string): LocalEntry => ({
  path, type: 'file', size: 1, mtimeMs: 1, mode: 0o644, hash: 'a'.repeat(64), target: '', version: { me: 1 }, deleted: false, sequence: 1, inode: 1,
});
const gone = (n: number, prefix = 'f'): Candidate[] => Array.from({ length: n }, (_, i) => ({ path: `${prefix}${i}`, obs: undefined, prev: entry(`${prefix}${i}`) }));
const added: Candidate = { path: 'new', obs: { path: 'new', type: 'file', size: 1, mtimeMs: 1, mode: 0o644, inode: 2, target: '' }, prev: undefined };

it('holds most of a folder vanishing until confirmed, letting other changes through meanwhile', async () => {
  const clock = new FakeClock(0);
  const gate = new DeletionGate(() => ({ percent: 50, perMinute: 1000 }), clock);
  const heard: HeldDeletions[] = [];
  const admitted = gate.admit([...gone(30), added], 40, (h) => heard.push(h));
  expect(admitted).toEqual([added]);
  expect(gate.held?.count).toBe(30);
  expect(heard).toHaveLength(1);

  // A partial scan keeps the hold; a full scan after confirming lets them go and clears it.
  await gate.during(false, () => Promise.resolve(gate.admit(gone(1, 'x'), 40, () => undefined)));
  expect(gate.held?.count).toBe(30);
  expect(gate.confirm()).toBe(30);
  const afterConfirm = await gate.during(true, () => Promise.resolve(gate.admit(gone(30), 40, () => undefined)));
  expect(afterConfirm).toHaveLength(30);
  expect(gate.held).toBeUndefined();
  // The confirmation is spent: the next flood is held again.
  expect(gate.admit(gone(20, 'y'), 25, () => undefined)).toEqual([]);
});

it('counts deletions per minute across scans, and forgets them after a minute', () => {
  const clock = new FakeClock(0);
  const gate = new DeletionGate(() => ({ percent: 100, perMinute: 10 }), clock);
  expect(gate.admit(gone(6, 'a'), 1000, () => undefined)).toHaveLength(6);
  expect(gate.admit(gone(6, 'b'), 1000, () => undefined)).toHaveLength(0);
  clock.advance(61_000);
  expect(gate.admit(gone(6, 'b'), 1000, () => undefined)).toHaveLength(6);
});
