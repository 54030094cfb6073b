/**
 * The paths a pull just put on disk, by when (monotonic), with what the
 * index recorded for each. The watcher reports our own writes like anyone
 * else's; remembering what landed, and when, lets the folder tell the echo
 * of a pull from a user's edit.
 */
import { classify, type Observation } from '../../index/scanner.js';
import type { LocalEntry } from '../../index/entry.js';

/** How long after a pull lands a watcher event for its path is taken for the echo of it. */
const OWN_ECHO_MS = 2_000;

/** What the index recorded for a landed path. */
type Landed = Omit<LocalEntry, 'sequence'>;

/** Recently landed paths, oldest first. */
export class LandedPaths {
  private readonly landed = new Map<string, { at: number; entry: Landed }>();

  /** `monotonicMs`: elapsed real time, which a wall-clock step does not move. */
  constructor(private readonly monotonicMs: () => number) {}

  /** These entries were just put on disk by a pull; the index holds them, or will once their batch is committed. */
  note(entries: Iterable<Landed>): void {
    const now = this.monotonicMs();
    for (const entry of entries) {
      this.landed.delete(entry.path);
      this.landed.set(entry.path, { at: now, entry });
    }
  }

  /** The index now holds something else for these paths (a local change was recorded): what landed there no longer tells anything. */
  forget(paths: Iterable<string>): void {
    for (const p of paths) this.landed.delete(p);
  }

  /**
   * Whether a watcher event for `rel` is most likely the echo of a pull that
   * just landed there. An early hand-over (see coalescer.ts) skips those: a
   * burst of pulls would otherwise cost a scan per file that finds nothing to
   * record. Nothing is lost: the settled hand-over looks at every path again.
   */
  isOwnEcho(rel: string): boolean {
    const now = this.monotonicMs();
    for (const [p, { at }] of this.landed) {
      if (now - at <= OWN_ECHO_MS) break;
      this.landed.delete(p);
    }
    return this.landed.has(rel);
  }

  /**
   * Whether a settled hand-over may leave `rel` out: it is the echo of a
   * file a pull just landed, and `look` (the disk now) finds that file as
   * the index recorded it, by the very test a scan would make (`classify`),
   * so a scan would record nothing. In a BURST profile those scans took
   * about a tenth of the receiver's main thread. A dir is always scanned:
   * its scan walks what it holds, which the watcher may not have reported.
   */
  isUnchangedEcho(rel: string, look: (rel: string) => Observation | undefined): boolean {
    if (!this.isOwnEcho(rel)) return false;
    const landed = this.landed.get(rel)?.entry;
    if (landed?.type !== 'file') return false;
    let now: Observation | undefined;
    try {
      now = look(rel);
    } catch {
      return false; // the scan meets the same failure and deals with it
    }
    return now !== undefined && classify(now, landed) === 'same';
  }
}
