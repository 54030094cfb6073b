/**
 * Issue 15, items 1 and 2: a paired peer turned hostile, speaking the
 * protocol from test/support/wire-peer.ts, tries to make the daemon write or
 * read outside its folder by changing the tree while it holds an answer the
 * daemon waits for, and by chaining symlinks. The folder is
 * base/alpha/folder; `outside` is base/alpha/outside, where `..` from the
 * root and the chains below lead.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanup, initNode, runCli, startDaemon, tempDir, type TestNode } from '../support/daemon.js';
import { tempFilesIn } from '../support/temps.js';
import { waitFor } from '../support/wait.js';
import { EntryMaker, folderRecord, identityOf, indexMessage, sumsAnswer, WirePeer, type WireMessage } from '../support/wire-peer.js';
import { contentHash } from '../../src/core/content-hash.js';

let base: string;
let a: TestNode;
let mallory: TestNode;
let peer: WirePeer;
let make: EntryMaker;
let outside: string;

beforeAll(async () => {
  base = tempDir('hostile-paths');
  a = await initNode(base, 'alpha');
  mallory = await initNode(base, 'mallory', a);
  outside = path.join(path.dirname(a.folder), 'outside');
  mkdirSync(outside, { recursive: true });
  mkdirSync(a.folder, { recursive: true });
  await startDaemon(a);
  const res = await runCli(mallory.home, ['pair', `127.0.0.1:${a.port}`]);
  expect(res.code, res.stderr).toBe(0);
  peer = await WirePeer.connect({ port: a.port, identity: identityOf(mallory.home) });
  await peer.hello({ id: mallory.id, folders: [folderRecord('shared')] });
  make = new EntryMaker(mallory.id, peer.serves);
}, 60_000);

afterAll(async () => {
  peer.close();
  await cleanup(base, [a, mallory]);
});

const send = (entries: unknown[]) => peer.send(indexMessage('shared', entries));
const inFolder = (rel: string) => path.join(a.folder, ...rel.split('/'));

/** Alpha's pull error for `rel`, once its status lists one. */
async function pullError(rel: string): Promise<string> {
  return waitFor(`alpha to report an error for ${rel}`, async () => (await a.daemon?.status())?.errors.find((e) => e.includes(rel)), 20_000);
}

/** Holds alpha's next request for `rel` (the download then waits on us), serving every other request as usual. */
function holdRequestFor(rel: string): Promise<WireMessage> {
  return new Promise((resolve) => {
    peer.onRequest = (m) => {
      if (m.path !== rel) return serve(m);
      peer.onRequest = undefined;
      resolve(m);
    };
  });
}

function serve(m: WireMessage): void {
  const data = peer.serves.get(String(m.hash));
  if (data === undefined) peer.send({ type: 'error', id: m.id, code: 'not-found', message: 'not here' });
  else peer.send({ type: 'response', id: m.id, data: data.subarray(Number(m.offset), Number(m.offset) + Number(m.length)) });
}

it('1: a download whose parent dir is swapped for a link to outside while the peer holds its answer writes nothing outside and leaves no temp file', async () => {
  const held = holdRequestFor('d1/f.txt');
  send([make.dir('d1'), make.file('d1/f.txt', 'the peer chose these bytes', { mode: 0o777 })]);
  const request = await held;
  // Between alpha's check of d1 and its use of the answer, d1 becomes a link out of the folder: what a
  // racing local process can do, and what the peer itself could do before item 2 (see the next test).
  renameSync(inFolder('d1'), inFolder('d1-away'));
  symlinkSync(outside, inFolder('d1'));
  serve(request);
  expect(await pullError('d1/f.txt')).toMatch(/d1/);
  expect(readdirSync(outside)).toEqual([]);
  expect(tempFilesIn(a.folder)).toEqual([]);
  // Put back, the file lands where it belongs.
  rmSync(inFolder('d1'));
  renameSync(inFolder('d1-away'), inFolder('d1'));
  await waitFor('d1/f.txt to land inside the folder', () => existsSync(inFolder('d1/f.txt')), 30_000);
  expect(readFileSync(inFolder('d1/f.txt'), 'utf8')).toBe('the peer chose these bytes');
  expect(readdirSync(outside)).toEqual([]);
});

