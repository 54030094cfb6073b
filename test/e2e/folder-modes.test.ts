/**
 * Folder modes end to end (issue 16 item 2), with two real daemons sharing
 * one folder: send-only applies no peer's change, shows what differs, and
 * `wizard folder override` makes its versions win on the peer; receive-only
 * sends no local change, shows them, and `wizard folder revert` gives them
 * up (the peer's version back, a file only it had to the trash).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { controlRequest } from '../../src/status/control.js';
import type { Why } from '../../src/status/why.js';
import { cleanup, runCli, startPairedNodes, type TestNode } from '../support/daemon.js';
import { waitFor } from '../support/wait.js';

let base: string;
let a: TestNode;
let b: TestNode;

beforeAll(async () => {
  ({ base, a, b } = await startPairedNodes('modes'));
  writeFileSync(path.join(a.folder, 'y.txt'), 'alpha y');
  await waitFor('y.txt on beta', () => existsSync(path.join(b.folder, 'y.txt')));
}, 60_000);

afterAll(async () => {
  await cleanup(base, [a, b]);
});

const folderOf = async (n: TestNode) => (await n.daemon?.status())?.folders.find((f) => f.id === 'shared');
const read = (n: TestNode, rel: string) => (existsSync(path.join(n.folder, rel)) ? readFileSync(path.join(n.folder, rel), 'utf8') : undefined);

it('send-only: peers\' changes are not applied and are shown; override makes this node\'s versions win on the peer', async () => {
  const set = await runCli(a.home, ['folder', 'mode', 'shared', 'send-only']);
  expect(set.code, set.stderr).toBe(0);
  await waitFor('alpha send-only', async () => (await folderOf(a))?.mode === 'send-only');
  writeFileSync(path.join(b.folder, 'x.txt'), 'beta x');
  writeFileSync(path.join(b.folder, 'y.txt'), 'beta y');
  await waitFor('alpha to hold beta\'s two changes', async () => (await folderOf(a))?.pending === 2);
  // Local changes still go out: a file alpha writes now reaches beta, and by then beta's had long reached alpha.
  writeFileSync(path.join(a.folder, 'out.txt'), 'alpha out');
  await waitFor('out.txt on beta', () => read(b, 'out.txt') === 'alpha out');
  expect(read(a, 'x.txt')).toBeUndefined();
  expect(read(a, 'y.txt')).toBe('alpha y');
  const why = (await controlRequest(a.home, { cmd: 'why', folder: 'shared', path: 'x.txt' })) as Why;
  expect(why.peers.find((p) => p.id === b.id)?.exists).toBe(true);
  const status = await runCli(a.home, ['status']);
  expect(status.stdout).toContain("send-only: 2 paths differ from the peers and are not applied here; 'wizard folder override shared'");

  const override = await runCli(a.home, ['folder', 'override', 'shared', '--json']);
  expect(override.code, override.stderr).toBe(0);
  expect(JSON.parse(override.stdout)).toEqual({ folder: 'shared', paths: ['x.txt', 'y.txt'] });
  await waitFor('beta to take alpha\'s versions', () => read(b, 'y.txt') === 'alpha y' && read(b, 'x.txt') === undefined);
  await waitFor('alpha in step with beta', async () => (await folderOf(a))?.pending === 0);
  // Beta's replaced and deleted versions are in its trash, not gone.
  expect(readdirSync(path.join(b.folder, '.wizard', 'trash')).length).toBeGreaterThanOrEqual(2);
  // Override is for send-only folders: elsewhere it says which mode it needs.
  const wrong = await runCli(b.home, ['folder', 'override', 'shared']);
  expect(wrong.code).not.toBe(0);
  expect(wrong.stderr).toContain("folder 'shared' is send-receive; override is for a send-only folder");
});

it('receive-only: local changes are not sent and are shown; revert puts the peers\' versions back and trashes what only this node had', async () => {
  const set = await runCli(a.home, ['folder', 'mode', 'shared', 'receive-only']);
  expect(set.code, set.stderr).toBe(0);
  await waitFor('alpha receive-only', async () => (await folderOf(a))?.mode === 'receive-only');
  writeFileSync(path.join(a.folder, 'mine.txt'), 'alpha only');
  writeFileSync(path.join(a.folder, 'y.txt'), 'alpha edit');
  await waitFor('alpha to count two local changes', async () => (await folderOf(a))?.localChanges === 2);
  // Peers' changes still come in: beta's new file reaches alpha; alpha's changes, recorded before it, never reached beta.
  writeFileSync(path.join(b.folder, 'in.txt'), 'beta in');
  await waitFor('in.txt on alpha', () => read(a, 'in.txt') === 'beta in');
  expect(read(b, 'mine.txt')).toBeUndefined();
  expect(read(b, 'y.txt')).toBe('alpha y');

  const revert = await runCli(a.home, ['folder', 'revert', 'shared', '--json']);
  expect(revert.code, revert.stderr).toBe(0);
  expect(JSON.parse(revert.stdout)).toEqual({ folder: 'shared', paths: ['y.txt', 'mine.txt'] });
  await waitFor('alpha\'s y.txt back to beta\'s version', () => read(a, 'y.txt') === 'alpha y');
  expect(read(a, 'mine.txt')).toBeUndefined();
  expect(readdirSync(path.join(a.folder, '.wizard', 'trash')).some((n) => n.startsWith('mine'))).toBe(true);
  await waitFor('no local changes left', async () => (await folderOf(a))?.localChanges === 0);
  expect(read(b, 'mine.txt')).toBeUndefined();
});
