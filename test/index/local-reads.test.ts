/**
 * LocalReads.below on a real SQLite index: one dir's children read a few at a
 * time, seeking past the subtrees the caller walks itself, with names that
 * sort between a dir and its children ('d-x', 'd.txt' and 'd0' around 'd/…').
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IndexStore } from '../../src/index/store.js';

let store: IndexStore;
const PATHS = ['d', 'd-x', 'd.txt', 'd/a', 'd/b', 'd/b/c', 'd/b/d', 'd/b-e', 'd/b0', 'd0', 'd0/z', 'e', 'e/f/g'];

beforeEach(() => {
  store = IndexStore.open(':memory:');
  store.commitLocal(
    'f',
    PATHS.map((path) => ({ path, type: 'file' as const, size: 0, mtimeMs: 0, mode: 0o644, inode: 0, hash: '', target: '', deleted: false, version: { a: 1 } })),
  );
  store.commitLocal('g', [{ path: 'd/other-folder', type: 'file', size: 0, mtimeMs: 0, mode: 0o644, inode: 0, hash: '', target: '', deleted: false, version: { a: 1 } }]);
});
afterEach(() => store.close());

const below = (dir: string, skip: (child: string) => boolean, batch: number) => [...store.reads.below('f', dir, skip, batch)].map((e) => e.path);

describe('LocalReads.below', () => {
  it.each([1, 2, 3, 256])('gives everything below a dir in path order, one folder only, in batches of %i', (batch) => {
    expect(below('d', () => false, batch)).toEqual(['d/a', 'd/b', 'd/b-e', 'd/b/c', 'd/b/d', 'd/b0']);
    expect(below('', () => false, batch)).toEqual(PATHS.slice().sort());
  });

  it.each([1, 2, 3, 256])('leaves out what is below the children it is told to skip, keeping the child and its siblings that sort inside its range (batch %i)', (batch) => {
    expect(below('d', (child) => child === 'd/b', batch)).toEqual(['d/a', 'd/b', 'd/b-e', 'd/b0']);
    const asked: string[] = [];
    expect(below('', (child) => (asked.push(child), true), batch)).toEqual(['d', 'd-x', 'd.txt', 'd0', 'e']);
    // Asked once per subtree it jumps over, not once per entry in it.
    expect(asked).toEqual(['d', 'd0', 'e']);
  });
});
