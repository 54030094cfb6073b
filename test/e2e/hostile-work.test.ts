/**
 * Issue 15, items 3 and 10, against real daemons, from peers that speak the
 * protocol from their own code (wire-peer.ts):
 *
 * - a version counter far ahead of any clock is refused on its own (the link
 *   stays up, the rest of the batch and later ones are taken, status says
 *   which peer sent what, the read position goes on past it);
 * - a peer whose every link fails validation is left alone for minutes:
 *   dialed once, however often its own links close, where the daemon used to
 *   redial it after every close;
 * - a flood of sums requests that each cost 16 MiB of hashing (group 256 at a
 *   block size alpha keeps no sums for), 250 in flight, is held to alpha's
 *   serving budget: an honest peer (a real daemon) still gets a new file
 *   promptly, and alpha's CPU stays far below what the unbounded version used.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Why } from '../../src/status/why.js';
import { cleanup, initNode, runCli, startDaemon, tempDir, waitConnected, type TestNode } from '../support/daemon.js';
import { cpuSeconds } from '../support/process-cpu.js';
import { waitFor } from '../support/wait.js';
import { pack } from '../support/wire-msgpack.js';
import { EntryMaker, folderRecord, frame, identityOf, indexMessage, contentHashHex, shortId, WIRE_PROTOCOL, WireListener, WirePeer, type WireEntry } from '../support/wire-peer.js';

let base: string;
let a: TestNode;
/** An honest peer: a real daemon. */
let b: TestNode;
/** A peer whose every link breaks the protocol: alpha dials it (its listener counts the dials) and it dials alpha. */
let looper: TestNode;
/** A peer that sends entries with implausible counters among good ones, then floods alpha with sums requests. */
let sender: TestNode;
let looperListener: WireListener;

const MAX_COUNTER = 2 ** 52;
/** The file the sums flood asks about: at least 16 MiB, so each request costs the most a sums answer may. */
const BIG_BYTES = 16 * 1024 * 1024 + 4096;

/** An index whose one entry has the counter a poisoned node's next edit made: 2^52 + 1, a protocol error. */
function breakingIndex(author: string): Record<string, unknown> {
  const entry = new EntryMaker(author).file('loop.txt', 'x', { version: { [shortId(author)]: MAX_COUNTER + 1 } });
  return indexMessage('shared', [entry]);
}

function helloOf(node: TestNode): Record<string, unknown> {
  return { type: 'hello', protocol: WIRE_PROTOCOL, id: node.id, name: node.name, listenPort: 0, intent: 'sync', folders: [folderRecord('shared')] };
}

beforeAll(async () => {
  base = tempDir('hostile-work');
  a = await initNode(base, 'alpha');
  [b, looper, sender] = await Promise.all([initNode(base, 'beta', a), initNode(base, 'looper', a), initNode(base, 'sender', a)]);
  mkdirSync(a.folder, { recursive: true });
  writeFileSync(path.join(a.folder, 'big.bin'), randomBytes(BIG_BYTES));
  // Beta leaves the flood's file out, so its sync during the flood is only the new file.
  writeFileSync(path.join(b.home, 'ignore'), 'big.bin\n');
  // Each link alpha dials to the looper gets its Hello and, in the same write, an index that fails validation.
  looperListener = await WireListener.listen({
    identity: identityOf(looper.home),
    port: looper.port,
    onPeer: (peer) => peer.sendRaw(Buffer.concat([frame(pack(helloOf(looper))), frame(pack(breakingIndex(looper.id)))])),
  });
  await Promise.all([startDaemon(a), startDaemon(b)]);
  for (const res of await Promise.all([b, looper, sender].map((node) => runCli(node.home, ['pair', `127.0.0.1:${a.port}`])))) {
    expect(res.code, res.stderr).toBe(0);
  }
  await waitConnected(a, b);
}, 90_000);

