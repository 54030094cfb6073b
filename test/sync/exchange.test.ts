import pino from 'pino';
import { expect, it } from 'vitest';
import { encodeMessage } from '../../src/protocol/codec.js';
import { LIMITS, type Hello } from '../../src/protocol/messages.js';
import { byEncodedSize, helloFolder, PeerLink } from '../../src/sync/exchange.js';
import type { Folder } from '../../src/sync/folder.js';
import type { FileEntry } from '../../src/index/entry.js';
import { IndexStore } from '../../src/index/store.js';
import type { PeerSession } from '../../src/transport/session.js';

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
  const link = new PeerLink({ session, store, folder: () => folder, log: pino({ level: 'silent' }), onClose: () => undefined });
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
