/**
 * Model-based check of the sync rules (THREATS.md X9): three simulated nodes
 * edit and delete the same few paths, exchange indexes in random order (any
 * pair, any time, some never directly), with deliveries lost along the way
 * (a whole exchange, some of its index updates, or every content fetch of
 * it), then settle. All nodes must converge, and no version Wizard ever held
 * may vanish: every content ever written that some node held is live
 * somewhere, a conflict copy, or in a trash, unless the user of every node
 * that held it overwrote or deleted it there by hand.
 *
 * The simulation runs the real pure core (reconcile, version vectors,
 * conflict names) and mirrors what the puller does with its decisions. How
 * it keeps the version it replaces is a parameter: the real puller's way,
 * and three buggy ways (dropping a dominated version, a deleted one, or the
 * loser of a conflict). The buggy pullers must be caught, so "nothing lost"
 * is a property the model checks, not one it holds by construction.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FileEntry } from '../../src/index/entry.js';
import { conflictName } from '../../src/sync/conflicts/conflict.js';
import { lastModifier, reconcile, type Decision, type RemoteEntry } from '../../src/sync/pull/reconcile.js';
import { bump } from '../../src/versions/vector.js';

const PATHS = ['a.txt', 'b.txt', 'c.txt'];
const RUNS = Number(process.env.WIZARD_MODEL_RUNS ?? 400);
const TIMEOUT_MS = Math.max(60_000, RUNS * 10);

/**
 * How the simulated puller keeps the local version a take replaces.
 * 'faithful' is what puller.ts and pull-loop.ts do: a concurrent loser
 * becomes a conflict copy (takeOptions' keepLocalAs), anything else goes to
 * the trash (replaceWith's trash.preserve, applyDelete's trash move). The
 * others are the bugs a real puller could have.
 */
export type Keeping = 'faithful' | 'drops-dominated' | 'drops-on-delete' | 'drops-conflict-loser';

/** What happens to a replaced local version under `keeping`. */
function keptAs(keeping: Keeping, d: Extract<Decision, { kind: 'take' }>): 'conflict-copy' | 'trash' | 'dropped' {
  const faithful = d.replacesConcurrent && !d.entry.deleted ? 'conflict-copy' : 'trash';
  if (keeping === 'drops-dominated' && faithful === 'trash' && !d.entry.deleted) return 'dropped';
  if (keeping === 'drops-on-delete' && d.entry.deleted) return 'dropped';
  if (keeping === 'drops-conflict-loser' && faithful === 'conflict-copy') return 'dropped';
  return faithful;
}

/** A node of the simulation: its index (content kept in `hash`), what it knows of its peers, and its trash. */
class SimNode {
  readonly local = new Map<string, FileEntry>();
  readonly known = new Map<string, Map<string, FileEntry>>();
  readonly trash: string[] = [];
  private sequence = 0;

