/**
 * Per-folder sharing with real daemons (issue 16 item 1): `wizard pair`
 * shares the folders both nodes have and says which; a folder is advertised,
 * indexed and served only to the peers it is shared with, however a peer asks
 * (Hello, index, request or sums by hash); share and unshare apply live; a
 * folder a peer offers is shown and taken only by a person's act.
 *
 * Alpha has two folders: 'shared' (every test node has it) and 'secret' (only
 * alpha). Beta pairs with the real CLI; mallory is a CA-signed peer that
 * paired the same way and then speaks from test/support/wire-peer.ts, naming
 * 'secret' everywhere it can; gamma is offered 'secret' and accepts it.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addFolder } from '../../src/config/edit.js';
import { configPath } from '../../src/config/file.js';
import { controlRequest } from '../../src/status/control.js';
import type { Why } from '../../src/status/why.js';
import { cleanup, initNode, runCli, startDaemon, tempDir, waitConnected, type TestNode } from '../support/daemon.js';
import { waitFor } from '../support/wait.js';
import { EntryMaker, folderRecord, identityOf, indexMessage, contentHashHex, WirePeer, type WireIdentity, type WireMessage } from '../support/wire-peer.js';

let base: string;
let a: TestNode;
let b: TestNode;
let g: TestNode;
let mallory: TestNode;
let malloryIdentity: WireIdentity;
let secretDir: string;
const SECRET = 'the secret content';
const MALLORY_INDEX = '6b6b6b6b6b6b6b6b';

beforeAll(async () => {
  base = tempDir('sharing');
  a = await initNode(base, 'alpha');
  b = await initNode(base, 'beta', a);
  g = await initNode(base, 'gamma', a);
  mallory = await initNode(base, 'mallory', a);
  malloryIdentity = identityOf(mallory.home);
  secretDir = path.join(base, 'alpha', 'secret');
  mkdirSync(secretDir, { recursive: true });
  mkdirSync(a.folder, { recursive: true });
  writeFileSync(path.join(secretDir, 'secret.txt'), SECRET);
  writeFileSync(path.join(a.folder, 'hello.txt'), 'for every peer of shared');
  const file = configPath(a.home);
  writeFileSync(file, addFolder(readFileSync(file, 'utf8'), { id: 'secret', path: secretDir, shareWith: [], mode: 'send-receive' }));
  await Promise.all([startDaemon(a), startDaemon(b), startDaemon(g)]);
  // Mallory's daemon never runs: the pair records it on alpha, then the wire peer speaks for it.
  const res = await runCli(mallory.home, ['pair', `127.0.0.1:${a.port}`]);
  expect(res.code, res.stderr).toBe(0);
}, 60_000);

afterAll(async () => {
  await cleanup(base, [a, b, g]);
});

/** The folder IDs a Hello names. */
const helloFolders = (hello: WireMessage) => (hello.folders as Array<{ id: string }>).map((f) => f.id);

/** Connects as mallory naming both folders, and returns the link and alpha's Hello. */
async function malloryLink(): Promise<{ peer: WirePeer; hello: WireMessage }> {
  const peer = await WirePeer.connect({ port: a.port, identity: malloryIdentity });
  const hello = await peer.hello({ id: mallory.id, name: 'mallory', folders: [folderRecord('shared', { indexId: MALLORY_INDEX }), folderRecord('secret', { indexId: MALLORY_INDEX })] });
  return { peer, hello };
}

it('pair shares the folders both nodes have, on both sides, prints which, and never the ones only one has', async () => {
  const res = await runCli(b.home, ['pair', `127.0.0.1:${a.port}`]);
  expect(res.code, res.stderr).toBe(0);
  expect(res.stdout).toContain('Shared on both nodes: shared\n');
  await waitConnected(a, b);
  await waitFor('hello.txt on beta', () => existsSync(path.join(b.folder, 'hello.txt')));
  const alphaConfig = readFileSync(configPath(a.home), 'utf8');
  expect(alphaConfig).toMatch(new RegExp(`id: shared\\n.*\\n\\s+shareWith: \\[ ${mallory.id}, ${b.id} \\]`));
  expect(alphaConfig).toMatch(/id: secret\n.*\n\s+shareWith: \[\]/);
  expect(readFileSync(configPath(b.home), 'utf8')).toMatch(new RegExp(`shareWith: \\[ ${a.id} \\]`));
  expect(existsSync(path.join(b.folder, 'secret.txt'))).toBe(false);
  // No daemon was told "not paired" after a pairing that worked (issue 20 item 7).
  expect(a.daemon?.log).not.toContain('not paired');
  expect(b.daemon?.log).not.toContain('not paired');
});

