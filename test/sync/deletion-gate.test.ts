/**
 * The deletion budget on a fake clock: what one folder's gate lets through
 * and what it holds, for local scans and peers' pull rounds sharing one
 * sliding window (issue 15 items 7 and 8), and what ordinary work looks like
 * to it (never held).
 */
import { describe, expect, it } from 'vitest';
import type { LocalEntry } from '../../src/index/entry.js';
import { DeletionGate, type HeldDeletions } from '../../src/sync/deletions/deletion-gate.js';
import type { Candidate } from '../../src/sync/scan/local-changes.js';
import { FakeClock } from '../support/clock.js';

const entry = (path: string): LocalEntry => ({
  path, type: 'file', size: 1, mtimeMs: 1, mode: 0o644, hash: 'a'.repeat(64), target: '', version: { me: 1 }, deleted: false, sequence: 1, inode: 1,
});
const names = (n: number, prefix = 'f'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
/** Local deletion candidates: gone from disk, live in the index. */
const gone = (n: number, prefix = 'f'): Candidate[] => names(n, prefix).map((p) => ({ path: p, obs: undefined, prev: entry(p) }));
/** Candidates for paths present on disk again (new files where the index has them deleted, or never had them). */
const back = (paths: string[]): Candidate[] => paths.map((p) => ({ path: p, obs: { path: p, type: 'file', size: 1, mtimeMs: 2, mode: 0o644, inode: 2, target: '' }, prev: undefined }));
const added = back(['new'])[0] as Candidate;
/** Peers' deletions, all from one peer. */
const fromPeer = (paths: string[], peer = 'mallory') => paths.map((p) => ({ path: p, peers: [peer] }));
const everywhere = () => true;
const ignore = () => undefined;

function newGate(budget = { percent: 50, perMinute: 1000 }): { gate: DeletionGate; clock: FakeClock } {
  const clock = new FakeClock(0);
  return { gate: new DeletionGate(() => budget, () => clock.monotonic()), clock };
}

describe('local deletions', () => {
  it('holds most of a folder vanishing until confirmed, letting other changes through meanwhile', () => {
    const { gate } = newGate();
    const heard: HeldDeletions[] = [];
    const admitted = gate.admit([...gone(30), added], 40, everywhere, (h) => heard.push(h));
    expect(admitted).toEqual([added]);
    expect(gate.held).toMatchObject({ count: 30, local: 30, fromPeers: [] });
    expect(gate.held?.reason).toMatch(/30 of 40 entries deleted within a minute/);
    expect(heard).toHaveLength(1);

    // A scan of part of the folder that finds them gone again keeps the hold; one more deletion joins it.
    const looked = new Set([...names(10), 'x0']);
    expect(gate.admit([...gone(10), ...gone(1, 'x')], 40, (p) => looked.has(p), ignore)).toEqual([]);
    expect(gate.held?.count).toBe(31);
    expect(gate.heldAt('f3')).toMatchObject({ peers: [] });
    // Confirmed: the next scan that meets them lets them go, and the hold is over.
    expect(gate.confirm()).toEqual({ count: 31, remote: [] });
    expect(gate.held).toBeUndefined();
    expect(gate.admit([...gone(30), ...gone(1, 'x')], 40, everywhere, ignore)).toHaveLength(31);
    // The confirmation is spent: the next flood is held again.
    expect(gate.admit(gone(20, 'y'), 25, everywhere, ignore)).toEqual([]);
  });

  it('counts deletions per minute across scans, and forgets them after a minute', () => {
    const { gate, clock } = newGate({ percent: 100, perMinute: 10 });
    expect(gate.admit(gone(6, 'a'), 1000, everywhere, ignore)).toHaveLength(6);
    expect(gate.admit(gone(6, 'b'), 1000, everywhere, ignore)).toHaveLength(0);
    expect(gate.held?.reason).toMatch(/12 deletions within a minute \(more than 10\)/);
    // Gone back: the held paths are on disk again, so the hold ends with the scan that sees it.
    gate.admit(back(names(6, 'b')), 1000, everywhere, ignore);
    expect(gate.held).toBeUndefined();
    clock.advance(61_000);
    expect(gate.admit(gone(6, 'c'), 1000, everywhere, ignore)).toHaveLength(6);
  });

  it('8: an rm -rf reported over many scans adds up within the window: held once it passes the share of the folder at the window start', () => {
    const { gate, clock } = newGate();
    // 12 dirs of 26 entries (a dir and 25 files) in a folder of 312: no scan alone is more than 9%.
    let live = 312;
    const through: number[] = [];
    for (let d = 0; d < 12; d++) {
      const batch = gone(26, `d${d}/`);
      through.push(gate.admit(batch, live, (p) => p.startsWith(`d${d}/`), ignore).length);
      live -= through[d] as number;
      clock.advance(300);
    }
    // 6 batches are 156 of 312 (50%, allowed); the 7th would be 182: held, and every later one joins the hold.
    expect(through).toEqual([26, 26, 26, 26, 26, 26, 0, 0, 0, 0, 0, 0]);
    expect(gate.held?.count).toBe(6 * 26);
    expect(gate.held?.reason).toMatch(/182 of 312 entries/);
  });

  it('8: deletions spread over more than the window are weighed only against the last minute', () => {
    const { gate, clock } = newGate();
    let live = 100;
    expect(gate.admit(gone(30, 'a'), live, everywhere, ignore)).toHaveLength(30);
    live -= 30;
    clock.advance(61_000);
    expect(gate.admit(gone(30, 'b'), live, everywhere, ignore)).toHaveLength(30);
    live -= 30;
    clock.advance(20_000);
    // a has left the window; within the minute of b, which began with 70 live: 30 + 10 = 40 of 70 is 57%.
    expect(gate.admit(gone(10, 'c'), live, everywhere, ignore)).toHaveLength(0);
    expect(gate.held?.reason).toMatch(/40 of 70 entries/);
  });

  it('ordinary work is never held: a build that deletes and recreates its outputs again and again, a few deletions, a dir renamed and renamed back', () => {
    const { gate, clock } = newGate();
    // A folder of 60: 40 sources and 20 outputs. `make clean && make`, five times within a minute:
    // each clean's outputs come back before the next, and a path back no longer counts.
    for (let i = 0; i < 5; i++) {
      clock.advance(3_000);
      expect(gate.admit(gone(20, 'out/'), 60, everywhere, ignore), `clean ${i}`).toHaveLength(20);
      clock.advance(3_000);
      gate.admit(back(names(20, 'out/')), 40, everywhere, ignore);
    }
    expect(gate.admit(gone(3, 'src/'), 60, everywhere, ignore)).toHaveLength(3);
    // A dir of 25 renamed (its old names deleted, the new ones added in the same scan), then renamed back.
    expect(gate.admit([...gone(25, 'docs/'), ...back(names(25, 'manual/'))], 57, everywhere, ignore)).toHaveLength(50);
    clock.advance(5_000);
    expect(gate.admit([...gone(25, 'manual/'), ...back(names(25, 'docs/'))], 57, everywhere, ignore)).toHaveLength(50);
    expect(gate.held).toBeUndefined();
  });
});

describe('a small folder worked by hand', () => {
  it('ten deletions spread over half a minute in a folder of a dozen entries are not held; the same ten at once are', () => {
    const { gate, clock } = newGate();
    // As test/e2e/sync.test.ts does: a file, a rename, an rm -rf of a five-entry dir, a move, then a dir of two.
    let live = 18;
    for (const batch of [['doomed'], ['before'], names(5, 'deep/'), ['big'], ['project/old', 'project']]) {
      expect(gate.admit(batch.map((p) => gone(1, p)[0] as Candidate), live, everywhere, ignore), batch.join()).toHaveLength(batch.length);
      live -= batch.length;
      clock.advance(6_000);
    }
    const atOnce = newGate().gate;
    expect(atOnce.admit(gone(10), 18, everywhere, ignore)).toEqual([]);
  });
});

describe("7: peers' deletions", () => {
  it("holds a peer's deletion of most of the folder: nothing applied, status says who, resume lets each through once", () => {
    const { gate } = newGate();
    const heard: HeldDeletions[] = [];
    expect(gate.admitRemote(fromPeer(names(41)), 45, (h) => heard.push(h)).size).toBe(0);
    expect(heard).toHaveLength(1);
    expect(gate.held).toMatchObject({ count: 41, local: 0, fromPeers: [{ peer: 'mallory', count: 41 }] });
    expect(gate.heldAt('f7')).toMatchObject({ peers: ['mallory'] });
    // Every later round that decides them holds them again, without a new warning.
    expect(gate.admitRemote(fromPeer(names(41)), 45, (h) => heard.push(h)).size).toBe(0);
    expect(heard).toHaveLength(1);

    const { count, remote } = gate.confirm();
    expect(count).toBe(41);
    expect(remote).toEqual(names(41));
    expect(gate.held).toBeUndefined();
    expect(gate.admitRemote(fromPeer(names(41)), 45, ignore)).toEqual(new Set(names(41)));
  });

  it("holds a peer's deletion of the whole folder sent one path per message: no more than the budget's share goes", () => {
    const { gate, clock } = newGate();
    let live = 40;
    let applied = 0;
    for (const p of names(40)) {
      const allowed = gate.admitRemote(fromPeer([p]), live, ignore);
      applied += allowed.size;
      live -= allowed.size;
      clock.advance(50);
    }
    expect(applied).toBe(20);
    expect(gate.held?.fromPeers).toEqual([{ peer: 'mallory', count: 20 }]);
  });

  it('shares one window with local deletions, in either order', () => {
    const localFirst = newGate().gate;
    expect(localFirst.admit(gone(20), 45, everywhere, ignore)).toHaveLength(20);
    expect(localFirst.admitRemote(fromPeer(names(10, 'r')), 25, ignore).size).toBe(0);
    expect(localFirst.held?.reason).toMatch(/30 of 45/);

    const peerFirst = newGate().gate;
    expect(peerFirst.admitRemote(fromPeer(names(20, 'r')), 45, ignore).size).toBe(20);
    expect(peerFirst.admit(gone(10), 25, everywhere, ignore)).toEqual([]);
    expect(peerFirst.held).toMatchObject({ local: 10, fromPeers: [] });
  });

  it('a hold in force takes every new deletion, local or remote; a path decided otherwise leaves it; confirming releases both kinds', () => {
    const { gate } = newGate();
    gate.admitRemote(fromPeer(names(30, 'r')), 40, ignore);
    // A single local deletion now waits with the hold, and so does a single deletion from another peer.
    expect(gate.admit([...gone(1), added], 40, everywhere, ignore)).toEqual([added]);
    expect(gate.admitRemote(fromPeer(['q0'], 'beta'), 40, ignore).size).toBe(0);
    expect(gate.held).toMatchObject({ count: 32, local: 1, fromPeers: [{ peer: 'mallory', count: 30 }, { peer: 'beta', count: 1 }] });
    // The peer restored one (or our edit beat its deletion): no longer held.
    gate.settle(['r0'], []);
    expect(gate.heldAt('r0')).toBeUndefined();
    expect(gate.confirm()).toEqual({ count: 31, remote: [...names(30, 'r').slice(1), 'q0'] });
    expect(gate.admit(gone(1), 40, everywhere, ignore)).toHaveLength(1);
  });
});
