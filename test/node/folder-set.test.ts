/**
 * FolderSet keeps the running folders in step with the config. A folder
 * paused and unpaused again before its old service has stopped must not run
 * twice on one root: the new one starts only once the old one's stop ended
 * (the old one may still be landing files, and the new one's start recovers
 * patches and scans). The stop is slowed by an injected gate.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, expect, it } from 'vitest';
import { type Config, DEFAULTS } from '../../src/config/schema.js';
import { systemClock } from '../../src/core/clock.js';
import { SteadyTime } from '../../src/core/steady-time.js';
import { IndexStore } from '../../src/index/store.js';
import { FolderSet } from '../../src/node/folder-set.js';
import { type Service, Supervisor } from '../../src/supervisor/supervisor.js';
import { TransferSlots } from '../../src/sync/pull/transfer-slots.js';
import { inlineRunner } from '../../src/workers/pool.js';
import { waitFor } from '../support/wait.js';

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

it('a folder paused and unpaused at once starts again only after its old service has stopped', async () => {
  const base = mkdtempSync(path.join(os.tmpdir(), 'wizard-folder-set-'));
  const folder = { id: 'docs', path: path.join(base, 'docs'), shareWith: [], mode: 'send-receive' as const };
  let config: Config = { ...DEFAULTS, name: 'n', listen: '127.0.0.1:0', folders: [folder], peers: [], revoked: [], declinedFolders: [] };
  const log = pino({ level: 'silent' });
  const real = new Supervisor({ clock: systemClock, log, random: () => 0.5, onFatal: () => undefined });
  // Each start of a folder's service (asked, and done) and each stop, in order; a stop waits for `release` first.
  const events: string[] = [];
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const supervisor = {
    add: (svc: Service) =>
      real.add({
        ...svc,
        start: async (crash: (err: unknown) => void) => {
          events.push('start');
          await svc.start(crash);
          events.push('started');
        },
        stop: async () => {
          events.push('stop');
          await gate;
          await svc.stop();
          events.push('stopped');
        },
      }),
    remove: (name: string) => real.remove(name),
  } as unknown as Supervisor;
  const store = IndexStore.open(':memory:');
  const set = new FolderSet({
    home: path.join(base, 'home'),
    nodeId: 'a'.repeat(64),
    config: () => config,
    store,
    supervisor,
    clock: systemClock,
    monotonicMs: () => performance.now(),
    steady: new SteadyTime(systemClock, () => performance.now()),
    umask: 0o022,
    log,
    runner: inlineRunner,
    slots: new TransferSlots(() => 4),
    peers: () => ({ connected: () => [], readBlock: () => Promise.reject(new Error('no peer')), readSums: () => Promise.reject(new Error('no peer')), announce: () => undefined }),
    noteError: () => undefined,
  });
  cleanup = async () => {
    release();
    await set.stopAll();
    store.close();
    rmSync(base, { recursive: true, force: true });
  };
  set.loadIgnore();
  set.sync();
  await waitFor('the folder to run', () => set.get('docs')?.state === 'idle');

  config = { ...config, folders: [{ ...folder, paused: true }] };
  set.sync();
  expect(set.statuses().map((s) => s.state)).toEqual(['paused']);
  config = { ...config, folders: [folder] };
  set.sync();
  // The new service is asked to start at once; it must start the folder only once the gated stop has
  // ended. Before the stop is let go, wait (up to 2 s) for what would prove that wrong: the new folder
  // running. An early start takes milliseconds, and shows in the order below.
  await waitFor('the new service to be asked to start', () => events.length === 4);
  const newFolder = set.get('docs');
  await waitFor('the new folder to run early, or 2 s', () => newFolder?.state === 'idle', 2000).catch(() => undefined);
  release();
  await set.settled();
  await waitFor('the folder to run again', () => events.length === 6 && set.get('docs')?.state === 'idle');
  expect(events).toEqual(['start', 'started', 'stop', 'start', 'stopped', 'started']);
});
