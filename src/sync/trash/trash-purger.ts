/**
 * The automatic trash purge: every folder's entries older than
 * `trash.retentionDays` go, and past `trash.maxBytes` on disk the oldest of
 * the rest, checked at start and then hourly. It runs on the
 * local clock, but a jump of that clock cannot empty the trash: while the
 * daemon runs, the purge's notion of "now" advances no faster than the
 * monotonic clock, so setting the date a year ahead purges nothing extra;
 * setting it back only delays purges, and an entry stamped in the future is kept.
 * The folders stamp their trash entries with the same SteadyTime (`notBefore`),
 * so an entry trashed while the date was set back is not purged early once it
 * is set right.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import { describeError } from '../../core/errors.js';
import { SteadyTime } from '../../core/steady-time.js';
import { listTrash, olderThan, overCap, purgeEntries } from './trash-catalog.js';

/** What the purger needs. */
export interface TrashPurgerDeps {
  readonly clock: Clock;
  /** Milliseconds from a clock that never jumps (performance.now in the daemon). */
  readonly monotonicMs: () => number;
  /** The node's steady readings of `clock`, shared with the folders' trash stamps; made from `clock` and `monotonicMs` when absent. */
  readonly steady?: SteadyTime;
  /** The folders to purge, as configured now. */
  readonly folders: () => ReadonlyArray<{ id: string; root: string }>;
  readonly retentionDays: () => number;
  /** Most bytes a folder's trash may take on disk (`trash.maxBytes`, 0: no cap); none when absent. */
  readonly maxBytes?: () => number;
  readonly log: Logger;
}

/** How often the purge looks; retention is counted in days, so an hour late is harmless. */
const DEFAULT_INTERVAL_MS = 3_600_000;
/** First look shortly after start, once the folders have had their first scan. */
const DEFAULT_FIRST_MS = 60_000;

/** Purges old trash entries in the background. */
export class TrashPurger {
  private readonly steady: SteadyTime;
  private cancel: (() => void) | undefined;
  private stopped = false;
  private onCrash: ((err: unknown) => void) | undefined;

  constructor(
    private readonly deps: TrashPurgerDeps,
    private readonly opts: { intervalMs?: number; firstMs?: number } = {},
  ) {
    this.steady = deps.steady ?? new SteadyTime(deps.clock, deps.monotonicMs);
  }

  /** The time purges are judged by: the wall clock, but never ahead of the time actually elapsed since start. */
  trustedNow(): number {
    return this.steady.notAfter();
  }

  /** Schedules the first purge and the hourly ones after it; an unexpected failure goes to `onCrash` (the supervisor) when given. */
  start(onCrash?: (err: unknown) => void): void {
    this.stopped = false;
    this.onCrash = onCrash;
    this.schedule(this.opts.firstMs ?? DEFAULT_FIRST_MS);
  }

  /** Stops scheduling; a purge in progress finishes its current entry list. */
  stop(): void {
    this.stopped = true;
    this.cancel?.();
  }

  /** Purges every folder once; returns the number of entries removed. A folder that fails is logged and skipped. */
  async runOnce(): Promise<number> {
    const now = this.trustedNow();
    const days = this.deps.retentionDays();
    let removed = 0;
    for (const folder of this.deps.folders()) {
      try {
        const all = await listTrash(folder.root);
        const old = olderThan(all, now, days);
        const cap = this.deps.maxBytes?.() ?? 0;
        // Past the cap, the oldest of what the age leaves go too.
        const victims = [...old, ...overCap(all.filter((e) => !old.includes(e)), cap)];
        if (victims.length === 0) continue;
        const bytes = await purgeEntries(folder.root, victims);
        removed += victims.length;
        this.deps.log.info({ folder: folder.id, entries: victims.length, bytes, retentionDays: days, maxBytes: cap }, 'purged old trash');
      } catch (err) {
        this.deps.log.warn({ folder: folder.id, err: describeError(err) }, 'trash purge failed; will try again in an hour');
      }
    }
    return removed;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.cancel = this.deps.clock.setTimer(ms, () => {
      void this.runOnce()
        .catch((err: unknown) => {
          if (this.onCrash !== undefined) this.onCrash(err);
          else this.deps.log.error({ err: describeError(err) }, 'trash purge crashed');
        })
        .finally(() => this.schedule(this.opts.intervalMs ?? DEFAULT_INTERVAL_MS));
    });
  }
}