it('2: the review\'s chain (x/up -> .., then d2 -> x/up/../outside in place of a dir with a held download) is refused and reported; nothing lands outside', async () => {
  const held = holdRequestFor('d2/g.txt');
  send([make.dir('x'), make.symlink('x/up', '..'), make.dir('d2'), make.file('d2/g.txt', 'held content')]);
  const request = await held;
  await waitFor('x/up on alpha', () => lstatSync(inFolder('x/up'), { throwIfNoEntry: false })?.isSymbolicLink() === true);
  send([make.symlink('d2', 'x/up/../outside')]);
  const error = await waitFor('alpha to act on d2', async () => {
    if (lstatSync(inFolder('d2')).isSymbolicLink()) return 'created';
    return (await a.daemon?.status())?.errors.find((e) => e.includes('d2') && e.includes('symlink'));
  });
  expect(error).toMatch(/not creating a symlink to 'x\/up\/..\/outside'/);
  expect(lstatSync(inFolder('d2')).isDirectory()).toBe(true);
  const why = await runCli(a.home, ['status', '--why', 'd2']);
  expect(why.stdout).toMatch(/not creating a symlink/);
  serve(request);
  await waitFor('d2/g.txt to land inside the folder', () => existsSync(inFolder('d2/g.txt')), 20_000);
  expect(readdirSync(outside)).toEqual([]);
  expect(tempFilesIn(a.folder)).toEqual([]);
});

it('1: a delta basis is the file the index recorded, even when its dir is swapped for a link to outside during the wait for block sums', async () => {
  // Alpha holds a 1 MiB file; outside, a secret the peer wants to probe (it knows or guesses its bytes).
  const original = Buffer.alloc(1024 * 1024, 'o');
  const secret = Buffer.alloc(1024 * 1024, 's');
  mkdirSync(inFolder('d3'));
  writeFileSync(inFolder('d3/big.bin'), original);
  mkdirSync(path.join(outside, 'probe'));
  writeFileSync(path.join(outside, 'probe', 'big.bin'), secret);
  const ours = await waitFor('alpha to index d3/big.bin', () => {
    const index = peer.received.filter((m) => m.type === 'index').flatMap((m) => m.entries as Array<{ path: string; hash: string; version: Record<string, number> }>);
    return index.find((e) => e.path === 'd3/big.bin' && e.hash === contentHash(original));
  });
  // The peer announces the secret as the new version of d3/big.bin, and answers the sums request as if it held it.
  let swapped = false;
  peer.onSumsRequest = (m) => {
    if (!swapped) {
      swapped = true;
      renameSync(inFolder('d3'), inFolder('d3-away'));
      symlinkSync(path.join(outside, 'probe'), inFolder('d3'));
    }
    peer.send(sumsAnswer(m, secret));
  };
  let requested = 0;
  peer.onRequest = (m) => {
    if (m.path === 'd3/big.bin') requested += Number(m.length);
    serve(m);
  };
  // A version that dominates alpha's: a plain newer edit, not a conflict.
  send([{ ...make.file('d3/big.bin', secret), version: { ...ours.version, [mallory.id.slice(0, 16)]: 1 } }]);
  expect(await pullError('d3/big.bin')).toMatch(/d3/);
  const requestedFirst = requested;
  // Had alpha read the secret as its basis, it would have found every block there and asked for none:
  // the requests it makes are what tells the peer which blocks it holds.
  expect(swapped).toBe(true);
  expect(requestedFirst).toBeGreaterThanOrEqual(secret.length);
  expect(readFileSync(path.join(outside, 'probe', 'big.bin')).equals(secret)).toBe(true);
  expect(readdirSync(path.join(outside, 'probe'))).toEqual(['big.bin']);
  peer.onSumsRequest = undefined;
  peer.onRequest = undefined;
  rmSync(inFolder('d3'));
  renameSync(inFolder('d3-away'), inFolder('d3'));
});
