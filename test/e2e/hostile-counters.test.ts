/**
 * Issue 15, item 3, against a real daemon from peers that speak the protocol
 * from their own code (wire-peer.ts): a version counter far ahead of any
 * clock is refused on its own (the link stays up, the rest of the batch and
 * later ones are taken, status says which peer sent what, the read position
 * goes on past it), and a peer whose every link fails validation is left
 * alone for minutes: dialed once, and its own connections closed before any
 * Hello, where the daemon used to redial it after every close.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Why } from '../../src/status/why.js';
import { cleanup, initNode, runCli, startDaemon, tempDir, type TestNode } from '../support/daemon.js';
import { waitFor } from '../support/wait.js';
import { pack } from '../support/wire-msgpack.js';
import { EntryMaker, folderRecord, frame, identityOf, indexMessage, shortId, WIRE_PROTOCOL, WireListener, WirePeer } from '../support/wire-peer.js';

let base: string;
let a: TestNode;
/** A peer whose every link breaks the protocol: the daemon dials it (its listener counts the dials) and it dials the daemon. */
let looper: TestNode;
/** A peer that sends entries with implausible counters among good ones. */
let sender: TestNode;
let looperListener: WireListener;

const MAX_COUNTER = 2 ** 52;

/** An index whose one entry has the counter a poisoned node's next edit made: 2^52 + 1, a protocol error. */
function breakingIndex(author: string): Record<string, unknown> {
  const entry = new EntryMaker(author).file('loop.txt', 'x', { version: { [shortId(author)]: MAX_COUNTER + 1 } });
  return indexMessage('shared', [entry]);
}

function helloOf(node: TestNode): Record<string, unknown> {
  return { type: 'hello', protocol: WIRE_PROTOCOL, id: node.id, name: node.name, listenPort: 0, intent: 'sync', folders: [folderRecord('shared')] };
}

beforeAll(async () => {
  base = tempDir('counters');
  a = await initNode(base, 'alpha');
  looper = await initNode(base, 'looper', a);
  sender = await initNode(base, 'sender', a);
  mkdirSync(a.folder, { recursive: true });
  // Each link alpha dials to the looper gets its Hello and, in the same write, an index that fails validation.
  looperListener = await WireListener.listen({
    identity: identityOf(looper.home),
    port: looper.port,
    onPeer: (peer) => peer.sendRaw(Buffer.concat([frame(pack(helloOf(looper))), frame(pack(breakingIndex(looper.id)))])),
  });
  await startDaemon(a);
  for (const node of [looper, sender]) {
    const res = await runCli(node.home, ['pair', `127.0.0.1:${a.port}`]);
    expect(res.code, res.stderr).toBe(0);
  }
}, 60_000);

afterAll(async () => {
  await looperListener.close();
  await cleanup(base, [a]);
});

it('R1 (issue 15 item 3): an entry whose counter is far ahead of any clock is refused on its own; the link stays up, the rest is taken, status names the peer, path and counter, the log says it once', async () => {
  const identity = identityOf(sender.home);
  const indexId = '5e5e5e5e5e5e5e5e';
  const peer = await WirePeer.connect({ port: a.port, identity });
  await peer.hello({ id: sender.id, folders: [folderRecord('shared', { indexId })] });
  const make = new EntryMaker(sender.id, peer.serves);
  const poisoned = { version: { [shortId(sender.id)]: MAX_COUNTER } };
  // Sequences 1 and 2 in one batch: the refused entry first, so the one after it must still be taken.
  peer.send(indexMessage('shared', [make.file('poison.txt', 'counter 2^52', poisoned), make.file('good.txt', 'taken')], indexId, true));
  await waitFor('alpha to write good.txt', () => existsSync(path.join(a.folder, 'good.txt')));
  // Stored in the same transaction as good.txt: alpha holds no entry of the sender for poison.txt.
  const why = await runCli(a.home, ['status', '--why', 'poison.txt', '--folder', 'shared', '--json']);
  expect(why.code, why.stderr).toBe(0);
  expect((JSON.parse(why.stdout) as Why).peers.find((p) => p.id === sender.id)).toMatchObject({ connected: true, relation: 'missing' });

  // A later batch on the same link, with another refused entry: the link is still up and taking entries.
  peer.send(indexMessage('shared', [make.file('poison-2.txt', 'again', poisoned), make.file('later.txt', 'after the refusal')], indexId));
  await waitFor('alpha to write later.txt', () => existsSync(path.join(a.folder, 'later.txt')));
  expect(peer.isOpen).toBe(true);
  expect(existsSync(path.join(a.folder, 'poison.txt'))).toBe(false);
  expect(existsSync(path.join(a.folder, 'poison-2.txt'))).toBe(false);
  const status = await a.daemon?.status();
  const seen = status?.peers.find((p) => p.id === sender.id);
  expect(seen?.connected).toBe(true);
  expect(seen?.refused).toMatchObject([{ folder: 'shared', entries: 2, path: 'poison-2.txt', counter: MAX_COUNTER }]);
  expect(a.daemon?.log.match(/refused index entries whose version counters/g)).toHaveLength(1);

  // The read position went past the refused entries: a new link resumes after sequence 4, not before 1.
  peer.close();
  await peer.ended;
  const again = await WirePeer.connect({ port: a.port, identity });
  const hello = await again.hello({ id: sender.id, folders: [folderRecord('shared', { indexId })] });
  expect((hello.folders as Array<{ have: unknown }>)[0]?.have).toEqual({ indexId, sequence: 4 });
  again.close();
  await again.ended;
});

it('issue 15 item 3: a peer whose every link fails validation is left alone for minutes: dialed once, its connections closed before any Hello, where each close used to restart the dial', async () => {
  const identity = identityOf(looper.home);
  await waitFor('alpha to dial the looper', () => looperListener.accepted.length >= 1);
  const reasons: Array<string | undefined> = [];
  // The looper dials in again and again, as a daemon's dial loop does; each link it gets, it breaks.
  for (let i = 0; i < 4; i++) {
    const peer = await WirePeer.connect({ port: a.port, identity });
    peer.send(helloOf(looper));
    const got = await Promise.race([peer.next('hello', 5_000).then(() => 'hello' as const, () => 'none' as const), peer.ended.then(() => 'ended' as const)]);
    if (got === 'hello') peer.send(breakingIndex(looper.id));
    reasons.push((await peer.ended).reason);
  }
  // Each of those closes came after alpha's one dial; a daemon that redials on a close has dialed again by now.
  expect(looperListener.accepted.length).toBe(1);
  expect(reasons.filter((r) => r?.includes('backing off after protocol errors') === true)).toHaveLength(4);
  const status = await a.daemon?.status();
  const backoff = status?.peers.find((p) => p.id === looper.id)?.backoff;
  expect(backoff?.violations).toBe(1);
  expect(backoff?.lastReason).toContain('version counter');
  expect((backoff?.untilMs ?? 0) - Date.now()).toBeGreaterThan(30_000);
});
