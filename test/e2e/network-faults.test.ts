/**
 * Two real daemons talking through a fault-injecting TCP proxy (THREATS.md
 * §7.2 C1): a link reset mid-transfer, a link that silently drops every
 * byte, and a flipped byte on the wire. Each time the link must come back by
 * itself and the folders converge with intact content.
 *
 * Only beta dials (through the proxy); alpha has no address for beta, so
 * every byte between them crosses the proxy. Short ping and idle timeouts
 * (env) make a silent drop visible in seconds instead of 90 s.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanup, initNode, isLinked, setPeer, startDaemon, tempDir, waitConnected, waitSameTree, type TestNode } from '../support/daemon.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { waitFor } from '../support/wait.js';

const TIMINGS = { WIZARD_PING_INTERVAL_MS: '400', WIZARD_IDLE_TIMEOUT_MS: '2000' };

let base: string;
let a: TestNode;
let b: TestNode;
let proxy: FaultProxy;

beforeAll(async () => {
  base = tempDir('netfaults');
  a = await initNode(base, 'alpha');
  b = await initNode(base, 'beta', a);
  // vitest's onTestFinished does not reach beforeAll; this proxy lives for the file and is closed in afterAll.
  proxy = await FaultProxy.start(a.port, { closeWithTest: false });
  setPeer(a, b, '');
  setPeer(b, a, `127.0.0.1:${proxy.port}`);
  mkdirSync(a.folder, { recursive: true });
  await startDaemon(a, TIMINGS);
  await startDaemon(b, TIMINGS);
  await waitConnected(a, b);
});

afterAll(async () => {
  await proxy.close();
  await cleanup(base, [a, b]);
});

it('recovers from a connection reset mid-transfer and converges', async () => {
  const content = randomBytes(6 * 1024 * 1024);
  proxy.faults.bytesPerSecond = 2 * 1024 * 1024;
  const before = { connections: proxy.connections, bytes: proxy.forwarded.toClient };
  writeFileSync(path.join(a.folder, 'big.bin'), content);
  // Cut once a good part of the file has crossed: the transfer is under way, not finished.
  await waitFor('a third of the file to cross the proxy', () => proxy.forwarded.toClient - before.bytes > content.length / 3);
  proxy.cut();
  proxy.faults.bytesPerSecond = 0;
  await waitSameTree(a, b, 40_000);
  expect(proxy.connections).toBeGreaterThan(before.connections);
  expect(readFileSync(path.join(b.folder, 'big.bin')).equals(content)).toBe(true);
});

it('detects a link that silently drops everything by its idle timeout, and redials', async () => {
  proxy.faults.blackHole = true;
  const connections = proxy.connections;
  writeFileSync(path.join(a.folder, 'during-blackhole.txt'), 'sent while the network ate every byte');
  // No FIN, no RST: only the idle timeout (2 s here) can tell the link is dead.
  await waitFor('beta to notice the dead link', async () => !(await isLinked(b, a)), 15_000);
  await waitFor('alpha to notice the dead link', async () => !(await isLinked(a, b)), 15_000);
  proxy.faults.blackHole = false;
  await waitSameTree(a, b, 40_000);
  expect(proxy.connections).toBeGreaterThan(connections);
  expect(readFileSync(path.join(b.folder, 'during-blackhole.txt'), 'utf8')).toBe('sent while the network ate every byte');
});

it('closes the link on a corrupted byte, reconnects, and never writes corrupt content', async () => {
  const content = randomBytes(2 * 1024 * 1024);
  const connections = proxy.connections;
  // Well into the transfer's bytes, after any handshake a reconnect would need.
  proxy.corrupt('toClient', 512 * 1024);
  writeFileSync(path.join(a.folder, 'flipped.bin'), content);
  await waitSameTree(a, b, 40_000);
  expect(proxy.corruptionsPending).toBe(0);
  // TLS authenticates every record: the flipped byte fails it, the connection closes and a new one carries the rest.
  expect(proxy.connections).toBeGreaterThan(connections);
  expect(readFileSync(path.join(b.folder, 'flipped.bin')).equals(content)).toBe(true);
  expect(readdirSync(b.folder, { recursive: true }).filter((n) => String(n).includes('.~wizard-'))).toEqual([]);
  // Both daemons are still the same processes, running every service.
  for (const node of [a, b]) {
    const services = (await node.daemon?.status())?.services ?? [];
    expect(services.every((s) => s.state === 'running'), JSON.stringify(services)).toBe(true);
  }
});
