/**
 * The pull work that runs beside a folder's pull rounds: the downloads and
 * deletions a round hands off instead of waiting for, so that a file that
 * appears while a big one downloads is started at once instead of after it.
 * Tracks which paths they hold (later rounds leave those alone and decide
 * them again once the hand-off ends) and tells the peers what completed,
 * batched while others still run.
 */
import { describeError, hasCode } from '../../core/errors.js';
import type { FolderControl } from '../folder-control.js';
import type { FolderDeps } from '../folder-deps.js';

/** Longest wait before downloads that completed are announced, while others still run. */
const ANNOUNCE_MS = 50;

/** What the hand-offs need. */
export interface HandOffsDeps extends Pick<FolderDeps, 'log'>, Pick<FolderControl, 'announce' | 'requestPull' | 'after' | 'lifecycle'> {}

/** A folder's hand-offs under way. */
export class HandOffs {
  /** Paths whose download or deletion was handed off from a pull round and has not ended. */
  private readonly handedOff = new Set<string>();
  /** Those hand-offs themselves, for `stop` to wait out. */
  private readonly handOffs = new Set<Promise<void>>();
  /** Paths skipped by a round because a hand-off held them. */
  private readonly skipped = new Set<string>();
  private announcePending = false;

  constructor(private readonly deps: HandOffsDeps) {}

  /** How many paths hand-offs hold now. */
  get pathCount(): number {
    return this.handedOff.size;
  }

  /** Whether a hand-off holds `rel`; if so, the path is decided again once that ends. */
  skipIfHeld(rel: string): boolean {
    if (!this.handedOff.has(rel)) return false;
    this.skipped.add(rel);
    return true;
  }

  /** Settles once the hand-offs under way now have ended. */
  settled(): Promise<unknown> {
    return Promise.allSettled([...this.handOffs]);
  }

  /**
   * Runs `work` for `paths` beside the pull rounds: later rounds leave the
   * paths alone until it ends, then decide again any that had news meanwhile.
   * When it made progress the peers hear of it.
   */
  handOff(paths: string[], work: () => Promise<boolean>): Promise<void> {
    const running = this.runHandOff(paths, work);
    this.handOffs.add(running);
    void running.finally(() => this.handOffs.delete(running));
    return running;
  }

  private async runHandOff(paths: string[], work: () => Promise<boolean>): Promise<void> {
    for (const p of paths) this.handedOff.add(p);
    let progressed = false;
    try {
      progressed = await work();
    } catch (err) {
      // Only a queued download whose folder stopped ends here: `attempt` records every other failure.
      if (!hasCode(err, 'CLOSED') && this.deps.lifecycle() !== 'stopped') this.deps.log.error({ err: describeError(err) }, 'pull hand-off failed');
    } finally {
      for (const p of paths) this.handedOff.delete(p);
    }
    // A path that had news while this ran is decided now.
    const again = paths.filter((p) => this.skipped.delete(p));
    if (again.length > 0) this.deps.requestPull(again);
    if (progressed) this.followUp();
  }

  /** Tells the peers what hand-offs completed: at most every ANNOUNCE_MS while others run, at once when none is left. */
  private followUp(): void {
    if (this.handedOff.size === 0) {
      this.announcePending = false;
      this.deps.announce();
      return;
    }
    if (this.announcePending) return;
    this.announcePending = true;
    this.deps.after(ANNOUNCE_MS, () => {
      if (!this.announcePending) return;
      this.announcePending = false;
      this.deps.announce();
    });
  }
}
