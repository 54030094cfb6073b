/**
 * A folder on a real temp dir and a real index, with a fake clock and an
 * fs.watch stand-in (test/support/watch-faults.ts): what happens to local
 * changes when watching fails. Refused dirs (the inotify limit) are polled and
 * said once in status, the log and `status --why`; a watcher error or lost
 * events end in a full rescan that records every file; files created in a new
 * dir before its watch exists are recorded; and nothing is recorded while no
 * ignore rules could ever be read.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config/schema.js';
import { WizardError } from '../../src/core/errors.js';
import { IndexStore } from '../../src/index/store.js';
import { POLL_MS } from '../../src/index/watcher.js';
import { gatherWhy } from '../../src/status/why-input.js';
import { explainPath } from '../../src/status/why.js';
import { Folder } from '../../src/sync/folder.js';
import { TransferSlots } from '../../src/sync/pull/transfer-slots.js';
import { inlineRunner } from '../../src/workers/pool.js';
import { FakeClock } from '../support/clock.js';
import { waitFor } from '../support/wait.js';
import { WatchFaults } from '../support/watch-faults.js';

let root: string;
let store: IndexStore;
let clock: FakeClock;
let faults: WatchFaults;
let folder: Folder;
let logLines: Array<{ level: number; msg: string }>;
let announced: number;
/** The master ignore list the folder sees; undefined: its file exists but was never readable. */
let master: string | undefined;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'wizard-folder-watch-'));
  mkdirSync(path.join(root, 'ok'));
  mkdirSync(path.join(root, 'deep', 'inner'), { recursive: true });
  store = IndexStore.open(':memory:');
  clock = new FakeClock(1_700_000_000_000);
  faults = new WatchFaults();
  logLines = [];
  announced = 0;
  master = '';
  const log = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(JSON.parse(line) as { level: number; msg: string }) });
  const unreachable = () => Promise.reject(new WizardError('UNREACHABLE', 'no peers in this test'));
  folder = new Folder({
    id: 'f',
    root,
    store,
    localId: 'local',
    umask: 0o022,
    clock,
    monotonicMs: () => clock.monotonic(),
    log,
    peers: { connected: () => [], readBlock: unreachable, readSums: unreachable, announce: () => void announced++ },
    masterIgnore: () => master,
    limits: () => DEFAULTS.limits,
    // The periodic rescan must not be what finds the changes here.
    rescanIntervalMs: () => 3_600_000,
    deletionBudget: () => DEFAULTS.deletionBudget,
    tombstoneDays: () => 365,
    runner: inlineRunner,
    slots: new TransferSlots(() => 4),
    watchDir: faults.watchDir,
  });
});

afterEach(async () => {
  await folder.stop();
  store.close();
  rmSync(root, { recursive: true, force: true });
});

const recorded = (rel: string) => store.getLocal('f', rel)?.deleted === false;
/** Waits for `check`, letting fake time pass in small steps (debounce and commit timers), far less than a poll interval in all. */
const settle = (what: string, check: () => boolean) =>
  waitFor(what, () => {
    clock.advance(5);
    return check();
  });
const logged = (re: RegExp) => logLines.filter((l) => re.test(l.msg));

it('W2: a subtree refused by the inotify limit is polled: its changes are recorded within POLL_MS, and status, why and the log say so once', async () => {
  faults.refused.add(path.join(root, 'deep'));
  await folder.start();
  const problem = folder.status().watchProblem;
  expect(problem).toMatch(/^cannot watch 1 subtree \(deep\): the inotify watch limit \(fs\.inotify\.max_user_watches\) is reached; rescanning it every 10 s instead; raise it with 'sudo sysctl fs\.inotify\.max_user_watches=524288' and keep it in a file in \/etc\/sysctl\.d\/$/);
  expect(logged(/inotify watch limit/)).toHaveLength(1);
  expect(logged(/inotify watch limit/)[0]?.level).toBe(40);

  writeFileSync(path.join(root, 'deep', 'inner', 'polled.txt'), 'p');
  writeFileSync(path.join(root, 'ok', 'watched.txt'), 'w');
  await settle('ok/watched.txt recorded from its watch', () => recorded('ok/watched.txt'));
  expect(recorded('deep/inner/polled.txt')).toBe(false);
  const why = explainPath(await gatherWhy({ folder, store, peers: [], nowMs: clock.now() }, 'deep/inner/polled.txt'));
  expect(why.reasons).toContain(`not watched, polled: ${problem}`);
  const watchedWhy = explainPath(await gatherWhy({ folder, store, peers: [], nowMs: clock.now() }, 'ok/watched.txt'));
  expect(watchedWhy.reasons.filter((r) => r.startsWith('not watched'))).toEqual([]);

  expect(clock.monotonic()).toBeLessThan(POLL_MS);
  clock.advance(POLL_MS - clock.monotonic());
  await settle('deep/inner/polled.txt recorded by the poll', () => recorded('deep/inner/polled.txt'));
  // Found by the first poll, not a later one (nor the hourly rescan).
  expect(clock.monotonic()).toBeLessThan(2 * POLL_MS);

  // More polls, no more messages, no full rescans on account of the refused dir.
  clock.advance(POLL_MS);
  clock.advance(POLL_MS);
  writeFileSync(path.join(root, 'deep', 'second.txt'), 's');
  clock.advance(POLL_MS);
  await settle('deep/second.txt recorded by the poll', () => recorded('deep/second.txt'));
  expect(logged(/inotify watch limit/)).toHaveLength(1);
  expect(logged(/watcher error/)).toEqual([]);

  // The limit was raised: the next poll watches it, says so once, and its changes come from its own watch again.
  faults.refused.clear();
  clock.advance(POLL_MS);
  await settle('deep watched again', () => folder.status().watchProblem === undefined && logged(/watched again; polling stopped/).length > 0);
  expect(logged(/watched again; polling stopped/)).toHaveLength(1);
  const at = clock.monotonic();
  writeFileSync(path.join(root, 'deep', 'inner', 'after.txt'), 'a');
  await settle('deep/inner/after.txt recorded from its watch', () => recorded('deep/inner/after.txt'));
  expect(clock.monotonic() - at).toBeLessThan(POLL_MS);
});

