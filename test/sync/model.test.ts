/**
 * Model-based check of the sync rules (THREATS.md X9): three simulated nodes
 * edit and delete the same few paths, exchange indexes in random order (any
 * pair, any time, some never directly), with deliveries lost along the way
 * (a whole exchange, some of its index updates, or every content fetch of
 * it), then settle. All nodes must converge, and no version
 * Wizard ever saw may vanish: each is live somewhere, a conflict copy, or in
 * a trash. Only a user's own overwrite on the same machine discards a version.
 *
 * The simulation runs the real pure core (reconcile, version vectors,
 * conflict names) and mirrors what the puller does with its decisions.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FileEntry } from '../../src/index/entry.js';
import { conflictName } from '../../src/sync/conflict.js';
import { lastModifier, reconcile, type RemoteEntry } from '../../src/sync/reconcile.js';
import { bump } from '../../src/versions/vector.js';

const PATHS = ['a.txt', 'b.txt', 'c.txt'];

/** A node of the simulation: its index (content kept in `hash`), what it knows of its peers, and its trash. */
class SimNode {
  readonly local = new Map<string, FileEntry>();
  readonly known = new Map<string, Map<string, FileEntry>>();
  readonly trash: string[] = [];
  private sequence = 0;

  constructor(readonly id: string) {}

  live(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [p, e] of this.local) if (!e.deleted) out.set(p, e.hash);
    return out;
  }

  record(path: string, change: Partial<FileEntry>, now: number): void {
    const prev = this.local.get(path);
    const base: FileEntry = prev ?? { path, type: 'file', size: 1, mtimeMs: now, mode: 0o644, hash: '', target: '', version: {}, deleted: false, sequence: 0 };
    this.local.set(path, { ...base, ...change, version: bump(prev?.version ?? {}, this.id, now * 1000), mtimeMs: now, sequence: ++this.sequence });
  }

  /** Takes `from`'s index and pulls what it can from it, losing what `loss` says. */
  pullFrom(from: SimNode, now: number, loss: Loss = NO_LOSS): void {
    if (loss.kind === 'whole') return;
    const before = this.known.get(from.id) ?? new Map<string, FileEntry>();
    const view = new Map<string, FileEntry>();
    [...from.local.keys()].sort().forEach((p, i) => {
      // A lost update leaves this node's older view of that path, if it had one.
      const lost = loss.kind === 'updates' && (loss.mask & (1 << i % 8)) !== 0;
      const entry = lost ? before.get(p) : from.local.get(p);
      if (entry !== undefined) view.set(p, { ...entry });
    });
    this.known.set(from.id, view);
    const paths = new Set([...this.local.keys(), ...[...this.known.values()].flatMap((m) => [...m.keys()])]);
    for (const path of [...paths].sort()) {
      const remotes: RemoteEntry[] = [...this.known].flatMap(([peer, m]) => (m.has(path) ? [{ peer, entry: m.get(path) as FileEntry }] : []));
      const local = this.local.get(path);
      const d = reconcile(local, remotes);
      if (d.kind === 'merge' && local !== undefined) this.local.set(path, { ...local, version: d.version, sequence: ++this.sequence });
      if (d.kind !== 'take') continue;
      // Content only comes from a connected peer that has exactly that version, and only when the fetch arrives.
      if (!d.entry.deleted && (!d.sources.includes(from.id) || loss.kind === 'content')) continue;
      if (local !== undefined && !local.deleted && local.hash !== d.entry.hash) {
        if (d.replacesConcurrent && !d.entry.deleted) {
          const copy = conflictName(path, now * 1000, lastModifier(local.version));
          this.record(copy, { hash: local.hash, deleted: false }, now);
        } else {
          this.trash.push(local.hash);
        }
      }
      this.local.set(path, { ...d.entry, version: d.version, sequence: ++this.sequence });
    }
  }
}

