import { describe, expect, it } from 'vitest';
import type { FileEntry } from '../../src/index/entry.js';
import { reconcile, wins, type Decision, type RemoteEntry } from '../../src/sync/pull/reconcile.js';
import type { VersionVector } from '../../src/versions/vector.js';

const H1 = 'a'.repeat(64);
const H2 = 'b'.repeat(64);
const H3 = 'c'.repeat(64);

/** A live file entry. */
function file(version: VersionVector, hash = H1, mtimeMs = 1000): FileEntry {
  return { path: 'f', type: 'file', size: 3, mtimeMs, mode: 0o644, hash, target: '', version, deleted: false, sequence: 1 };
}
/** A tombstone. */
function gone(version: VersionVector, mtimeMs = 1000): FileEntry {
  return { ...file(version, '', mtimeMs), size: 0, deleted: true };
}
function dir(version: VersionVector): FileEntry {
  return { ...file(version, ''), type: 'dir', size: 0 };
}
const at = (peer: string, entry: FileEntry): RemoteEntry => ({ peer, entry });

describe('reconcile', () => {
  const cases: Array<{ description: string; local: FileEntry | undefined; remotes: RemoteEntry[]; expected: Decision | { kind: 'take'; [k: string]: unknown } }> = [
    { description: 'no remote entries: nothing to do', local: file({ me: 1 }), remotes: [], expected: { kind: 'none' } },
    { description: 'equal versions: nothing to do', local: file({ me: 1 }), remotes: [at('p', file({ me: 1 }))], expected: { kind: 'none' } },
    { description: 'ours is newer: the peer pulls, not us', local: file({ me: 2 }), remotes: [at('p', file({ me: 1 }))], expected: { kind: 'none' } },
    {
      description: 'a file we never saw is taken from the peers that have it',
      local: undefined,
      remotes: [at('p', file({ p: 1 })), at('q', file({ p: 1 }))],
      expected: { kind: 'take', version: { p: 1 }, sources: ['p', 'q'], replacesConcurrent: false },
    },
    { description: 'a tombstone for a path we never had: nothing to do', local: undefined, remotes: [at('p', gone({ p: 2 }))], expected: { kind: 'none' } },
    {
      description: 'a newer version is taken only from peers that have exactly it',
      local: file({ me: 1 }),
      remotes: [at('p', file({ me: 1, p: 1 }, H2)), at('q', file({ me: 1 }))],
      expected: { kind: 'take', version: { me: 1, p: 1 }, sources: ['p'], replacesConcurrent: false },
    },
    {
      description: 'the newest of several remote versions wins',
      local: file({ me: 1 }, H3),
      remotes: [at('p', file({ me: 1, p: 1 }, H2)), at('q', file({ me: 1, p: 1, q: 1 }, H1))],
      expected: { kind: 'take', version: { me: 1, p: 1, q: 1 }, sources: ['q'] },
    },
    {
      description: 'a newer deletion is taken (no sources needed)',
      local: file({ me: 1 }),
      remotes: [at('p', gone({ me: 1, p: 1 }))],
      expected: { kind: 'take', version: { me: 1, p: 1 }, sources: [] },
    },
    {
      description: 'a newer deletion of something we also deleted only merges the version',
      local: gone({ me: 2 }),
      remotes: [at('p', gone({ me: 2, p: 1 }))],
      expected: { kind: 'merge', version: { me: 2, p: 1 } },
    },
    {
      description: 'X2: concurrent edits with identical content merge without a transfer',
      local: file({ me: 2, p: 1 }, H1),
      remotes: [at('p', file({ me: 1, p: 2 }, H1, 5000))],
      expected: { kind: 'merge', version: { me: 2, p: 2 } },
    },
    {
      description: 'concurrent edits: the newer mtime wins and the merged version is recorded',
      local: file({ me: 2, p: 1 }, H1, 1000),
      remotes: [at('p', file({ me: 1, p: 2 }, H2, 2000))],
      expected: { kind: 'take', version: { me: 2, p: 2 }, sources: ['p'], replacesConcurrent: true },
    },
    {
      description: 'concurrent edits: our newer mtime wins, the peer will take ours',
      local: file({ me: 2, p: 1 }, H1, 3000),
      remotes: [at('p', file({ me: 1, p: 2 }, H2, 2000))],
      expected: { kind: 'none' },
    },
    {
      description: 'X3: a deletion concurrent with our edit loses: the file stays',
      local: file({ me: 2, p: 1 }, H1, 1000),
      remotes: [at('p', gone({ me: 1, p: 2 }, 9000))],
      expected: { kind: 'none' },
    },
    {
      description: 'X3: our deletion concurrent with a peer edit loses: the file comes back',
      local: gone({ me: 2, p: 1 }, 9000),
      remotes: [at('p', file({ me: 1, p: 2 }, H2, 1000))],
      expected: { kind: 'take', version: { me: 2, p: 2 }, sources: ['p'], replacesConcurrent: true },
    },
    {
      description: 'a deletion that dominates one edit does not hide another edit it never saw',
      // Ours deleted c's version; b's edit is concurrent with our deletion and, being live, wins.
      local: gone({ c: 1, me: 2 }, 9000),
      remotes: [at('c', file({ c: 1 }, H1, 5000)), at('b', file({ b: 1 }, H2, 1000))],
      expected: { kind: 'take', version: { b: 1, c: 1, me: 2 }, sources: ['b'] },
    },
    {
      description: 'a losing edit keeps its own version out of the winner, so its node sees the conflict',
      local: file({ me: 1 }, H1, 1000),
      remotes: [at('p', file({ p: 1 }, H2, 5000)), at('q', file({ q: 1 }, H3, 2000))],
      expected: { kind: 'take', version: { me: 1, p: 1 }, sources: ['p'], replacesConcurrent: true },
    },
    {
      description: 'X5: a concurrent dir beats our newer file edit (the dir may hold content we never saw); our file is kept as a conflict',
      local: file({ me: 2, p: 1 }, H1, 9000),
      remotes: [at('p', dir({ me: 1, p: 2 }))],
      expected: { kind: 'take', version: { me: 2, p: 2 }, sources: ['p'], replacesConcurrent: true },
    },
    {
      description: 'X5: our dir stays against a concurrent newer file from a peer',
      local: dir({ me: 2, p: 1 }),
      remotes: [at('p', file({ me: 1, p: 2 }, H1, 9000))],
      expected: { kind: 'none' },
    },
    {
      description: 'a dir made concurrently on both sides merges',
      local: dir({ me: 1 }),
      remotes: [at('p', dir({ p: 1 }))],
      expected: { kind: 'merge', version: { me: 1, p: 1 } },
    },
  ];

  it.each(cases)('$description', ({ local, remotes, expected }) => {
    expect(reconcile(local, remotes)).toMatchObject(expected);
  });
});