it('a peer that shares one folder gets nothing of another: not in the Hello, not its index, not its blocks or sums by hash', async () => {
  const { peer, hello } = await malloryLink();
  expect(helloFolders(hello)).toEqual(['shared']);
  const hash = contentHashHex(SECRET);
  const block = await peer.request({ folder: 'secret', path: 'secret.txt', hash, offset: 0, length: SECRET.length });
  expect(block).toMatchObject({ type: 'error', code: 'not-found' });
  peer.send({ type: 'sums-request', id: 900, folder: 'secret', path: 'secret.txt', hash, blockSize: 1024, first: 0, count: 1, group: 1 });
  expect(await peer.next((m) => m.id === 900)).toMatchObject({ type: 'error', code: 'not-found' });
  // The shared folder is served as ever: the refusals above are about sharing, not a broken link.
  const shared = await peer.request({ folder: 'shared', path: 'hello.txt', hash: contentHashHex('for every peer of shared'), offset: 0, length: 100 });
  expect(shared.type).toBe('response');
  // An index for the secret folder is dropped; an index for the shared one behind it is taken, so both were read.
  const make = new EntryMaker(mallory.id, new Map());
  peer.serves.set(contentHashHex('planted'), Buffer.from('planted'));
  peer.serves.set(contentHashHex('barrier'), Buffer.from('barrier'));
  peer.send(indexMessage('secret', [make.file('planted.txt', 'planted')], MALLORY_INDEX, true));
  peer.send(indexMessage('shared', [make.file('barrier.txt', 'barrier')], MALLORY_INDEX, true));
  await waitFor('alpha to pull barrier.txt', () => existsSync(path.join(a.folder, 'barrier.txt')));
  const why = (await controlRequest(a.home, { cmd: 'why', folder: 'secret', path: 'planted.txt' })) as Why;
  expect(why.peers.find((p) => p.id === mallory.id)?.exists ?? false).toBe(false);
  expect(existsSync(path.join(secretDir, 'planted.txt'))).toBe(false);
  expect(peer.received.filter((m) => m.type === 'index' && m.folder === 'secret')).toEqual([]);
  expect(peer.received.filter((m) => (m.type === 'request' || m.type === 'files-request') && m.folder === 'secret')).toEqual([]);
  peer.close();
  await peer.ended;
  // Said once per link, not once per message.
  expect(a.daemon?.log.match(/"folder":"secret"[^\n]*not shared with it/g)?.length).toBe(1);
});

it('unshare applies live: the link ends at once and comes back without the folder; share brings it back', async () => {
  const { peer } = await malloryLink();
  const unshare = await runCli(a.home, ['folder', 'unshare', 'shared', mallory.id.slice(0, 8)]);
  expect(unshare.code, unshare.stderr).toBe(0);
  expect(unshare.stdout).toContain(`no longer shared with mallory (${mallory.id.slice(0, 8)})`);
  expect((await peer.ended).reason).toBe('shared folders changed');
  const after = await malloryLink();
  expect(helloFolders(after.hello)).toEqual([]);
  const refused = await after.peer.request({ folder: 'shared', path: 'hello.txt', hash: contentHashHex('for every peer of shared'), offset: 0, length: 100 });
  expect(refused).toMatchObject({ type: 'error', code: 'not-found' });
  const share = await runCli(a.home, ['folder', 'share', 'shared', 'mallory']);
  expect(share.code, share.stderr).toBe(0);
  expect((await after.peer.ended).reason).toBe('shared folders changed');
  const again = await malloryLink();
  expect(helloFolders(again.hello)).toEqual(['shared']);
  again.peer.close();
});

it('a folder shared with a node that lacks it is an offer there, taken only at a path the user gives', async () => {
  const paired = await runCli(g.home, ['pair', `127.0.0.1:${a.port}`, '--share', 'shared']);
  expect(paired.code, paired.stderr).toBe(0);
  await waitConnected(a, g);
  expect((await g.daemon?.status())?.offers).toEqual([]);
  const share = await runCli(a.home, ['folder', 'share', 'secret', 'gamma']);
  expect(share.code, share.stderr).toBe(0);
  const offered = await waitFor('the offer on gamma', async () => (await g.daemon?.status())?.offers.find((o) => o.folder === 'secret'));
  expect(offered).toEqual({ folder: 'secret', peers: [a.id], declined: false });
  const declined = await runCli(g.home, ['folder', 'decline', 'secret']);
  expect(declined.code, declined.stderr).toBe(0);
  expect((await g.daemon?.status())?.offers).toEqual([{ folder: 'secret', peers: [a.id], declined: true }]);
  // Declining hides the offer; accepting still works, and takes the folder where gamma's user says.
  const target = path.join(base, 'gamma', 'from-alpha');
  const accepted = await runCli(g.home, ['folder', 'accept', 'secret', target]);
  expect(accepted.code, accepted.stderr).toBe(0);
  expect(accepted.stdout).toContain(`shared with alpha (${a.id.slice(0, 8)})`);
  await waitFor('secret.txt on gamma', () => existsSync(path.join(target, 'secret.txt')));
  expect(readFileSync(path.join(target, 'secret.txt'), 'utf8')).toBe(SECRET);
  expect(readFileSync(configPath(g.home), 'utf8')).not.toContain('declinedFolders:\n  - secret');
});

it('trust: allowlist keeps a pairing request from an unrecorded node in status until a person accepts it there', async () => {
  const file = configPath(a.home);
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^trust: ca$/m, 'trust: allowlist'));
  await waitFor('alpha on allowlist', async () => (await a.daemon?.status())?.settings.trust === 'allowlist');
  const d = await initNode(base, 'delta', a);
  const asked = await runCli(d.home, ['pair', `127.0.0.1:${a.port}`]);
  expect(asked.code, asked.stderr).toBe(0);
  expect(asked.stdout).toContain(`Run there: wizard peer accept ${d.id.slice(0, 8)}`);
  const waiting = (await a.daemon?.status())?.pairingRequests ?? [];
  expect(waiting.map((r) => [r.id, r.name, r.folders])).toEqual([[d.id, 'delta', ['shared']]]);
  expect(readFileSync(file, 'utf8')).not.toContain(d.id);
  const accepted = await runCli(a.home, ['peer', 'accept', 'delta']);
  expect(accepted.code, accepted.stderr).toBe(0);
  expect(accepted.stdout).toContain('Shared with it: shared');
  expect((await a.daemon?.status())?.pairingRequests).toEqual([]);
  try {
    await startDaemon(d);
    await waitConnected(a, d);
    await waitFor('hello.txt on delta', () => existsSync(path.join(d.folder, 'hello.txt')));
    expect(existsSync(path.join(d.folder, 'secret.txt'))).toBe(false);
  } finally {
    await d.daemon?.kill();
  }
});
