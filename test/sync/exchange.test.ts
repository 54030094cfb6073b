import pino from 'pino';
import { describe, expect, it, onTestFinished } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { encodeMessage } from '../../src/protocol/codec.js';
import { LIMITS, PROTOCOL_VERSION, type Hello } from '../../src/protocol/messages.js';
import { byEncodedSize, helloFolder, PeerLink } from '../../src/sync/peers/exchange.js';
import type { Folder } from '../../src/sync/folder.js';
import type { FileEntry } from '../../src/index/entry.js';
import { IndexStore } from '../../src/index/store.js';
import { PeerSession } from '../../src/transport/session.js';
import type { RefusedEntry } from '../../src/sync/peers/future-entries.js';
import { counterLimit } from '../../src/versions/plausible.js';
import { MAX_COUNTER } from '../../src/versions/vector.js';
import { FakeClock } from '../support/clock.js';
import { ServeBudget } from '../../src/sync/serve/serve-budget.js';
import { duplexPair } from '../support/streams.js';
import { waitFor } from '../support/wait.js';

it('splits an index batch of long paths and wide vectors so every message fits in a frame', () => {
  const version = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [i.toString(16).padStart(16, '0'), 2 ** 40 + i]));
  const entries: FileEntry[] = Array.from({ length: LIMITS.maxEntriesPerIndex }, (_, i) => ({
    path: `${'deep/'.repeat(700)}file-${i}`,
    type: 'file',
    size: 1,
    mtimeMs: 1,
    mode: 0o644,
    hash: 'a'.repeat(64),
    target: '',
    version,
    deleted: false,
    sequence: i + 1,
  }));
  const batches = byEncodedSize(entries);
  expect(batches.length).toBeGreaterThan(1);
  expect(batches.flat()).toHaveLength(entries.length);
  for (const batch of batches) {
    const frame = encodeMessage({ type: 'index', folder: 'f', indexId: '0'.repeat(16), reset: false, entries: batch });
    expect(frame.length).toBeLessThan(LIMITS.maxFrameBytes);
  }
});

it('S2: an index update the store cannot write (SQLITE_FULL) closes the session, so a new one resends it, instead of skipping it for good', () => {
  const store = IndexStore.open(':memory:');
  const closed: string[] = [];
  // Only what the link uses of a session; the rest of PeerSession is not reached here.
  const session = { peerId: 'peer', isClosed: false, attach: () => undefined, close: (reason: string) => void closed.push(reason) } as unknown as PeerSession;
  const folder = { requestPull: () => undefined } as unknown as Folder;
  const link = new PeerLink({ session, store, folder: () => folder, isShared: () => true, log: pino({ level: 'silent' }), clock: new FakeClock(0), serving: new ServeBudget({ clock: new FakeClock(0) }).open(), onClose: () => undefined });
  const hello = (folders: Hello['folders']): Hello => ({ type: 'hello', protocol: 1, id: 'x', name: 'x', listenPort: 0, intent: 'sync', folders });
  const mine = helloFolder(store, 'f', 'peer');
  link.start(hello([mine]), hello([{ ...mine, indexId: '1'.repeat(16) }]));
  const before = store.peerState('f', 'peer');

  store.applyRemote = () => {
    throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
  };
  const entry: FileEntry = { path: 'a.txt', type: 'file', size: 1, mtimeMs: 1, mode: 0o644, hash: 'a'.repeat(64), target: '', version: { p: 1 }, deleted: false, sequence: 7 };
  expect(() => link.onIndex({ type: 'index', folder: 'f', indexId: '1'.repeat(16), reset: false, entries: [entry] })).not.toThrow();
  expect(closed).toHaveLength(1);
  expect(closed[0]).toContain('SQLITE_FULL');
  expect(store.peerState('f', 'peer')).toEqual(before);
  store.close();
});

