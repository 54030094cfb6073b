/**
 * A folder's root and marker, guarded: a folder that has synced before must
 * still have both when it starts, and a folder whose root or marker vanishes
 * halts until they are back (safety.ts says why). This keeps the reason and
 * the recheck; the folder owns its lifecycle and is told when to halt and
 * when to start again.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { FolderControl } from '../folder-control.js';
import { integrityProblem, MARKER_DIR } from './safety.js';

/** How often a halted folder checks whether it can resume. */
export const HALT_RECHECK_MS = 5_000;

/** What the guard needs of its folder: its lifecycle and timers as its other parts see them (folder-control.ts), and more. */
export interface RootGuardDeps extends Pick<FolderControl, 'lifecycle' | 'after'> {
  readonly id: string;
  readonly root: string;
  readonly log: Logger;
  /** Whether the index knows anything of the folder: files, dirs or tombstones. */
  readonly hasHistory: () => boolean;
  /** The folder is halted now (nothing scans or pulls until it starts again). */
  readonly enterHalt: () => void;
  /** The root and marker are back: the folder starts again (its watch is subscribed anew). */
  readonly restart: () => Promise<void>;
}

/** Halting a folder whose root or marker is missing, and resuming it once both are back. */
export class RootGuard {
  #reason: string | undefined;

  constructor(private readonly deps: RootGuardDeps) {}

  /** Why the folder is halted, while it is. */
  get reason(): string | undefined {
    return this.#reason;
  }

  /** What is wrong with the root or marker now; undefined while both are intact. */
  problem(): Promise<string | undefined> {
    return integrityProblem(this.deps.root);
  }

  /**
   * Before a start: false (and the folder halted) when a folder with history
   * lacks its root or marker; a folder that never synced gets both created.
   */
  async prepare(): Promise<boolean> {
    const problem = await this.problem();
    if (problem !== undefined && this.deps.hasHistory()) {
      this.halt(problem);
      return false;
    }
    if (problem !== undefined) {
      await mkdir(path.join(this.deps.root, MARKER_DIR), { recursive: true });
      await writeFile(path.join(this.deps.root, MARKER_DIR, 'folder'), `${this.deps.id}\n`);
    }
    this.#reason = undefined;
    return true;
  }

  /** Halts the folder to protect data; it resumes by itself once its root is intact again. */
  halt(reason: string): void {
    const lifecycle = this.deps.lifecycle();
    // A scan or pull round that was checking the root when the folder stopped: halting now would
    // take the folder out of 'stopped', and its recheck would start it again once the root is back.
    if (lifecycle === 'stopped') return;
    if (lifecycle !== 'halted') this.deps.log.error({ reason }, 'folder halted to protect data');
    this.deps.enterHalt();
    this.#reason = reason;
    this.deps.after(HALT_RECHECK_MS, () => void this.resumeIfIntact());
  }

  private async resumeIfIntact(): Promise<void> {
    if (this.deps.lifecycle() !== 'halted') return;
    if ((await this.problem()) !== undefined) {
      this.deps.after(HALT_RECHECK_MS, () => void this.resumeIfIntact());
      return;
    }
    this.deps.log.info('folder intact again; resuming');
    this.#reason = undefined;
    await this.deps.restart().catch((err: unknown) => this.deps.log.error({ err }, 'resume failed'));
  }
}
