/**
 * Keeps the daemon's long-running parts alive: each named service is started,
 * and when it crashes (its start rejects, or it reports a failure later) it is
 * stopped and started again after an exponential backoff. Only a fatal error
 * (one a restart cannot fix, such as an unwritable home) stops the daemon.
 * Time comes from the injected clock, so the schedule is testable by hand.
 */
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import { backoffDelay } from '../transport/backoff.js';
import { fatalReason } from './fatal.js';

/** A long-running part of the daemon. */
export interface Service {
  /** Unique among the supervisor's services; shown in status and logs. */
  readonly name: string;
  /**
   * Starts the service. A rejection is a crash. `crash` is how a running
   * service reports a failure later (an error event, a loop that died); after
   * it, the supervisor calls `stop` and, after the backoff, `start` again.
   */
  start(crash: (err: unknown) => void): Promise<void> | void;
  /** Releases everything `start` took. Called after a crash too, so it must cope with a half-started service. */
  stop(): Promise<void> | void;
}

/** What a service is doing, for status. */
export type ServiceState = 'starting' | 'running' | 'backoff' | 'stopped';

/** One service in status. */
export interface ServiceStatus {
  readonly name: string;
  readonly state: ServiceState;
  /** Restarts since the daemon started. */
  readonly restarts: number;
  readonly lastError?: string;
  readonly lastErrorAtMs?: number;
  /** While in backoff: when the next start is due. */
  readonly restartAtMs?: number;
}

/** What a supervisor needs. */
export interface SupervisorDeps {
  readonly clock: Clock;
  readonly log: Logger;
  /** Uniform [0, 1) for the backoff jitter. */
  readonly random: () => number;
  /** Called once, with the one-line reason, when an error a restart cannot fix occurs; the daemon should stop. */
  readonly onFatal: (message: string, err: unknown) => void;
}

/** Tunables; the defaults suit a daemon, tests shrink them. */
export interface SupervisorOptions {
  /** First restart delay. */
  readonly baseDelayMs?: number;
  /** Longest restart delay. */
  readonly maxDelayMs?: number;
  /** A service that ran this long before crashing was healthy: its next restart starts from the shortest delay again. */
  readonly stableMs?: number;
}

const DEFAULT_BASE_MS = 1_000;
const DEFAULT_MAX_MS = 60_000;
/** Long enough that a crash loop (start, fail at once) keeps growing its delay. */
const DEFAULT_STABLE_MS = 60_000;

/** The pseudo-service that unowned process errors (unhandled rejections, uncaught exceptions) are charged to. */
export const PROCESS_SERVICE = 'process';

interface Entry {
  readonly service: Service;
  state: ServiceState;
  restarts: number;
  /** Crashes since the service was last stable; sets the next delay. */
  streak: number;
  startedAtMs: number;
  lastError?: string;
  lastErrorAtMs?: number;
  restartAtMs?: number;
  cancelRestart?: () => void;
  /** Bumped on every start, so a crash report from an earlier run is ignored. */
  generation: number;
  /** The service's `stop` while it runs, so a halt meanwhile waits for it instead of racing on. */
  stopping?: Promise<void>;
}

/** Runs and restarts services. */
export class Supervisor {
  private readonly entries = new Map<string, Entry>();
  private readonly processErrors: { count: number; last?: string; atMs?: number } = { count: 0 };
  private fatal = false;
  private stopping = false;

  constructor(
    private readonly deps: SupervisorDeps,
    private readonly opts: SupervisorOptions = {},
  ) {}

  /** Adds a service and starts it. A name already in use is replaced (the old one is stopped first). */
  async add(service: Service): Promise<void> {
    if (this.entries.has(service.name)) await this.remove(service.name);
    const entry: Entry = { service, state: 'starting', restarts: 0, streak: 0, startedAtMs: 0, generation: 0 };
    this.entries.set(service.name, entry);
    await this.run(entry);
  }

  /** Stops a service and forgets it. */
  async remove(name: string): Promise<void> {
    const entry = this.entries.get(name);
    if (entry === undefined) return;
    this.entries.delete(name);
    await this.halt(entry);
  }

  /** Whether a service of that name is supervised. */
  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** Stops every service, newest first (later services may depend on earlier ones). */
  async stopAll(): Promise<void> {
    this.stopping = true;
    for (const entry of [...this.entries.values()].reverse()) await this.halt(entry);
  }