describe('version counters from a peer (item 3 of issue 15)', () => {
  const NOW = Date.UTC(2026, 10, 28, 12);
  const PEER_INDEX = '1'.repeat(16);

  /** A link whose Hello exchange is done, over a real in-memory index and a fake clock. */
  function linked() {
    const store = IndexStore.open(':memory:');
    const clock = new FakeClock(NOW);
    const closed: string[] = [];
    const refused: Array<{ folder: string; refused: readonly RefusedEntry[] }> = [];
    const session = { peerId: 'peer', isClosed: false, attach: () => undefined, close: (reason: string) => void closed.push(reason) } as unknown as PeerSession;
    const folder = { requestPull: () => undefined } as unknown as Folder;
    const link = new PeerLink({
      session,
      store,
      folder: () => folder,
      isShared: () => true,
      log: pino({ level: 'silent' }),
      clock,
      serving: new ServeBudget({ clock }).open(),
      onRefused: (f, r) => void refused.push({ folder: f, refused: r }),
      onClose: () => undefined,
    });
    const hello = (folders: Hello['folders']): Hello => ({ type: 'hello', protocol: 1, id: 'x', name: 'x', listenPort: 0, intent: 'sync', folders });
    const mine = helloFolder(store, 'f', 'peer');
    link.start(hello([mine]), hello([{ ...mine, indexId: PEER_INDEX }]));
    const send = (entries: FileEntry[], reset = false) => link.onIndex({ type: 'index', folder: 'f', indexId: PEER_INDEX, reset, entries });
    const stored = (path: string) => store.remotesFor('f', path).map((r) => r.entry.version);
    return { store, clock, closed, refused, link, send, stored };
  }

  const entry = (path: string, sequence: number, counter: number): FileEntry => ({
    path,
    type: 'file',
    size: 1,
    mtimeMs: 1,
    mode: 0o644,
    hash: 'a'.repeat(64),
    target: '',
    version: { aaaaaaaaaaaaaaaa: counter },
    deleted: false,
    sequence,
  });

  it('refuses an entry with an implausible counter on its own: the rest of the batch and the next are stored, the link stays up, and the read position passes it', () => {
    const t = linked();
    t.send([entry('poison.txt', 1, MAX_COUNTER), entry('after.txt', 2, 1_800_000_000)]);
    t.send([entry('later.txt', 3, 1_800_000_001)]);
    expect(t.closed).toEqual([]);
    expect(t.stored('poison.txt')).toEqual([]);
    expect(t.stored('after.txt')).toEqual([{ aaaaaaaaaaaaaaaa: 1_800_000_000 }]);
    expect(t.stored('later.txt')).toEqual([{ aaaaaaaaaaaaaaaa: 1_800_000_001 }]);
    expect(t.refused).toEqual([{ folder: 'f', refused: [{ path: 'poison.txt', counter: MAX_COUNTER }] }]);
    // Asking again would get the same refused entry: the read position goes past it.
    expect(t.store.peerState('f', 'peer')).toEqual({ indexId: PEER_INDEX, sequence: 3 });
  });

  it('holds an entry a little ahead of the clock and stores it once the clock reaches it; the read position stays below it meanwhile', () => {
    const t = linked();
    const ahead = counterLimit(NOW) + 30;
    t.send([entry('edge.txt', 1, ahead), entry('after.txt', 2, 1_800_000_000)]);
    expect(t.stored('edge.txt')).toEqual([]);
    expect(t.stored('after.txt')).toHaveLength(1);
    expect(t.store.peerState('f', 'peer').sequence).toBe(0);
    t.clock.advance(29_000);
    expect(t.stored('edge.txt')).toEqual([]);
    t.clock.advance(1_000);
    expect(t.stored('edge.txt')).toEqual([{ aaaaaaaaaaaaaaaa: ahead }]);
    expect(t.store.peerState('f', 'peer').sequence).toBe(2);
    expect(t.refused).toEqual([]);
    expect(t.closed).toEqual([]);
  });

  it('drops a held entry that a newer one for its path replaced: it is never stored over it', () => {
    const t = linked();
    t.send([entry('edge.txt', 1, counterLimit(NOW) + 30)]);
    t.send([entry('edge.txt', 2, 1_800_000_000)]);
    expect(t.store.peerState('f', 'peer').sequence).toBe(2);
    t.clock.advance(60_000);
    expect(t.stored('edge.txt')).toEqual([{ aaaaaaaaaaaaaaaa: 1_800_000_000 }]);
  });

  it('a link that ends with entries held stores none of them later, and its read position makes the next link send them again', () => {
    const t = linked();
    t.send([entry('edge.txt', 1, counterLimit(NOW) + 30), entry('after.txt', 2, 1_800_000_000)]);
    t.link.onClose('connection closed by peer');
    t.clock.advance(60_000);
    expect(t.stored('edge.txt')).toEqual([]);
    expect(t.store.peerState('f', 'peer').sequence).toBe(0);
  });
});

