/**
 * The paths a pull just put on disk, by when (monotonic). The watcher
 * reports our own writes like anyone else's; remembering what landed, and
 * when, lets the folder tell the echo of a pull from a user's edit.
 */

/** How long after a pull lands a watcher event for its path is taken for the echo of it. */
const OWN_ECHO_MS = 2_000;

/** Recently landed paths, oldest first. */
export class LandedPaths {
  private readonly landedAt = new Map<string, number>();

  /** `monotonicMs`: elapsed real time, which a wall-clock step does not move. */
  constructor(private readonly monotonicMs: () => number) {}

  /** These paths landed just now. */
  note(paths: Iterable<string>): void {
    const now = this.monotonicMs();
    for (const p of paths) {
      this.landedAt.delete(p);
      this.landedAt.set(p, now);
    }
  }

  /**
   * Whether a watcher event for `rel` is most likely the echo of a pull that
   * just landed there. An early hand-over (see coalescer.ts) skips those: a
   * burst of pulls would otherwise cost a scan per file that finds nothing to
   * record. Nothing is lost: the settled hand-over scans every path again.
   */
  isOwnEcho(rel: string): boolean {
    const now = this.monotonicMs();
    for (const [p, at] of this.landedAt) {
      if (now - at <= OWN_ECHO_MS) break;
      this.landedAt.delete(p);
    }
    return this.landedAt.has(rel);
  }
}
