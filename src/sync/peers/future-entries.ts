/**
 * Sorts a peer's index entries by their version counters (versions/plausible.ts):
 * the plausible are taken, the implausible refused, and those a little ahead
 * of our clock held until it reaches them, then handed back to be sorted
 * again. One per link: a held entry lives no longer than the link, and the
 * read position the link records stops short of it (see PeerLink), so the
 * next link asks for it again.
 */
import type { Clock } from '../../core/clock.js';
import type { FileEntry } from '../../index/entry.js';
import { judgeVersion } from '../../versions/plausible.js';

/** An entry refused for a version counter far ahead of any clock. */
export interface RefusedEntry {
  readonly path: string;
  readonly counter: number;
}

/** What a batch came to. */
export interface SortedBatch {
  /** Entries to store now. */
  readonly take: FileEntry[];
  readonly refused: RefusedEntry[];
  /** Entries of this batch now held. */
  readonly held: number;
}

/** What the sorter needs. */
export interface FutureEntriesDeps {
  readonly clock: Clock;
  /** Held entries whose time has come: sort them again and store what is taken. */
  readonly onDue: (folder: string, indexId: string, entries: FileEntry[]) => void;
  /** Most entries held at once; more are refused (only an attacker gets near it: see plausible.ts). */
  readonly maxHeld?: number;
}

/** Entries held per link by default. */
const MAX_HELD = 10_000;

type Held = { readonly indexId: string; readonly entry: FileEntry; readonly dueMs: number };

/** The entries of one peer held until our clock reaches their counters. */
export class FutureEntries {
  /** Folder -> path -> held entry. */
  private readonly held = new Map<string, Map<string, Held>>();
  private count = 0;
  private cancelTimer: (() => void) | undefined;
  private timerDueMs = Infinity;
  private closed = false;

  constructor(private readonly deps: FutureEntriesDeps) {}

  /**
   * Sorts a batch of `folder`. An entry for a path supersedes what was held
   * for it, and a reset forgets everything held for the folder: a held entry
   * handed back later must never overwrite a newer one.
   */
  sort(folder: string, indexId: string, entries: readonly FileEntry[], reset: boolean): SortedBatch {
    let held = this.held.get(folder);
    if (reset && held !== undefined) {
      this.count -= held.size;
      held.clear();
    }
    const nowMs = this.deps.clock.now();
    const take: FileEntry[] = [];
    const refused: RefusedEntry[] = [];
    let newlyHeld = 0;
    for (const entry of entries) {
      if (held?.delete(entry.path) === true) this.count--;
      const verdict = judgeVersion(entry.version, nowMs);
      if (verdict.kind === 'take') take.push(entry);
      else if (verdict.kind === 'refuse') refused.push({ path: entry.path, counter: verdict.counter });
      else if (this.closed || this.count >= (this.deps.maxHeld ?? MAX_HELD)) refused.push({ path: entry.path, counter: largest(entry) });
      else {
        if (held === undefined) this.held.set(folder, (held = new Map<string, Held>()));
        held.set(entry.path, { indexId, entry, dueMs: verdict.dueMs });
        this.count++;
        newlyHeld++;
        this.arm(verdict.dueMs);
      }
    }
    return { take, refused, held: newlyHeld };
  }

  /** The lowest sequence held for `folder`, if any: the read position must stay below it. */
  lowestHeld(folder: string): number | undefined {
    let lowest: number | undefined;
    for (const { entry } of this.held.get(folder)?.values() ?? []) if (lowest === undefined || entry.sequence < lowest) lowest = entry.sequence;
    return lowest;
  }

  /** Drops everything held (the link ended). */
  close(): void {
    this.closed = true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.held.clear();
    this.count = 0;
  }

  /** Makes sure a timer fires by `dueMs`. */
  private arm(dueMs: number): void {
    if (this.closed || dueMs >= this.timerDueMs) return;
    this.cancelTimer?.();
    this.timerDueMs = dueMs;
    this.cancelTimer = this.deps.clock.setTimer(Math.max(0, dueMs - this.deps.clock.now()), () => this.release());
  }

  /** Hands back every entry whose time has come (by the wall clock now: it may have stepped since) and re-arms for the rest. */
  private release(): void {
    this.cancelTimer = undefined;
    this.timerDueMs = Infinity;
    const nowMs = this.deps.clock.now();
    let next = Infinity;
    const due: Array<{ folder: string; indexId: string; entries: FileEntry[] }> = [];
    for (const [folder, held] of this.held) {
      for (const [path, h] of held) {
        if (h.dueMs > nowMs) {
          next = Math.min(next, h.dueMs);
          continue;
        }
        held.delete(path);
        this.count--;
        const batch = due.find((d) => d.folder === folder && d.indexId === h.indexId);
        if (batch === undefined) due.push({ folder, indexId: h.indexId, entries: [h.entry] });
        else batch.entries.push(h.entry);
      }
    }
    if (next !== Infinity) this.arm(next);
    // In sequence order, as the peer sent them.
    for (const d of due) this.deps.onDue(d.folder, d.indexId, d.entries.sort((a, b) => a.sequence - b.sequence));
  }
}

function largest(entry: FileEntry): number {
  return Math.max(0, ...Object.values(entry.version));
}