it('item 5: a large index goes out as the peer reads it, never all at once into the send queue', async () => {
  const store = IndexStore.open(':memory:');
  onTestFinished(() => store.close());
  // About 10 MB of index: far more than the 4 MiB of index batches a session lets wait.
  const count = 12_000;
  store.commitLocal(
    'f',
    Array.from({ length: count }, (_, i) => ({
      path: `${'some/deeper/dir/'.repeat(40)}file-${i}.txt`,
      type: 'file' as const,
      size: 1,
      mtimeMs: 1,
      mode: 0o644,
      hash: 'a'.repeat(64),
      target: '',
      version: { aaaaaaaaaaaaaaaa: 1 + i },
      deleted: false,
      inode: i + 1,
    })),
  );
  const [x, y] = duplexPair();
  const log = pino({ level: 'silent' });
  const ours = new PeerSession({ socket: x, clock: systemClock, log }, 'b'.repeat(64), 'out');
  const theirs = new PeerSession({ socket: y, clock: systemClock, log }, 'a'.repeat(64), 'in');
  onTestFinished(() => ours.close('test over'));
  const hello = (id: string, folders: Hello['folders']): Hello => ({ type: 'hello', protocol: PROTOCOL_VERSION, id, name: 'x', listenPort: 0, intent: 'sync', folders });
  const mine = helloFolder(store, 'f', undefined);
  const [, theirHello] = await Promise.all([theirs.handshake(hello('b'.repeat(64), [])), ours.handshake(hello('a'.repeat(64), [mine]))]);
  void theirHello;
  let received = 0;
  theirs.attach({ onIndex: (m) => (received += m.entries.length), onRequest: () => Promise.reject(new Error('no')), onSumsRequest: () => Promise.reject(new Error('no')), onClose: () => undefined });
  // The peer does not read yet.
  y.pause();
  const folder = { requestPull: () => undefined } as unknown as Folder;
  const link = new PeerLink({ session: ours, store, folder: () => folder, isShared: () => true, log, clock: systemClock, serving: new ServeBudget({ clock: systemClock }).open(), onClose: () => undefined });
  link.start(hello('a'.repeat(64), [mine]), hello('b'.repeat(64), [{ ...mine, digest: 'f'.repeat(32), indexId: '1'.repeat(16), have: { indexId: '', sequence: 0 } }]));
  // At most what waits for room (4 MiB), a batch over it, and what the pipe holds.
  expect(ours.pendingSendBytes).toBeLessThan(6 * 1024 * 1024);
  y.resume();
  await waitFor('the whole index at the peer', () => received === count, 20_000);
});

it('issue 16: every index, block and sums message is checked against the shares in force, not only the Hello', async () => {
  const store = IndexStore.open(':memory:');
  onTestFinished(() => store.close());
  const session = { peerId: 'peer', isClosed: false, attach: () => undefined, close: () => undefined, hasIndexRoom: () => true, send: () => undefined } as unknown as PeerSession;
  let pulls = 0;
  let reads = 0;
  const folder = {
    requestPull: () => void pulls++,
    isIgnored: () => false,
    serving: { readBlock: () => Promise.resolve(Buffer.from(String(++reads))), readSums: () => Promise.resolve(String(++reads)) },
  } as unknown as Folder;
  let shared = true;
  const link = new PeerLink({ session, store, folder: () => folder, isShared: () => shared, log: pino({ level: 'silent' }), clock: new FakeClock(0), serving: new ServeBudget({ clock: new FakeClock(0) }).open(), onClose: () => undefined });
  const hello = (folders: Hello['folders']): Hello => ({ type: 'hello', protocol: PROTOCOL_VERSION, id: 'x', name: 'x', listenPort: 0, intent: 'sync', folders });
  const mine = helloFolder(store, 'f', 'peer');
  link.start(hello([mine]), hello([{ ...mine, indexId: '1'.repeat(16), digest: 'f'.repeat(32) }]));
  const request = { type: 'request' as const, id: 1, folder: 'f', path: 'a.txt', hash: 'a'.repeat(64), offset: 0, length: 1 };
  const sums = { type: 'sums-request' as const, id: 2, folder: 'f', path: 'a.txt', hash: 'a'.repeat(64), blockSize: 1024, first: 0, count: 1, group: 1 };
  await expect(link.onRequest(request)).resolves.toEqual(Buffer.from('1'));
  expect(link.shares('f')).toBe(true);

  // Unshared while the link is up (the node closes it too, but nothing may slip through before).
  shared = false;
  expect(link.shares('f')).toBe(false);
  const entry: FileEntry = { path: 'a.txt', type: 'file', size: 1, mtimeMs: 1, mode: 0o644, hash: 'a'.repeat(64), target: '', version: { p: 1 }, deleted: false, sequence: 1 };
  const pullsBefore = pulls;
  link.onIndex({ type: 'index', folder: 'f', indexId: '1'.repeat(16), reset: true, entries: [entry] });
  expect(store.peerState('f', 'peer').sequence).toBe(0);
  expect(pulls).toBe(pullsBefore);
  await expect(link.onRequest(request)).rejects.toMatchObject({ wireCode: 'not-found' });
  await expect(link.onSumsRequest(sums)).rejects.toMatchObject({ wireCode: 'not-found' });
  expect(reads).toBe(1);
});
