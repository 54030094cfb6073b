/**
 * What a Folder needs when no peer shares it and nothing limits it: the
 * deps of an in-process scan test, on the system clock, with the defaults a
 * fresh config has. `overrides` replaces any of them.
 */
import pino from 'pino';
import { DEFAULTS } from '../../src/config/schema.js';
import { systemClock } from '../../src/core/clock.js';
import type { IndexStore } from '../../src/index/store.js';
import type { FolderDeps } from '../../src/sync/folder-deps.js';
import { TransferSlots } from '../../src/sync/pull/transfer-slots.js';
import { inlineRunner } from '../../src/workers/pool.js';

/** Deps for folder `id` at `root` with its index in `store`, no peers, a silent log and every file hashed inline. */
export function loneFolderDeps(id: string, root: string, store: IndexStore, overrides: Partial<FolderDeps> = {}): FolderDeps {
  return {
    id,
    root,
    store,
    localId: 'aaaaaaaaaaaaaaaa',
    umask: 0o022,
    clock: systemClock,
    monotonicMs: () => performance.now(),
    log: pino({ level: 'silent' }),
    peers: { connected: () => [], readBlock: () => Promise.reject(new Error('no peer')), readSums: () => Promise.reject(new Error('no peer')), announce: () => undefined },
    masterIgnore: () => '',
    limits: () => DEFAULTS.limits,
    rescanIntervalMs: () => 600_000,
    deletionBudget: () => ({ percent: 50, perMinute: 100_000 }),
    tombstoneDays: () => 365,
    runner: inlineRunner,
    slots: new TransferSlots(() => 4),
    ...overrides,
  };
}
