/**
 * explainPath: each peer's relation to our version, who has the newest
 * data, and every reason a path can be held back.
 */
import { describe, expect, it } from 'vitest';
import type { FileEntry } from '../../src/index/entry.js';
import { explainPath, type WhyInput } from '../../src/status/why.js';

const NOW = 1_800_000_000_000;
const peerA = 'a'.repeat(64);
const peerB = 'b'.repeat(64);

/** A file entry at `version`. */
const file = (version: Record<string, number>, deleted = false): FileEntry => ({
  path: 'x.txt', type: 'file', size: 5, mtimeMs: 1, mode: 0o644, hash: 'h', target: '', version, deleted, sequence: 1,
});

/** Input with our entry at {me:1} and both peers connected and equal, changed by `over`. */
const input = (over: Partial<WhyInput>): WhyInput => ({
  folder: 'f',
  path: 'x.txt',
  nowMs: NOW,
  ignored: false,
  local: file({ me: 1 }),
  peers: [
    { id: peerA, name: 'anna', connected: true, entry: file({ me: 1 }) },
    { id: peerB, name: 'bob', connected: true, entry: file({ me: 1 }) },
  ],
  conflictCopies: [],
  ...over,
});

describe('explainPath', () => {
  const cases: Array<{ what: string; in: WhyInput; inSync: boolean; newestAt: string[]; reasons: RegExp[] }> = [
    { what: 'everyone has our version', in: input({}), inSync: true, newestAt: ['this node', 'anna', 'bob'], reasons: [] },
    {
      what: 'a path no node has (issue 20, item 7: it said "in sync", newest at this node)',
      in: input({ local: undefined, peers: [{ id: peerA, name: 'anna', connected: true }] }),
      inSync: false,
      newestAt: [],
      reasons: [/^unknown path: not on this node and in no peer's index; check the spelling and the folder \('f'\)$/],
    },
    {
      what: 'a new file not yet recorded is not unknown: it waits for quiet',
      in: input({ local: undefined, peers: [{ id: peerA, name: 'anna', connected: true }], changedSinceScan: true }),
      inSync: false,
      newestAt: ['this node'],
      reasons: [/^waiting for quiet/],
    },
    { what: 'an ignored path', in: input({ ignored: true }), inSync: false, newestAt: ['this node', 'anna', 'bob'], reasons: [/^ignored: .*never deleted on peers/] },
    { what: 'a halted folder', in: input({ haltReason: '/x is missing' }), inSync: true, newestAt: ['this node', 'anna', 'bob'], reasons: [/^folder halted: \/x is missing/] },
    {
      what: 'a path a scan had to skip (two spellings of its name here)',
      in: input({ skipped: '2 names here differ only in how their letters are encoded (Unicode NFC, NFD)' }),
      inSync: false,
      newestAt: ['this node', 'anna', 'bob'],
      reasons: [/^not synced from here: 2 names here differ only/],
    },
    {
      what: 'only an offline peer has the newer version',
      in: input({ peers: [{ id: peerA, name: 'anna', connected: false, entry: file({ me: 1, a: 1 }) }] }),
      inSync: false,
      newestAt: ['anna'],
      reasons: [/^no peer online with that version: anna has it but is not connected/],
    },
    {
      what: 'concurrent edits',
      in: input({ peers: [{ id: peerA, name: 'anna', connected: true, entry: file({ a: 1 }) }], conflictCopies: ['x.sync-conflict-20261125-093005-aaaa.txt'] }),
      inSync: false,
      newestAt: ['this node'],
      reasons: [/^conflict: concurrent edits here and on anna/, /^conflict copies exist \(x\.sync-conflict-/],
    },
    {
      what: 'a permission error, with its retry time',
      in: input({ failure: { attempts: 2, nextAt: NOW + 1500, error: 'EACCES: permission denied, open x.txt' } }),
      inSync: true,
      newestAt: ['this node', 'anna', 'bob'],
      reasons: [/^permission error after 2 tries: EACCES.*; next try in 2s$/],
    },
    {
      what: 'a file that keeps changing waits for quiet',
      in: input({ failure: { attempts: 1, nextAt: NOW, error: 'x.txt changed on disk since it was last scanned' } }),
      inSync: true,
      newestAt: ['this node', 'anna', 'bob'],
      reasons: [/^waiting for the file to stay quiet/],
    },
    {
      what: 'a local change not yet recorded',
      in: input({ changedSinceScan: true }),
      inSync: false,
      newestAt: ['this node', 'anna', 'bob'],
      reasons: [/^waiting for quiet: it changed on disk/],
    },
    {
      what: 'a download in progress',
      in: input({ local: undefined, transfer: { path: 'x.txt', peers: [peerA], bytesDone: 2, bytesTotal: 5, startedAtMs: NOW, bytesPerSecond: 0 } }),
      inSync: false,
      newestAt: ['anna', 'bob'],
      reasons: [/^downloading now: 2 of 5 bytes/],
    },
    {
      what: "7: a peer's deletion held by the deletion budget, naming the peer",
      in: input({
        peers: [{ id: peerA, name: 'anna', connected: true, entry: file({ me: 1, a: 1 }, true) }],
        heldDeletion: { peers: [peerA], reason: '41 of 45 entries deleted within a minute (more than 50%)' },
      }),
      inSync: false,
      newestAt: ['anna'],
      reasons: [/^deletion from anna held by the deletion budget \(41 of 45 .*\): the file stays here until confirmed; 'wizard resume f' lets it go/],
    },
    {
      what: 'a local deletion held by the deletion budget: gone here, not sent, and not taken for a write in progress',
      in: input({ changedSinceScan: true, heldDeletion: { peers: [], reason: '312 of 320 entries deleted within a minute (more than 50%)' } }),
      inSync: false,
      newestAt: ['this node', 'anna', 'bob'],
      reasons: [/^deletion held by the deletion budget \(312 of 320 .*\): deleted here, but not sent to peers until confirmed; 'wizard resume f' lets it go$/],
    },
    {
      what: 'a peer that is behind and offline',
      in: input({ peers: [{ id: peerB, name: '', connected: false, entry: file({}, true) }], local: file({ me: 2 }) }),
      inSync: false,
      newestAt: ['this node'],
      reasons: [/^not yet on bbbbbbbbbbbbbbbb: not connected/],
    },
  ];
  it.each(cases)('$what', (c) => {
    const why = explainPath(c.in);
    expect(why.inSync).toBe(c.inSync);
    expect(why.newestAt).toEqual(c.newestAt);
    expect(why.reasons).toHaveLength(c.reasons.length);
    c.reasons.forEach((re, i) => expect(why.reasons[i]).toMatch(re));
  });

  it('reports each peer relation and version', () => {
    const why = explainPath(input({ peers: [
      { id: peerA, name: 'anna', connected: true, entry: file({ me: 1, a: 1 }) },
      { id: peerB, name: 'bob', connected: true },
    ] }));
    expect(why.peers).toEqual([
      { id: peerA, name: 'anna', connected: true, relation: 'newer', exists: true, deleted: false, type: 'file', size: 5, version: { me: 1, a: 1 } },
      { id: peerB, name: 'bob', connected: true, relation: 'missing', exists: false, deleted: false },
    ]);
  });
});