/**
 * What an exchange loses: nothing, everything (the connection dropped before
 * any of it arrived), the index updates of some paths (`mask` bit i drops the
 * i-th path), or every content fetch (the index arrives, the blocks never do).
 */
type Loss = { kind: 'none' } | { kind: 'whole' } | { kind: 'updates'; mask: number } | { kind: 'content' };
const NO_LOSS: Loss = { kind: 'none' };

type Op = { kind: 'write'; node: number; path: number } | { kind: 'delete'; node: number; path: number } | { kind: 'sync'; from: number; to: number; loss: Loss };

const lossArb: fc.Arbitrary<Loss> = fc.oneof(
  { weight: 2, arbitrary: fc.constant(NO_LOSS) },
  { weight: 1, arbitrary: fc.constant({ kind: 'whole' } as const) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('updates' as const), mask: fc.nat(255) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'content' } as const) },
);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('write' as const), node: fc.nat(2), path: fc.nat(PATHS.length - 1) }),
  fc.record({ kind: fc.constant('delete' as const), node: fc.nat(2), path: fc.nat(PATHS.length - 1) }),
  fc.record({ kind: fc.constant('sync' as const), from: fc.nat(2), to: fc.nat(2), loss: lossArb }),
);

/** Runs ops, then settles over the links allowed; returns the nodes and the bookkeeping for the no-loss check. */
export function simulate(ops: Op[], links: Array<[number, number]>) {
  const nodes = ['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb', 'cccccccccccccccc'].map((id) => new SimNode(id));
  const written = new Set<string>();
  const discardedByUser = new Set<string>();
  let now = 1_000_000;
  let n = 0;
  for (const op of ops) {
    now++;
    if (op.kind === 'sync') {
      if (op.from !== op.to && links.some(([x, y]) => (x === op.from && y === op.to) || (x === op.to && y === op.from))) {
        (nodes[op.to] as SimNode).pullFrom(nodes[op.from] as SimNode, now, op.loss);
      }
      continue;
    }
    const node = nodes[op.node] as SimNode;
    const path = PATHS[op.path] as string;
    const current = node.local.get(path);
    if (current !== undefined && !current.deleted) discardedByUser.add(current.hash);
    if (op.kind === 'write') {
      const content = `v${++n}@${node.id[0]}`;
      written.add(content);
      node.record(path, { hash: content, deleted: false }, now);
    } else if (current !== undefined && !current.deleted) {
      node.record(path, { hash: '', deleted: true }, now);
    }
  }
  // Settle: keep exchanging over every link until a full pass changes nothing.
  for (let pass = 0; pass < 50; pass++) {
    const before = JSON.stringify(nodes.map((x) => [...x.local].sort()));
    for (const [x, y] of links) {
      now++;
      (nodes[y] as SimNode).pullFrom(nodes[x] as SimNode, now);
      (nodes[x] as SimNode).pullFrom(nodes[y] as SimNode, now);
    }
    if (JSON.stringify(nodes.map((x) => [...x.local].sort())) === before) break;
  }
  return { nodes, written, discardedByUser };
}

describe('three nodes, random edits and exchanges', () => {
  const topologies: Array<{ name: string; links: Array<[number, number]> }> = [
    { name: 'a full mesh', links: [[0, 1], [1, 2], [0, 2]] },
    { name: 'a chain A-B-C (A and C never meet)', links: [[0, 1], [1, 2]] },
  ];

  it.each(topologies)('X9: converge and lose nothing in $name, with lost deliveries along the way', ({ links }) => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        const { nodes, written, discardedByUser } = simulate(ops, links);
        const trees = nodes.map((x) => JSON.stringify([...x.live()].sort()));
        expect(new Set(trees).size).toBe(1);
        const kept = new Set([...nodes.flatMap((x) => [...x.live().values()]), ...nodes.flatMap((x) => x.trash)]);
        for (const content of written) {
          if (!discardedByUser.has(content)) expect(kept.has(content), `${content} was lost`).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
  });
});
