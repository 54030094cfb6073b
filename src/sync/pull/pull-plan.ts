/**
 * Sorts the decisions of one pull round into the order they can be carried
 * out: version-only merges, then dirs (parents first), then files and links
 * (in parallel), then deletions (children first, so a dir is empty when its
 * turn comes). Pure.
 */
import type { Decision } from './reconcile.js';

type Take = Decision & { kind: 'take' };
type Merge = Decision & { kind: 'merge' };

/** One round's work. */
export interface PullPlan {
  readonly merges: Array<[string, Merge]>;
  readonly dirs: Array<[string, Take]>;
  readonly files: Array<[string, Take]>;
  readonly deletes: Array<[string, Take]>;
}

/** Number of actions in a plan. */
export function planSize(plan: PullPlan): number {
  return plan.merges.length + plan.dirs.length + plan.files.length + plan.deletes.length;
}

/**
 * Plans `paths`: `decide` gives each path's decision; sources are narrowed to
 * `connected` peers, and a file no connected peer has waits for a later round.
 */
export function planPull(paths: Iterable<string>, decide: (path: string) => Decision, connected: ReadonlySet<string>): PullPlan {
  const plan: PullPlan = { merges: [], dirs: [], files: [], deletes: [] };
  for (const p of paths) {
    const decision = decide(p);
    if (decision.kind === 'merge') plan.merges.push([p, decision]);
    if (decision.kind !== 'take') continue;
    const d: Take = { ...decision, sources: decision.sources.filter((s) => connected.has(s)) };
    if (d.entry.deleted) plan.deletes.push([p, d]);
    else if (d.entry.type === 'dir') plan.dirs.push([p, d]);
    else if (d.entry.type === 'symlink' || d.sources.length > 0) plan.files.push([p, d]);
  }
  plan.dirs.sort(([a], [b]) => (a < b ? -1 : 1));
  plan.deletes.sort(([a], [b]) => (a < b ? 1 : -1));
  return plan;
}
