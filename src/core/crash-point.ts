/**
 * Crash points: named places where a test can have the daemon killed with
 * SIGKILL, exactly there, to check that a kill -9 at that moment loses and
 * corrupts nothing (THREATS.md §7.2 K1). Hitting such a moment by timing a
 * kill from outside is flaky; naming it is not.
 *
 * `WIZARD_CRASH_AT=NAME` kills the process the first time it passes the point
 * NAME, `WIZARD_CRASH_AT=NAME:N` the N-th time. The variable is read once, at
 * start; without it `crashPoint` is an empty function, so the points cost
 * nothing in production. Where each point sits is said at its call.
 */

/** Every crash point, in the order a pulled file passes them. */
export const CRASH_POINTS = [
  /** A downloaded block is written to the temp file: more are to come (fetch.ts), or any write of a delta (delta-fetch.ts). */
  'mid-block-write',
  /** The temp file is complete and fsynced; it is not renamed yet (puller.ts). */
  'after-temp-fsync',
  /** The temp file was renamed over the target; the dir is not fsynced and the index not committed (puller.ts). */
  'after-rename',
  /** A batch of pulled paths is in place and their dirs fsynced; their index entries are not committed (group-commit.ts). */
  'before-index-commit',
  /** An old version is in the trash (moved or linked); its cause is not yet recorded, nor the index committed (trash.ts). */
  'mid-trash-move',
  /** A patch in place: its undo journal is written and fsynced; the file is untouched (sync/patch/apply.ts). */
  'after-journal-fsync',
  /** A patch in place: a changed range is written into the file, maybe not all of them (sync/patch/apply.ts). */
  'mid-patch-write',
  /** A patch in place: the file is the new version, fsynced; the index still has the old one (sync/patch/apply.ts). */
  'after-patch-fsync',
  /** A patch in place is committed to the index; its journal is not yet the trash entry (sync/patch/apply.ts). */
  'before-journal-retire',
  /** Inside the index transaction that records local entries, after a row is written, each row one pass (store.ts). */
  'mid-index-write',
] as const;

/** A crash point's name. */
export type CrashPointName = (typeof CRASH_POINTS)[number];

/** The environment variable naming the point to crash at. */
export const CRASH_AT_ENV = 'WIZARD_CRASH_AT';

/** The point and pass count `spec` asks for; undefined when it names none. Throws on a malformed spec, so a typo in a test is not a silent no-op. */
export function parseCrashAt(spec: string | undefined): { name: CrashPointName; count: number } | undefined {
  if (spec === undefined || spec === '') return undefined;
  const [name, countText, ...rest] = spec.split(':');
  const count = countText === undefined ? 1 : Number(countText);
  if (rest.length > 0 || !CRASH_POINTS.includes(name as CrashPointName) || !Number.isSafeInteger(count) || count < 1) {
    throw new Error(`${CRASH_AT_ENV}=${spec}: expected NAME or NAME:COUNT with NAME one of ${CRASH_POINTS.join(', ')}`);
  }
  return { name: name as CrashPointName, count };
}

/** A crash point function for `spec`: kills the process when it is passed for the count-th time. */
export function crashPointFor(spec: string | undefined, kill: () => void = () => process.kill(process.pid, 'SIGKILL')): (name: CrashPointName) => void {
  const armed = parseCrashAt(spec);
  if (armed === undefined) return () => undefined;
  let passes = 0;
  return (name) => {
    if (name !== armed.name) return;
    passes++;
    if (passes === armed.count) kill();
  };
}

/** Kills the process here if `WIZARD_CRASH_AT` names this point (and pass); otherwise does nothing. */
export const crashPoint: (name: CrashPointName) => void = crashPointFor(process.env[CRASH_AT_ENV]);
