import { expect, it } from 'vitest';
import type { FileEntry } from '../../src/index/entry.js';
import { planPull, planSize } from '../../src/sync/pull/pull-plan.js';
import type { Decision } from '../../src/sync/pull/reconcile.js';

const e = (path: string, type: FileEntry['type'], deleted = false): FileEntry => ({
  path, type, size: 0, mtimeMs: 0, mode: 0o644, hash: '', target: type === 'symlink' ? 'x' : '', version: { p: 1 }, deleted, sequence: 1,
});
const take = (entry: FileEntry, sources: string[]): Decision => ({ kind: 'take', entry, version: entry.version, sources, replacesConcurrent: false });

it('orders dirs parents first, deletions children first, and keeps files nobody connected has for later', () => {
  const decisions: Record<string, Decision> = {
    'a/b': take(e('a/b', 'dir'), ['p']),
    a: take(e('a', 'dir'), ['p']),
    'x/y': take(e('x/y', 'file', true), []),
    x: take(e('x', 'dir', true), []),
    'a/f': take(e('a/f', 'file'), ['p', 'offline']),
    'a/g': take(e('a/g', 'file'), ['offline']),
    'a/l': take(e('a/l', 'symlink'), []),
    same: { kind: 'merge', version: { p: 1, q: 1 } },
    none: { kind: 'none' },
  };
  const plan = planPull(Object.keys(decisions), (p) => decisions[p] as Decision, new Set(['p']));
  expect(plan.dirs.map(([p]) => p)).toEqual(['a', 'a/b']);
  expect(plan.deletes.map(([p]) => p)).toEqual(['x/y', 'x']);
  expect(plan.files.map(([p]) => p).sort()).toEqual(['a/f', 'a/l']);
  expect(plan.files.find(([p]) => p === 'a/f')?.[1].sources).toEqual(['p']);
  expect(plan.merges.map(([p]) => p)).toEqual(['same']);
  expect(planSize(plan)).toBe(7);
});