  constructor(
    readonly id: string,
    private readonly keeping: Keeping,
  ) {}

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
        const kept = keptAs(this.keeping, d);
        if (kept === 'conflict-copy') {
          const copy = conflictName(path, now * 1000, { shortId: lastModifier(local.version), name: '' });
          this.record(copy, { hash: local.hash, deleted: false }, now);
        } else if (kept === 'trash') {
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

/**
 * Runs ops, then settles over the links allowed. Returns the nodes, every
 * content written, and per content the nodes that ever held it live and the
 * nodes whose user overwrote or deleted it by hand.
 */
export function simulate(ops: Op[], links: Array<[number, number]>, keeping: Keeping = 'faithful') {
  const nodes = ['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb', 'cccccccccccccccc'].map((id) => new SimNode(id, keeping));
  const written = new Set<string>();
  const heldBy = new Map<string, Set<number>>();
  const discardedBy = new Map<string, Set<number>>();
  const note = (book: Map<string, Set<number>>, content: string, node: number) => book.set(content, (book.get(content) ?? new Set()).add(node));
  /** Every content each node holds live now is one it held (a version only lives between steps, so looking after each step sees all). */
  const lookAtHoldings = () => nodes.forEach((x, i) => [...x.live().values()].forEach((content) => note(heldBy, content, i)));
  const pull = (to: number, from: number, now: number, loss?: Loss) => {
    (nodes[to] as SimNode).pullFrom(nodes[from] as SimNode, now, loss);
    lookAtHoldings();
  };
  let now = 1_000_000;
  let n = 0;
  for (const op of ops) {
    now++;
    if (op.kind === 'sync') {
      if (op.from !== op.to && links.some(([x, y]) => (x === op.from && y === op.to) || (x === op.to && y === op.from))) pull(op.to, op.from, now, op.loss);
      continue;
    }
    const node = nodes[op.node] as SimNode;
    const path = PATHS[op.path] as string;
    const current = node.local.get(path);
    if (current !== undefined && !current.deleted) note(discardedBy, current.hash, op.node);
    if (op.kind === 'write') {
      const content = `v${++n}@${node.id[0]}`;
      written.add(content);
      node.record(path, { hash: content, deleted: false }, now);
    } else if (current !== undefined && !current.deleted) {
      node.record(path, { hash: '', deleted: true }, now);
    }
    lookAtHoldings();
  }
  // Settle: keep exchanging over every link until a full pass changes nothing.
  for (let pass = 0; pass < 50; pass++) {
    const before = JSON.stringify(nodes.map((x) => [...x.local].sort()));
    for (const [x, y] of links) {
      now++;
      pull(y, x, now);
      pull(x, y, now);
    }
    if (JSON.stringify(nodes.map((x) => [...x.local].sort())) === before) break;
  }
  return { nodes, written, heldBy, discardedBy };
}

/**
 * Contents lost: written, held by some node whose user never discarded it
 * there, and now neither live on any node nor in any trash.
 */
export function lostContents(result: ReturnType<typeof simulate>): string[] {
  const { nodes, written, heldBy, discardedBy } = result;
  const kept = new Set([...nodes.flatMap((x) => [...x.live().values()]), ...nodes.flatMap((x) => x.trash)]);
  return [...written].filter((content) => {
    const keptForSomeone = [...(heldBy.get(content) ?? [])].some((node) => !(discardedBy.get(content)?.has(node) ?? false));
    return keptForSomeone && !kept.has(content);
  });
}

/** The property: the nodes converge and lose nothing. */
function convergesAndLosesNothing(links: Array<[number, number]>, keeping: Keeping) {
  return fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
    const result = simulate(ops, links, keeping);
    const trees = result.nodes.map((x) => JSON.stringify([...x.live()].sort()));
    expect(new Set(trees).size).toBe(1);
    expect(lostContents(result)).toEqual([]);
  });
}

describe('three nodes, random edits and exchanges', () => {
  const topologies: Array<{ name: string; links: Array<[number, number]> }> = [
    { name: 'a full mesh', links: [[0, 1], [1, 2], [0, 2]] },
    { name: 'a chain A-B-C (A and C never meet)', links: [[0, 1], [1, 2]] },
  ];

  it.each(topologies)('X9: converge and lose nothing in $name, with lost deliveries along the way', ({ links }) => {
    fc.assert(convergesAndLosesNothing(links, 'faithful'), { numRuns: RUNS });
  }, TIMEOUT_MS);

  // The check is only worth something if a puller that loses data fails it: each buggy way of keeping is caught.
  it.each(['drops-dominated', 'drops-on-delete', 'drops-conflict-loser'] as const)('X9: a puller that %s is caught losing data', (keeping) => {
    const result = fc.check(convergesAndLosesNothing([[0, 1], [1, 2], [0, 2]], keeping), { numRuns: RUNS, seed: 42 });
    expect(result.failed, `the model did not notice a puller that ${keeping}`).toBe(true);
    expect(String(result.errorInstance)).toMatch(/lost|expected \[/);
  }, TIMEOUT_MS);
});
