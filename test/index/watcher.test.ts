/**
 * The folder watcher on a real temp dir, with a fake clock and an fs.watch
 * stand-in that refuses chosen dirs with ENOSPC (the inotify watch limit):
 * what cannot be watched is polled every POLL_MS and said once, and watching
 * it is tried again until it works.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { tempNameFor } from '../../src/core/paths.js';
import { FolderWatcher, POLL_MS } from '../../src/index/watcher.js';
import { FakeClock } from '../support/clock.js';
import { waitFor } from '../support/wait.js';
import { WatchFaults } from '../support/watch-faults.js';

let root: string;
let clock: FakeClock;
let faults: WatchFaults;
let watcher: FolderWatcher;
/** Every batch handed over, flattened. */
let changed: string[];
let problems: Array<string | undefined>;
let errors: Error[];

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'wizard-watcher-'));
  mkdirSync(path.join(root, '.wizard'));
  mkdirSync(path.join(root, 'ok'));
  mkdirSync(path.join(root, 'big', 'inner'), { recursive: true });
  clock = new FakeClock(1_700_000_000_000);
  faults = new WatchFaults();
  changed = [];
  problems = [];
  errors = [];
  watcher = new FolderWatcher({
    root,
    clock,
    monotonicMs: () => clock.monotonic(),
    debounceMs: () => 50,
    onChanges: (paths) => changed.push(...paths),
    onError: (err) => errors.push(err),
    onWatchProblem: (p) => problems.push(p),
    watchDir: faults.watchDir,
  });
});

afterEach(async () => {
  await watcher.stop();
  rmSync(root, { recursive: true, force: true });
});

const count = (rel: string) => changed.filter((p) => p === rel).length;
/** Waits for `check`, letting fake time pass in small steps (debounce timers), far less than a poll interval in all. */
const settle = (what: string, check: () => boolean) =>
  waitFor(what, () => {
    clock.advance(5);
    return check();
  });

it('W2: a subtree refused by the inotify limit is polled every POLL_MS, said once, and watched again once the limit allows', async () => {
  faults.refused.add(path.join(root, 'big'));
  await watcher.start();
  expect(problems).toHaveLength(1);
  expect(problems[0]).toMatch(/^cannot watch 1 subtree \(big\): the inotify watch limit \(fs\.inotify\.max_user_watches\) is reached; rescanning it every 10 s instead; raise it with 'sudo sysctl fs\.inotify\.max_user_watches=524288' and keep it in a file in \/etc\/sysctl\.d\/$/);
  expect(watcher.problem()).toBe(problems[0]);
  expect(watcher.isPolled('big/inner/new.txt')).toBe(true);
  expect(watcher.isPolled('ok/x.txt')).toBe(false);

  // Watched dirs still report at once; the refused one only at the poll.
  writeFileSync(path.join(root, 'big', 'inner', 'new.txt'), 'x');
  writeFileSync(path.join(root, 'ok', 'seen.txt'), 'x');
  await settle('ok/seen.txt', () => changed.includes('ok/seen.txt'));
  expect(changed.filter((p) => p.startsWith('big'))).toEqual([]);
  const elapsed = clock.monotonic();
  expect(elapsed).toBeLessThan(POLL_MS);
  clock.advance(POLL_MS - elapsed);
  await waitFor('the poll to hand over big', () => count('big') === 1);

  // Still refused: polled again, and still one message.
  clock.advance(POLL_MS);
  await waitFor('the second poll', () => count('big') === 2);
  expect(problems).toHaveLength(1);
  expect(errors).toEqual([]);

  // The limit was raised: the next poll watches it, hands it over a last time, and polling stops.
  faults.refused.clear();
  clock.advance(POLL_MS);
  await waitFor('big watched again', () => problems.length === 2);
  expect(problems[1]).toBeUndefined();
  expect(count('big')).toBe(3);
  expect(watcher.problem()).toBeUndefined();
  expect(watcher.isPolled('big/inner/new.txt')).toBe(false);
  writeFileSync(path.join(root, 'big', 'inner', 'later.txt'), 'x');
  await settle('big/inner/later.txt from its own watch', () => changed.includes('big/inner/later.txt'));
  // Polling has stopped: once the debounce has fired, no timer is left that could start another poll, so no
  // later hand-over of big can come (a poll still scheduled would keep this waiting until it fails).
  await settle('no timer left', () => clock.pendingTimers() === 0);
  clock.advance(POLL_MS * 2);
  expect(count('big')).toBe(3);
});

