/**
 * A pull asked for while the folder's loop of pull rounds is ending must
 * still run: the loop checks for more requests after each round, and a
 * request that comes between its last check and its end found it still
 * pulling, so was left to it. Had that request been lost, the path would
 * stay out of sync, with no error, until some other request came (in the
 * random rounds, three nodes sat idle for 90 s with a path pending).
 *
 * One Folder on a real temp dir and a real SQLite index; the peer is the
 * test's, and its `announce` (which a round calls after its merges and dirs,
 * just before it ends) is the seam that places the request: from a chain of
 * microtasks, one link deeper each time, so that one of them lands in the
 * moment between the loop's last check and its end, whatever the number of
 * ticks in between. The round's work is a merge (the same content at
 * concurrent versions), which changes nothing on disk: a scan of a change
 * would ask for a pull of its own and so run the loop again.
 *
 * A path whose pull failed is tried again when its retry timer fires. Timers
 * run on the monotonic clock and may fire a millisecond before the wall
 * clock reaches the end of the wait; the path must be tried then all the
 * same (the fake clock sets the wall clock that millisecond back).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { contentHash } from '../../src/core/content-hash.js';
import type { FileEntry } from '../../src/index/entry.js';
import { IndexStore } from '../../src/index/store.js';
import { Folder } from '../../src/sync/folder.js';
import { loneFolderDeps } from '../support/lone-folder.js';
import { fakePeer } from '../support/peer.js';
import { FakeClock } from '../support/clock.js';
import { waitFor } from '../support/wait.js';

const ID = 'f';
const PEER = 'peer';
/** Microtask links between the announce and the request, 0 to this: the loop ends within a few. */
const MAX_DEPTH = 12;

let base: string;
let root: string;
let store: IndexStore;
let folder: Folder | undefined;

beforeEach(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'wizard-pull-requests-'));
  root = path.join(base, 'root');
  mkdirSync(root);
  store = IndexStore.open(path.join(base, 'index.db'));
});

afterEach(async () => {
  await folder?.stop();
  store.close();
  rmSync(base, { recursive: true, force: true });
});

/** Runs `fn` after `depth` microtask links. */
function afterMicrotasks(depth: number, fn: () => void): void {
  if (depth === 0) fn();
  else queueMicrotask(() => afterMicrotasks(depth - 1, fn));
}

it('a path asked for while the pull loop ends is pulled, whichever microtask the request comes in', async () => {
  const served: Record<string, string> = {};
  for (let depth = 0; depth <= MAX_DEPTH; depth++) served[`late-${depth}.txt`] = `late ${depth}`;
  /** What the next announce does, once. */
  let onAnnounce: (() => void) | undefined;
  for (let depth = 0; depth <= MAX_DEPTH; depth++) writeFileSync(path.join(root, `same-${depth}.txt`), `same ${depth}`);
  const peer = fakePeer(served);
  folder = new Folder(
    loneFolderDeps(ID, root, store, {
      peers: {
        connected: () => [PEER],
        readBlock: peer.readBlock,
        readSums: peer.readSums,
        announce: () => {
          const fn = onAnnounce;
          onAnnounce = undefined;
          fn?.();
        },
      },
    }),
  );
  await folder.start();

  const entry = (rel: string, content: string, sequence: number): FileEntry => ({
    path: rel,
    type: 'file',
    size: Buffer.byteLength(content),
    mtimeMs: 1_000_000,
    mode: 0o644,
    hash: contentHash(content),
    target: '',
    version: { [PEER]: sequence },
    deleted: false,
    sequence,
  });
  for (let depth = 0; depth <= MAX_DEPTH; depth++) {
    // The peer has our file at a version of its own (the round merges, then announces), and a new file it has not named yet.
    const same = `same-${depth}.txt`;
    const late = `late-${depth}.txt`;
    store.applyRemote(ID, PEER, 'peer-index', [entry(same, `same ${depth}`, 2 * depth + 1), entry(late, `late ${depth}`, 2 * depth + 2)], depth === 0);
    onAnnounce = () => afterMicrotasks(depth, () => folder?.requestPull([late]));
    folder.requestPull([same]);
    await waitFor(`${late}, asked for ${depth} microtasks after the round's announce, to be pulled`, () => store.getLocal(ID, late) !== undefined, 10_000);
    expect(readFileSync(path.join(root, late), 'utf8')).toBe(served[late]);
  }
});

it('a failed pull is tried again when its retry timer fires, though the wall clock is a millisecond short of the wait', async () => {
  const clock = new FakeClock(Date.UTC(2026, 11, 7, 12));
  const content = 'served at the second try';
  const peer = fakePeer({ 'later.txt': content });
  peer.failAfterBytes = 0;
  folder = new Folder(
    loneFolderDeps(ID, root, store, {
      clock,
      monotonicMs: () => clock.monotonic(),
      peers: { connected: () => [PEER], readBlock: peer.readBlock, readSums: peer.readSums, announce: () => undefined },
    }),
  );
  await folder.start();
  store.applyRemote(ID, PEER, 'peer-index', [{ path: 'later.txt', type: 'file', size: content.length, mtimeMs: 1_000_000, mode: 0o644, hash: contentHash(content), target: '', version: { [PEER]: 1 }, deleted: false, sequence: 1 }], true);
  folder.requestPull(['later.txt']);
  await waitFor('the first try to fail', () => folder?.errors().some((e) => e.includes('later.txt')));
  peer.failAfterBytes = undefined;
  // The retry timer's 1,000 ms pass on the monotonic clock; the wall clock stays 1 ms short of them.
  clock.jump(-1);
  clock.advance(1000);
  await waitFor('later.txt pulled at the retry', () => store.getLocal(ID, 'later.txt') !== undefined, 10_000);
  expect(readFileSync(path.join(root, 'later.txt'), 'utf8')).toBe(content);
});
