/**
 * The dial loop's rules, on a fake clock: a backoff under way is never cut
 * short by a link closing, a link that dies during its start is backed off
 * like any short-lived link, and a peer under a violation penalty is not
 * dialed before it ends.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Redialer } from '../../src/transport/redialer.js';
import { FakeClock } from '../support/clock.js';

/** Lets the loop run until it waits on the fake clock again (connect yields a macrotask each time). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A redialer whose dials succeed or fail as the test says, and the times (fake ms) of its dials. */
function harness(opts: { fails?: boolean; diesAtStart?: boolean } = {}) {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const dials: number[] = [];
  const state = { connected: false, holdOffMs: 0 };
  const redialer = new Redialer({
    clock,
    log: pino({ level: 'silent' }),
    // The middle of the jitter: delays are exactly 1 s, 2 s, 4 s...
    random: () => 0.5,
    connect: async () => {
      dials.push(clock.monotonic());
      // A real dial takes a turn of the event loop at least; a loop that redials at once shows as many dials.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (opts.fails === true) throw new Error('refused');
      // A peer that breaks the link during its start: it is down before connect returns.
      state.connected = opts.diesAtStart !== true;
    },
    isConnected: () => state.connected,
    holdOffMs: () => state.holdOffMs,
  });
  const linkDown = (restart = false) => {
    state.connected = false;
    redialer.linkDown(restart);
  };
  return { clock, dials, state, redialer, linkDown };
}

let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

