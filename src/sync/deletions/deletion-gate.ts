/**
 * The deletion budget of one folder: which deletions are held back until the
 * user confirms them (`wizard resume`), local ones and peers' alike, and the
 * window of the last minute's deletions they are judged against (see
 * deletion-window.ts; the rule itself is the pure `deletionBudgetExceeded`).
 *
 * One budget for both, because a folder emptied by an `rm -rf` here and one
 * emptied by a peer (a compromised one sending forged newer tombstones, or an
 * honest one whose disk went missing) lose the same files. A held local
 * deletion is not recorded: the file is gone here, but the index still has
 * it live, so no peer hears of it. A held peer's deletion is not applied: the
 * file stays here and nothing is recorded. Everything else the scan or the
 * pull round found (edits, new files) goes on meanwhile.
 *
 * While anything is held, every new deletion joins the hold instead of being
 * weighed on its own: an `rm -rf` still running, or a peer still deleting,
 * must not trickle past a hold under the budget, one small batch at a time.
 */
import type { Candidate } from '../scan/local-changes.js';
import type { DeletionBudget } from './safety.js';
import { DeletionWindow } from './deletion-window.js';

/** What is held now, and why. */
export interface HeldDeletions {
  /** Every held deletion, local and from peers (`local` plus the paths behind `fromPeers`). */
  readonly count: number;
  /** Local deletions held (gone from disk here, not recorded). */
  readonly local: number;
  /** Peers' deletions held, per peer that sent them (a path two peers deleted counts for each). */
  readonly fromPeers: ReadonlyArray<{ readonly peer: string; readonly count: number }>;
  readonly reason: string;
}

/** Why one path's deletion is held: `peers` empty for a local deletion. */
export interface HeldPath {
  readonly peers: readonly string[];
  readonly reason: string;
}

/** A peer's deletion a pull round would apply: the path and the peers whose index has it deleted. */
export interface RemoteDeletion {
  readonly path: string;
  readonly peers: readonly string[];
}

/** The one line status shows for what `folder` holds. */
export function describeHeld(folder: string, held: HeldDeletions): string {
  const fromPeers = held.fromPeers.length === 0 ? '' : ` (${held.fromPeers.map((p) => `${p.count} from peer ${p.peer.slice(0, 16)}`).join(', ')})`;
  return `${folder}: ${held.count} deletions held by the deletion budget${fromPeers}: ${held.reason}; run 'wizard resume ${folder}' to apply them`;
}

/** A deletion candidate: gone from disk, live in the index. */
function isDeletion(c: Candidate): boolean {
  return c.obs === undefined && c.prev !== undefined && !c.prev.deleted;
}

/** A creation candidate: on disk, not live in the index (new, or back after a deletion). */
function isCreation(c: Candidate): boolean {
  return c.obs !== undefined && (c.prev === undefined || c.prev.deleted);
}

/** Holds deletions past the budget until confirmed. */
export class DeletionGate {
  private readonly window = new DeletionWindow();
  /** Local deletions held: gone from disk, still live in the index. */
  private readonly heldLocal = new Set<string>();
  /** Peers' deletions held, with the peers that sent them. */
  private readonly heldRemote = new Map<string, readonly string[]>();
  /** Held deletions the user confirmed, each let through once by the next scan or pull round that meets it. */
  private readonly releasedLocal = new Set<string>();
  private readonly releasedRemote = new Set<string>();
  /** Why the current hold began. */
  private reason = '';

  constructor(
    private readonly budget: () => DeletionBudget,
    /** Elapsed real time: a wall-clock step must neither stretch nor end the window. */
    private readonly monotonicMs: () => number,
  ) {}

  /** What is held now, if anything. */
  get held(): HeldDeletions | undefined {
    const count = this.heldLocal.size + this.heldRemote.size;
    if (count === 0) return undefined;
    const perPeer = new Map<string, number>();
    for (const peers of this.heldRemote.values()) for (const p of peers) perPeer.set(p, (perPeer.get(p) ?? 0) + 1);
    const fromPeers = [...perPeer].map(([peer, n]) => ({ peer, count: n })).sort((x, y) => y.count - x.count || (x.peer < y.peer ? -1 : 1));
    return { count, local: this.heldLocal.size, fromPeers, reason: this.reason };
  }

  /** Why the deletion of `rel` is held, or undefined when it is not. */
  heldAt(rel: string): HeldPath | undefined {
    if (this.heldLocal.has(rel)) return { peers: [], reason: this.reason };
    const peers = this.heldRemote.get(rel);
    return peers === undefined ? undefined : { peers, reason: this.reason };
  }