afterAll(async () => {
  await looperListener.close();
  await cleanup(base, [a, b]);
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

it('issue 15 item 3: a peer whose every link fails validation is left alone for minutes: dialed once, however often the links it dials break, where each close used to restart the dial', async () => {
  const identity = identityOf(looper.home);
  await waitFor('alpha to dial the looper', () => looperListener.accepted.length >= 1);
  // The looper dials in again and again, as a daemon's dial loop does; each link it gets, it breaks.
  for (let i = 0; i < 4; i++) {
    const peer = await WirePeer.connect({ port: a.port, identity });
    await peer.hello({ id: looper.id, folders: [folderRecord('shared')] });
    peer.send(breakingIndex(looper.id));
    expect((await peer.ended).reason).toContain('protocol error');
  }
  // Each of those closes came after alpha's one dial; a daemon that redials on a close has dialed again by now.
  expect(looperListener.accepted.length).toBe(1);
  const status = await a.daemon?.status();
  const backoff = status?.peers.find((p) => p.id === looper.id)?.backoff;
  // Alpha's own dial, then the four links the looper dialed: the penalty doubled each time, to 16 minutes.
  expect(backoff?.violations).toBe(5);
  expect(backoff?.lastReason).toContain('version counter');
  expect((backoff?.untilMs ?? 0) - Date.now()).toBeGreaterThan(15 * 60_000);
});

it('F9 (issue 15 item 10): a flood of sums requests costing 16 MiB of hashing each leaves an honest peer syncing promptly and alpha\'s CPU bounded', async () => {
  const attacker = await WirePeer.connect({ port: a.port, identity: identityOf(sender.home) });
  await attacker.hello({ id: sender.id, folders: [folderRecord('shared')] });
  const isBig = (e: unknown) => (e as WireEntry).path === 'big.bin';
  const index = await attacker.next((m) => m.type === 'index' && Array.isArray(m.entries) && m.entries.some(isBig), 30_000);
  const big = (index.entries as WireEntry[]).find(isBig) as WireEntry;

  // 161 bytes each: one group digest of 256 blocks of 20 KiB (protocol 6's size for this file), which alpha keeps no sums
  // for: from 16 MiB it keeps them at 64 KiB blocks (protocol 7), so each answer hashes the file again.
  let nextId = 1;
  let answers = 0;
  const ask = () => attacker.send({ type: 'sums-request', id: nextId++, folder: 'shared', path: 'big.bin', hash: big.hash, blockSize: 20_480, first: 0, count: 16_384, group: 256 });
  attacker.onMessage = (m) => {
    if (m.type !== 'sums' && m.type !== 'error') return;
    answers++;
    ask();
  };
  const pid = a.daemon?.pid as number;
  const cpuBefore = cpuSeconds(pid);
  const startedAt = Date.now();
  for (let i = 0; i < 250; i++) ask();

  // The honest part: a new file at alpha, big enough to be hashed in a worker, must reach beta while the flood runs.
  const fresh = randomBytes(2 * 1024 * 1024);
  writeFileSync(path.join(a.folder, 'fresh.bin'), fresh);
  await waitFor(
    'beta to get fresh.bin during the flood',
    () => existsSync(path.join(b.folder, 'fresh.bin')) && contentHashHex(readFileSync(path.join(b.folder, 'fresh.bin'))) === contentHashHex(fresh),
    60_000,
  );
  const syncMs = Date.now() - startedAt;
  // And the flood was being served all along: alpha answers it, within its budget.
  await waitFor('alpha to answer some of the flood', () => answers >= 8, 60_000);
  const wallSeconds = (Date.now() - startedAt) / 1000;
  const cores = (cpuSeconds(pid) - cpuBefore) / wallSeconds;
  const detail = `fresh.bin at beta after ${syncMs} ms; ${answers} answers in ${wallSeconds.toFixed(1)} s; alpha used ${cores.toFixed(2)} cores`;
  // Measured on this 2-core machine under a load average of 11-15: unbounded, 27 answers in 2.1 s
  // and 0.55 cores (about 2 on an idle machine: both hashing threads busy); budgeted, 8 answers in
  // 2.0-2.3 s, 0.19-0.20 cores, fresh.bin in 0.7-1.0 s (2.1 s unbounded). How soon fresh.bin arrives is
  // not asserted: a loaded machine sets that, and the wait above already fails a flood that starves it.
  // 64 MiB of hashing a second is 4 answers a second, after one at once.
  expect(answers, detail).toBeLessThanOrEqual(2 + 4.5 * wallSeconds);
  expect(cores, detail).toBeLessThan(0.6);
  expect(attacker.isOpen).toBe(true);
  attacker.close();
  await attacker.ended;
}, 120_000);