describe('Redialer', () => {
  it('a link closing while a backoff runs does not cut it short: links the peer dials and drops again do not make us redial', async () => {
    const h = harness();
    stop = () => h.redialer.stop();
    h.redialer.start();
    await settle();
    expect(h.dials).toEqual([0]);
    h.linkDown();
    await settle();
    // The link died at once: a 1 s backoff. Meanwhile the peer dials in and its links close, again and again.
    for (let i = 0; i < 5; i++) {
      h.clock.advance(100);
      h.state.connected = true;
      h.linkDown();
      await settle();
    }
    expect(h.dials).toEqual([0]);
    h.clock.advance(499);
    await settle();
    expect(h.dials).toEqual([0]);
    h.clock.advance(1);
    await settle();
    expect(h.dials).toEqual([0, 1000]);
  });

  it('a link that is down again before the dial returns (broken during its start) is backed off, doubling, not redialed at once', async () => {
    const h = harness({ diesAtStart: true });
    stop = () => h.redialer.stop();
    h.redialer.start();
    await settle();
    for (let i = 0; i < 6; i++) {
      h.clock.advance(500);
      await settle();
    }
    // 0, then +1 s, then +2 s: three dials in 3 s, not one per turn of the loop.
    expect(h.dials).toEqual([0, 1000, 3000]);
  });

  it('a peer under a violation penalty is not dialed before it ends, however short the ordinary backoff', async () => {
    const h = harness();
    stop = () => h.redialer.stop();
    h.redialer.start();
    await settle();
    h.state.holdOffMs = 60_000;
    h.linkDown();
    await settle();
    h.clock.advance(59_999);
    await settle();
    expect(h.dials).toEqual([0]);
    h.state.holdOffMs = 0;
    h.clock.advance(1);
    await settle();
    expect(h.dials).toEqual([0, 60_000]);
  });

  it('a peer whose penalty began while no link was up waits it out before the next dial', async () => {
    const h = harness({ fails: true });
    stop = () => h.redialer.stop();
    h.state.holdOffMs = 120_000;
    h.redialer.start();
    await settle();
    expect(h.dials).toEqual([]);
    h.clock.advance(119_999);
    await settle();
    expect(h.dials).toEqual([]);
    h.state.holdOffMs = 0;
    h.clock.advance(1);
    await settle();
    expect(h.dials).toEqual([120_000]);
  });

  it('failed dials back off exponentially; a link that lasted is redialed at once and starts the backoff over', async () => {
    const h = harness({ fails: true });
    stop = () => h.redialer.stop();
    h.redialer.start();
    await settle();
    for (let i = 0; i < 7; i++) {
      h.clock.advance(1000);
      await settle();
    }
    expect(h.dials).toEqual([0, 1000, 3000, 7000]);

    const g = harness();
    const stopFirst = stop;
    stop = async () => {
      await stopFirst();
      await g.redialer.stop();
    };
    g.redialer.start();
    await settle();
    g.clock.advance(30_000);
    g.linkDown();
    await settle();
    expect(g.dials).toEqual([0, 30_000]);
  });

  it('a young link this node closed to start over (its shares changed) is redialed at once, without growing the backoff; a penalty still holds', async () => {
    const h = harness();
    stop = () => h.redialer.stop();
    h.redialer.start();
    await settle();
    h.clock.advance(100);
    h.linkDown(true);
    await settle();
    expect(h.dials).toEqual([0, 100]);
    // The next young link that dies starts from the shortest backoff: the restart did not count as a failure.
    h.clock.advance(100);
    h.linkDown();
    await settle();
    h.clock.advance(999);
    await settle();
    expect(h.dials).toEqual([0, 100]);
    h.clock.advance(1);
    await settle();
    expect(h.dials).toEqual([0, 100, 1200]);
    h.state.holdOffMs = 5_000;
    h.linkDown(true);
    await settle();
    h.clock.advance(4_999);
    await settle();
    expect(h.dials).toEqual([0, 100, 1200]);
    h.state.holdOffMs = 0;
    h.clock.advance(1);
    await settle();
    expect(h.dials).toEqual([0, 100, 1200, 6200]);
  });

  it('a restart of a link that lasted starts the backoff over, as its loss would have', async () => {
    const h = harness();
    stop = () => h.redialer.stop();
    h.redialer.start();
    await settle();
    // Two young links die: the backoff has grown to 2 s.
    for (const wait of [1000, 2000]) {
      h.linkDown();
      await settle();
      h.clock.advance(wait);
      await settle();
    }
    expect(h.dials).toEqual([0, 1000, 3000]);
    // Up an hour, then restarted here: dialed at once, and the next young link's loss waits 1 s, not 4.
    h.clock.advance(3_600_000);
    h.linkDown(true);
    await settle();
    expect(h.dials).toEqual([0, 1000, 3000, 3_603_000]);
    h.linkDown();
    await settle();
    h.clock.advance(999);
    await settle();
    expect(h.dials).toHaveLength(4);
    h.clock.advance(1);
    await settle();
    expect(h.dials).toEqual([0, 1000, 3000, 3_603_000, 3_604_000]);
  });

  it('stop ends a backoff under way', async () => {
    const h = harness({ fails: true });
    h.redialer.start();
    await settle();
    await h.redialer.stop();
    h.clock.advance(10_000);
    await settle();
    expect(h.dials).toEqual([0]);
  });

  it('hurry (the peer seen at a new address) ends a pause after a failed dial, not one after a link died nor a penalty', async () => {
    const h = harness({ fails: true });
    stop = () => h.redialer.stop();
    h.redialer.start();
    await settle();
    h.clock.advance(1000);
    await settle();
    // Failed twice: a 2 s pause runs; a sighting ends it at once.
    expect(h.dials).toEqual([0, 1000]);
    h.clock.advance(500);
    h.redialer.hurry();
    await settle();
    expect(h.dials).toEqual([0, 1000, 1500]);
    // Under a penalty, a sighting ends the pause but the hold-off is checked again before any dial.
    h.state.holdOffMs = 60_000;
    h.redialer.hurry();
    await settle();
    expect(h.dials).toEqual([0, 1000, 1500]);

    const g = harness({ diesAtStart: true });
    const stopFirst = stop;
    stop = async () => {
      await stopFirst();
      await g.redialer.stop();
    };
    g.redialer.start();
    await settle();
    // The link died during its start: a 1 s pause that a sighting must not cut (it would make a redial storm).
    g.redialer.hurry();
    await settle();
    expect(g.dials).toEqual([0]);
    g.clock.advance(1000);
    await settle();
    expect(g.dials).toEqual([0, 1000]);
  });
});
