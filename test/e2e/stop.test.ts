/**
 * `wizard stop` and `wizard --version` through the real CLI (issue 20,
 * item 9): stop asks the daemon over the control socket, which shuts down as
 * on SIGTERM (exit 0) before the command returns.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanup, initNode, runCli, startDaemon, tempDir, type TestNode } from '../support/daemon.js';

const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../package.json');

let base: string;
let node: TestNode;

beforeAll(async () => {
  base = tempDir('stop');
  node = await initNode(base, 'solo');
  await startDaemon(node);
});

afterAll(async () => {
  await cleanup(base, [node]);
});

it('wizard stop ends the running daemon cleanly, and only returns once it has', async () => {
  const res = await runCli(node.home, ['stop']);
  expect(res, res.stderr).toMatchObject({ code: 0, stdout: `Stopped the Wizard daemon of ${node.home}.\n` });
  // It had ended by then: no wait for an exit that is still to come.
  expect(node.daemon?.running).toBe(false);
  expect(await node.daemon?.exit(1_000)).toEqual({ code: 0, signal: null });
  expect(node.daemon?.log).toContain('"msg":"stop requested through the control socket"');
});

it('says in one line, exit 1, that no daemon runs', async () => {
  const res = await runCli(node.home, ['stop']);
  expect(res.code).toBe(1);
  expect(res.stderr).toBe(`wizard: no Wizard daemon is running with home ${node.home}; start it with 'wizard start --home ${node.home}'\n`);
});

it('wizard --version prints the version of the package', async () => {
  const { version } = JSON.parse(readFileSync(pkg, 'utf8')) as { version: string };
  expect(await runCli(node.home, ['--version'])).toMatchObject({ code: 0, stdout: `${version}\n` });
});
