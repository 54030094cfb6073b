/**
 * The test peer itself: with its own TLS, framing and msgpack it completes a
 * Hello with a real daemon, receives its index, and serves a file the daemon
 * then writes. If this fails, every hostile test built on it proves nothing.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanup, initNode, runCli, startDaemon, tempDir, type TestNode } from './daemon.js';
import { waitFor } from './wait.js';
import { EntryMaker, folderRecord, identityOf, indexMessage, nodeIdOfPem, weakSum, WirePeer } from './wire-peer.js';

let base: string;
let a: TestNode;
let peerNode: TestNode;

beforeAll(async () => {
  base = tempDir('wire-peer');
  a = await initNode(base, 'alpha');
  peerNode = await initNode(base, 'wire', a);
  mkdirSync(a.folder, { recursive: true });
  writeFileSync(path.join(a.folder, 'here.txt'), 'alpha has this');
  await startDaemon(a);
  const res = await runCli(peerNode.home, ['pair', `127.0.0.1:${a.port}`]);
  expect(res.code, res.stderr).toBe(0);
}, 60_000);

afterAll(async () => {
  await cleanup(base, [a, peerNode]);
});

it('speaks the protocol: hello both ways, the index of the shared folder, a request served and written', async () => {
  const identity = identityOf(peerNode.home);
  expect(nodeIdOfPem(identity.cert)).toBe(peerNode.id);
  const peer = await WirePeer.connect({ port: a.port, identity });
  expect(peer.remoteId).toBe(a.id);
  const theirs = await peer.hello({ id: peerNode.id, folders: [folderRecord('shared')] });
  expect(theirs.id).toBe(a.id);
  const index = await peer.next((m) => m.type === 'index' && Array.isArray(m.entries) && m.entries.some((e) => (e as { path: string }).path === 'here.txt'));
  expect(index.folder).toBe('shared');
  const make = new EntryMaker(peerNode.id, peer.serves);
  peer.send(indexMessage('shared', [make.file('from-wire.txt', 'served by the wire peer')]));
  await waitFor('alpha to write from-wire.txt', () => existsSync(path.join(a.folder, 'from-wire.txt')));
  expect(readFileSync(path.join(a.folder, 'from-wire.txt'), 'utf8')).toBe('served by the wire peer');
  peer.close();
  await peer.ended;
});

it("computes PROTOCOL.md's weak-sum test vectors (section 8.1)", () => {
  expect(weakSum(Buffer.from([0, 1, 2, 3]))).toBe(0x01400082);
  expect(weakSum(Buffer.from(Array.from({ length: 256 }, (_, i) => i)))).toBe(0x3a009e80);
});
