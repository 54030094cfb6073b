/**
 * The node's record of index entries it refused for version counters far
 * ahead of any clock (versions/plausible.ts): per peer and folder, how many,
 * and the last one. The first refusal per peer and folder is logged; the rest
 * only counted, so a peer cannot flood the log, and status says which peer
 * sent what.
 */
import type { Logger } from 'pino';
import type { RefusedEntry } from './future-entries.js';

/** What status shows of the entries one peer sent for one folder and we refused. */
export interface RefusedEntries {
  readonly folder: string;
  /** Entries refused so far. */
  readonly entries: number;
  /** The last one: its path and largest counter. */
  readonly path: string;
  readonly counter: number;
  readonly lastAtMs: number;
}

/** Refusals per peer and folder since the daemon started. */
export class CounterRefusals {
  private readonly byPeer = new Map<string, Map<string, RefusedEntries>>();

  constructor(private readonly deps: { readonly log: Logger; readonly now: () => number }) {}

  /** Records entries of `folder` refused from `peer` (`peerLabel` names it in the log). */
  note(peer: string, peerLabel: string, folder: string, refused: readonly RefusedEntry[]): void {
    const last = refused.at(-1);
    if (last === undefined) return;
    let folders = this.byPeer.get(peer);
    if (folders === undefined) this.byPeer.set(peer, (folders = new Map<string, RefusedEntries>()));
    const before = folders.get(folder);
    if (before === undefined) {
      this.deps.log.warn(
        { peer: peerLabel, folder, path: last.path, counter: last.counter, entries: refused.length },
        'refused index entries whose version counters are far ahead of any clock; the link stays up, later refusals from this peer for this folder are only counted (wizard status)',
      );
    }
    folders.set(folder, { folder, entries: (before?.entries ?? 0) + refused.length, path: last.path, counter: last.counter, lastAtMs: this.deps.now() });
  }

  /** What was refused from `peer`, per folder; empty when nothing was. */
  of(peer: string): RefusedEntries[] {
    return [...(this.byPeer.get(peer)?.values() ?? [])];
  }
}
