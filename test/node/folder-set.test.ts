/**
 * FolderSet keeps the running folders in step with the config. A folder
 * stopped (paused, removed) and started again before its old service has
 * stopped must not run twice on one root: the new one starts only once the
 * old one's stop ended (the old one may still be landing files, and the new
 * one's start recovers patches and scans). The stops are held by an injected
 * gate.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, expect, it } from 'vitest';
import type { FolderConfig } from '../../src/config/folder-entry.js';
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

/**
 * A FolderSet over a real Supervisor and index, whose folders' services log
 * each start (asked, and done: `start <id>#<n>`, `started <id>#<n>`) and
 * stop (`stop <id>#<n>`, `stopped <id>#<n>`), `n` counting the services
 * added for that ID; every stop waits for `release` first.
 */
function gatedSet() {
  const base = mkdtempSync(path.join(os.tmpdir(), 'wizard-folder-set-'));
  const docs: FolderConfig = { id: 'docs', path: path.join(base, 'docs'), shareWith: [], mode: 'send-receive' };
  let config: Config = { ...DEFAULTS, name: 'n', listen: '127.0.0.1:0', folders: [docs], peers: [], revoked: [], declinedFolders: [] };
  const log = pino({ level: 'silent' });
  const real = new Supervisor({ clock: systemClock, log, random: () => 0.5, onFatal: () => undefined });
  const events: string[] = [];
  const added = new Map<string, number>();
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const supervisor = {
    add: (svc: Service) => {
      const n = (added.get(svc.name) ?? 0) + 1;
      added.set(svc.name, n);
      const id = `${svc.name.replace(/^folder:/, '')}#${n}`;
      return real.add({
        ...svc,
        start: async (crash: (err: unknown) => void) => {
          events.push(`start ${id}`);
          await svc.start(crash);
          events.push(`started ${id}`);
        },
        stop: async () => {
          events.push(`stop ${id}`);
          await gate;
          await svc.stop();
          events.push(`stopped ${id}`);
        },
      });
    },
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
  /** Applies a config with these folders, as the node does on a reload. */
  const apply = (folders: FolderConfig[]) => {
    config = { ...config, folders };
    set.sync();
  };
  const running = (id: string) => set.get(id)?.state === 'idle';
  /** Whether `a` was logged, and before `b` (or `b` not at all). */
  const before = (a: string, b: string) => events.includes(a) && (!events.includes(b) || events.indexOf(a) < events.indexOf(b));
  /** Starts the set with its one folder, 'docs', and waits until it runs. */
  const startDocs = async () => {
    set.loadIgnore();
    set.sync();
    await waitFor('the folder to run', () => events.includes('started docs#1') && running('docs'));
  };
  return { set, docs, events, release: () => release(), apply, running, before, startDocs };
}

it('a folder paused and unpaused at once starts again only after its old service has stopped', async () => {
  const { set, docs, events, release, apply, running, before, startDocs } = gatedSet();
  await startDocs();

  apply([{ ...docs, paused: true }]);
  expect(set.statuses().map((s) => s.state)).toEqual(['paused']);
  apply([docs]);
  // The new service is asked to start at once; it must start the folder only once the gated stop has
  // ended. Before the stop is let go, wait (up to 2 s) for what would prove that wrong: the new
  // service's start done. An early start takes milliseconds.
  await waitFor('the new service to be asked to start', () => events.includes('start docs#2'));
  await waitFor('the new service to start early, or 2 s', () => events.includes('started docs#2'), 2000).catch(() => undefined);
  release();
  expect(await set.settled()).toBe(true);
  await waitFor('the folder to run again', () => events.includes('started docs#2') && running('docs'));
  expect(before('stopped docs#1', 'started docs#2'), events.join(', ')).toBe(true);
});

it('paused again while its new service waits for the old stop, then unpaused, the folder runs (it is not left stopped)', async () => {
  const { set, docs, events, release, apply, running, startDocs } = gatedSet();
  await startDocs();
  apply([{ ...docs, paused: true }]);
  apply([docs]);
  await waitFor('the second service to be asked to start', () => events.includes('start docs#2'));
  apply([{ ...docs, paused: true }]);
  release();
  expect(await set.settled()).toBe(true);
  expect(set.statuses().map((s) => s.state)).toEqual(['paused']);
  apply([docs]);
  await waitFor('the folder to run', () => running('docs'));
  expect(set.statuses().map((s) => s.state)).toEqual(['idle']);
});

it('a folder added on the root of one still stopping starts only after that stop, whatever its ID', async () => {
  const { docs, events, release, apply, running, before, startDocs } = gatedSet();
  await startDocs();
  apply([{ ...docs, id: 'papers' }]);
  await waitFor('papers\' service to be asked to start', () => events.includes('start papers#1'));
  await waitFor('papers to start early, or 2 s', () => events.includes('started papers#1'), 2000).catch(() => undefined);
  release();
  await waitFor('papers to run', () => events.includes('started papers#1') && running('papers'));
  expect(before('stopped docs#1', 'started papers#1'), events.join(', ')).toBe(true);
});

it('settled says false when a stop outlasts the time given, and true once it ends', async () => {
  const { set, release, apply, docs, startDocs } = gatedSet();
  await startDocs();
  apply([{ ...docs, paused: true }]);
  expect(await set.settled(50)).toBe(false);
  release();
  expect(await set.settled(10_000)).toBe(true);
});

it('leaves a paused folder out of what the trash purger keeps to its limits, and takes it back once unpaused', () => {
  const { set, docs, apply } = gatedSet();
  set.loadIgnore();
  apply([{ ...docs, paused: true }]);
  expect(set.trashRoots()).toEqual([]);
  apply([docs]);
  expect(set.trashRoots()).toEqual([{ id: 'docs', root: docs.path }]);
});
