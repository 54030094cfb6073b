/**
 * The supervisor on a fake clock: crashed services restart after a growing
 * backoff, a service that ran stably starts again from the shortest delay,
 * and only a fatal error stops the daemon.
 */
import { pino } from 'pino';
import { expect, it } from 'vitest';
import { FatalError } from '../../src/supervisor/fatal.js';
import { type Service, Supervisor } from '../../src/supervisor/supervisor.js';
import { FakeClock } from '../support/clock.js';

const log = pino({ level: 'silent' });

/** A service that counts its starts and stops and lets the test crash it. */
function probe(name: string, failStarts = 0): Service & { starts: number; stops: number; crash: (err: unknown) => void } {
  let report: (err: unknown) => void = () => undefined;
  const s = {
    name,
    starts: 0,
    stops: 0,
    crash: (err: unknown) => report(err),
    start(crash: (err: unknown) => void) {
      s.starts++;
      report = crash;
      if (s.starts <= failStarts) return Promise.reject(new Error(`start ${s.starts} failed`));
      return Promise.resolve();
    },
    stop() {
      s.stops++;
    },
  };
  return s;
}

/** Lets the supervisor's promise chains settle (the fake clock only fires timers). */
const settle = () => new Promise((r) => setImmediate(r));

function setup(opts = { baseDelayMs: 1000, maxDelayMs: 8000, stableMs: 30_000 }) {
  const clock = new FakeClock(0);
  const fatal: string[] = [];
  // random 0.5 makes the ±20% jitter exactly zero, so delays are base·2^n.
  const sup = new Supervisor({ clock, log, random: () => 0.5, onFatal: (m) => fatal.push(m) }, opts);
  return { clock, sup, fatal };
}

it('restarts a crashed service after an exponentially growing delay, capped', async () => {
  const { clock, sup } = setup();
  const s = probe('svc');
  await sup.add(s);
  expect(sup.status()[0]).toMatchObject({ name: 'svc', state: 'running', restarts: 0 });

  const delays: number[] = [];
  for (let i = 0; i < 5; i++) {
    s.crash(new Error(`boom ${i}`));
    await settle();
    const row = sup.status()[0];
    expect(row).toMatchObject({ state: 'backoff', lastError: `boom ${i}` });
    delays.push((row?.restartAtMs ?? 0) - clock.now());
    expect(s.stops).toBe(i + 1);
    clock.advance((row?.restartAtMs ?? 0) - clock.now() - 1);
    expect(s.starts).toBe(i + 1); // not a millisecond early
    clock.advance(1);
    await settle();
    expect(s.starts).toBe(i + 2);
  }
  expect(delays).toEqual([1000, 2000, 4000, 8000, 8000]);
  expect(sup.status()[0]).toMatchObject({ state: 'running', restarts: 5 });
});

it('restarts a service whose start keeps failing, and it runs once a start succeeds', async () => {
  const { clock, sup } = setup();
  const s = probe('flaky', 2);
  await sup.add(s);
  expect(sup.status()[0]?.state).toBe('backoff');
  clock.advance(1000);
  await settle();
  expect(s.starts).toBe(2);
  expect(sup.status()[0]?.state).toBe('backoff');
  clock.advance(2000);
  await settle();
  expect(sup.status()[0]).toMatchObject({ state: 'running', restarts: 2, lastError: 'start 2 failed' });
});

it('starts again from the shortest delay after a stable period', async () => {
  const { clock, sup } = setup();
  const s = probe('svc');
  await sup.add(s);
  for (const expected of [1000, 2000]) {
    s.crash(new Error('x'));
    await settle();
    expect((sup.status()[0]?.restartAtMs ?? 0) - clock.now()).toBe(expected);
    clock.advance(expected);
    await settle();
  }
  clock.advance(30_000);
  s.crash(new Error('after a long run'));
  await settle();
  expect((sup.status()[0]?.restartAtMs ?? 0) - clock.now()).toBe(1000);
});

it('ignores a late crash report from an earlier run of the service', async () => {
  const { clock, sup } = setup();
  let firstReport: ((err: unknown) => void) | undefined;
  let starts = 0;
  await sup.add({
    name: 'svc',
    start: (crash) => {
      starts++;
      firstReport ??= crash;
    },
    stop: () => undefined,
  });
  firstReport?.(new Error('one'));
  await settle();
  clock.advance(1000);
  await settle();
  expect(starts).toBe(2);
  firstReport?.(new Error('stale'));
  await settle();
  expect(sup.status()[0]).toMatchObject({ state: 'running', lastError: 'one' });
});

it('stops the daemon on a fatal error instead of restarting', async () => {
  const { clock, sup, fatal } = setup();
  const s = probe('index');
  await sup.add(s);
  s.crash(new FatalError('the home is not writable; fix its permissions and start again'));
  await settle();
  expect(fatal).toEqual(['the home is not writable; fix its permissions and start again']);
  clock.advance(60_000);
  await settle();
  expect(s.starts).toBe(1);
  // An unwritable index is fatal too, whoever hits it.
  const sqlite = Object.assign(new Error('attempt to write a readonly database'), { code: 'SQLITE_READONLY' });
  sup.processError(sqlite);
  expect(fatal).toHaveLength(1); // reported once
});

it('counts unowned process errors in status without stopping anything', async () => {
  const { sup, fatal } = setup();
  await sup.add(probe('svc'));
  sup.processError(new Error('stray rejection'));
  sup.processError(new Error('another'));
  expect(fatal).toEqual([]);
  expect(sup.status()).toContainEqual(expect.objectContaining({ name: 'process', lastError: '2 unowned errors; last: another' }));
  expect(sup.status()[0]?.state).toBe('running');
});

it('stops every service and cancels pending restarts on stopAll', async () => {
  const { clock, sup } = setup();
  const a = probe('a');
  const b = probe('b');
  await sup.add(a);
  await sup.add(b);
  b.crash(new Error('x'));
  await settle();
  await sup.stopAll();
  expect(a.stops).toBe(1);
  expect(b.stops).toBe(1); // stopped by the crash, not again
  clock.advance(60_000);
  await settle();
  expect(b.starts).toBe(1);
  expect(sup.status().map((r) => r.state)).toEqual(['stopped', 'stopped']);
});

it('stops a service again when it was removed while still starting, so nothing its start set up is left running', async () => {
  const { sup } = setup();
  let finishStart: () => void = () => undefined;
  const open: string[] = [];
  const svc: Service = {
    name: 'slow',
    start: () =>
      new Promise<void>((resolve) => {
        finishStart = () => {
          open.push('server');
          resolve();
        };
      }),
    stop: () => {
      open.length = 0;
    },
  };
  const added = sup.add(svc);
  await settle();
  await sup.remove('slow');
  finishStart();
  await added;
  await settle();
  expect(open).toEqual([]);
});