  /**
   * The candidates of one scan that may be recorded: all of them, or all
   * but the deletions when these would exceed the budget (then they are
   * held, and found again by every scan until the user confirms). `live` is
   * the folder's count of live entries; `covers` tells the paths this scan
   * looked at for deletions, where a held deletion it did not find again is
   * settled (the file is back). `onHeld` hears of a new or grown hold.
   */
  admit(candidates: Candidate[], live: number, covers: (path: string) => boolean, onHeld: (held: HeldDeletions) => void): Candidate[] {
    const deletions = candidates.filter(isDeletion);
    const found = new Set(deletions.map((c) => c.path));
    for (const set of [this.heldLocal, this.releasedLocal]) {
      for (const p of set) if (!found.has(p) && covers(p)) set.delete(p);
    }
    // Paths back on disk first: a dir renamed back has its old names back in the scan that finds the new ones gone.
    this.window.forget(candidates.filter(isCreation).map((c) => c.path));
    return deletions.length === 0 ? candidates : this.admitLocalDeletions(candidates, deletions, live, onHeld);
  }

  /**
   * Paths a scan found on disk where its index had nothing live (new, or
   * back after a deletion): a path back no longer counts against the budget.
   * A scan hands these over as it records them, before `admit` weighs its deletions.
   */
  recreated(candidates: readonly Candidate[]): void {
    this.window.forget(candidates.filter(isCreation).map((c) => c.path));
  }

  private admitLocalDeletions(candidates: Candidate[], deletions: Candidate[], live: number, onHeld: (held: HeldDeletions) => void): Candidate[] {
    const released = new Set(deletions.filter((c) => this.releasedLocal.delete(c.path)).map((c) => c.path));
    const weighed = deletions.map((c) => c.path).filter((p) => !released.has(p));
    if (this.letThrough(weighed, live)) return candidates;
    const before = this.heldLocal.size;
    for (const p of weighed) this.heldLocal.add(p);
    if (this.heldLocal.size !== before) onHeld(this.held as HeldDeletions);
    return candidates.filter((c) => !isDeletion(c) || released.has(c.path));
  }

  /**
   * The peers' deletions of one pull round that may be applied: all of
   * them, or, when they would exceed the budget, only those the user
   * confirmed; the rest are held (the file stays, nothing is recorded) and
   * met again by every round that decides their path, until the user
   * confirms. `onHeld` hears of a new or grown hold.
   */
  admitRemote(deletions: readonly RemoteDeletion[], live: number, onHeld: (held: HeldDeletions) => void): Set<string> {
    const released = new Set(deletions.filter((d) => this.releasedRemote.delete(d.path)).map((d) => d.path));
    const weighed = deletions.filter((d) => !released.has(d.path));
    if (this.letThrough(weighed.map((d) => d.path), live)) return new Set(deletions.map((d) => d.path));
    let grew = false;
    for (const d of weighed) {
      grew ||= !this.heldRemote.has(d.path);
      this.heldRemote.set(d.path, d.peers);
    }
    if (grew) onHeld(this.held as HeldDeletions);
    return released;
  }

  /**
   * A pull round decided these paths as something other than a deletion (a
   * peer restored the file, our edit won): a hold on them is over. `created`
   * are the ones it puts here where nothing was: one back after a deletion
   * no longer counts against the budget.
   */
  settle(notDeleted: Iterable<string>, created: Iterable<string>): void {
    for (const p of notDeleted) {
      this.heldRemote.delete(p);
      this.releasedRemote.delete(p);
    }
    this.window.forget(created);
  }

  /**
   * The user confirmed the held deletions: each goes through the next time
   * a scan or a pull round meets it, and the budget starts afresh (what the
   * user let through does not count against what comes next). Returns how
   * many were held, and the paths of the peers' ones (to pull again).
   */
  confirm(): { count: number; remote: string[] } {
    const count = this.heldLocal.size + this.heldRemote.size;
    const remote = [...this.heldRemote.keys()];
    for (const p of this.heldLocal) this.releasedLocal.add(p);
    for (const p of remote) this.releasedRemote.add(p);
    this.heldLocal.clear();
    this.heldRemote.clear();
    this.window.clear();
    return { count, remote };
  }

  /** Whether `paths` may be deleted now; if so they are counted. Judged as one batch, joined to a hold in force. */
  private letThrough(paths: readonly string[], live: number): boolean {
    if (paths.length === 0) return true;
    const now = this.monotonicMs();
    const inForce = this.heldLocal.size + this.heldRemote.size > 0;
    const reason = inForce ? this.reason : this.window.judge(paths, live, now, this.budget());
    if (reason === undefined) {
      this.window.record(paths, now);
      return true;
    }
    this.reason = reason;
    return false;
  }
}