  /**
   * An error no service owns (an unhandled rejection, an uncaught exception):
   * logged, counted in status, and fatal only when it says so.
   */
  processError(err: unknown): void {
    this.processErrors.count++;
    this.processErrors.last = describeError(err);
    this.processErrors.atMs = this.deps.clock.now();
    this.deps.log.error({ err }, 'unowned error in the daemon; the services keep running');
    this.checkFatal(err);
  }

  /** Every service's state, plus the process row when unowned errors occurred. */
  status(): ServiceStatus[] {
    const rows: ServiceStatus[] = [...this.entries.values()].map((e) => ({
      name: e.service.name,
      state: e.state,
      restarts: e.restarts,
      ...(e.lastError === undefined ? {} : { lastError: e.lastError, lastErrorAtMs: e.lastErrorAtMs }),
      ...(e.state === 'backoff' && e.restartAtMs !== undefined ? { restartAtMs: e.restartAtMs } : {}),
    }));
    const p = this.processErrors;
    if (p.count > 0) rows.push({ name: PROCESS_SERVICE, state: 'running', restarts: 0, ...(p.last === undefined ? {} : { lastError: `${p.count} unowned errors; last: ${p.last}`, lastErrorAtMs: p.atMs }) });
    return rows;
  }

  private async run(entry: Entry): Promise<void> {
    const generation = ++entry.generation;
    entry.state = 'starting';
    entry.startedAtMs = this.deps.clock.now();
    const crash = (err: unknown) => {
      if (entry.generation === generation && this.entries.get(entry.service.name) === entry) void this.crashed(entry, err);
    };
    try {
      await entry.service.start(crash);
      if (entry.generation === generation && entry.state === 'starting') entry.state = 'running';
      // Halted while it was starting: its stop ran before the start finished, so undo what the start set up since.
      else if ((entry.state as ServiceState) === 'stopped') await this.stopQuietly(entry);
    } catch (err) {
      crash(err);
    }
  }

  private async crashed(entry: Entry, err: unknown): Promise<void> {
    if (entry.state === 'backoff' || entry.state === 'stopped') return;
    const now = this.deps.clock.now();
    entry.lastError = describeError(err);
    entry.lastErrorAtMs = now;
    if (now - entry.startedAtMs >= (this.opts.stableMs ?? DEFAULT_STABLE_MS)) entry.streak = 0;
    const delay = backoffDelay(entry.streak++, this.deps.random, this.opts.baseDelayMs ?? DEFAULT_BASE_MS, this.opts.maxDelayMs ?? DEFAULT_MAX_MS);
    entry.state = 'backoff';
    entry.restartAtMs = now + delay;
    entry.generation++;
    this.deps.log.error({ service: entry.service.name, err, restartInMs: delay }, `${entry.service.name} crashed: ${entry.lastError}; restarting`);
    if (this.checkFatal(err)) {
      // No restart is coming: release what the service holds before the daemon closes the rest.
      entry.state = 'stopped';
      await this.stopQuietly(entry);
      return;
    }
    await this.stopQuietly(entry);
    if (this.stopping || this.entries.get(entry.service.name) !== entry || entry.state !== 'backoff') return;
    entry.cancelRestart = this.deps.clock.setTimer(delay, () => {
      entry.cancelRestart = undefined;
      if (this.stopping || this.entries.get(entry.service.name) !== entry) return;
      entry.restarts++;
      void this.run(entry);
    });
  }

  /** True (and the daemon told to stop, once) when `err` is one a restart cannot fix. */
  private checkFatal(err: unknown): boolean {
    const reason = fatalReason(err);
    if (reason === undefined) return false;
    if (!this.fatal) {
      this.fatal = true;
      this.deps.log.fatal({ err }, reason);
      this.deps.onFatal(reason, err);
    }
    return true;
  }

  private async halt(entry: Entry): Promise<void> {
    entry.cancelRestart?.();
    entry.cancelRestart = undefined;
    entry.generation++;
    const wasUp = entry.state !== 'backoff' && entry.state !== 'stopped';
    entry.state = 'stopped';
    if (wasUp) await this.stopQuietly(entry);
    // A crash's stop may still be running: the caller (a config change, the daemon's exit) must not go on before it ends.
    else await entry.stopping;
  }

  private stopQuietly(entry: Entry): Promise<void> {
    const run: { stopping?: Promise<void> } = {};
    run.stopping = (async () => {
      try {
        await entry.service.stop();
      } catch (err) {
        this.deps.log.warn({ service: entry.service.name, err: describeError(err) }, 'service did not stop cleanly');
      } finally {
        // Reached only after the await above, so `run.stopping` is set by then.
        if (entry.stopping === run.stopping) delete entry.stopping;
      }
    })();
    entry.stopping = run.stopping;
    return run.stopping;
  }
}