it('W2: a refused subtree that is deleted is handed over once more (its deletion) and then no longer polled', async () => {
  faults.refused.add(path.join(root, 'big'));
  await watcher.start();
  rmSync(path.join(root, 'big'), { recursive: true });
  clock.advance(POLL_MS);
  await waitFor('big handed over and polling ended', () => count('big') >= 1 && problems.length === 2);
  expect(problems[1]).toBeUndefined();
  // The root's own watch reports the deletion too; let that through (its event, then its debounce) before counting polls.
  await waitFor('the root watch to report big', () => faults.delivered.includes(path.join(root, 'big')));
  // Polling has ended: once the debounce has fired, no timer is left that could start a poll (one still scheduled would keep this waiting until it fails).
  await settle('no timer left', () => clock.pendingTimers() === 0);
  const handed = count('big');
  clock.advance(POLL_MS);
  expect(count('big')).toBe(handed);
});

it('W2: a new dir refused while running is polled too, with one message for any number of refused dirs', async () => {
  await watcher.start();
  expect(problems).toEqual([]);
  faults.refused.add(path.join(root, 'new1'));
  faults.refused.add(path.join(root, 'new2'));
  mkdirSync(path.join(root, 'new1'));
  mkdirSync(path.join(root, 'new2'));
  await settle('both new dirs refused', () => watcher.problem()?.startsWith('cannot watch 2 subtrees (first new1)') === true);
  expect(problems).toHaveLength(1);
  writeFileSync(path.join(root, 'new2', 'inside.txt'), 'x');
  const before = count('new2');
  clock.advance(POLL_MS);
  await waitFor('the poll to hand over new2', () => count('new2') > before);
  expect(problems).toHaveLength(1);
});

it('W2: when the folder itself cannot be watched, status says so and the whole folder is polled', async () => {
  faults.refused.add(root);
  await watcher.start();
  expect(problems).toHaveLength(1);
  expect(problems[0]).toMatch(/^cannot watch the folder: the inotify watch limit .* is reached; rescanning it every 10 s instead; raise it with 'sudo sysctl fs\.inotify\.max_user_watches=524288'/);
  expect(watcher.isPolled('anything')).toBe(true);
  clock.advance(POLL_MS);
  await waitFor('the whole folder handed over', () => count('') === 1);
  faults.refused.clear();
  clock.advance(POLL_MS);
  await waitFor('the folder watched again', () => problems.length === 2 && count('') === 2);
  writeFileSync(path.join(root, 'ok', 'seen.txt'), 'x');
  await settle('ok/seen.txt', () => changed.includes('ok/seen.txt'));
});

it('W1: a burst of watcher errors asks for one full rescan now and one after the burst, and the failed watch is polled until it is back', async () => {
  await watcher.start();
  const w = faults.open.get(path.join(root, 'ok'));
  expect(w).toBeDefined();
  w?.emit('error', Object.assign(new Error('watch failed'), { code: 'EIO' }));
  faults.open.get(path.join(root, 'big'))?.emit('error', Object.assign(new Error('watch failed'), { code: 'EIO' }));
  faults.open.get(path.join(root, 'big', 'inner'))?.emit('error', Object.assign(new Error('watch failed'), { code: 'EIO' }));
  expect(errors).toHaveLength(1);
  clock.advance(1000);
  expect(errors).toHaveLength(2);
  clock.advance(5000);
  expect(errors).toHaveLength(2);
  expect(watcher.problem()).toMatch(/^cannot watch 3 subtrees \(first big\) \(EIO: watch failed\); rescanning them every 10 s instead$/);
  clock.advance(POLL_MS);
  await waitFor('the failed watches back', () => watcher.problem() === undefined);
  writeFileSync(path.join(root, 'ok', 'again.txt'), 'x');
  await settle('ok/again.txt', () => changed.includes('ok/again.txt'));
});

it("hands over a download's result but never its temp file, whose events every pull makes", async () => {
  await watcher.start();
  const temp = path.join(root, 'ok', tempNameFor('a.txt', 'abcd'));
  writeFileSync(temp, 'x');
  renameSync(temp, path.join(root, 'ok', 'a.txt'));
  await settle('the rename handed over', () => count('ok/a.txt') > 0);
  expect(changed.filter((p) => p.includes('.~wizard-'))).toEqual([]);
});

it('LAT: a file moved into place (an atomic save) is handed over at once, with no quiet window; a file written by name waits for it', async () => {
  await watcher.start();
  // Written by name first, in the same turn of the event loop (in another dir: a name appearing
  // beside one vanishing in its own dir and turn is taken for a rename's second half, see moves.ts).
  writeFileSync(path.join(root, 'big', 'created.txt'), 'being written');
  const tmp = path.join(root, 'ok', '.doc.txt.swp');
  writeFileSync(tmp, 'the whole document');
  renameSync(tmp, path.join(root, 'ok', 'doc.txt'));
  // The fake clock stands still: only a hand-over without the 50 ms window can arrive.
  await waitFor('the saved file, handed over with no time passed', () => changed.includes('ok/doc.txt'));
  expect(changed).not.toContain('big/created.txt');
  await settle('the created file, after its quiet window', () => changed.includes('big/created.txt'));
});