describe('wins (the concurrent tie-break)', () => {
  it('is decided the same way from both sides', () => {
    const pairs: Array<[FileEntry, FileEntry]> = [
      [file({ a: 2, b: 1 }, H1, 5), file({ a: 1, b: 2 }, H2, 5)],
      [file({ a: 1 }, H1, 7), file({ b: 1 }, H2, 5)],
      [gone({ a: 3 }), file({ b: 1 })],
      [dir({ a: 1 }), file({ b: 1 }, H1, 9000)],
    ];
    for (const [x, y] of pairs) expect(wins(x, y)).toBe(!wins(y, x));
  });

  it('breaks an mtime tie by the node that changed last', () => {
    expect(wins(file({ a: 1, b: 3 }, H1, 5), file({ a: 3, b: 1 }, H2, 5))).toBe(true);
    expect(wins(file({ a: 3, b: 1 }, H1, 5), file({ a: 1, b: 3 }, H2, 5))).toBe(false);
  });
});

describe('CL1: skewed clocks and extreme mtimes', () => {
  const Y2100 = Date.UTC(2100, 0, 1);
  const PRE_1970 = Date.UTC(1969, 6, 20);
  const DAY = 86_400_000;

  it('CL1: version vectors decide, not mtime: a newer version before 1970 replaces an older one from 2100', () => {
    expect(reconcile(file({ me: 1 }, H1, Y2100), [at('p', file({ me: 1, p: 1 }, H2, PRE_1970))])).toMatchObject({ kind: 'take', replacesConcurrent: false });
    expect(reconcile(file({ me: 1, p: 1 }, H2, PRE_1970), [at('p', file({ me: 1 }, H1, Y2100))])).toEqual({ kind: 'none' });
  });

  it('CL1: a peer a day ahead or behind only breaks the tie of concurrent edits, the same way on both sides, and the loser is kept', () => {
    for (const skew of [DAY, -DAY]) {
      const mine = file({ me: 2, p: 1 }, H1, 1_800_000_000_000);
      const theirs = file({ me: 1, p: 2 }, H2, 1_800_000_000_000 + skew);
      const here = reconcile(mine, [at('p', theirs)]);
      const there = reconcile(theirs, [at('me', mine)]);
      // Exactly one side takes the other's version, and keeps its own as a conflict copy.
      const takers = [here, there].filter((d) => d.kind === 'take');
      expect(takers).toHaveLength(1);
      expect(takers[0]).toMatchObject({ replacesConcurrent: true });
    }
  });

  /**
   * Two nodes exchanging their entry for one path until nothing changes, as
   * the puller applies decisions (take: their entry at the decided version;
   * merge: our entry at it). Returns how many changes were made in all.
   */
  function settle(a: FileEntry, b: FileEntry, rounds: number): { a: FileEntry; b: FileEntry; changes: number[] } {
    const changes: number[] = [];
    for (let r = 0; r < rounds; r++) {
      let n = 0;
      const apply = (local: FileEntry, remote: FileEntry, peer: string): FileEntry => {
        const d = reconcile(local, [at(peer, remote)]);
        if (d.kind === 'none') return local;
        n++;
        return d.kind === 'take' ? { ...d.entry, version: d.version } : { ...local, version: d.version };
      };
      a = apply(a, b, 'b');
      b = apply(b, a, 'a');
      changes.push(n);
    }
    return { a, b, changes };
  }

  it('CL1: mtimes in 2100 and before 1970 settle after one exchange and then stay quiet (no ping-pong)', () => {
    const cases: Array<[FileEntry, FileEntry]> = [
      // One side changed: the other takes it.
      [file({ a: 1 }, H1, Y2100), file({}, H2, PRE_1970)],
      // Concurrent edits, one stamped 2100, one before 1970.
      [file({ a: 1 }, H1, Y2100), file({ b: 1 }, H2, PRE_1970)],
      [file({ a: 1 }, H1, PRE_1970), file({ b: 1 }, H2, Y2100)],
      // Concurrent, same content, different mtimes: merged without a transfer.
      [file({ a: 1 }, H1, Y2100), file({ b: 1 }, H1, PRE_1970)],
    ];
    for (const [a, b] of cases) {
      const { a: endA, b: endB, changes } = settle(a, b, 6);
      expect(endA.hash).toBe(endB.hash);
      expect(reconcile(endA, [at('b', endB)])).toEqual({ kind: 'none' });
      expect(changes.slice(2)).toEqual([0, 0, 0, 0]);
    }
  });
});
