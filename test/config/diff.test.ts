/** configDiff: a reload's changes in words for the log (issue 20, item 8). */
import { expect, it } from 'vitest';
import { configDiff } from '../../src/config/diff.js';
import { type Config, DEFAULTS } from '../../src/config/schema.js';

const idA = 'a'.repeat(64);
const idB = 'b'.repeat(64);
const base: Config = {
  ...DEFAULTS,
  name: 'laptop',
  listen: '0.0.0.0:7842',
  folders: [
    { id: 'docs', path: '/home/u/docs', shareWith: [idA], mode: 'send-receive' },
    { id: 'pics', path: '/home/u/pics', shareWith: [idA], mode: 'send-receive' },
  ],
  peers: [{ id: idA, name: 'server', address: 'server:7842' }],
  revoked: [],
  declinedFolders: [],
};

it('says nothing for the same config', () => {
  expect(configDiff(base, structuredClone(base))).toEqual([]);
});

it('names each folder, peer and setting that changed, one line each', () => {
  const next: Config = {
    ...base,
    name: 'laptop2',
    folders: [
      { id: 'docs', path: '/srv/docs', shareWith: [idA, idB], mode: 'send-only' },
      { id: 'music', path: '/home/u/music', shareWith: [], mode: 'send-receive' },
    ],
    peers: [
      { id: idA, name: 'big-server', address: 'server:7843' },
      { id: idB, name: '', address: '' },
    ],
    revoked: ['c'.repeat(64)],
    limits: { ...base.limits, transfers: base.limits.transfers + 1 },
    compression: 'zstd',
  };
  expect(configDiff(base, next)).toEqual([
    'name: "laptop" -> "laptop2"',
    'folder docs moved: /home/u/docs -> /srv/docs',
    'folder docs mode: send-receive -> send-only',
    `folder docs shared with: ${idA.slice(0, 16)} -> ${idA.slice(0, 16)}, ${idB.slice(0, 16)}`,
    'folder added: music at /home/u/music',
    'folder removed: pics',
    `peer big-server (${idA.slice(0, 16)}) renamed from "server"`,
    `peer big-server (${idA.slice(0, 16)}) address: "server:7842" -> "server:7843"`,
    `peer added: (no name) (${idB.slice(0, 16)})`,
    `revoked: ${'c'.repeat(64)}`,
    `limits.transfers: ${base.limits.transfers} -> ${base.limits.transfers + 1}`,
    `compression: "${base.compression}" -> "zstd"`,
  ]);
});

it('says a peer was removed and a revocation lifted', () => {
  const revoked = { ...base, revoked: [idB] };
  expect(configDiff(revoked, { ...base, peers: [] })).toEqual([`peer removed: server (${idA.slice(0, 16)})`, `no longer revoked: ${idB}`]);
});

it('says a folder was paused and unpaused', () => {
  const paused: Config = { ...base, folders: [{ ...base.folders[0]!, paused: true }, base.folders[1]!] };
  expect(configDiff(base, paused)).toEqual(['folder docs paused']);
  expect(configDiff(paused, base)).toEqual(['folder docs unpaused']);
});