it('W1: events lost and then a watcher error: a full rescan records every file, and peers are told', async () => {
  await folder.start();
  faults.blind = true;
  const files = ['top.txt', 'ok/a.txt', 'ok/b.txt', 'deep/c.txt', 'deep/inner/d.txt', 'deep/inner/e.txt'];
  for (const f of files) writeFileSync(path.join(root, ...f.split('/')), f);
  // Lost events: nothing is recorded however long the folder stays quiet, short of the periodic rescan.
  // Wait until the watches really had (and dropped) an event for every file: only those could have set off a scan.
  await waitFor('an event for every file, dropped', () => files.every((f) => faults.dropped.includes(path.join(root, ...f.split('/')))));
  clock.advance(3000);
  clock.advance(3000);
  expect(files.filter(recorded)).toEqual([]);
  expect(folder.status().state).toBe('idle');
  const before = announced;

  const errorAt = clock.monotonic();
  faults.open.get(root)?.emit('error', Object.assign(new Error('events dropped'), { code: 'EOVERFLOW' }));
  await settle('every file recorded by the full rescan', () => files.every(recorded));
  // The rescan the error asked for, not the poll of the failed watch.
  expect(clock.monotonic() - errorAt).toBeLessThan(POLL_MS);
  expect(announced).toBeGreaterThan(before);
  expect(logged(/watcher error; rescanning the whole folder/)).toHaveLength(1);
  // The failed watch is polled and taken up again at the next poll.
  expect(folder.status().watchProblem).toMatch(/^cannot watch the folder \(EOVERFLOW: events dropped\)/);
  faults.blind = false;
  clock.advance(POLL_MS);
  await settle('the root watched again', () => folder.status().watchProblem === undefined);
  writeFileSync(path.join(root, 'later.txt'), 'l');
  await settle('later.txt recorded from the new watch', () => recorded('later.txt'));
});

it('W3: files written into a new dir tree before its watches exist are all recorded', async () => {
  await folder.start();
  const files = ['new/a.txt', 'new/b/c.txt', 'new/b/d/e.txt'];
  mkdirSync(path.join(root, 'new', 'b', 'd'), { recursive: true });
  for (const f of files) writeFileSync(path.join(root, ...f.split('/')), f);
  await settle('every file in the new tree recorded', () => files.every(recorded));
  expect(clock.monotonic()).toBeLessThan(POLL_MS);
});

it('W4: while no ignore rules could ever be read (master list or .wizardignore), nothing is recorded; once readable, ignored files stay out', async () => {
  writeFileSync(path.join(root, 'secret.key'), 'k');
  writeFileSync(path.join(root, 'ok', 'draft-1.txt'), 'd');
  writeFileSync(path.join(root, 'ok', 'plain.txt'), 'p');
  master = undefined;
  mkdirSync(path.join(root, '.wizardignore'));
  // Every commit made before the rules are readable is a failure, however late it lands: no sleep decides when to look.
  let rulesReadable = false;
  const committedBlind: string[] = [];
  const commitLocal = store.commitLocal.bind(store);
  store.commitLocal = (id, changes) => {
    if (!rulesReadable) committedBlind.push(...changes.map((c) => c.path));
    return commitLocal(id, changes);
  };
  await folder.start();
  // The first scan ran and was held: it found the rules unreadable.
  await settle('the first scan held for want of rules', () => folder.errors().some((e) => /^f: cannot read \.wizardignore: EISDIR.*; nothing is scanned until it can be read$/.test(e)));
  // Its retries come due and are held again.
  clock.advance(6000);
  clock.advance(6000);
  expect(store.allLocal('f')).toEqual([]);

  master = 'secret*\n';
  rmSync(path.join(root, '.wizardignore'), { recursive: true });
  writeFileSync(path.join(root, '.wizardignore'), 'draft-*\n');
  rulesReadable = true;
  await settle('plain.txt recorded once the rules are known', () => recorded('ok/plain.txt'));
  expect(committedBlind).toEqual([]);
  expect(recorded('secret.key')).toBe(false);
  expect(recorded('ok/draft-1.txt')).toBe(false);
  expect(folder.errors()).toEqual([]);
});
